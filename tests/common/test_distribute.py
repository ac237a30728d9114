"""tf.distribute: a step on 2 replicas equals the one-device step; training under mirrored."""
import json
import os
import subprocess
import sys

import pytest

from common.distribute import replica_slices
from tests.conftest import predict_here

pytestmark = pytest.mark.trains  # trains models: not in make test-fast

ENV = dict(os.environ, LIC_LOGICAL_CPUS="2", PYTHONPATH=".")


@pytest.fixture(scope="module")
def bert_without_dropout(tiny_bert_dir, tmp_path_factory):
    """The tiny BERT with dropout 0: replicas draw their own dropout masks, so exact equality needs none."""
    out = tmp_path_factory.mktemp("nodrop")
    for name in os.listdir(tiny_bert_dir):
        (out / name).write_bytes((tiny_bert_dir / name).read_bytes())
    config = json.load(open(out / "bert_config.json"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (out / "bert_config.json").write_text(json.dumps(config))
    return out


def test_replica_slices_are_even():
    assert replica_slices(5, 2) == [slice(0, 2), slice(2, 5)]
    assert [s.stop - s.start for s in replica_slices(33, 4)] == [8, 8, 9, 8]
    assert replica_slices(1, 2) == [slice(0, 0), slice(0, 1)]  # a last batch smaller than the replicas


@pytest.mark.parametrize("track, head, tricks", [("relation_extraction", "", False), ("event_extraction", "trigger", False),
                                                 ("event_extraction", "crf", False), ("reading_comprehension", "", False),
                                                 ("reading_comprehension", "", True)])
def test_one_step_on_two_replicas_equals_one_device(sample_dir, bert_without_dropout, track, head, tricks):
    """A global batch of 5 (slices of 2 and 3 rows, different real lengths): same loss, same update (tricks: with
    --ema, whose average must match too, and --adversarial fgm, whose perturbation uses the global gradient)."""
    result = subprocess.run([sys.executable, "tests/common/distributed_step.py", track, str(sample_dir / track),
                             str(bert_without_dropout)] + ([head] if head else []) + (["--tricks"] if tricks else []),
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    r = json.loads(result.stdout.strip().splitlines()[-1])
    assert r["rows"] == 5
    assert abs(r["loss_mirrored"] - r["loss_one"]) <= 1e-5 * abs(r["loss_one"])
    assert r["weights_close"] and r["update_rel_diff"] < 1e-5, r


@pytest.mark.parametrize("track", ["event_extraction"])
def test_training_under_mirrored_reaches_the_one_device_floor(sample_dir, tiny_bert_dir, tmp_path, track):
    """2 epochs over 2 logical CPUs, then predict from the model directory (the default head, the most involved;
    every track's step under mirrored equals its one-device step: the test above)."""
    out = tmp_path / "mirrored"
    result = subprocess.run(
        [sys.executable, f"{track}/train.py", "--data-dir", str(sample_dir / track), "--bert-dir", str(tiny_bert_dir),
         "--output-dir", str(out), "--epochs", "2", "--batch-size", "16", "--maxlen", "64", "--learning-rate", "1e-3",
         "--strategy", "mirrored"], capture_output=True, text=True, env=ENV, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in open(out / "metrics.jsonl")]
    floor = {"relation_extraction": 0.3, "event_extraction": 0.6, "reading_comprehension": 40}[track]
    assert max(r["dev_f1"] for r in records) >= floor, records
    test = sorted((sample_dir / track).glob("test1*.json"))[0]
    result = predict_here(track, "--model-dir", str(out), "--input", str(test), "--output",
                 str(tmp_path / ("s.zip" if track == "relation_extraction" else "s.json")))
    assert result.returncode == 0, result.stderr[-3000:]
