"""Loaders for the three official LIC2020 formats, schemas, and data discovery.

Every loader checks each record: a malformed one raises DataError naming the
file and line. An annotation that cannot be used (a span missing from its
text, a role or predicate missing from the schema) is dropped, counted, and
reported in one summary line per file.
"""
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field


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


def _open_binary(path):
    if os.path.isdir(path):
        raise DataError(f"{path}: a directory, not a data file")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None


def read_json_lines(path):
    """Yield (line number, object) for every non-blank line of a JSON-lines file (UTF-8, BOM allowed)."""
    with _open_binary(path) as f:
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


def read_json_document(path):
    """One JSON document (UTF-8, BOM allowed); errors name the file and line."""
    with _open_binary(path) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, data[:e.start].count(b"\n") + 1) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def _require_items(path, items, what):
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


# ---------------------------------------------------------------- DuReader_robust

@dataclass
class Question:
    id: str
    question: str
    context: str
    answers: list = field(default_factory=list)  # every gold answer text (for scoring)
    found: list = field(default_factory=list)    # (char start, text) of the answers found in the context


def load_dureader(path, report=True, require_items=False):
    """Questions of a DuReader_robust file (train, dev or test)."""
    doc = read_json_document(path)
    where = f"{path}:1"
    if not isinstance(doc, dict):
        raise DataError(f"{where}: expected an object with key 'data'")
    skips, questions, seen = Skips(path, "answers"), [], set()
    for i, article in enumerate(require(doc, "data", list, where)):
        for j, paragraph in enumerate(require(article, "paragraphs", list, f"{where}: data[{i}]")):
            at = f"{where}: data[{i}].paragraphs[{j}]"
            context = require(paragraph, "context", str, at)
            for k, qa in enumerate(require(paragraph, "qas", list, at)):
                q_at = f"{at}.qas[{k}]"
                if not isinstance(qa, dict):
                    raise DataError(f"{q_at}: expected an object")
                qid = require(qa, "id", (str, int), q_at)
                if qid in seen:
                    raise DataError(f"{q_at}: question id {qid!r} appears twice")
                seen.add(qid)
                question = Question(str(qid), require(qa, "question", str, q_at), context)
                for a, answer in enumerate(qa.get("answers") or []):
                    text = require(answer, "text", str, f"{q_at}.answers[{a}]")
                    question.answers.append(text)
                    start = locate(context, text, answer.get("answer_start"))
                    if start < 0:
                        skips.skip("answers not found in their context")
                    else:
                        skips.keep()
                        question.found.append((start, text))
                questions.append(question)
    if report:
        skips.report()
    return _require_items(path, questions, "question") if require_items else questions


# ---------------------------------------------------------------- DuIE 2.0

@dataclass(frozen=True)
class Predicate:
    name: str
    subject_type: str
    object_types: dict  # slot -> type; "@value" always present


def load_duie_schema(path):
    predicates = {}
    for lineno, obj in read_json_lines(path):
        at = f"{path}:{lineno}"
        name = require(obj, "predicate", str, at)
        object_type = require(obj, "object_type", (dict, str), at)
        if isinstance(object_type, str):  # the LIC2019 schema gives one plain type
            object_type = {"@value": object_type}
        if "@value" not in object_type:
            raise DataError(f"{at}: object_type lacks '@value'")
        predicates[name] = Predicate(name, require(obj, "subject_type", str, at), object_type)
    if not predicates:
        raise DataError(f"{path}: the schema holds no predicate")
    return predicates


def load_duie(path, schema=None, report=True, require_items=False):
    """Sentences of a DuIE file as dicts {"text", "spo_list"} (test files: no spo_list).

    With a schema, SPOs with an unknown predicate or slot, or with a subject or
    object value that does not occur in the text, are dropped and counted.
    """
    skips, sentences = Skips(path, "SPOs"), []
    for lineno, obj in read_json_lines(path):
        at = f"{path}:{lineno}"
        text = require(obj, "text", str, at)
        spo_list = []
        for n, spo in enumerate(obj.get("spo_list") or []):
            spo_at = f"{at}: spo_list[{n}]"
            if not isinstance(spo, dict):
                raise DataError(f"{spo_at}: expected an object")
            predicate = require(spo, "predicate", str, spo_at)
            subject = require(spo, "subject", str, spo_at)
            objects = require(spo, "object", (dict, str), spo_at)
            if isinstance(objects, str):
                objects = {"@value": objects}
            if schema is not None:
                if predicate not in schema:
                    skips.skip("with a predicate not in the schema")
                    continue
                if set(objects) - set(schema[predicate].object_types):
                    skips.skip("with an object slot not in the schema")
                    continue
            if not all(isinstance(v, str) for v in objects.values()) or "@value" not in objects:
                raise DataError(f"{spo_at}: object should map slots (with '@value') to strings")
            if subject not in text or not subject or any(v not in text or not v for v in objects.values()):
                skips.skip("whose subject or object is not in the text")
                continue
            skips.keep()
            spo_list.append({"predicate": predicate, "subject": subject, "object": dict(objects),
                             "subject_type": spo.get("subject_type", ""),
                             "object_type": dict(spo.get("object_type") or {})})
        sentences.append({"text": text, "spo_list": spo_list, "line": lineno})
    if report:
        skips.report()
    return _require_items(path, sentences, "sentence") if require_items else sentences


