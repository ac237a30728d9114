"""Error analysis a competitor can act on: per-class scores, error kinds, curves and error samples.

    python -m common.report MODEL_DIR [--dev FILE] [--predictions FILE] [--out DIR] [--samples 20]
    python -m common.report --track T --dev FILE --predictions FILE --out DIR    (any run, a teammate's too)

Writes DIR (default MODEL_DIR/report) with report.md and PNG figures: the
classes (predicates, event types and roles, question kinds) sorted by the errors
they cost, errors by kind, the learning curve of metrics.jsonl, score against text
length, and sampled errors with the differing spans in bold. The per-class counts
are the official metric's own (common.metrics), so their totals are its score.
A model directory written before this report existed works as it is.
"""
import argparse
import os
import random
from collections import Counter, defaultdict

from common import cli
from common.data import DataError, find_data_files
from common.metrics import duee_counts, duie_counts, duie_spo_key, prf, rc_em, rc_f1

TRACK_FILES = {"relation_extraction": "dev_predictions.zip", "event_extraction": "dev_predictions.json",
               "reading_comprehension": "dev_predictions.json"}
QUESTION_WORDS = ["为什么", "怎么", "多少", "哪", "谁", "什么", "何时", "几", "是否", "吗"]


# ---------------------------------------------------------------- inputs

def guess_track(model_dir, args):
    """The track of a model directory (args.json says it; older directories are told by their files)."""
    if args.get("track"):
        return args["track"]
    if "max_question_len" in args:
        return "reading_comprehension"
    if os.path.isfile(os.path.join(model_dir, "dev_predictions.zip")):
        return "relation_extraction"
    return "event_extraction"


def dev_file_of(args, track):
    if args.get("dev"):
        return args["dev"]
    return find_data_files(track, args.get("data_dir"), need=("dev",))["dev"]


# ---------------------------------------------------------------- relation extraction

