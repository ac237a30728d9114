"""Train on the sample data with a tiny BERT, predict, validate: the commands a user runs."""
import json
import zipfile

import pytest

from tools.validate import validate
from tests.conftest import predict_here, run, write_lines

pytestmark = pytest.mark.trains  # trains models: not in make test-fast


@pytest.fixture(scope="module")
def model_dir(trained):
    return trained("relation_extraction")


def test_dev_f1_and_valid_submission(model_dir, sample_dir, tmp_path):
    records = [json.loads(line) for line in open(model_dir / "metrics.jsonl")]
    assert max(r["dev_f1"] for r in records) >= 0.80
    for name in ("model.weights.h5", "bert_config.json", "vocab.txt", "config.json",
                 "dev_predictions.zip"):
        assert (model_dir / name).is_file(), name
    test = sample_dir / "relation_extraction" / "test1_data.json"
    submission = tmp_path / "submission.zip"
    result = run("relation_extraction/predict.py", "--model-dir", str(model_dir), "--input", str(test),
                 "--output", str(submission))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("relation_extraction", str(test), str(submission)) == ([], 150)
    with zipfile.ZipFile(submission) as z:
        rows = [json.loads(line) for line in z.read(z.namelist()[0]).decode("utf-8").splitlines()]
    texts = [json.loads(line)["text"] for line in open(test, encoding="utf-8")]
    assert [r["text"] for r in rows] == texts
    for row in rows:  # every predicted string is cut from its text
        for spo in row["spo_list"]:
            assert spo["subject"] in row["text"] and all(v in row["text"] for v in spo["object"].values())


def test_bad_test_lines(model_dir, tmp_path):
    lines = [json.dumps({"text": "张三的妻子是李四。"}, ensure_ascii=False), "{broken"]
    test = write_lines(tmp_path / "test.json", lines)
    result = run("relation_extraction/predict.py", "--model-dir", str(model_dir), "--input", test,
                 "--output", str(tmp_path / "s.zip"))
    assert result.returncode == 2
    assert "test.json:2: not valid JSON" in result.stderr and "Traceback" not in result.stderr


def test_empty_and_very_long_texts_keep_their_lines(model_dir, tmp_path):
    long_text = ("这是一段很长的说明文字，" * 400)[:4990] + "张三的妻子是李四。"
    texts = ["", long_text, "Apple Inc成立于1976年4月1日，总部位于加州。😀"]
    test = write_lines(tmp_path / "test.json", [json.dumps({"text": t}, ensure_ascii=False) for t in texts])
    submission = tmp_path / "s.json"
    result = predict_here("relation_extraction", "--model-dir", str(model_dir), "--input", test,
                          "--output", str(submission))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("relation_extraction", test, str(tmp_path / "s.zip")) == ([], 3)
    assert [json.loads(line)["text"] for line in open(submission, encoding="utf-8")] == texts


def test_missing_model_dir(tmp_path):
    result = run("relation_extraction/predict.py", "--model-dir", str(tmp_path), "--input", "x", "--output", "y.zip")
    assert result.returncode == 2 and "not a trained model directory" in result.stderr


def test_help():
    for script in ("relation_extraction/train.py", "relation_extraction/predict.py"):
        result = run(script, "--help")
        assert result.returncode == 0 and "--output" in result.stdout


def test_report_of_the_model_directory(model_dir):
    from tests.tools.test_report import check_model_dir_report

    check_model_dir_report(model_dir, "relation_extraction")


def test_thresholds_chosen_on_dev_are_saved_and_used(model_dir, sample_dir):
    from tools.validate import score

    doc = json.load(open(model_dir / "config.json"))
    tuning, config = doc["thresholds"], doc["config"]
    assert {k: config[k] for k in tuning["setting"]} == tuning["setting"]  # what predict.py reads
    assert tuning["dev_f1"] >= tuning["fixed_dev_f1"]
    # the one-pass decoding of every setting gives the fixed setting's dev score the epoch's own scoring gave
    best = max(json.loads(line)["dev_f1"] for line in open(model_dir / "metrics.jsonl"))
    assert tuning["fixed_dev_f1"] == best
    # the dev predictions kept are those at the chosen setting
    dev = sample_dir / "relation_extraction" / "dev_data.json"
    assert score("relation_extraction", str(dev), str(model_dir / "dev_predictions.zip"))["f1"] == tuning["dev_f1"]
