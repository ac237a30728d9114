"""The official metrics on cases computed by hand."""
import sys

import pytest

from common.metrics import (char_f1, duee_scores, duie_scores, rc_em, rc_f1, rc_normalize, rc_scores,
                            rc_tokens)


def test_metrics_import_without_tensorflow():
    import subprocess
    code = "import sys, common.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rc_normalize_drops_official_punctuation_and_lowercases():
    assert rc_normalize("《北京》，ABC：d|e") == "北京abcde"
    assert rc_normalize("a-b") == "a-b"  # "-" is not in the official list
    assert rc_normalize("x……y") == "x……y"  # "……" is two characters: never matches one


def test_rc_tokens_cjk_and_runs():
    assert rc_tokens("北京2008年奥运会") == ["北", "京", "2008", "年", "奥", "运", "会"]
    assert rc_tokens("a=b c") == ["a", "=", "b c"]


def test_rc_f1_longest_common_substring():
    # gold 北京大学 (4 tokens), prediction 北京的大学 (5): longest common run 北京 = 2
    # P = 2/5, R = 2/4, F1 = 2*0.4*0.5/0.9
    assert rc_f1(["北京大学"], "北京的大学") == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert rc_f1(["北京大学", "北大"], "北大") == 1.0  # best over several gold answers
    assert rc_f1(["2008年"], "2009年") == pytest.approx(2 * 0.5 * 0.5 / 1.0)
    assert rc_f1(["abc"], "") == 0.0


def test_rc_em_and_scores_with_missing_ids():
    assert rc_em(["《红楼梦》"], "红楼梦") == 1.0
    refs = {"q1": ["北京"], "q2": ["上海", "沪"], "q3": ["广州"]}
    scores = rc_scores(refs, {"q1": "北京", "q2": "上海市"})
    # q1: F1 1, EM 1; q2: F1 = 2*(2/3)*1/(5/3) = 0.8, EM 0; q3: missing -> 0, SKIP
    assert scores == {"F1": f"{100 * 1.8 / 3:.3f}", "EM": f"{100 / 3:.3f}", "TOTAL": 3, "SKIP": 1}


def spo(p, s, **objects):
    return {"predicate": p, "subject": s, "object": {k.replace("value", "@value"): v for k, v in objects.items()}}


def test_duie_lowercase_booknames_duplicates_complex():
    gold = [{"text": "t1", "spo_list": [spo("主演", "《ABC》", value="张三"), spo("主演", "ABC", value="李四"),
                                         spo("饰演", "王五", value="楚留香", inWork="新传")]}]
    pred = [{"text": "t1", "spo_list": [spo("主演", "abc", value="张三"), spo("主演", "《abc》", value="张三"),
                                         spo("饰演", "王五", value="楚留香"),  # slot missing: wrong
                                         spo("主演", "abc", value="赵六")]}]
    # gold: 3 distinct; predicted: 3 distinct (duplicate removed); correct: 1
    assert duie_scores(gold, pred) == {"precision": round(1 / 3, 4), "recall": round(1 / 3, 4),
                                       "f1": round(1 / 3, 4)}


def test_duie_complex_object_must_match_whole():
    gold = [{"text": "t", "spo_list": [spo("获奖", "甲", value="金鸡奖", inWork="片", onDate="2000年")]}]
    good = [{"text": "t", "spo_list": [spo("获奖", "甲", value="金鸡奖", onDate="2000年", inWork="片")]}]
    assert duie_scores(gold, good)["f1"] == 1.0
    assert duie_scores(gold, [{"text": "t", "spo_list": []}]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_char_f1_case_insensitive():
    assert char_f1("ABc", "abc") == 1.0
    assert char_f1("北京市", "北京") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))


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
    scores = duee_scores(gold, pred)
    assert scores["precision"] == round(1.8 / 3, 4)
    assert scores["recall"] == round(1.8 / 2, 4)


def test_duee_an_argument_of_two_events_of_one_type_counts_in_each():
    shared = {"role": "时间", "argument": "昨天"}
    gold = [{"id": "1", "event_list": [{"event_type": "胜负", "arguments": [shared, {"role": "胜者", "argument": "甲"}]},
                                       {"event_type": "胜负", "arguments": [shared, {"role": "胜者", "argument": "丙"}]}]}]
    separate = [{"id": "1", "event_list": gold[0]["event_list"]}]
    merged = [{"id": "1", "event_list": [{"event_type": "胜负", "arguments": [
        shared, {"role": "胜者", "argument": "甲"}, {"role": "胜者", "argument": "丙"}, shared]}]}]  # repeat: once
    assert duee_scores(gold, separate)["recall"] == 1.0 and duee_scores(gold, separate)["precision"] == 1.0
    assert duee_scores(gold, merged)["recall"] == 0.75 and duee_scores(gold, merged)["precision"] == 1.0


def test_duee_one_gold_argument_is_matched_once():
    gold = [{"id": "1", "event_list": [{"event_type": "e", "arguments": [{"role": "r", "argument": "ABC"}]}]}]
    pred = [{"id": "1", "event_list": [{"event_type": "e", "arguments": [
        {"role": "r", "argument": "abc"}, {"role": "r", "argument": "AB"}]}]}]
    scores = duee_scores(gold, pred)
    assert scores["recall"] == 1.0 and scores["precision"] == 0.5
