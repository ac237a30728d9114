"""DuIE 2.0 files: the loader names file and line and counts skips; the official metric on cases computed by
hand."""
import json
import os

import pytest

from common.data import DataError
from relation_extraction import duie
from tests.conftest import write_lines


SPO = {"predicate": "妻子", "subject": "张三", "object": {"@value": "李四"}}


def test_duie_bad_json_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "train.json", [json.dumps({"text": "a", "spo_list": []}), "{oops"])
    with pytest.raises(DataError, match=r"train.json:2: not valid JSON"):
        duie.load(path)


@pytest.mark.parametrize("row, message", [
    ({"spo_list": []}, "missing key 'text'"),
    ({"text": 5}, "'text' should be str"),
    ({"text": "张三", "spo_list": [{"subject": "张三", "object": {"@value": "x"}}]}, "missing key 'predicate'"),
])
def test_duie_missing_key_or_wrong_type(tmp_path, row, message):
    path = write_lines(tmp_path / "d.json", ["", json.dumps(row, ensure_ascii=False)])
    with pytest.raises(DataError, match=r"d.json:2") as e:
        duie.load(path)
    assert message in str(e.value)


def test_duie_skips_are_counted_and_reported(tmp_path, capsys):
    schema = duie.load_schema(os.path.join("synthetic", "resources", "duie2_schema.json"))
    rows = [{"text": "张三的妻子是李四。", "spo_list": [SPO, dict(SPO, subject="王五"), dict(SPO, predicate="不存在")]}]
    path = write_lines(tmp_path / "d.json", [json.dumps(r, ensure_ascii=False) for r in rows])
    sentences = duie.load(path, schema)
    assert [s["subject"] for s in sentences[0]["spo_list"]] == ["张三"]
    err = capsys.readouterr().err
    assert "skipped 2 of 3 SPOs" in err and "not in the schema" in err and "not in the text" in err


def spo(p, s, **objects):
    return {"predicate": p, "subject": s, "object": {k.replace("value", "@value"): v for k, v in objects.items()}}


def test_duie_lowercase_booknames_duplicates_complex():
    gold = [{"text": "t1", "spo_list": [spo("主演", "《ABC》", value="张三"), spo("主演", "ABC", value="李四"),
                                         spo("饰演", "王五", value="楚留香", inWork="新传")]}]
    pred = [{"text": "t1", "spo_list": [spo("主演", "abc", value="张三"), spo("主演", "《abc》", value="张三"),
                                         spo("饰演", "王五", value="楚留香"),  # slot missing: wrong
                                         spo("主演", "abc", value="赵六")]}]
    # gold: 3 distinct; predicted: 3 distinct (duplicate removed); correct: 1
    assert duie.scores(gold, pred) == {"precision": round(1 / 3, 4), "recall": round(1 / 3, 4),
                                       "f1": round(1 / 3, 4)}


def test_duie_complex_object_must_match_whole():
    gold = [{"text": "t", "spo_list": [spo("获奖", "甲", value="金鸡奖", inWork="片", onDate="2000年")]}]
    good = [{"text": "t", "spo_list": [spo("获奖", "甲", value="金鸡奖", onDate="2000年", inWork="片")]}]
    assert duie.scores(gold, good)["f1"] == 1.0
    assert duie.scores(gold, [{"text": "t", "spo_list": []}]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
