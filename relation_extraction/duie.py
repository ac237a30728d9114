"""DuIE 2.0 files: the schema, the data, the official metric, the submission zip and its check.

Data lines: {"text", "spo_list": [{"predicate", "subject", "object": {"@value", slot: value},
"subject_type", "object_type"}]}; the schema: one line per predicate {"predicate",
"subject_type", "object_type": {"@value": type, slot: type}} (a plain string in LIC2019).
The submission: JSON lines {"text", "spo_list"} in a zip holding that one file.
"""
import json
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass

from common.data import DataError, Skips, check_counts, nonempty, read_json_lines, require
from common.files import json_lines, write_atomically
from common.metrics import prf

FILES = {  # the LIC2020 names first, then those of the later releases
    "train": ["train_data.json", "duie_train.json", "duie_train.json/duie_train.json"],
    "dev": ["dev_data.json", "duie_dev.json", "duie_dev.json/duie_dev.json"],
    "test": ["test1_data.json", "test2_data.json", "duie_test2.json", "duie_test1.json",
             "duie_test2.json/duie_test2.json"],
    "schema": ["schema.json", "all_50_schemas", "duie_schema.json", "duie_schema/duie_schema.json"],
}
MEMBER = "duie.json"  # the JSON-lines file inside the submission zip


@dataclass(frozen=True)
class Predicate:
    name: str
    subject_type: str
    object_types: dict  # slot -> type; "@value" always present


def parse_schema(lines, path):
    """{predicate: Predicate} from (line number, object) pairs of a schema."""
    predicates = {}
    for lineno, obj in lines:
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


def load_schema(path):
    return parse_schema(read_json_lines(path), path)


def load(path, schema=None, report=True, require_items=False):
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
    return nonempty(path, sentences, "sentence") if require_items else sentences


# ---------------------------------------------------------------- the official metric


def _value(value):
    value = value.lower()
    if value.startswith("《") and value.endswith("》"):
        value = value[1:-1]
    return value


def spo_key(spo):
    """What the official script compares: predicate, subject, and the whole object dict."""
    objects = spo["object"] if isinstance(spo["object"], dict) else {"@value": spo["object"]}
    return (spo["predicate"], _value(spo["subject"]), tuple(sorted((slot, _value(v)) for slot, v in objects.items())))


def _spo_sets(sentences):
    by_text = {}
    for s in sentences:
        by_text.setdefault(s["text"], set()).update(spo_key(spo) for spo in s.get("spo_list") or [])
    return by_text


def counts(gold_sentences, predicted_sentences):
    """{predicate: [correct, predicted, gold]}: the official metric's counts, split by predicate."""
    predicted_by_text, gold_by_text = _spo_sets(predicted_sentences), _spo_sets(gold_sentences)
    found = {}
    for text, gold_spos in gold_by_text.items():
        pred_spos = predicted_by_text.get(text, set())
        for key in gold_spos | pred_spos:
            c = found.setdefault(key[0], [0, 0, 0])
            c[0] += key in gold_spos and key in pred_spos
            c[1] += key in pred_spos
            c[2] += key in gold_spos
    return found


def scores(gold_sentences, predicted_sentences):
    """P/R/F1 over SPOs; sentences are dicts with "text" and "spo_list", matched by text."""
    per_predicate = counts(gold_sentences, predicted_sentences).values()
    return prf(*(sum(c[i] for c in per_predicate) for i in range(3)))


# ---------------------------------------------------------------- submission

def write_submission(path, texts, spo_lists):
    """One line per test text, in test order; `spo_lists[i]` belongs to `texts[i]`.

    A path ending in .zip gets the zip the leaderboard takes; a .json path gets
    the JSON-lines file and that zip beside it (same name, .zip). Returns the zip's path.
    """
    if len(texts) != len(spo_lists):
        raise ValueError(f"{len(texts)} texts but {len(spo_lists)} SPO lists")
    content = json_lines({"text": t, "spo_list": spos} for t, spos in zip(texts, spo_lists))
    if path.endswith(".zip"):
        zip_path = path
    else:
        write_atomically(path, lambda f: f.write(content))
        zip_path = os.path.splitext(path)[0] + ".zip"

    def write_zip(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(MEMBER, content)
    write_atomically(zip_path, write_zip)
    return zip_path


def _read_zip(path):
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


def read_predictions(path):
    """[{"text", "spo_list"}] of a submission zip or of its JSON lines."""
    if zipfile.is_zipfile(path):
        _, lines = _read_zip(path)
        return [json.loads(line) for line in lines if line.strip()]
    return [row for _, row in read_json_lines(path)]


def check_submission(test_path, submission_path):
    """(problems, submitted items): the zip holds one JSON-lines file, one line per test text, every SPO
    well formed and made of spans of its text."""
    problems = []
    expected = Counter(s["text"] for s in load(test_path, report=False, require_items=True))
    member, lines = _read_zip(submission_path)
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
    check_counts(problems, expected, texts, "text")
    return problems, sum(texts.values())
