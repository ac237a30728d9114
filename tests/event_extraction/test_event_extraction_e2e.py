"""Train on the sample data with a tiny BERT, predict, validate; a real-size schema trains one step."""
import json
import os

import numpy as np
import pytest

from tools.validate import validate
from tests.conftest import predict_here, run, train_on_sample, write_lines

pytestmark = pytest.mark.trains  # trains models: not in make test-fast


@pytest.fixture(scope="module")
def model_dir(trained):
    return trained("event_extraction")


def test_dev_f1_and_valid_submission(model_dir, sample_dir, tmp_path):
    records = [json.loads(line) for line in open(model_dir / "metrics.jsonl")]
    assert max(r["dev_f1"] for r in records) >= 0.80
    test = sample_dir / "event_extraction" / "test1.json"
    submission = tmp_path / "submission.json"
    result = run("event_extraction/predict.py", "--model-dir", str(model_dir), "--input", str(test),
                 "--output", str(submission))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("event_extraction", str(test), str(submission)) == ([], 150)
    texts = {json.loads(line)["id"]: json.loads(line)["text"] for line in open(test, encoding="utf-8")}
    for line in open(submission, encoding="utf-8"):
        row = json.loads(line)
        assert all(e["trigger"] in texts[row["id"]] for e in row["event_list"])  # one event per trigger
        assert all(a["argument"] in texts[row["id"]] for e in row["event_list"] for a in e["arguments"])


@pytest.mark.parametrize("head", ["pointer", "span", "crf", "memm"])
def test_other_heads_train_and_predict_from_their_directory(small_sample, tiny_bert_dir, tmp_path, head):
    test = small_sample / "event_extraction" / "test1.json"
    result = run("event_extraction/train.py", "--data-dir", str(small_sample / "event_extraction"), "--bert-dir",
                 str(tiny_bert_dir), "--output-dir", str(tmp_path / head), "--epochs", "3", "--batch-size", "8",
                 "--maxlen", "64", "--learning-rate", "2e-3", "--head", head,
                 "--ema", "0")  # 36 steps: fewer than the default average (0.95) reaches back
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / head
    assert json.load(open(out / "config.json"))["config"]["head"] == head
    assert max(json.loads(line)["dev_f1"] for line in open(out / "metrics.jsonl")) >= 0.15  # 0 untrained
    result = predict_here("event_extraction", "--model-dir", str(out), "--input", str(test),
                 "--output", str(tmp_path / f"{head}.json"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("event_extraction", str(test), str(tmp_path / f"{head}.json")) == ([], 32)
    for line in open(tmp_path / f"{head}.json", encoding="utf-8"):
        found = json.loads(line)["event_list"]
        if head == "pointer":
            assert all(e.get("trigger") for e in found)  # one event per trigger
        else:
            types = [e["event_type"] for e in found]
            assert len(types) == len(set(types))  # these heads find arguments: one event per event type


def test_bad_input(model_dir, tmp_path):
    rows = [{"id": "a", "text": ""}, {"id": "b", "text": "２０２０年Apple公司 发布新款 Nova手机。" * 300},
            {"id": "c", "text": "正常的句子。"}]
    test = write_lines(tmp_path / "test.json", [json.dumps(r, ensure_ascii=False) for r in rows])
    out = tmp_path / "s.json"
    result = predict_here("event_extraction", "--model-dir", str(model_dir), "--input", test, "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("event_extraction", test, str(out)) == ([], 3)
    bad = write_lines(tmp_path / "bad.json", [json.dumps(rows[2], ensure_ascii=False), '{"text": "no id"}'])
    result = run("event_extraction/predict.py", "--model-dir", str(model_dir), "--input", bad, "--output", str(out))
    assert result.returncode == 2 and "bad.json:2: missing key 'id'" in result.stderr


def test_unknown_role_in_training_data_is_counted(sample_dir, tiny_bert_dir, tmp_path):
    row = {"id": "x", "text": "甲队击败乙队", "event_list": [{"event_type": "竞赛行为-胜负", "trigger": "击败",
                                                          "arguments": [{"role": "裁判", "argument": "甲队"},
                                                                        {"role": "胜者", "argument": "甲队"}]}]}
    train = write_lines(tmp_path / "train.json", [json.dumps(dict(row, id=str(i)), ensure_ascii=False) for i in range(4)])
    result = run("event_extraction/train.py", "--train", train, "--dev", train,
                 "--schema", str(sample_dir / "event_extraction" / "event_schema.json"),
                 "--bert-dir", str(tiny_bert_dir), "--output-dir", str(tmp_path / "m"), "--epochs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped 4 of 8 arguments (4 with an event type or role not in the schema)" in result.stderr


@pytest.mark.parametrize("head", ["trigger", "pointer", "span", "crf", "memm"])
def test_real_size_schema_trains_one_step_and_predicts(tiny_bert_dir, tokenizer, head):
    from common.bert import BertFiles, build_bert
    from common.data import read_json_lines
    from common.training import Trainer, make_optimizer
    from event_extraction import events
    from event_extraction.heads import HEADS
    from event_extraction.track import Config

    config = Config(maxlen=64, head=head, priors=[1e-4] * 3,
                    schema=[obj for _, obj in read_json_lines(os.path.join("synthetic", "resources", "duee1_schema.json"))])
    classes, head_of = config.classes(), HEADS[head]
    models = head_of.build(build_bert(BertFiles.from_dir(str(tiny_bert_dir))), classes, config)
    text = "9月9日，湖人队击败火箭队，夺得冠军。"
    sentence = {"text": text, "arguments": [("竞赛行为-胜负", "胜者", 5, "湖人队"), ("竞赛行为-夺冠", "冠军", 5, "湖人队")],
                "events": [{"event_type": "竞赛行为-胜负", "trigger": "击败", "trigger_start": 8,
                            "arguments": [("胜者", 5, "湖人队")]},
                           {"event_type": "竞赛行为-夺冠", "trigger": "夺得", "trigger_start": 14,
                            "arguments": [("冠军", 5, "湖人队")]}]}
    examples, _, _ = events.make_examples(tokenizer, sentence, classes, 64)
    before = [w.copy() for w in models.train.get_weights()]
    trainer = Trainer(models.train, make_optimizer(1e-3, 10), None, 1, None, "/tmp", chief=False)
    loss, _, _ = trainer.step(head_of.collate(head_of.rows(examples) * 2, classes, config))
    assert np.isfinite(loss) and loss > 0
    assert any(not np.allclose(a, b) for a, b in zip(before, models.train.get_weights()))
    predicted = events.Predictor(tokenizer, head_of, [models], classes, config).predict([text, ""])
    assert len(predicted) == 2 and predicted[1] == []


def test_block_recompute_trains_the_same_numbers(small_sample, tiny_bert_dir, tmp_path):
    runs = {}
    for name, extra in (("plain", ()), ("recompute", ("--recompute",))):
        out = train_on_sample("event_extraction", small_sample, tiny_bert_dir, tmp_path / name, 1, "--precision", "fp32",
                              *extra)
        runs[name] = [json.loads(line) for line in open(out / "metrics.jsonl")]
    assert json.load(open(tmp_path / "recompute" / "config.json"))["config"]["recompute"] == "block"
    np.testing.assert_allclose(runs["recompute"][0]["loss"], runs["plain"][0]["loss"], rtol=1e-4)
    assert abs(runs["recompute"][0]["dev_f1"] - runs["plain"][0]["dev_f1"]) <= 0.01


def test_report_of_the_model_directory(model_dir):
    from tests.tools.test_report import check_model_dir_report

    check_model_dir_report(model_dir, "event_extraction")
