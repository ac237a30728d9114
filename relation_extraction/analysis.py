"""Error analysis of DuIE predictions: per predicate and per complex slot, error kinds, score by length."""
from collections import Counter, defaultdict

from common.analysis import Analysis, class_table, overlaps, sentence_f1, span_sample
from common.metrics import totals
from relation_extraction.duie import counts, spo_key


def error_kinds(gold_sentences, predicted_sentences):
    """Counts of error kinds and examples: missed subject, wrong predicate, wrong object boundary, extra SPO,
    other misses. Every gold SPO not predicted is one miss kind; every predicted SPO not in gold is one extra kind."""
    predicted = {s["text"]: s.get("spo_list") or [] for s in predicted_sentences}
    kinds, examples = Counter(), defaultdict(list)
    for s in gold_sentences:
        gold_keys = {spo_key(spo) for spo in s["spo_list"]}
        pred_keys = {spo_key(spo) for spo in predicted.get(s["text"], [])}
        pred_subjects = {k[1] for k in pred_keys}
        for k in gold_keys - pred_keys:
            values = dict(k[2])
            if k[1] not in pred_subjects:
                kind = "missed subject"
            elif any(p[1] == k[1] and dict(p[2]) == values for p in pred_keys):
                kind = "wrong predicate"
            elif any(p[1] == k[1] and p[0] == k[0] and overlaps(dict(p[2]).get("@value", ""), values["@value"])
                     for p in pred_keys):
                kind = "wrong object boundary"
            else:
                kind = "missed object"
            kinds[kind] += 1
            examples[kind].append((s["text"], k, None))
        for k in pred_keys - gold_keys:
            matched = any(g[1] == k[1] and (g[0] == k[0] or dict(g[2]) == dict(k[2])) for g in gold_keys)
            kind = "extra SPO" if not matched else "extra SPO (near a gold one)"
            kinds[kind] += 1
            examples[kind].append((s["text"], None, k))
    return kinds, examples


def slot_counts(gold_sentences, predicted_sentences):
    """{predicate/slot: [correct, predicted, gold]} over the slots of SPOs matched on predicate, subject and @value."""
    predicted = {s["text"]: s.get("spo_list") or [] for s in predicted_sentences}
    per_slot = {}
    for s in gold_sentences:
        pred = {(spo["predicate"], spo["subject"].lower(), spo["object"].get("@value", "").lower()): spo["object"]
                for spo in predicted.get(s["text"], [])}
        for spo in s["spo_list"]:
            match = pred.get((spo["predicate"], spo["subject"].lower(), spo["object"]["@value"].lower()))
            if match is None:
                continue
            for slot in set(spo["object"]) | set(match):
                if slot == "@value":
                    continue
                c = per_slot.setdefault(f"{spo['predicate']}/{slot}", [0, 0, 0])
                c[0] += spo["object"].get(slot, "").lower() == match.get(slot, "").lower() and slot in match
                c[1] += slot in match
                c[2] += slot in spo["object"]
    return per_slot


def analyse(gold, predictions):
    """The Analysis of predictions [{"text", "spo_list"}] against the gold sentences."""
    per_predicate = counts(gold, predictions)
    overall = totals(per_predicate)
    kinds, examples = error_kinds(gold, predictions)
    per_slot = slot_counts(gold, predictions)
    lines = ["", f"**Official DuIE metric: precision {overall['precision']:.4f}, recall {overall['recall']:.4f}, "
                 f"F1 {overall['f1']:.4f}**", "", "## Predicates, by the errors they cost", "",
             class_table(per_predicate, "predicate"), "", "## Complex objects: slots of SPOs matched on predicate, "
             "subject and value", "", class_table(per_slot, "predicate/slot") if per_slot else "(none)"]
    by_text = {s["text"]: s for s in predictions}
    points = [(len(s["text"]), sentence_f1({spo_key(x) for x in s["spo_list"]},
                                           {spo_key(x) for x in by_text.get(s["text"], {}).get("spo_list", [])}))
              for s in gold]
    show = lambda k: k and f"{k[0]}({k[1]}, {', '.join(f'{a}={b}' for a, b in k[2])})"  # noqa: E731
    spans_of = lambda k: [k[1], *[v for _, v in k[2]]] if k else []  # noqa: E731
    return Analysis(lines, per_predicate, kinds, examples, points, span_sample(show, spans_of))
