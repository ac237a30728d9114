"""Train on the sample data with a tiny BERT, predict, validate; bad input never loses a question id."""
import json

import pytest

from tools.validate import validate
from tests.conftest import predict_here, run

pytestmark = pytest.mark.trains  # trains models: not in make test-fast


def dureader(path, paragraphs):
    """Write a DuReader_robust file of (context, [(id, question, [answers])]) paragraphs."""
    doc = {"data": [{"title": "", "paragraphs": [
        {"context": context, "qas": [{"id": qid, "question": question,
                                      "answers": [{"text": a, "answer_start": context.find(a)} for a in answers]}
                                     for qid, question, answers in qas]}
        for context, qas in paragraphs]}]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def model_dir(trained):
    return trained("reading_comprehension")


def test_dev_f1_and_valid_submission(model_dir, sample_dir, tmp_path):
    records = [json.loads(line) for line in open(model_dir / "metrics.jsonl")]
    assert max(r["dev_f1"] for r in records) >= 60  # one epoch on the sample data
    for name in ("model.weights.h5", "bert_config.json", "vocab.txt", "config.json", "dev_predictions.json"):
        assert (model_dir / name).is_file(), name
    test = sample_dir / "reading_comprehension" / "test1.json"
    submission = tmp_path / "submission.json"
    result = run("reading_comprehension/predict.py", "--model-dir", str(model_dir), "--input", str(test),
                 "--output", str(submission))
    assert result.returncode == 0, result.stderr[-3000:]
    contexts = {qa["id"]: p["context"] for a in json.load(open(test, encoding="utf-8"))["data"]
                for p in a["paragraphs"] for qa in p["qas"]}
    assert validate("reading_comprehension", str(test), str(submission)) == ([], len(contexts))
    answers = json.load(open(submission, encoding="utf-8"))
    assert answers.keys() == contexts.keys()
    assert all(answers[qid] in contexts[qid] for qid in answers)  # cut from the context


def test_bad_input_keeps_every_question(model_dir, tmp_path):
    long_context = "２０２０年，Apple公司 在北京 发布了 Nova 手机。" * 700  # over 20,000 characters
    test = dureader(tmp_path / "test.json", [("", [("empty", "什么？", [])]),
                                               (long_context, [("long", "谁发布了手机？", [])]),
                                               ("张三出生于北京。", [("plain", "张三出生于哪里？", [])])])
    out = tmp_path / "s.json"
    result = predict_here("reading_comprehension", "--model-dir", str(model_dir), "--input", test,
                          "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert validate("reading_comprehension", test, str(out)) == ([], 3)
    answers = json.load(open(out, encoding="utf-8"))
    assert answers["empty"] == "" and answers["long"] in long_context
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n{"title": "",\n', encoding="utf-8")
    result = run("reading_comprehension/predict.py", "--model-dir", str(model_dir), "--input", str(broken),
                 "--output", str(out))
    assert result.returncode == 2 and f"{broken}:3: not valid JSON" in result.stderr


def test_answer_missing_from_its_context_is_counted(tiny_bert_dir, tmp_path):
    train = dureader(tmp_path / "train.json", [("张三出生于北京。", [("a", "张三出生于哪里？", ["北京"]),
                                                                   ("b", "李四出生于哪里？", ["上海"])])])
    result = run("reading_comprehension/train.py", "--train", train, "--dev", train,
                 "--bert-dir", str(tiny_bert_dir), "--output-dir", str(tmp_path / "m"), "--epochs", "1",
                 "--maxlen", "96")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped 1 of 2 answers (1 answers not found in their context)" in result.stderr
    assert "train: 2 questions (1 skipped" in result.stdout


def test_report_of_the_model_directory(model_dir):
    from tests.tools.test_report import check_model_dir_report

    check_model_dir_report(model_dir, "reading_comprehension")
