"""Writers are atomic and complete; tools.validate accepts them and rejects broken submissions."""
import json
import os
import stat
import zipfile

import pytest

from common.files import write_atomically
from event_extraction import duee
from reading_comprehension import dureader
from relation_extraction import duie
from tests.conftest import write_lines
from tools.validate import main as validate_main, validate


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")

    def fail(f):
        f.write(b"partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_atomically(str(path), fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_atomic_write_gives_the_mode_of_a_plain_open(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_atomically(str(tmp_path / "out.json"), lambda f: f.write(b"{}"))
        with open(tmp_path / "plain.json", "wb"):
            pass
    finally:
        os.umask(old)
    modes = [stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in ("out.json", "plain.json")]
    assert modes == [0o666 & ~umask] * 2


def rc_test_file(tmp_path):
    doc = {"data": [{"paragraphs": [{"context": "这是答案。", "qas": [{"id": "q1", "question": "?"},
                                                              {"id": "q2", "question": "?", "answers": []}]}]}]}
    path = tmp_path / "test1.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_rc_every_id_once(tmp_path):
    test = rc_test_file(tmp_path)
    out = str(tmp_path / "sub.json")
    dureader.write_submission(out, ["q1", "q2"], {"q1": "答案"})
    assert json.load(open(out, encoding="utf-8")) == {"q1": "答案", "q2": ""}
    assert validate("reading_comprehension", test, out) == ([], 2)
    with pytest.raises(ValueError, match="not in the test file"):
        dureader.write_submission(out, ["q1"], {"zz": "x"})
    json.dump({"q1": "x", "q3": 1}, open(out, "w"))
    problems, _ = validate("reading_comprehension", test, out)
    assert any("'q2'" in p for p in problems) and any("'q3'" in p for p in problems)


def test_beyond_five_missing_ids_the_problems_say_how_many_in_all():
    from collections import Counter

    from common.data import check_counts

    problems = []
    check_counts(problems, Counter(f"q{i}" for i in range(150)), Counter(["q0", "q0", "x"]), "id")
    assert len(problems) == 5 + 2 + 1 and problems[-1] == (
        "in all, 149 ids of the test file are missing or too few and 2 are extra or too many: the submission "
        "holds 3 ids, the test file 150")
    few = []
    check_counts(few, Counter(["a", "b"]), Counter(), "id")
    assert len(few) == 2  # every problem is shown already


def test_duie_zip_and_json(tmp_path):
    texts = ["甲的妻子是乙", "乙", "甲的妻子是乙"]
    test = write_lines(tmp_path / "test.json", [json.dumps({"text": t}, ensure_ascii=False) for t in texts])
    spo = {"predicate": "妻子", "subject": "甲", "subject_type": "人物", "object": {"@value": "乙"},
           "object_type": {"@value": "人物"}}
    zip_path = duie.write_submission(str(tmp_path / "sub.json"), texts, [[spo], [], []])
    assert zip_path.endswith("sub.zip") and (tmp_path / "sub.json").exists()
    with zipfile.ZipFile(zip_path) as z:
        assert len(z.namelist()) == 1
    assert validate("relation_extraction", test, zip_path) == ([], 3)
    assert validate_main(["--track", "relation_extraction", "--test", test, "--submission", zip_path]) == 0
    # the JSON-lines file itself is not what the leaderboard takes
    problems, _ = validate("relation_extraction", test, str(tmp_path / "sub.json"))
    assert "not a zip file" in problems[0]
    bad = duie.write_submission(str(tmp_path / "bad.zip"), texts[:2], [[dict(spo, object="乙")], []])
    problems, _ = validate("relation_extraction", test, bad)
    assert any("'object' dict" in p for p in problems) and any("'甲的妻子是乙'" in p for p in problems)


def test_duee_events_stay_apart_and_every_id(tmp_path):
    from event_extraction.events import event_list, events_by_type

    test = write_lines(tmp_path / "test.json", [json.dumps({"id": i, "text": "甲击败乙后丙击败丁"}, ensure_ascii=False)
                                                for i in ("a", "b")])
    events = event_list([("胜负", "击败", [("胜者", "甲"), ("败者", "乙"), ("胜者", "甲")]),
                         ("胜负", "击败", [("胜者", "丙"), ("败者", "丁")])])
    assert events == [{"event_type": "胜负", "trigger": "击败", "arguments": [{"role": "胜者", "argument": "甲"},
                                                                            {"role": "败者", "argument": "乙"}]},
                      {"event_type": "胜负", "trigger": "击败", "arguments": [{"role": "胜者", "argument": "丙"},
                                                                            {"role": "败者", "argument": "丁"}]}]
    assert event_list(events_by_type([("胜负", "胜者", "甲"), ("夺冠", "冠军", "甲"), ("胜负", "败者", "乙")])) == [
        {"event_type": "胜负", "arguments": [{"role": "胜者", "argument": "甲"}, {"role": "败者", "argument": "乙"}]},
        {"event_type": "夺冠", "arguments": [{"role": "冠军", "argument": "甲"}]}]
    out = str(tmp_path / "sub.json")
    duee.write_submission(out, ["a", "b"], [events, []])
    assert validate("event_extraction", test, out) == ([], 2)
    duee.write_submission(out, ["a"], [events])
    problems, _ = validate("event_extraction", test, out)
    assert any("'b'" in p for p in problems)
    assert validate_main(["--track", "event_extraction", "--test", test, "--submission", out]) == 1


def test_validate_names_what_is_not_a_span_of_its_text(tmp_path):
    rc_test = tmp_path / "rc.json"
    rc_test.write_text(json.dumps({"data": [{"paragraphs": [{"context": "张三出生于北京。", "qas": [
        {"id": "a", "question": "张三出生于哪里？"}]}]}]}, ensure_ascii=False), encoding="utf-8")
    dureader.write_submission(str(tmp_path / "rc_sub.json"), ["a"], {"a": "上海"})
    problems, _ = validate("reading_comprehension", str(rc_test), str(tmp_path / "rc_sub.json"))
    assert problems and "'上海'" in problems[0] and "not a span of its context" in problems[0]

    duie_test = write_lines(tmp_path / "duie.json", ['{"text": "吴九的妻子是郑十。"}'])
    spo = {"predicate": "妻子", "subject": "吴九", "object": {"@value": "王十"}}
    duie.write_submission(str(tmp_path / "duie_sub.zip"), ["吴九的妻子是郑十。"], [[spo]])
    problems, _ = validate("relation_extraction", duie_test, str(tmp_path / "duie_sub.zip"))
    assert problems and "'王十' of an SPO is not a span of its text" in problems[0]

    duee_test = write_lines(tmp_path / "duee.json", ['{"id": "x", "text": "湖人队击败火箭队。"}'])
    duee.write_submission(str(tmp_path / "duee_sub.json"), ["x"], [[{"event_type": "竞赛行为-胜负", "arguments": [
        {"role": "胜者", "argument": "湖人"}, {"role": "败者", "argument": "勇士队"}]}]])
    problems, _ = validate("event_extraction", duee_test, str(tmp_path / "duee_sub.json"))
    assert problems == [f"{tmp_path / 'duee_sub.json'}:1: argument '勇士队' is not a span of its text"]


def test_validate_reports_damaged_missing_and_foreign_files_without_a_traceback(tmp_path, capsys):
    duie_test = write_lines(tmp_path / "duie.json", ['{"text": "吴九的妻子是郑十。"}'])
    duie.write_submission(str(tmp_path / "ok.zip"), ["吴九的妻子是郑十。"], [[]])
    damaged = tmp_path / "damaged.zip"
    data = bytearray((tmp_path / "ok.zip").read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + len("duie.json")  # the member's compressed bytes
    data[start:start + 8] = b"\xff" * 8
    damaged.write_bytes(bytes(data))
    problems, _ = validate("relation_extraction", duie_test, str(damaged))
    assert problems and "damaged zip" in problems[0]
    problems, _ = validate("relation_extraction", duie_test, str(tmp_path / "missing.zip"))
    assert problems == [f"{tmp_path / 'missing.zip'}: no such file"]
    rc_test = tmp_path / "rc.json"
    rc_test.write_text(json.dumps({"data": []}), encoding="utf-8")
    problems, _ = validate("relation_extraction", str(rc_test), str(tmp_path / "ok.zip"))  # another track's file
    assert problems and "missing key 'text'" in problems[0] and "is it a file of relation_extraction?" in problems[0]
    empty = write_lines(tmp_path / "empty.json", [])
    duee.write_submission(str(tmp_path / "empty_sub.json"), [], [])
    problems, _ = validate("event_extraction", empty, str(tmp_path / "empty_sub.json"))
    assert problems and "holds no sentence" in problems[0]
    assert validate_main(["--track", "event_extraction", "--test", empty, "--submission",
                          str(tmp_path / "empty_sub.json")]) == 1
    assert "Traceback" not in capsys.readouterr().err
