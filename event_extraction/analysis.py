"""Error analysis of DuEE predictions: per event type and per (type, role), the stages that lose recall
(event types, triggers), error kinds, score by length."""
from collections import Counter, defaultdict

from common.analysis import Analysis, class_table, overlaps, span_sample
from common.metrics import totals
from event_extraction.duee import counts, stage_scores


def error_kinds(gold_sentences, predicted_sentences):
    """Counts of error kinds: boundary (overlaps a gold argument of its class), wrong role (the exact text of a
    gold argument of another class), missed, spurious."""
    predicted = {s["id"]: s.get("event_list") or [] for s in predicted_sentences}
    kinds, examples = Counter(), defaultdict(list)
    for s in gold_sentences:
        gold = {(e["event_type"], a["role"], a["argument"]) for e in s.get("event_list") or [] for a in e["arguments"]}
        pred = {(e["event_type"], a["role"], a["argument"]) for e in predicted.get(s["id"], []) for a in e["arguments"]}
        for p in pred - gold:
            if any(g[:2] == p[:2] and overlaps(g[2], p[2]) for g in gold):
                kind = "boundary"
            elif any(g[2] == p[2] for g in gold):
                kind = "wrong role or event type"
            else:
                kind = "spurious"
            kinds[kind] += 1
            examples[kind].append((s["text"], None, p))
        for g in gold - pred:
            if not any(p[:2] == g[:2] and overlaps(g[2], p[2]) for p in pred) \
                    and not any(p[2] == g[2] for p in pred):
                kinds["missed"] += 1
                examples["missed"].append((s["text"], g, None))
    return kinds, examples


def analyse(gold, predictions):
    """The Analysis of predictions [{"id", "event_list"}] against the gold sentences."""
    per_class = counts(gold, predictions)
    overall = totals(per_class)
    kinds, examples = error_kinds(gold, predictions)
    by_type = defaultdict(lambda: [0.0, 0, 0])
    for (event_type, _), c in per_class.items():
        for i in range(3):
            by_type[event_type][i] += c[i]
    stages = stage_scores(gold, predictions)
    lines = ["", f"**Official DuEE metric: precision {overall['precision']:.4f}, recall {overall['recall']:.4f}, "
                 f"F1 {overall['f1']:.4f}**", "", "## Where recall is lost", "",
             "Not the official metric (it scores arguments only): the (sentence, event type) pairs and the (sentence, "
             "event type, trigger) triples predicted, against the gold. An argument can only be right where its "
             "event type was found.", "", "| stage | precision | recall |", "|---|---|---|",
             *(f"| {name} | {stages[stage + '_precision']:.3f} | {stages[stage + '_recall']:.3f} |"
               for stage, name in (("type", "event type"), ("trigger", "trigger")) if stage + "_recall" in stages),
             f"| argument (official) | {overall['precision']:.3f} | {overall['recall']:.3f} |", "",
             "## Event types, by the errors they cost", "", class_table(dict(by_type), "event type", 2), "",
             "## Roles (event type/role), by the errors they cost", "", class_table(per_class, "event type/role", 2)]
    by_id = {s["id"]: s for s in predictions}
    points = []
    for s in gold:
        per = counts([s], [by_id.get(s["id"], {"id": s["id"], "event_list": []})])
        points.append((len(s["text"]), totals(per)["f1"] if per else 1.0))
    show = lambda k: k and f"{k[0]}/{k[1]}: {k[2]}"  # noqa: E731
    spans_of = lambda k: [k[2]] if k else []  # noqa: E731
    return Analysis(lines, per_class, kinds, examples, points, span_sample(show, spans_of))
