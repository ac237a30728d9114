"""Writers are atomic and complete; validate accepts them and rejects broken submissions."""
import json
import zipfile

import pytest

from common.submission import group_events, write_atomically, write_duee_submission, write_duie_submission, \
    write_rc_submission
from common.validate import main as validate_main, validate
from tests.conftest import write_lines


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


def rc_test_file(tmp_path):
    doc = {"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q1", "question": "?"},
                                                              {"id": "q2", "question": "?", "answers": []}]}]}]}
    path = tmp_path / "test1.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_rc_every_id_once(tmp_path):
    test = rc_test_file(tmp_path)
    out = str(tmp_path / "sub.json")
    write_rc_submission(out, ["q1", "q2"], {"q1": "答案"})
    assert json.load(open(out, encoding="utf-8")) == {"q1": "答案", "q2": ""}
    assert validate("reading_comprehension", test, out) == ([], 2)
    with pytest.raises(ValueError, match="not in the test file"):
        write_rc_submission(out, ["q1"], {"zz": "x"})
    json.dump({"q1": "x", "q3": 1}, open(out, "w"))
    problems, _ = validate("reading_comprehension", test, out)
    assert any("'q2'" in p for p in problems) and any("'q3'" in p for p in problems)


def test_duie_zip_and_json(tmp_path):
    test = write_lines(tmp_path / "test.json", [json.dumps({"text": t}, ensure_ascii=False) for t in ["甲", "乙", "甲"]])
    spo = {"predicate": "妻子", "subject": "甲", "subject_type": "人物", "object": {"@value": "乙"},
           "object_type": {"@value": "人物"}}
    zip_path = write_duie_submission(str(tmp_path / "sub.json"), ["甲", "乙", "甲"], [[spo], [], []])
    assert zip_path.endswith("sub.zip") and (tmp_path / "sub.json").exists()
    with zipfile.ZipFile(zip_path) as z:
        assert len(z.namelist()) == 1
    assert validate("relation_extraction", test, zip_path) == ([], 3)
    assert validate_main(["--track", "relation_extraction", "--test", test, "--submission", zip_path]) == 0
    # the JSON-lines file itself is not what the leaderboard takes
    problems, _ = validate("relation_extraction", test, str(tmp_path / "sub.json"))
    assert "not a zip file" in problems[0]
    bad = write_duie_submission(str(tmp_path / "bad.zip"), ["甲", "乙"], [[dict(spo, object="乙")], []])
    problems, _ = validate("relation_extraction", test, bad)
    assert any("'object' dict" in p for p in problems) and any("'甲'" in p for p in problems)


def test_duee_grouping_and_every_id(tmp_path):
    test = write_lines(tmp_path / "test.json", [json.dumps({"id": i, "text": "t"}) for i in ("a", "b")])
    events = group_events([("胜负", "胜者", "甲"), ("夺冠", "冠军", "甲"), ("胜负", "败者", "乙"), ("胜负", "胜者", "甲")])
    assert events == [{"event_type": "胜负", "arguments": [{"role": "胜者", "argument": "甲"},
                                                          {"role": "败者", "argument": "乙"}]},
                      {"event_type": "夺冠", "arguments": [{"role": "冠军", "argument": "甲"}]}]
    out = str(tmp_path / "sub.json")
    write_duee_submission(out, ["a", "b"], [events, []])
    assert validate("event_extraction", test, out) == ([], 2)
    write_duee_submission(out, ["a"], [events])
    problems, _ = validate("event_extraction", test, out)
    assert any("'b'" in p for p in problems)
    assert validate_main(["--track", "event_extraction", "--test", test, "--submission", out]) == 1
