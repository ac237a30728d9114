"""Check a submission against its test file and the format the leaderboard takes.

    python -m tools.validate --track T --test FILE --submission FILE

Exits 0 and prints a one-line summary when the submission is valid; otherwise
prints every problem found (up to 20) and exits 1.
"""
import argparse
import os
import sys

from common.data import DataError
from tools.tracks import NAMES, track


def score(name, gold_path, predictions_path):
    """The official metric of a predictions file against a gold file (dev, or a test file with its gold)."""
    t = track(name)
    return t.score(t.load(gold_path, report=False), t.read_predictions(predictions_path))


def validate(name, test_path, submission_path):
    """Problems found (empty when valid) and the number of submitted items."""
    try:
        return track(name).check_submission(test_path, submission_path)
    except DataError as e:
        hint = f" (is it a file of {name}?)" if test_path in str(e) else ""
        return [f"{e}{hint}"], 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--track", required=True, choices=NAMES)
    parser.add_argument("--test", required=True, type=os.path.expanduser, help="the official test file")
    parser.add_argument("--submission", required=True, type=os.path.expanduser, help="the file to upload")
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
