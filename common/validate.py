"""Check a submission against its test file and the format the leaderboard takes.

    python -m common.validate --track T --test FILE --submission FILE

Exits 0 and prints a one-line summary when the submission is valid; otherwise
prints every problem found (up to 20) and exits 1.
"""
import argparse
import json
import os
import sys
import zipfile
import zlib
from collections import Counter

from common.data import TRACKS, DataError, load_dureader, load_duee, load_duie, read_json_document


def _check_counts(problems, expected, found, what):
    missing, extra = expected - found, found - expected
    for key in list(missing)[:5]:
        problems.append(f"{what} {key!r} of the test file appears {expected[key]} time(s) in the test file "
                        f"but {found[key]} time(s) in the submission")
    for key in list(extra)[:5]:
        if key not in expected:
            problems.append(f"{what} {key!r} is not in the test file")
        else:
            problems.append(f"{what} {key!r} appears {found[key]} time(s), the test file has {expected[key]}")


def check_rc(test_path, submission_path):
    problems = []
    questions = load_dureader(test_path, report=False, require_items=True)
    doc = read_json_document(submission_path)
    if not isinstance(doc, dict):
        return [f"{submission_path}: expected one JSON object {{question_id: answer}}"], 0
    _check_counts(problems, Counter(q.id for q in questions), Counter(doc.keys()), "question id")
    contexts = {q.id: q.context for q in questions}
    for qid, answer in doc.items():
        if not isinstance(answer, str):
            problems.append(f"{submission_path}: the answer of {qid!r} is not a string")
        elif qid in contexts and answer not in contexts[qid]:
            problems.append(f"{submission_path}: the answer of {qid!r} ({answer[:30]!r}) is not a span of its context")
    return problems, len(doc)


def _read_duie_zip(path):
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a zip file (the leaderboard takes a zip holding one JSON-lines file)")
    try:
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if not n.endswith("/")]
            if len(members) != 1:
                raise DataError(f"{path}: the zip should hold exactly one file, it holds {len(members)}")
            content = z.read(members[0])
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise DataError(f"{path}: a damaged zip ({e})") from None
    try:
        return members[0], content.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: {members[0]} is not UTF-8 text") from None


def check_duie(test_path, submission_path):
    problems = []
    expected = Counter(s["text"] for s in load_duie(test_path, report=False, require_items=True))
    member, lines = _read_duie_zip(submission_path)
    texts = Counter()
    for lineno, line in enumerate(lines, 1):
        where = f"{submission_path}:{member}:{lineno}"
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not valid JSON ({e.msg})")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                or not isinstance(row.get("spo_list"), list):
            problems.append(f"{where}: needs 'text' (string) and 'spo_list' (list)")
            continue
        texts[row["text"]] += 1
        for spo in row["spo_list"]:
            ok = (isinstance(spo, dict) and isinstance(spo.get("predicate"), str)
                  and isinstance(spo.get("subject"), str) and isinstance(spo.get("object"), dict)
                  and all(isinstance(v, str) for v in spo["object"].values()) and "@value" in spo["object"])
            if not ok:
                problems.append(f"{where}: an SPO needs string 'predicate' and 'subject' and an "
                                f"'object' dict of strings with '@value': {spo!r}")
                continue
            outside = [v for v in [spo["subject"], *spo["object"].values()] if v not in row["text"]]
            if outside:
                problems.append(f"{where}: {outside[0][:30]!r} of an SPO is not a span of its text")
    _check_counts(problems, expected, texts, "text")
    return problems, sum(texts.values())


def check_duee(test_path, submission_path):
    problems, ids = [], Counter()
    sentences = load_duee(test_path, report=False, require_items=True)
    texts = {s["id"]: s["text"] for s in sentences}
    with open_checked(submission_path) as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{submission_path}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                problems.append(f"{where}: not UTF-8 text")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"{where}: not valid JSON ({e.msg})")
                continue
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("event_list"), list):
                problems.append(f"{where}: needs 'id' and 'event_list' (list)")
                continue
            ids[str(row["id"])] += 1
            for event in row["event_list"]:
                ok = (isinstance(event, dict) and isinstance(event.get("event_type"), str)
                      and isinstance(event.get("arguments"), list)
                      and all(isinstance(a, dict) and isinstance(a.get("role"), str)
                              and isinstance(a.get("argument"), str) for a in event["arguments"]))
                if not ok:
                    problems.append(f"{where}: an event needs 'event_type' and 'arguments' "
                                    f"[{{'role', 'argument'}}] of strings: {event!r}")
                    continue
                text = texts.get(str(row["id"]))
                outside = [a["argument"] for a in event["arguments"] if text is not None and a["argument"] not in text]
                if outside:
                    problems.append(f"{where}: argument {outside[0][:30]!r} is not a span of its text")
    _check_counts(problems, Counter(texts.keys()), ids, "id")
    return problems, sum(ids.values())


def open_checked(path):
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    return open(path, "rb")


CHECKS = {"reading_comprehension": check_rc, "relation_extraction": check_duie, "event_extraction": check_duee}


def read_predictions(track, path):
    """A submission (or dev_predictions) file as the metrics take it: RC {id: answer}; DuIE
    [{"text", "spo_list"}] (a .zip or its JSON lines); DuEE [{"id", "event_list"}]."""
    from common.data import read_json_lines

    if track == "reading_comprehension":
        doc = read_json_document(path)
        if not isinstance(doc, dict):
            raise DataError(f"{path}: expected one JSON object {{question_id: answer}}")
        return doc
    if track == "relation_extraction" and zipfile.is_zipfile(path):
        member, lines = _read_duie_zip(path)
        return [json.loads(line) for line in lines if line.strip()]
    return [row for _, row in read_json_lines(path)]


def score(track, gold_path, predictions_path):
    """The official metric of a predictions file against a gold file (dev, or a test file with its gold)."""
    from common.metrics import duee_scores, duie_scores, rc_scores

    predictions = read_predictions(track, predictions_path)
    if track == "reading_comprehension":
        scores = rc_scores({q.id: q.answers for q in load_dureader(gold_path, report=False)}, predictions)
        return {"f1": float(scores["F1"]), "em": float(scores["EM"]), "total": scores["TOTAL"], "skip": scores["SKIP"]}
    if track == "relation_extraction":
        return duie_scores(load_duie(gold_path, report=False), predictions)
    return duee_scores(load_duee(gold_path, report=False), predictions)


def validate(track, test_path, submission_path):
    """Problems found (empty when valid) and the number of submitted items."""
    try:
        return CHECKS[track](test_path, submission_path)
    except DataError as e:
        hint = f" (is it a {track} file?)" if test_path in str(e) else ""
        return [f"{e}{hint}"], 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--track", required=True, choices=TRACKS)
    parser.add_argument("--test", required=True, help="the official test file")
    parser.add_argument("--submission", required=True, help="the file to upload")
    args = parser.parse_args(argv)
    problems, n = validate(args.track, args.test, args.submission)
    if problems:
        print(f"{args.submission}: INVALID", file=sys.stderr)
        for p in problems[:20]:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"{args.submission}: valid {args.track} submission, {n} items, every test item once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
