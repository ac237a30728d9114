"""The error-analysis report: per-class counts add up to the official metric; odd inputs do not break it."""
import json
import os

import matplotlib
import pytest

from common.analysis import highlight
from common.metrics import prf
from event_extraction import duee
from relation_extraction import duie
from tools.report import main as report_main, write_report
from tests.conftest import run, write_lines

matplotlib.use("Agg")


def check_figures(directory):
    import matplotlib.image as mpimg

    pngs = [n for n in os.listdir(directory) if n.endswith(".png")]
    assert pngs
    for name in pngs:
        assert os.path.getsize(os.path.join(directory, name)) > 0
        assert mpimg.imread(os.path.join(directory, name)).size > 0
    return pngs


def check_model_dir_report(model_dir, track):
    """The report of a trained model directory: its best dev F1 (as the report prints it) and its figures."""
    from tools.report import report_model_dir

    path = report_model_dir(str(model_dir))
    best = max((json.loads(line) for line in open(model_dir / "metrics.jsonl")), key=lambda r: r["dev_f1"])
    tuning = json.load(open(model_dir / "config.json")).get("thresholds")  # the dev predictions' thresholds
    f1 = tuning["dev_f1"] if tuning else best["dev_f1"]
    text = open(path, encoding="utf-8").read()
    expected = f"F1 {f1:.3f}" if track == "reading_comprehension" else f"F1 {f1:.4f}"
    assert expected in text, (expected, text[:400])
    expected_figures = {"learning_curve.png", "length.png"} | ({"error_kinds.png"} if best["dev_f1"] < 1 else set())
    assert expected_figures <= set(check_figures(model_dir / "report"))


def spo(p, s, o, **slots):
    return {"predicate": p, "subject": s, "object": {"@value": o, **slots}}


def test_relation_extraction_counts_add_up_and_odd_inputs_pass(tmp_path):
    gold = [{"text": "甲的妻子是乙，甲的父亲是丙。", "spo_list": [spo("妻子", "甲", "乙"), spo("父亲", "甲", "丙")]},
            {"text": "丁在《戊》中饰演己。", "spo_list": [spo("饰演", "丁", "己", inWork="戊")]},
            {"text": "没有关系的句子。", "spo_list": []}]
    predicted = [{"text": gold[0]["text"], "spo_list": [spo("丈夫", "甲", "乙"), spo("父亲", "甲", "丙")]},
                 {"text": gold[1]["text"], "spo_list": [spo("饰演", "丁", "己", inWork="中")]},
                 {"text": gold[2]["text"], "spo_list": [spo("作者", "没有", "句子")]}]
    counts = duie.counts(gold, predicted)
    assert prf(*(sum(c[i] for c in counts.values()) for i in range(3))) == duie.scores(gold, predicted)
    assert counts["妻子"] == [0, 0, 1] and counts["丈夫"] == [0, 1, 0] and counts["父亲"] == [1, 1, 1]
    dev = write_lines(tmp_path / "dev.json", [json.dumps(g, ensure_ascii=False) for g in gold])
    predictions = write_lines(tmp_path / "pred.json", [json.dumps(p, ensure_ascii=False) for p in predicted])
    path = write_report("relation_extraction", dev, predictions, str(tmp_path / "r"))
    text = open(path, encoding="utf-8").read()
    assert "F1 0.2857" in text and "| wrong predicate | 1 |" in text and "| 饰演/inWork | " in text
    check_figures(tmp_path / "r")
    empty = write_lines(tmp_path / "empty.json", [])  # nothing predicted at all
    path = write_report("relation_extraction", dev, empty, str(tmp_path / "e"))
    assert "recall 0.0000" in open(path, encoding="utf-8").read()


def test_event_extraction_counts_add_up(tmp_path):
    gold = [{"id": "1", "text": "湖人队击败火箭队，夺得冠军。", "event_list": [
        {"event_type": "竞赛行为-胜负", "arguments": [{"role": "胜者", "argument": "湖人队"},
                                                   {"role": "败者", "argument": "火箭队"}]},
        {"event_type": "竞赛行为-夺冠", "arguments": [{"role": "冠军", "argument": "湖人队", "alias": ["湖人"]}]}]},
            {"id": "2", "text": "没有事件。", "event_list": []}]
    predicted = [{"id": "1", "event_list": [{"event_type": "竞赛行为-胜负", "arguments": [
        {"role": "胜者", "argument": "湖人"}, {"role": "败者", "argument": "湖人队"}]}]}]  # sentence 2 absent
    counts = duee.counts(gold, predicted)
    assert prf(*(sum(c[i] for c in counts.values()) for i in range(3))) == duee.scores(gold, predicted)
    assert counts[("竞赛行为-夺冠", "冠军")] == [0.0, 0, 1]  # a class absent from the predictions
    dev = write_lines(tmp_path / "dev.json", [json.dumps(g, ensure_ascii=False) for g in gold])
    predictions = write_lines(tmp_path / "pred.json", [json.dumps(p, ensure_ascii=False) for p in predicted])
    text = open(write_report("event_extraction", dev, predictions, str(tmp_path / "r")), encoding="utf-8").read()
    assert "| boundary | 1 |" in text and "| wrong role or event type | 1 |" in text and "| missed | 1 |" in text
    assert "| event type | 1.000 | 0.500 |" in text  # 1 of the 2 gold (sentence, type) pairs predicted
    check_figures(tmp_path / "r")


def test_reading_comprehension_groups_and_cli(tmp_path, capsys):
    doc = {"data": [{"paragraphs": [{"context": "张三出生于北京，李四出生于上海。", "qas": [
        {"id": "a", "question": "张三出生在哪里？", "answers": [{"text": "北京", "answer_start": -1}]},
        {"id": "b", "question": "谁出生于上海？", "answers": [{"text": "李四", "answer_start": -1}]},
        {"id": "c", "question": "李四出生在哪里？", "answers": [{"text": "上海", "answer_start": -1}]}]}]}]}
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "pred.json").write_text(json.dumps({"a": "北京", "b": ""}, ensure_ascii=False), encoding="utf-8")
    report_main(["--track", "reading_comprehension", "--dev", str(dev), "--predictions", str(tmp_path / "pred.json"),
                 "--out", str(tmp_path / "r")])
    assert capsys.readouterr().out == f"report: {tmp_path / 'r' / 'report.md'}\n"
    text = open(tmp_path / "r" / "report.md", encoding="utf-8").read()
    assert "F1 33.333" in text and "No-answer predictions (empty string): 2 of 3" in text and "| 哪 | 2 |" in text
    check_figures(tmp_path / "r")
    result = run("-m", "tools.report", str(tmp_path))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {tmp_path}: not a model directory")


def test_highlight_never_nests():
    assert highlight("天春国海拔4584米。", ["4584米", "4584"]) == "天春国海拔**4584米**。"
    assert highlight("甲乙丙", ["甲", "丙", "丁"]) == "**甲**乙**丙**"


@pytest.mark.parametrize("name", ["metrics.jsonl"])
def test_a_torn_metrics_line_is_ignored(tmp_path, name):
    from common.model_dir import read_metrics
    (tmp_path / name).write_text('{"epoch": 1, "dev_f1": 0.5}\n{"epoch": 2, "dev_f', encoding="utf-8")
    assert read_metrics(str(tmp_path)) == [{"epoch": 1, "dev_f1": 0.5}]


def test_a_negative_count_of_samples_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):  # random.sample raised a bare ValueError after the analysis
        report_main(["some-model", "--samples", "-1"])
    assert "argument --samples: an integer, 0 or above (not '-1')" in capsys.readouterr().err
