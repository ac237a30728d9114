"""Reading the official files, whatever the track: JSON lines and JSON documents with errors that name
the file and line, counted skips, and finding a track's files under a data directory.

The tracks' loaders (relation_extraction/duie.py, event_extraction/duee.py, reading_comprehension/
dureader.py) build on these: a malformed record raises DataError naming the file and line; an
annotation that cannot be used (a span missing from its text, a role or predicate missing from the
schema) is dropped, counted, and reported in one summary line per file.
"""
import json
import os
import sys
from collections import Counter


class DataError(ValueError):
    """A malformed input file, with the file and line in the message."""


class Skips:
    """Counts dropped annotations by reason and reports them in one line."""

    def __init__(self, path, what):
        self.path, self.what, self.total, self.reasons = path, what, 0, Counter()

    def keep(self):
        self.total += 1

    def skip(self, reason):
        self.total += 1
        self.reasons[reason] += 1

    def report(self, stream=None):
        if self.reasons:
            reasons = ", ".join(f"{n} {reason}" for reason, n in self.reasons.most_common())
            print(f"{self.path}: skipped {sum(self.reasons.values())} of {self.total} {self.what} ({reasons})",
                  file=stream or sys.stderr)


def _not_utf8(path, lineno):
    return DataError(f"{path}:{lineno}: not UTF-8 text (the official files are UTF-8; a GBK file converts with "
                     f"`iconv -f GBK -t UTF-8 {path} > {path}.utf8`)")


def open_binary(path):
    if os.path.isdir(path):
        raise DataError(f"{path}: a directory, not a data file")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None


def read_json_lines(path):
    """Yield (line number, object) for every non-blank line of a JSON-lines file (UTF-8, BOM allowed)."""
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _not_utf8(path, lineno) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def line_objects(path):
    """The objects of a JSON-lines file, in its order (a schema, or the sentences k-fold moves between folds)."""
    return [obj for _, obj in read_json_lines(path)]


def texts(sentences):
    """The texts of loaded sentences: what the Predictor of a sentence-level track reads."""
    return [s["text"] for s in sentences]


def read_json_document(path):
    """One JSON document (UTF-8, BOM allowed); errors name the file and line."""
    with open_binary(path) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, data[:e.start].count(b"\n") + 1) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def nonempty(path, items, what):
    """`items`, or DataError when the file held none."""
    if not items:
        raise DataError(f"{path}: holds no {what}; is it the right file?")
    return items


def require(obj, key, kind, where):
    """obj[key], checked to be of type `kind`; DataError naming `where` otherwise."""
    if key not in obj:
        raise DataError(f"{where}: missing key {key!r}")
    if not isinstance(obj[key], kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise DataError(f"{where}: {key!r} should be {name}, got {type(obj[key]).__name__}")
    return obj[key]


def locate(text, value, start=None):
    """Start of `value` in `text`: `start` when it is right, else the first occurrence, else -1."""
    if not value:
        return -1
    if isinstance(start, int) and start >= 0 and text[start:start + len(value)] == value:
        return start
    return text.find(value)


def check_counts(problems, expected, found, what):
    """Add to `problems` the keys of Counter `expected` (the test file's) that Counter `found` (a submission's)
    holds another number of times, up to five of each kind."""
    missing, extra = expected - found, found - expected
    for key in list(missing)[:5]:
        problems.append(f"{what} {key!r} of the test file appears {expected[key]} time(s) in the test file "
                        f"but {found[key]} time(s) in the submission")
    for key in list(extra)[:5]:
        if key not in expected:
            problems.append(f"{what} {key!r} is not in the test file")
        else:
            problems.append(f"{what} {key!r} appears {found[key]} time(s), the test file has {expected[key]}")
    if len(missing) > 5 or len(extra) > 5:  # the five of each kind above, then how many there are
        problems.append(f"in all, {len(missing)} {what}s of the test file are missing or too few and {len(extra)} "
                        f"are extra or too many: the submission holds {sum(found.values())} {what}s, the test file "
                        f"{sum(expected.values())}")


# ---------------------------------------------------------------- finding the files

def find_data_files(names, data_dir=None, overrides=None, need=("train", "dev", "schema")):
    """{role: path} for the roles of `names` ({role: [official file names]}, a track's FILES).

    Explicit paths in `overrides` win; the rest are looked up under `data_dir`
    by their official names. A role in `need` that is found nowhere is an error.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    found = {}
    for role, candidates in names.items():
        if role in overrides:
            found[role] = overrides[role]
        elif data_dir:
            found[role] = next((os.path.join(data_dir, c) for c in candidates
                                if os.path.isfile(os.path.join(data_dir, c))), None)
    if data_dir and not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: no such data directory")
    for role in need:
        if role not in names:
            continue
        path = found.get(role)
        if not path:
            where = f"under {data_dir} (looked for {', '.join(names[role])})" if data_dir else "(no --data-dir)"
            raise DataError(f"no {role} file {where}; pass --{role} FILE")
        if not os.path.isfile(path):
            raise DataError(f"{path}: no such {role} file")
    return found
