"""DuEE 1.0 files: the loader and schema; the official argument-level metric on cases computed by hand; the
stage diagnostics."""
import json
import os

import pytest

from common.data import DataError
from event_extraction import duee
from tests.conftest import write_lines


def test_duee_loader_and_schema(tmp_path, capsys):
    schema = duee.load_schema(os.path.join("synthetic", "resources", "duee1_schema.json"))
    assert len(schema) == 65 and sum(map(len, schema.values())) == 217
    row = {"id": "x", "text": "湖人队击败火箭队", "event_list": [{"event_type": "竞赛行为-胜负", "arguments": [
        {"role": "胜者", "argument": "湖人队", "argument_start_index": 0},
        {"role": "败者", "argument": "火箭队", "argument_start_index": 99},  # wrong index: found by text
        {"role": "裁判", "argument": "火箭队"}]}]}
    path = write_lines(tmp_path / "train.json", [json.dumps(row, ensure_ascii=False)])
    sentence = duee.load(path, schema)[0]
    assert sentence["arguments"] == [("竞赛行为-胜负", "胜者", 0, "湖人队"), ("竞赛行为-胜负", "败者", 5, "火箭队")]
    assert "skipped 1 of 3 arguments" in capsys.readouterr().err
    with pytest.raises(DataError, match=r"train.json:1: missing key 'id'"):
        duee.load(write_lines(tmp_path / "train.json", [json.dumps({"text": "x"})]))


def test_char_f1_case_insensitive():
    assert duee.char_f1("ABc", "abc") == 1.0
    assert duee.char_f1("北京市", "北京") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))


def test_duee_argument_level_with_aliases():
    gold = [{"id": "1", "event_list": [
        {"event_type": "竞赛行为-胜负", "arguments": [
            {"role": "胜者", "argument": "湖人队", "alias": ["洛杉矶湖人"]},
            {"role": "败者", "argument": "火箭队"}]}]}]
    pred = [{"id": "1", "event_list": [
        {"event_type": "竞赛行为-胜负", "arguments": [
            {"role": "胜者", "argument": "洛杉矶湖人"},  # alias: 1.0
            {"role": "败者", "argument": "火箭"}]},       # char F1 2*1*(2/3)/(5/3) = 0.8
        {"event_type": "竞赛行为-夺冠", "arguments": [{"role": "冠军", "argument": "湖人队"}]}]}]  # wrong type: 0
    scores = duee.scores(gold, pred)
    assert scores["precision"] == round(1.8 / 3, 4)
    assert scores["recall"] == round(1.8 / 2, 4)


def test_duee_an_argument_of_two_events_of_one_type_counts_in_each():
    shared = {"role": "时间", "argument": "昨天"}
    gold = [{"id": "1", "event_list": [{"event_type": "胜负", "arguments": [shared, {"role": "胜者", "argument": "甲"}]},
                                       {"event_type": "胜负", "arguments": [shared, {"role": "胜者", "argument": "丙"}]}]}]
    separate = [{"id": "1", "event_list": gold[0]["event_list"]}]
    merged = [{"id": "1", "event_list": [{"event_type": "胜负", "arguments": [
        shared, {"role": "胜者", "argument": "甲"}, {"role": "胜者", "argument": "丙"}, shared]}]}]  # repeat: once
    assert duee.scores(gold, separate)["recall"] == 1.0 and duee.scores(gold, separate)["precision"] == 1.0
    assert duee.scores(gold, merged)["recall"] == 0.75 and duee.scores(gold, merged)["precision"] == 1.0


def test_duee_one_gold_argument_is_matched_once():
    gold = [{"id": "1", "event_list": [{"event_type": "e", "arguments": [{"role": "r", "argument": "ABC"}]}]}]
    pred = [{"id": "1", "event_list": [{"event_type": "e", "arguments": [
        {"role": "r", "argument": "abc"}, {"role": "r", "argument": "AB"}]}]}]
    scores = duee.scores(gold, pred)
    assert scores["recall"] == 1.0 and scores["precision"] == 0.5


def test_stage_scores_say_which_stage_loses_recall():
    gold = [{"id": "1", "event_list": [{"event_type": "胜负", "trigger": "击败", "arguments": []},
                                       {"event_type": "夺冠", "trigger": "夺冠", "arguments": []}]},
            {"id": "2", "event_list": [{"event_type": "地震", "trigger": "地震", "arguments": []}]}]
    pred = [{"id": "1", "event_list": [{"event_type": "胜负", "trigger": "战胜", "arguments": []},
                                       {"event_type": "夺冠", "trigger": "夺冠", "arguments": []},
                                       {"event_type": "裁员", "trigger": "裁员", "arguments": []}]},
            {"id": "2", "event_list": []}]
    stages = duee.stage_scores(gold, pred)
    # types: predicted (1,胜负) (1,夺冠) (1,裁员); gold (1,胜负) (1,夺冠) (2,地震): 2 right
    assert (stages["type_precision"], stages["type_recall"]) == (round(2 / 3, 4), round(2 / 3, 4))
    # triggers: only (1,夺冠,夺冠) is right
    assert (stages["trigger_precision"], stages["trigger_recall"]) == (round(1 / 3, 4), round(1 / 3, 4))
    no_triggers = [{"id": "1", "event_list": [{"event_type": "胜负", "arguments": []}]}]
    assert set(duee.stage_scores(gold, no_triggers)) == {"type_precision", "type_recall"}
