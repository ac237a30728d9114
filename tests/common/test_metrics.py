"""What the official metrics are made of, and that they run without TensorFlow."""
import subprocess
import sys


from common.metrics import prf, totals


def test_formats_and_metrics_import_without_tensorflow():
    code = ("import sys, common.metrics, relation_extraction.duie, event_extraction.duee, reading_comprehension.dureader, "
            "relation_extraction.track, event_extraction.track, reading_comprehension.track, tools.validate; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_prf_and_totals():
    assert prf(1, 2, 4) == {"precision": 0.5, "recall": 0.25, "f1": round(2 * 0.5 * 0.25 / 0.75, 4)}
    assert prf(0, 0, 3) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert totals({"a": [1, 2, 2], "b": [1, 0, 2]}) == prf(2, 2, 4)
