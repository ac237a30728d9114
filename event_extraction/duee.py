"""DuEE 1.0 files: the schema, the data, the official argument-level metric, stage-wise diagnostics,
the submission and its check.

Data lines: {"id", "text", "event_list": [{"event_type", "trigger", "trigger_start_index",
"arguments": [{"role", "argument", "argument_start_index", "alias"}]}]}; schema lines:
{"event_type", "role_list": [{"role"}]}. The submission: JSON lines {"id", "event_list":
[{"event_type", "trigger", "arguments": [{"role", "argument"}]}]}, one per test sentence.
"""
import json
from collections import Counter

from common.data import DataError, Skips, check_counts, locate, nonempty, open_binary, read_json_lines, require
from common.files import write_json_lines
from common.metrics import prf

FILES = {  # the LIC2020 names first, then those of the later releases
    "train": ["train.json", "duee_train.json", "duee_train.json/duee_train.json"],
    "dev": ["dev.json", "duee_dev.json", "duee_dev.json/duee_dev.json"],
    "test": ["test1.json", "test2.json", "duee_test2.json", "duee_test1.json", "duee_test2.json/duee_test2.json"],
    "schema": ["event_schema.json", "duee_event_schema.json", "duee_event_schema.json/duee_event_schema.json",
               "event_schema/event_schema.json"],
}


def parse_schema(lines, path):
    """{event_type: [role, ...]} in the schema's order, from (line number, object) pairs."""
    schema = {}
    for lineno, obj in lines:
        at = f"{path}:{lineno}"
        roles = require(obj, "role_list", list, at)
        schema[require(obj, "event_type", str, at)] = [
            require(role, "role", str, f"{at}: role_list[{i}]") for i, role in enumerate(roles)]
    if not schema:
        raise DataError(f"{path}: the schema holds no event type")
    return schema


def load_schema(path):
    return parse_schema(read_json_lines(path), path)


def load(path, schema=None, report=True, require_items=False):
    """Sentences of a DuEE file as dicts {"id", "text", "arguments": [(event_type, role, start, argument)],
    "events": [{"event_type", "trigger", "trigger_start", "arguments": [(role, start, argument)]}]}.

    Arguments (and triggers) are found by `argument_start_index` (`trigger_start_index`) when it is
    right, else by their first occurrence (a trigger missing from the text has trigger_start -1); those absent
    from the text, or with an event type or role missing from `schema`, are dropped and counted.
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
    return nonempty(path, sentences, "sentence") if require_items else sentences


# ---------------------------------------------------------------- the official metric

def char_f1(gold, prediction):
    """F1 over the characters two strings share (case-insensitive)."""
    common = sum((Counter(gold.lower()) & Counter(prediction.lower())).values())
    if not common:
        return 0.0
    p, r = common / len(prediction), common / len(gold)
    return 2 * p * r / (p + r)


def counts(gold_sentences, predicted_sentences):
    """{(event_type, role): [score, predicted, gold]}: the official metric's sums, split by class.

    gold_sentences: {"id", "event_list"} as in the data files (aliases allowed);
    predicted_sentences: {"id", "event_list"} as in a submission. Within one
    event type and role, predicted arguments (each distinct one once per event,
    so that two events of one type sharing an argument predict it twice, as
    their gold holds it twice) and gold arguments are paired best score first
    (each used once); a pair scores the character F1 of the prediction with
    the gold argument or its best alias.
    """
    predicted_by_id = {s["id"]: s for s in predicted_sentences}
    found = {}
    for sentence in gold_sentences:
        golds = {}
        for event in sentence.get("event_list") or []:
            for arg in event["arguments"]:
                names = [arg["argument"]] + list(arg.get("alias") or [])
                golds.setdefault((event["event_type"], arg["role"]), []).append(names)
        predicted = {}
        for event in predicted_by_id.get(sentence["id"], {}).get("event_list", []):
            for role, argument in dict.fromkeys((a["role"], a["argument"]) for a in event["arguments"]):
                predicted.setdefault((event["event_type"], role), []).append(argument)
        for key in golds.keys() | predicted.keys():
            c = found.setdefault(key, [0.0, 0, 0])
            arguments, gold_args = predicted.get(key, []), golds.get(key, [])
            c[1] += len(arguments)
            c[2] += len(gold_args)
            pairs = sorted(((max(char_f1(name, a) for name in names), i, j)
                            for j, a in enumerate(arguments) for i, names in enumerate(gold_args)), reverse=True)
            used_gold, used_pred = set(), set()
            for pair_score, i, j in pairs:
                if i not in used_gold and j not in used_pred:
                    used_gold.add(i)
                    used_pred.add(j)
                    c[0] += pair_score
    return found


def scores(gold_sentences, predicted_sentences):
    """Argument-level P/R/F1 (see counts)."""
    per_class = counts(gold_sentences, predicted_sentences).values()
    return prf(*(sum(c[i] for c in per_class) for i in range(3)))


def stage_scores(gold_sentences, predicted_sentences):
    """Where recall is lost before the arguments: precision and recall of the (sentence, event type) pairs
    ("type_") and, where the predictions hold triggers, of the (sentence, event type, trigger) triples
    ("trigger_") predicted against the gold. Not part of the official metric, which scores arguments only."""
    predicted_by_id = {s["id"]: s.get("event_list") or [] for s in predicted_sentences}
    stages = [("type", lambda e: e["event_type"])]
    if any("trigger" in e for events in predicted_by_id.values() for e in events):
        stages.append(("trigger", lambda e: (e["event_type"], e.get("trigger"))))
    result = {}
    for name, key in stages:
        gold = {(s["id"], key(e)) for s in gold_sentences for e in s.get("event_list") or []}
        predicted = {(s["id"], key(e)) for s in gold_sentences for e in predicted_by_id.get(s["id"], [])}
        scores_here = prf(len(gold & predicted), len(predicted), len(gold))
        result.update({f"{name}_precision": scores_here["precision"], f"{name}_recall": scores_here["recall"]})
    return result


# ---------------------------------------------------------------- submission

def write_submission(path, sentence_ids, event_lists):
    """One line {"id", "event_list"} per test sentence, in test order."""
    if len(sentence_ids) != len(event_lists):
        raise ValueError(f"{len(sentence_ids)} ids but {len(event_lists)} event lists")
    write_json_lines(path, ({"id": i, "event_list": events} for i, events in zip(sentence_ids, event_lists)))


def read_predictions(path):
    return [row for _, row in read_json_lines(path)]


def check_submission(test_path, submission_path):
    """(problems, submitted items): one line {"id", "event_list"} per test sentence, every event well formed,
    every argument a span of its text."""
    problems, ids = [], Counter()
    sentences = load(test_path, report=False, require_items=True)
    texts = {s["id"]: s["text"] for s in sentences}
    with open_binary(submission_path) as f:
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
    check_counts(problems, Counter(texts.keys()), ids, "id")
    return problems, sum(ids.values())