def duie_error_kinds(gold_sentences, predicted_sentences):
    """Counts of error kinds and examples: missed subject, wrong predicate, wrong object boundary, extra SPO,
    other misses. Every gold SPO not predicted is one miss kind; every predicted SPO not in gold is one extra kind."""
    predicted = {s["text"]: s.get("spo_list") or [] for s in predicted_sentences}
    kinds, examples = Counter(), defaultdict(list)
    for s in gold_sentences:
        gold_keys = {duie_spo_key(spo) for spo in s["spo_list"]}
        pred_keys = {duie_spo_key(spo) for spo in predicted.get(s["text"], [])}
        pred_subjects = {k[1] for k in pred_keys}
        for k in gold_keys - pred_keys:
            values = dict(k[2])
            if k[1] not in pred_subjects:
                kind = "missed subject"
            elif any(p[1] == k[1] and dict(p[2]) == values for p in pred_keys):
                kind = "wrong predicate"
            elif any(p[1] == k[1] and p[0] == k[0] and _overlaps(dict(p[2]).get("@value", ""), values["@value"])
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


def _overlaps(a, b):
    return bool(a) and bool(b) and (a in b or b in a)


def duie_slot_counts(gold_sentences, predicted_sentences):
    """{predicate/slot: [correct, predicted, gold]} over the slots of SPOs matched on predicate, subject and @value."""
    predicted = {s["text"]: s.get("spo_list") or [] for s in predicted_sentences}
    counts = {}
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
                c = counts.setdefault(f"{spo['predicate']}/{slot}", [0, 0, 0])
                c[0] += spo["object"].get(slot, "").lower() == match.get(slot, "").lower() and slot in match
                c[1] += slot in match
                c[2] += slot in spo["object"]
    return counts


# ---------------------------------------------------------------- event extraction

def duee_error_kinds(gold_sentences, predicted_sentences):
    """Counts of error kinds: boundary (overlaps a gold argument of its class), wrong role (the exact text of a
    gold argument of another class), missed, spurious."""
    predicted = {s["id"]: s.get("event_list") or [] for s in predicted_sentences}
    kinds, examples = Counter(), defaultdict(list)
    for s in gold_sentences:
        gold = {(e["event_type"], a["role"], a["argument"]) for e in s.get("event_list") or [] for a in e["arguments"]}
        pred = {(e["event_type"], a["role"], a["argument"]) for e in predicted.get(s["id"], []) for a in e["arguments"]}
        for p in pred - gold:
            if any(g[:2] == p[:2] and _overlaps(g[2], p[2]) for g in gold):
                kind = "boundary"
            elif any(g[2] == p[2] for g in gold):
                kind = "wrong role or event type"
            else:
                kind = "spurious"
            kinds[kind] += 1
            examples[kind].append((s["text"], None, p))
        for g in gold - pred:
            if not any(p[:2] == g[:2] and _overlaps(g[2], p[2]) for p in pred) \
                    and not any(p[2] == g[2] for p in pred):
                kinds["missed"] += 1
                examples["missed"].append((s["text"], g, None))
    return kinds, examples


# ---------------------------------------------------------------- reading comprehension

def question_kind(question):
    return next((w for w in QUESTION_WORDS if w in question), "other")


def rc_rows(questions, answers, tokenizer=None, maxlen=None, max_question_len=64):
    """Per question: id, f1, em, kind, gold length, beyond the first window (if a tokenizer is given)."""
    rows = []
    for q in questions:
        prediction = answers.get(q.id, "")
        beyond = None
        if tokenizer is not None and q.found:
            from reading_comprehension.spans import encode_question
            _, windows = encode_question(tokenizer, q, max_question_len, maxlen)
            beyond = windows[0].start == 0
        rows.append({"id": q.id, "question": q.question, "context": q.context, "gold": q.answers,
                     "prediction": prediction, "f1": rc_f1(q.answers, prediction), "em": rc_em(q.answers, prediction),
                     "kind": question_kind(q.question), "length": min((len(a) for a in q.answers), default=0),
                     "context_length": len(q.context), "beyond_first_window": beyond})
    return rows


# ---------------------------------------------------------------- figures and markdown

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Source Han Sans SC", "AR PL UMing CN")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def cjk_font():
    """An installed font with Chinese glyphs, or None (figures then number their Chinese labels)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def figure_labels(labels):
    """Labels as they can be drawn: themselves with a CJK font, else "#1", "#2", ... (and the key to them)."""
    if cjk_font() or all(label.isascii() for label in labels):
        return labels, []
    return [f"#{i + 1}" for i in range(len(labels))], [f"#{i + 1} = {label}" for i, label in enumerate(labels)]


def learning_curve(records, path, key):
    plt = _pyplot()
    fig, loss_axis = plt.subplots(figsize=(6, 3.5))
    epochs = [r["epoch"] for r in records]
    loss_axis.plot(epochs, [r.get("loss", float("nan")) for r in records], color="tab:blue", marker="o",
                   label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:blue")
    metric_axis = loss_axis.twinx()
    for name in ("precision", "recall", key, "em"):
        values = [r.get(f"dev_{name}") for r in records]
        if any(v is not None for v in values):
            metric_axis.plot(epochs, values, marker=".", label=f"dev {name}")
    metric_axis.set_ylabel("dev metric")
    metric_axis.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def bar_chart(labels, values, path, title, xlabel):
    """A horizontal bar chart; returns the key to its numbered labels (empty when they are drawn as they are)."""
    plt = _pyplot()
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font] + plt.rcParams["font.sans-serif"]
    labels, key = figure_labels(labels)
    fig, ax = plt.subplots(figsize=(6, max(2.0, 0.28 * len(labels) + 1)))
    ax.barh(range(len(labels)), values, color="tab:orange")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return key


def length_figure(points, path, ylabel):
    """points: (text length, score) pairs; mean score per length bucket."""
    plt = _pyplot()
    buckets = defaultdict(list)
    for length, score in points:
        buckets[min(length // 50, 10)].append(score)
    keys = sorted(buckets)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(keys)), [sum(buckets[k]) / len(buckets[k]) for k in keys], color="tab:green")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{50 * k}+" if k == 10 else f"{50 * k}-{50 * k + 49}" for k in keys], fontsize=7, rotation=30)
    ax.set_xlabel("text length (characters)")
    ax.set_ylabel(ylabel)
    for i, k in enumerate(keys):
        ax.text(i, 0, f"n={len(buckets[k])}", ha="center", va="bottom", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def highlight(text, spans):
    """The text with the first occurrence of each of `spans` in bold (longest first; no nested bold)."""
    chosen = []
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        index = text.find(span)
        if index >= 0 and not any(index < end and start < index + len(span) for start, end in chosen):
            chosen.append((index, index + len(span)))
    for start, end in sorted(chosen, reverse=True):
        text = text[:start] + "**" + text[start:end] + "**" + text[end:]
    return text.replace("\n", " ")


def class_table(counts, names="class", score_digits=0):
    """Markdown table of per-class P/R/F1 sorted by the errors each costs (false negatives + false positives)."""
    rows = []
    for key, (correct, predicted, gold) in counts.items():
        scores = prf(correct, predicted, gold)
        rows.append((gold - correct + predicted - correct, key, correct, predicted, gold, scores))
    rows.sort(key=lambda r: (-r[0], str(r[1])))
    lines = [f"| {names} | errors | correct | predicted | gold | precision | recall | F1 |", "|---|---|---|---|---|---|---|---|"]
    for errors, key, correct, predicted, gold, s in rows:
        name = "/".join(key) if isinstance(key, tuple) else key
        fmt = (lambda v: f"{v:.{score_digits}f}") if score_digits else str
        lines.append(f"| {name} | {fmt(errors)} | {fmt(correct)} | {predicted} | {gold} | {s['precision']:.3f} | "
                     f"{s['recall']:.3f} | {s['f1']:.3f} |")
    return "\n".join(lines)


def totals(counts):
    return prf(*(sum(c[i] for c in counts.values()) for i in range(3)))


# ---------------------------------------------------------------- the report

def write_report(track, dev_path, predictions_path, out_dir, records=None, samples=20, model_dir=None, args=None,
                 seed=0):
    """Write out_dir/report.md and its figures; returns the report's path."""
    from common.data import load_duee, load_dureader, load_duie
    from common.validate import read_predictions

    os.makedirs(out_dir, exist_ok=True)
    predictions = read_predictions(track, predictions_path) if os.path.isfile(predictions_path) else (
        {} if track == "reading_comprehension" else [])
    rng = random.Random(seed)
    lines = [f"# Error analysis: {track}", "", f"- dev file: `{dev_path}`", f"- predictions: `{predictions_path}`"
             + ("" if os.path.isfile(predictions_path) else " (missing: scored as empty)")]
    figures = []
    if records:
        learning_curve(records, os.path.join(out_dir, "learning_curve.png"), "f1")
        figures.append(("Learning curve", "learning_curve.png", []))
    if track == "relation_extraction":
        gold = load_duie(dev_path, report=False)
        counts = duie_counts(gold, predictions)
        overall = totals(counts)
        kinds, examples = duie_error_kinds(gold, predictions)
        slot_counts = duie_slot_counts(gold, predictions)
        lines += ["", f"**Official DuIE metric: precision {overall['precision']:.4f}, recall {overall['recall']:.4f}, "
                      f"F1 {overall['f1']:.4f}**", "", "## Predicates, by the errors they cost", "",
                  class_table(counts, "predicate"), "", "## Complex objects: slots of SPOs matched on predicate, "
                  "subject and value", "", class_table(slot_counts, "predicate/slot") if slot_counts else "(none)"]
        by_text = {s["text"]: s for s in predictions}
        points = [(len(s["text"]), _sentence_f1({duie_spo_key(x) for x in s["spo_list"]},
                                                {duie_spo_key(x) for x in by_text.get(s["text"], {}).get("spo_list", [])}))
                  for s in gold]
        show = lambda k: k and f"{k[0]}({k[1]}, {', '.join(f'{a}={b}' for a, b in k[2])})"  # noqa: E731
        spans_of = lambda k: [k[1], *[v for _, v in k[2]]] if k else []  # noqa: E731
    elif track == "event_extraction":
        gold = load_duee(dev_path, report=False)
        counts = duee_counts(gold, predictions)
        overall = totals(counts)
        kinds, examples = duee_error_kinds(gold, predictions)
        by_type = defaultdict(lambda: [0.0, 0, 0])
        for (event_type, _), c in counts.items():
            for i in range(3):
                by_type[event_type][i] += c[i]
        lines += ["", f"**Official DuEE metric: precision {overall['precision']:.4f}, recall {overall['recall']:.4f}, "
                      f"F1 {overall['f1']:.4f}**", "", "## Event types, by the errors they cost", "",
                  class_table(dict(by_type), "event type", 2), "", "## Roles (event type/role), by the errors they cost",
                  "", class_table(counts, "event type/role", 2)]
        by_id = {s["id"]: s for s in predictions}
        points = []
        for s in gold:
            per = duee_counts([s], [by_id.get(s["id"], {"id": s["id"], "event_list": []})])
            points.append((len(s["text"]), totals(per)["f1"] if per else 1.0))
        show = lambda k: k and f"{k[0]}/{k[1]}: {k[2]}"  # noqa: E731
        spans_of = lambda k: [k[2]] if k else []  # noqa: E731
    else:
        questions = load_dureader(dev_path, report=False)
        tokenizer = maxlen = None
        if model_dir and args:
            from common.tokenization import load_tokenizer
            tokenizer = load_tokenizer(os.path.join(model_dir, "vocab.txt"), args.get("word_level", False),
                                       args.get("do_lower_case", True))
            maxlen = args.get("maxlen")
        rows = rc_rows(questions, predictions, tokenizer, maxlen, (args or {}).get("max_question_len", 64))
        n = len(rows) or 1
        overall = {"f1": 100 * sum(r["f1"] for r in rows) / n, "em": 100 * sum(r["em"] for r in rows) / n}
        counts = None
        lines += ["", f"**Official DuReader_robust metric: F1 {overall['f1']:.3f}, EM {overall['em']:.3f}, "
                      f"TOTAL {len(rows)}**", "",
                  f"No-answer predictions (empty string): {sum(not r['prediction'] for r in rows)} of {len(rows)} "
                  f"({sum(not r['prediction'] for r in rows) / n:.1%})"]
        for title, key in (("question word", lambda r: r["kind"]),
                           ("gold answer length (characters)", lambda r: _length_bucket(r["length"])),
                           ("answer beyond the first window", lambda r: r["beyond_first_window"])):
            groups = defaultdict(list)
            for r in rows:
                groups[key(r)].append(r)
            lines += ["", f"## By {title}", "", "| group | questions | F1 | EM | share of F1 lost |", "|---|---|---|---|---|"]
            lost = sum(1 - r["f1"] for r in rows) or 1
            for group, members in sorted(groups.items(), key=lambda kv: -sum(1 - r["f1"] for r in kv[1])):
                m = len(members)
                lines.append(f"| {group} | {m} | {100 * sum(r['f1'] for r in members) / m:.1f} | "
                             f"{100 * sum(r['em'] for r in members) / m:.1f} | "
                             f"{sum(1 - r['f1'] for r in members) / lost:.0%} |")
        kinds, examples = Counter(), defaultdict(list)
        for r in rows:
            if r["em"] < 1:
                kind = "no answer" if not r["prediction"] else "partial (boundary)" if r["f1"] > 0 else "wrong span"
                kinds[kind] += 1
                examples[kind].append((r["context"], r["gold"], r["prediction"]))
        points = [(r["context_length"], r["f1"]) for r in rows]
    # figures shared by the tracks
    if counts:
        worst = sorted(counts.items(), key=lambda kv: -(kv[1][2] - kv[1][0] + kv[1][1] - kv[1][0]))[:15]
        key = bar_chart(["/".join(k) if isinstance(k, tuple) else k for k, _ in worst],
                        [c[2] - c[0] + c[1] - c[0] for _, c in worst], os.path.join(out_dir, "classes.png"),
                        "classes costing the most errors", "false negatives + false positives")
        figures.append(("Classes costing the most errors", "classes.png", key))
    if kinds:
        key = bar_chart(list(kinds), list(kinds.values()), os.path.join(out_dir, "error_kinds.png"), "errors by kind",
                        "errors")
        figures.append(("Errors by kind", "error_kinds.png", key))
    if points:
        length_figure(points, os.path.join(out_dir, "length.png"), "mean F1 of a sentence (question)")
        figures.append(("Score by text length", "length.png", []))
    lines += ["", "## Errors by kind", "", "| kind | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in kinds.most_common()] or ["| (none) | 0 |"]
    lines += ["", "## Figures"]
    for title, name, key in figures:
        lines += ["", f"![{title}]({name})"] + ([""] + [f"- {k}" for k in key] if key else [])
    lines += ["", f"## {samples} sampled errors", ""]
    pool = [(kind, e) for kind, items in examples.items() for e in items]
    for kind, (text, gold_item, predicted_item) in rng.sample(pool, min(samples, len(pool))):
        if track == "reading_comprehension":
            lines += [f"- **{kind}**: gold {gold_item} / predicted {predicted_item!r}",
                      f"  - {highlight(_around(text, gold_item + [predicted_item]), gold_item + [predicted_item])}"]
        else:
            lines += [f"- **{kind}**: gold `{show(gold_item) or '-'}` / predicted `{show(predicted_item) or '-'}`",
                      f"  - {highlight(text, spans_of(gold_item) + spans_of(predicted_item))}"]
    if not pool:
        lines.append("(no errors)")
    path = os.path.join(out_dir, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _sentence_f1(gold, predicted):
    if not gold and not predicted:
        return 1.0
    return prf(len(gold & predicted), len(predicted), len(gold))["f1"]


def _length_bucket(n):
    return "1-3" if n <= 3 else "4-8" if n <= 8 else "9-16" if n <= 16 else "17+"


def _around(context, spans, width=60):
    """The part of a long context around the first of `spans` found in it."""
    positions = [context.find(s) for s in spans if s and context.find(s) >= 0]
    if not positions or len(context) <= 2 * width:
        return context[:2 * width]
    start = max(0, min(positions) - width)
    return ("…" if start else "") + context[start:start + 2 * width] + "…"


def report_model_dir(model_dir, dev=None, predictions=None, out=None, samples=20):
    """The report of a model directory (its dev file and dev predictions unless given)."""
    from common.files import read_json
    from common.model_dir import read_metrics

    args_path = os.path.join(model_dir, "args.json")
    if not os.path.isfile(args_path):
        raise DataError(f"{model_dir}: not a model directory (no args.json); give --track, --dev and --predictions")
    args = read_json(args_path, "args")
    track = guess_track(model_dir, args)
    dev = dev or dev_file_of(args, track)
    predictions = predictions or os.path.join(model_dir, TRACK_FILES[track])
    return write_report(track, dev, predictions, out or os.path.join(model_dir, "report"), read_metrics(model_dir),
                        samples, model_dir, args)


def main(argv=None):
    from common.data import TRACKS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", nargs="?", help="a directory written by train.py")
    p.add_argument("--track", choices=TRACKS, help="without a model directory")
    p.add_argument("--dev", help="gold file (default: the dev file the model was trained with)")
    p.add_argument("--predictions", help="predictions to analyse (default: the model's dev predictions)")
    p.add_argument("--out", help="report directory (default MODEL_DIR/report)")
    p.add_argument("--samples", type=int, default=20)
    args = p.parse_args(argv)
    if args.model_dir:
        path = report_model_dir(args.model_dir, args.dev, args.predictions, args.out, args.samples)
    else:
        if not (args.track and args.dev and args.predictions and args.out):
            p.error("without MODEL_DIR, give --track, --dev, --predictions and --out")
        path = write_report(args.track, args.dev, args.predictions, args.out, samples=args.samples)
    print(f"report: {path}")


if __name__ == "__main__":
    cli.run(main)  # unreadable input: one line naming the file, exit code 2
