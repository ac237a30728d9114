"""Loaders: malformed input names file and line; unusable annotations are counted and reported."""
import json
import os

import pytest

from common.data import DataError, find_data_files, load_duee, load_duee_schema, load_dureader, load_duie, \
    load_duie_schema
from tests.conftest import write_lines

SPO = {"predicate": "妻子", "subject": "张三", "object": {"@value": "李四"}}


def test_duie_bad_json_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "train.json", [json.dumps({"text": "a", "spo_list": []}), "{oops"])
    with pytest.raises(DataError, match=r"train.json:2: not valid JSON"):
        load_duie(path)


@pytest.mark.parametrize("row, message", [
    ({"spo_list": []}, "missing key 'text'"),
    ({"text": 5}, "'text' should be str"),
    ({"text": "张三", "spo_list": [{"subject": "张三", "object": {"@value": "x"}}]}, "missing key 'predicate'"),
])
def test_duie_missing_key_or_wrong_type(tmp_path, row, message):
    path = write_lines(tmp_path / "d.json", ["", json.dumps(row, ensure_ascii=False)])
    with pytest.raises(DataError, match=r"d.json:2") as e:
        load_duie(path)
    assert message in str(e.value)


def test_duie_skips_are_counted_and_reported(tmp_path, capsys):
    schema = load_duie_schema(os.path.join("synthetic", "resources", "duie2_schema.json"))
    rows = [{"text": "张三的妻子是李四。", "spo_list": [SPO, dict(SPO, subject="王五"), dict(SPO, predicate="不存在")]}]
    path = write_lines(tmp_path / "d.json", [json.dumps(r, ensure_ascii=False) for r in rows])
    sentences = load_duie(path, schema)
    assert [s["subject"] for s in sentences[0]["spo_list"]] == ["张三"]
    err = capsys.readouterr().err
    assert "skipped 2 of 3 SPOs" in err and "not in the schema" in err and "not in the text" in err


def test_dureader_answers_found_by_text_when_start_is_minus_one(tmp_path, capsys):
    doc = {"data": [{"paragraphs": [{"context": "北京是中国的首都。", "qas": [
        {"id": "a", "question": "首都？", "answers": [{"text": "北京", "answer_start": -1}]},
        {"id": "b", "question": "？", "answers": [{"text": "上海", "answer_start": 3}]},
        {"id": "c", "question": "？"}]}]}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    questions = load_dureader(str(path))
    assert [(q.id, q.found) for q in questions] == [("a", [(0, "北京")]), ("b", []), ("c", [])]
    assert questions[1].answers == ["上海"]  # kept for scoring, not for training
    assert "skipped 1 of 2 answers" in capsys.readouterr().err


def test_dureader_malformed(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"data": [\n{"paragraphs": [}', encoding="utf-8")
    with pytest.raises(DataError, match=r"train.json:2: not valid JSON"):
        load_dureader(str(path))
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "1"}]}]}]}))
    with pytest.raises(DataError, match=r"qas\[0\]: missing key 'question'"):
        load_dureader(str(path))


def test_duee_loader_and_schema(tmp_path, capsys):
    schema = load_duee_schema(os.path.join("synthetic", "resources", "duee1_schema.json"))
    assert len(schema) == 65 and sum(map(len, schema.values())) == 217
    row = {"id": "x", "text": "湖人队击败火箭队", "event_list": [{"event_type": "竞赛行为-胜负", "arguments": [
        {"role": "胜者", "argument": "湖人队", "argument_start_index": 0},
        {"role": "败者", "argument": "火箭队", "argument_start_index": 99},  # wrong index: found by text
        {"role": "裁判", "argument": "火箭队"}]}]}
    path = write_lines(tmp_path / "train.json", [json.dumps(row, ensure_ascii=False)])
    sentence = load_duee(path, schema)[0]
    assert sentence["arguments"] == [("竞赛行为-胜负", "胜者", 0, "湖人队"), ("竞赛行为-胜负", "败者", 5, "火箭队")]
    assert "skipped 1 of 3 arguments" in capsys.readouterr().err
    with pytest.raises(DataError, match=r"train.json:1: missing key 'id'"):
        load_duee(write_lines(tmp_path / "train.json", [json.dumps({"text": "x"})]))


def test_find_data_files_official_names(tmp_path):
    for name in ("duie_train.json", "duie_dev.json", "duie_schema.json", "duie_test2.json"):
        (tmp_path / name).write_text("")
    found = find_data_files("relation_extraction", str(tmp_path))
    assert os.path.basename(found["test"]) == "duie_test2.json"
    override = tmp_path / "mine.json"
    override.write_text("")
    assert find_data_files("relation_extraction", str(tmp_path), {"dev": str(override)})["dev"] == str(override)
    for name in ("duee_train.json", "duee_dev.json"):
        (tmp_path / name).write_text("")
    with pytest.raises(DataError, match="no schema file under .*duee_event_schema.json"):
        find_data_files("event_extraction", str(tmp_path))


def test_find_data_files_lic2020_names(sample_dir):
    found = find_data_files("reading_comprehension", str(sample_dir / "reading_comprehension"))
    assert [os.path.basename(found[k]) for k in ("train", "dev", "test")] == ["train.json", "dev.json", "test1.json"]
