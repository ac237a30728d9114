"""Write leaderboard submissions atomically, with every test item exactly once.

reading comprehension: one JSON object {question_id: answer};
relation extraction: JSON lines {"text", "spo_list"} inside a zip;
event extraction: JSON lines {"id", "event_list"}.
"""
import json
import os
import zipfile

from common.files import write_atomically

DUIE_MEMBER = "duie.json"  # the JSON-lines file inside the DuIE zip


def _json_lines(rows):
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def write_rc_submission(path, question_ids, answers):
    """{id: answer} for every id of the test file ("" where nothing was predicted)."""
    unknown = set(answers) - set(question_ids)
    if unknown:
        raise ValueError(f"answers for {len(unknown)} ids that are not in the test file, e.g. {min(unknown)!r}")
    doc = {qid: answers.get(qid, "") for qid in question_ids}
    write_atomically(path, lambda f: f.write(json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")))


def write_duie_submission(path, texts, spo_lists):
    """One line per test text, in test order; `spo_lists[i]` belongs to `texts[i]`.

    A path ending in .zip gets the zip the leaderboard takes; a .json path gets
    the JSON-lines file and that zip beside it (same name, .zip). Returns the zip's path.
    """
    if len(texts) != len(spo_lists):
        raise ValueError(f"{len(texts)} texts but {len(spo_lists)} SPO lists")
    content = _json_lines({"text": t, "spo_list": spos} for t, spos in zip(texts, spo_lists))
    if path.endswith(".zip"):
        zip_path = path
    else:
        write_atomically(path, lambda f: f.write(content))
        zip_path = os.path.splitext(path)[0] + ".zip"

    def write_zip(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(DUIE_MEMBER, content)
    write_atomically(zip_path, write_zip)
    return zip_path


def write_duee_submission(path, sentence_ids, event_lists):
    """One line {"id", "event_list"} per test sentence, in test order."""
    if len(sentence_ids) != len(event_lists):
        raise ValueError(f"{len(sentence_ids)} ids but {len(event_lists)} event lists")
    rows = ({"id": i, "event_list": events} for i, events in zip(sentence_ids, event_lists))
    content = _json_lines(rows)
    write_atomically(path, lambda f: f.write(content))
