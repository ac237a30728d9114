"""Error analysis a competitor can act on: per-class scores, error kinds, curves and error samples.

    python -m tools.report MODEL_DIR [--dev FILE] [--predictions FILE] [--out DIR] [--samples 20]
    python -m tools.report --track T --dev FILE --predictions FILE --out DIR    (any run, a teammate's too)

Writes DIR (default MODEL_DIR/report) with report.md and PNG figures: the
classes (predicates, event types and roles, question kinds) sorted by the errors
they cost, errors by kind, the learning curve of metrics.jsonl, score against text
length, and sampled errors with the differing spans in bold. The per-class counts
are the official metric's own, so their totals are its score. Each track's
analysis is its own (its analyse()); this tool draws and writes it.
"""
import argparse
import os
import random
from collections import defaultdict

from common import cli
from common.data import DataError, find_data_files
from tools.tracks import NAMES, track


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


def learning_curve(records, path):
    plt = _pyplot()
    fig, loss_axis = plt.subplots(figsize=(6, 3.5))
    epochs = [r["epoch"] for r in records]
    loss_axis.plot(epochs, [r.get("loss", float("nan")) for r in records], color="tab:blue", marker="o",
                   label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:blue")
    metric_axis = loss_axis.twinx()
    for name in ("precision", "recall", "f1", "em", "type_recall", "trigger_recall"):
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


# ---------------------------------------------------------------- the report

def write_report(name, dev_path, predictions_path, out_dir, records=None, samples=20, tokenizer=None, config=None,
                 seed=0):
    """Write out_dir/report.md and its figures; returns the report's path."""
    t = track(name)
    os.makedirs(out_dir, exist_ok=True)
    missing = not os.path.isfile(predictions_path)
    dev_paths = [dev_path] if isinstance(dev_path, str) else list(dev_path)  # several: one gold, in their order
    gold = [item for path in dev_paths for item in t.load(path, report=False)]
    rows = t.read_predictions(predictions_path) if not missing else ({} if name == "reading_comprehension" else [])
    analysis = t.analyse(gold, rows, tokenizer, config)
    rng = random.Random(seed)
    lines = [f"# Error analysis: {name}", "", "- dev file: " + ", ".join(f"`{p}`" for p in dev_paths),
             f"- predictions: `{predictions_path}`"
             + (" (missing: scored as empty)" if missing else "")] + analysis.lines
    figures = []
    if records:
        learning_curve(records, os.path.join(out_dir, "learning_curve.png"))
        figures.append(("Learning curve", "learning_curve.png", []))
    if analysis.counts:
        worst = sorted(analysis.counts.items(), key=lambda kv: -(kv[1][2] - kv[1][0] + kv[1][1] - kv[1][0]))[:15]
        key = bar_chart(["/".join(k) if isinstance(k, tuple) else k for k, _ in worst],
                        [c[2] - c[0] + c[1] - c[0] for _, c in worst], os.path.join(out_dir, "classes.png"),
                        "classes costing the most errors", "false negatives + false positives")
        figures.append(("Classes costing the most errors", "classes.png", key))
    if analysis.kinds:
        key = bar_chart(list(analysis.kinds), list(analysis.kinds.values()), os.path.join(out_dir, "error_kinds.png"),
                        "errors by kind", "errors")
        figures.append(("Errors by kind", "error_kinds.png", key))
    if analysis.points:
        length_figure(analysis.points, os.path.join(out_dir, "length.png"), "mean F1 of a sentence (question)")
        figures.append(("Score by text length", "length.png", []))
    lines += ["", "## Errors by kind", "", "| kind | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in analysis.kinds.most_common()] or ["| (none) | 0 |"]
    lines += ["", "## Figures"]
    for title, file_name, key in figures:
        lines += ["", f"![{title}]({file_name})"] + ([""] + [f"- {k}" for k in key] if key else [])
    lines += ["", f"## {samples} sampled errors", ""]
    pool = [(kind, e) for kind, items in analysis.examples.items() for e in items]
    for kind, example in rng.sample(pool, min(samples, len(pool))):
        lines += analysis.sample(kind, example)
    if not pool:
        lines.append("(no errors)")
    path = os.path.join(out_dir, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def report_model_dir(model_dir, dev=None, predictions=None, out=None, samples=20):
    """The report of a model directory (its dev file and dev predictions unless given), or of an ensemble
    directory (report_ensemble_dir)."""
    from common.model_dir import ENSEMBLE, load_model_dir, read_metrics, read_record
    from common.tokenization import load_tokenizer

    name, run, _ = read_record(model_dir)
    if name is None and not run and os.path.isfile(os.path.join(model_dir, ENSEMBLE)):
        return report_ensemble_dir(model_dir, dev, predictions, out, samples)
    if name is None and not run:
        raise DataError(f"{model_dir}: not a model directory (no config.json); give --track, --dev and --predictions")
    t = track(name or _guess_track(model_dir, run))
    files, config = load_model_dir(model_dir, t, allow_unfinished=True)
    tokenizer = load_tokenizer(files.vocab, config.word_level, config.do_lower_case)
    return write_report(t.NAME, dev or _trained_dev(t, run), predictions or os.path.join(model_dir, t.DEV_PREDICTIONS),
                        out or os.path.join(model_dir, "report"), read_metrics(model_dir), samples, tokenizer, config)


def report_ensemble_dir(model_dir, dev=None, predictions=None, out=None, samples=20):
    """The report of an ensemble directory: a SEEDS run's dev predictions against its members' dev file, or a
    k-fold run's out-of-fold predictions against every fold's held-out part, in fold order (no learning curve)."""
    from common.files import read_json
    from common.model_dir import ENSEMBLE, load_model_dir, read_ensemble, read_record
    from common.tokenization import load_tokenizer
    from tools.kfold import held_out_files, oof_predictions

    path = os.path.join(model_dir, ENSEMBLE)
    name = (read_json(path, "ensemble") or {}).get("track")
    if name not in NAMES:
        raise DataError(f"{path}: names no track of {', '.join(NAMES)} (\"track\": {name!r})")
    t = track(name)
    members = read_ensemble(model_dir, t)["members"]
    if os.path.isfile(os.path.join(model_dir, "kfold.json")):
        dev = dev or held_out_files(t, model_dir, len(members))
        predictions = predictions or oof_predictions(t, model_dir)
    else:
        dev = dev or _trained_dev(t, read_record(members[0])[1])
        predictions = predictions or os.path.join(model_dir, t.DEV_PREDICTIONS)
    files, config = load_model_dir(members[0], t, allow_unfinished=True)  # the members read text alike
    tokenizer = load_tokenizer(files.vocab, config.word_level, config.do_lower_case)
    return write_report(name, dev, predictions, out or os.path.join(model_dir, "report"), None, samples, tokenizer,
                        config)


def _trained_dev(t, run):
    """The dev file a model was trained with, by its record."""
    return run.get("dev") or find_data_files(t.FILES, run.get("data_dir"), need=("dev",))["dev"]


def _guess_track(model_dir, args):
    """The track of a directory from before args.json recorded it, told by its files."""
    if "max_question_len" in args:
        return "reading_comprehension"
    if os.path.isfile(os.path.join(model_dir, "dev_predictions.zip")):
        return "relation_extraction"
    return "event_extraction"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", nargs="?", type=os.path.expanduser,
                   help="a directory written by train.py, or an ensemble directory (SEEDS: its dev predictions; "
                        "k-fold: its out-of-fold predictions)")
    p.add_argument("--track", choices=NAMES, help="without a model directory")
    p.add_argument("--dev", type=os.path.expanduser,
                   help="gold file (default: the dev file the model was trained with)")
    p.add_argument("--predictions", type=os.path.expanduser,
                   help="predictions to analyse (default: the model's dev predictions)")
    p.add_argument("--out", type=os.path.expanduser, help="report directory (default MODEL_DIR/report)")
    p.add_argument("--samples", type=cli.integer_from(0), default=20, help="error samples to show (default 20)")
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