# ---------------------------------------------------------------- DuEE 1.0

def load_duee_schema(path):
    """{event_type: [role, ...]} in the schema's order."""
    schema = {}
    for lineno, obj in read_json_lines(path):
        at = f"{path}:{lineno}"
        roles = require(obj, "role_list", list, at)
        schema[require(obj, "event_type", str, at)] = [
            require(role, "role", str, f"{at}: role_list[{i}]") for i, role in enumerate(roles)]
    if not schema:
        raise DataError(f"{path}: the schema holds no event type")
    return schema


def load_duee(path, schema=None, report=True, require_items=False):
    """Sentences of a DuEE file as dicts {"id", "text", "arguments": [(event_type, role, start, argument)],
    "events": [{"event_type", "trigger", "trigger_start", "arguments": [(role, start, argument)]}]}.

    Arguments (and triggers) are found by `argument_start_index` (`trigger_start_index`) when it is
    right, else by their first occurrence (a trigger missing from the text has trigger_start -1); those absent from the text, or with an event type
    or role missing from `schema`, are dropped and counted.
    """
    skips, sentences, seen = Skips(path, "arguments"), [], set()
    for lineno, obj in read_json_lines(path):
        at = f"{path}:{lineno}"
        text = require(obj, "text", str, at)
        sid = str(require(obj, "id", (str, int), at))
        if sid in seen:
            raise DataError(f"{at}: id {sid!r} appears twice")
        seen.add(sid)
        arguments, events = [], []
        for e, event in enumerate(obj.get("event_list") or []):
            e_at = f"{at}: event_list[{e}]"
            event_type = require(event, "event_type", str, e_at)
            trigger = event.get("trigger") if isinstance(event.get("trigger"), str) else ""
            event_arguments = []
            events.append({"event_type": event_type, "trigger": trigger, "arguments": event_arguments,
                           "trigger_start": locate(text, trigger, event.get("trigger_start_index"))})
            for a, argument in enumerate(require(event, "arguments", list, e_at)):
                a_at = f"{e_at}.arguments[{a}]"
                role = require(argument, "role", str, a_at)
                value = require(argument, "argument", str, a_at)
                if schema is not None and role not in schema.get(event_type, ()):
                    skips.skip("with an event type or role not in the schema")
                    continue
                start = locate(text, value, argument.get("argument_start_index"))
                if start < 0:
                    skips.skip("not found in the text")
                    continue
                skips.keep()
                arguments.append((event_type, role, start, value))
                event_arguments.append((role, start, value))
        sentences.append({"id": sid, "text": text, "arguments": arguments, "events": events, "line": lineno,
                          "event_list": obj.get("event_list") or []})  # as given, aliases and all, for scoring
    if report:
        skips.report()
    return _require_items(path, sentences, "sentence") if require_items else sentences


# ---------------------------------------------------------------- finding the files

TRACKS = ("relation_extraction", "event_extraction", "reading_comprehension")

# The LIC2020 names first, then those of the later releases.
FILE_NAMES = {
    "reading_comprehension": {
        "train": ["train.json", "dureader_robust-data/train.json"],
        "dev": ["dev.json", "dureader_robust-data/dev.json"],
        "test": ["test1.json", "test2.json", "test.json", "dureader_robust-data/test1.json",
                 "dureader_robust-data/test2.json", "dureader_robust-test1/test1.json"],
    },
    "relation_extraction": {
        "train": ["train_data.json", "duie_train.json", "duie_train.json/duie_train.json"],
        "dev": ["dev_data.json", "duie_dev.json", "duie_dev.json/duie_dev.json"],
        "test": ["test1_data.json", "test2_data.json", "duie_test2.json", "duie_test1.json",
                 "duie_test2.json/duie_test2.json"],
        "schema": ["schema.json", "all_50_schemas", "duie_schema.json", "duie_schema/duie_schema.json"],
    },
    "event_extraction": {
        "train": ["train.json", "duee_train.json", "duee_train.json/duee_train.json"],
        "dev": ["dev.json", "duee_dev.json", "duee_dev.json/duee_dev.json"],
        "test": ["test1.json", "test2.json", "duee_test2.json", "duee_test1.json",
                 "duee_test2.json/duee_test2.json"],
        "schema": ["event_schema.json", "duee_event_schema.json",
                   "duee_event_schema.json/duee_event_schema.json", "event_schema/event_schema.json"],
    },
}


def find_data_files(track, data_dir=None, overrides=None, need=("train", "dev", "schema")):
    """{"train", "dev", "test", "schema": path} for `track`.

    Explicit paths in `overrides` win; the rest are looked up under `data_dir`
    by their official names. A role in `need` that is found nowhere is an error.
    """
    names = FILE_NAMES[track]
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
