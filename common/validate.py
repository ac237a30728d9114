"""Check a submission against its test file and the format the leaderboard takes.

    python -m common.validate --track T --test FILE --submission FILE

Exits 0 and prints a one-line summary when the submission is valid; otherwise
prints every problem found (up to 20) and exits 1.
"""
import argparse
import json
import sys
import zipfile
from collections import Counter

from common.data import load_dureader, load_duee, load_duie

TRACKS = ("reading_comprehension", "relation_extraction", "event_extraction")


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
    try:
        with open(submission_path, encoding="utf-8") as f:
            doc = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return [f"{submission_path}: not a JSON document ({e})"], 0
    if not isinstance(doc, dict):
        return [f"{submission_path}: expected one JSON object {{question_id: answer}}"], 0
    ids = Counter(q.id for q in load_dureader(test_path, report=False))
    _check_counts(problems, ids, Counter(doc.keys()), "question id")
    problems += [f"{submission_path}: answer of {k!r} is not a string" for k, v in doc.items()
                 if not isinstance(v, str)][:5]
    return problems, len(doc)


def _read_duie_zip(path):
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a zip file (the leaderboard takes a zip holding one JSON-lines file)")
    with zipfile.ZipFile(path) as z:
        members = [n for n in z.namelist() if not n.endswith("/")]
        if len(members) != 1:
            raise ValueError(f"{path}: the zip should hold exactly one file, it holds {len(members)}")
        return members[0], z.read(members[0]).decode("utf-8").splitlines()


def check_duie(test_path, submission_path):
    problems = []
    try:
        member, lines = _read_duie_zip(submission_path)
    except (ValueError, UnicodeDecodeError) as e:
        return [str(e)], 0
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
    expected = Counter(s["text"] for s in load_duie(test_path, report=False))
    _check_counts(problems, expected, texts, "text")
    return problems, sum(texts.values())


def check_duee(test_path, submission_path):
    problems, ids = [], Counter()
    with open(submission_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            where = f"{submission_path}:{lineno}"
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
    expected = Counter(s["id"] for s in load_duee(test_path, report=False))
    _check_counts(problems, expected, ids, "id")
    return problems, sum(ids.values())


CHECKS = {"reading_comprehension": check_rc, "relation_extraction": check_duie, "event_extraction": check_duee}


def validate(track, test_path, submission_path):
    """Problems found (empty when valid) and the number of submitted items."""
    return CHECKS[track](test_path, submission_path)


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
