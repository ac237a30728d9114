"""DuReader_robust files: the loader; the official F1/EM on cases computed by hand."""
import json

import pytest

from common.data import DataError
from reading_comprehension import dureader


def test_dureader_answers_found_by_text_when_start_is_minus_one(tmp_path, capsys):
    doc = {"data": [{"paragraphs": [{"context": "北京是中国的首都。", "qas": [
        {"id": "a", "question": "首都？", "answers": [{"text": "北京", "answer_start": -1}]},
        {"id": "b", "question": "？", "answers": [{"text": "上海", "answer_start": 3}]},
        {"id": "c", "question": "？"}]}]}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    questions = dureader.load(str(path))
    assert [(q.id, q.found) for q in questions] == [("a", [(0, "北京")]), ("b", []), ("c", [])]
    assert questions[1].answers == ["上海"]  # kept for scoring, not for training
    assert "skipped 1 of 2 answers" in capsys.readouterr().err


def test_dureader_malformed(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"data": [\n{"paragraphs": [}', encoding="utf-8")
    with pytest.raises(DataError, match=r"train.json:2: not valid JSON"):
        dureader.load(str(path))
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "1"}]}]}]}))
    with pytest.raises(DataError, match=r"qas\[0\]: missing key 'question'"):
        dureader.load(str(path))


def test_rc_normalize_drops_official_punctuation_and_lowercases():
    assert dureader.normalize("《北京》，ABC：d|e") == "北京abcde"
    assert dureader.normalize("a-b") == "a-b"  # "-" is not in the official list
    assert dureader.normalize("x……y") == "x……y"  # "……" is two characters: never matches one


def test_rc_tokens_cjk_and_runs():
    assert dureader.tokens("北京2008年奥运会") == ["北", "京", "2008", "年", "奥", "运", "会"]
    assert dureader.tokens("a=b c") == ["a", "=", "b c"]


def test_rc_f1_longest_common_substring():
    # gold 北京大学 (4 tokens), prediction 北京的大学 (5): longest common run 北京 = 2
    # P = 2/5, R = 2/4, F1 = 2*0.4*0.5/0.9
    assert dureader.f1(["北京大学"], "北京的大学") == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert dureader.f1(["北京大学", "北大"], "北大") == 1.0  # best over several gold answers
    assert dureader.f1(["2008年"], "2009年") == pytest.approx(2 * 0.5 * 0.5 / 1.0)
    assert dureader.f1(["abc"], "") == 0.0


def test_rc_em_and_scores_with_missing_ids():
    assert dureader.em(["《红楼梦》"], "红楼梦") == 1.0
    refs = {"q1": ["北京"], "q2": ["上海", "沪"], "q3": ["广州"]}
    scores = dureader.official_scores(refs, {"q1": "北京", "q2": "上海市"})
    # q1: F1 1, EM 1; q2: F1 = 2*(2/3)*1/(5/3) = 0.8, EM 0; q3: missing -> 0, SKIP
    assert scores == {"F1": f"{100 * 1.8 / 3:.3f}", "EM": f"{100 / 3:.3f}", "TOTAL": 3, "SKIP": 1}
