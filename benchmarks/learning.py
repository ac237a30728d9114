"""Learning against the real 2020 design: dev F1 after every epoch and held-out test F1 of each track's
default recipe and of one-change variants, on two sets, in two regimes.

    python -m benchmarks learning [--sets yardstick hard real] [--real-dir DIR] [--regimes random pretrained]
                                  [--tracks ...] [--variants NAME ...] [--seeds 42 43] [--hard-seeds 42] [--epochs 6]
                                  [--train-args "..."]

Sets:
  yardstick  synthetic/yardstick (a copy of the project's calibrated learning set): LIC-format data (the
             real DuIE 2.0 schema, a DuEE-style schema, DuReader-style contexts), a tiny Google-format BERT
             and the same BERT after a short masked-LM pretraining, and the measured dev F1 per epoch and
             test F1 of the 2020 single-file bert4keras baselines on it: the reference row of every table.
  hard       synthetic.hard_data at HARD_SIZES: the real DuIE schema (48 predicates, complex objects) and
             the real DuEE schema (65 event types, 217 roles; overlapping arguments, events of one type
             sharing arguments), DuReader-style long contexts; a tiny BERT of its vocabulary and a copy
             pretrained on other generated texts (synthetic.pretrain). No recorded reference.
  real       --real-dir DIR: real LIC lines in the LIC layout, with recorded 2020 rows where DIR has them:
             DIR/data/{ie,ee,rc}/ (or DIR/{ie,ee,rc}/, or directories named after the tracks) with the
             official file names, each with a test file and its gold (test_gold.json beside test1*.json,
             or a test1 file that holds the gold); DIR/bert/ and DIR/bert_pretrained/ (a regime whose BERT
             is missing is skipped); DIR/results.json as the yardstick's, optional. Your own downloaded
             data works the same way: cut the official train file into train, dev and a test file with
             its gold, put a BERT beside it, and compare heads and recipes on your own lines.
Regimes: random (the random BERT at learning rate 1e-3: everything learns from scratch) and pretrained
(the pretrained BERT at 3e-4: the regime of real use). Batch size and maxlen per track are those the
2020 design ran with on the yardstick (relation extraction 16 / 256, event extraction 32 / 128, reading
comprehension 32 / 256), 6 epochs.

Every run is the track's own train.py, then predict.py on the held-out test file, scored with the
official metric. Runs already done with the same code and arguments (their record on disk) are reused, so an
interrupted benchmark continues where it stopped; --report-only trains nothing and tables the recorded
runs. The pretrained regime and the hard set run the variants of FEW_VARIANTS unless --variants names
others; the hard set runs one seed (--hard-seeds).
Results: outputs/bench/learning.json, learning.md (the README's tables), learning.png and docs/learning.png.
"""
import glob
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np

from benchmarks.helpers import OUT, ROOT, argument_parser, train
from tools.tracks import NAMES as TRACKS

YARDSTICK = os.path.join(ROOT, "synthetic", "yardstick")
SETS = ("yardstick", "hard", "real")
# train, dev, test items per track: enough for the best design to pass dev F1 0.5 in 6 epochs with the pretrained BERT
HARD_SIZES = {"relation_extraction": (6000, 300, 300), "event_extraction": (3000, 300, 300),
              "reading_comprehension": (3000, 300, 300)}
REGIMES = {"random": {"learning_rate": 1e-3, "bert": "bert"},
           "pretrained": {"learning_rate": 3e-4, "bert": "bert_pretrained"}}
SETTINGS = {"relation_extraction": {"batch_size": 16, "maxlen": 256},
            "event_extraction": {"batch_size": 32, "maxlen": 128},
            "reading_comprehension": {"batch_size": 32, "maxlen": 256}}
YARDSTICK_NAMES = {"relation_extraction": "ie", "event_extraction": "ee", "reading_comprehension": "rc"}
# variant -> extra train.py arguments; "default" is train.py as it ships, every other one changes one thing
VARIANTS = {
    "relation_extraction": {
        "default": [],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "no-clip": ["--clip-norm", "0"],
        "zero-bias": ["--output-bias", "zero"],
        "condition-on-output": ["--condition-on", "output"],
        "object-loss-mean": ["--object-loss", "mean"],
        "sampled-subject": ["--subjects", "sample"],
        "thresholds-fixed": ["--thresholds", "fixed"],
        "head-lr-x1": ["--head-lr-multiplier", "1"],
        "no-ema": ["--ema", "0"],
        "no-fgm": ["--adversarial", "none"],
        "fgm-1": ["--adv-epsilon", "1"],
    },
    "event_extraction": {
        "default": [],
        "pointer": ["--head", "pointer"],
        "span": ["--head", "span"],
        "crf": ["--head", "crf"],
        "memm": ["--head", "memm"],
        "thresholds-fixed": ["--thresholds", "fixed"],
        "head-lr-x1": ["--head-lr-multiplier", "1"],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "no-clip": ["--clip-norm", "0"],
        "no-ema": ["--ema", "0"],
        "fgm": ["--adversarial", "fgm"],
    },
    "reading_comprehension": {
        "default": [],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "no-clip": ["--clip-norm", "0"],
        "negatives-0": ["--negative-share", "0"],
        "head-lr-x1": ["--head-lr-multiplier", "1"],
        "maxlen-512": ["--maxlen", "512"],
        "first-window": ["--windows", "first"],
        "ema": ["--ema", "0.95"],
        "no-fgm": ["--adversarial", "none"],
        "fgm-1": ["--adv-epsilon", "1"],
    },
}
FEW_VARIANTS = {"relation_extraction": ["default", "warmup-linear", "no-clip"],
                "event_extraction": ["default", "pointer", "span", "crf"],
                "reading_comprehension": ["default", "head-lr-x1", "constant"]}


def code_fingerprint(track):
    """A digest of the code a run of `track` depends on (common/ and the track's package): a run recorded with
    other code is run again."""
    digest = hashlib.sha1()
    for path in sorted(glob.glob(os.path.join(ROOT, "common", "*.py")) + glob.glob(os.path.join(ROOT, track, "**", "*.py"),
                                                                                recursive=True)):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def reference(results_path):
    """The 2020 design's recorded numbers in a results.json (the yardstick's, or a real set's):
    {track: {regime: {"dev_f1": [...], "test_f1": x}}} where it has them."""
    if not os.path.isfile(results_path):
        return {}
    with open(results_path, encoding="utf-8") as f:
        recorded = json.load(f)
    found = {}
    for track, name in YARDSTICK_NAMES.items():
        for regime in REGIMES:
            anchor = recorded.get(name, {}).get(regime, {}).get("anchor")
            if anchor:
                found.setdefault(track, {})[regime] = {
                    "dev_f1": anchor["dev_f1_per_epoch"], "test_f1": anchor["test"].get("f1", anchor["test"].get("F1"))}
    return found


def prepare_hard(out, pretrain_steps, regimes=tuple(REGIMES), log=print):
    """The hard data, a tiny BERT of its vocabulary and (for the pretrained regime) its pretrained copy, made once
    under `out`."""
    from synthetic.hard_data import write_hard_data
    from synthetic.pretrain import pretrain
    from synthetic.sample_data import write_sample_data
    from synthetic.tiny_bert import texts_of_files, write_tiny_bert

    data, corpus = os.path.join(out, "data"), os.path.join(out, "corpus")
    random_bert, pretrained_bert = os.path.join(out, "bert"), os.path.join(out, "bert_pretrained")
    if not os.path.isfile(os.path.join(data, "done")):
        for track, sizes in HARD_SIZES.items():
            write_hard_data(data, sizes=sizes, tracks=(track,))
        write_hard_data(corpus, seed=1001, sizes=(4000, 10, 10))  # pretraining texts, none of the bench's
        write_sample_data(os.path.join(corpus, "sample"))
        open(os.path.join(data, "done"), "w").close()
    if not os.path.isfile(os.path.join(random_bert, "bert_model.ckpt.index")):
        texts = texts_of_files(sorted(glob.glob(os.path.join(data, "*", "*.json"))
                                      + glob.glob(os.path.join(corpus, "**", "*.json"), recursive=True)))
        write_tiny_bert(random_bert, texts)
    if "pretrained" in regimes and not os.path.isfile(os.path.join(pretrained_bert, "bert_model.ckpt.index")):
        texts = [t for t in texts_of_files(sorted(glob.glob(os.path.join(corpus, "*", "train*.json"))))
                 if len(t) >= 8]
        log(f"pretraining the tiny BERT ({pretrain_steps} steps of masked LM on {len(texts)} texts)")
        first, last = pretrain(random_bert, texts, pretrained_bert, steps=pretrain_steps, log=log)
        log(f"masked-LM loss {first:.2f} -> {last:.2f}")
    return {track: os.path.join(data, track) for track in TRACKS}, {"random": random_bert,
                                                                     "pretrained": pretrained_bert}


def lic_layout(directory):
    """(data directory per track, BERT per regime, recorded 2020 rows) of a set in the LIC layout."""
    data = {}
    for track, name in YARDSTICK_NAMES.items():
        for candidate in (os.path.join(directory, "data", name), os.path.join(directory, name),
                          os.path.join(directory, "data", track), os.path.join(directory, track)):
            if os.path.isdir(candidate):
                data[track] = candidate
                break
    berts = {regime: os.path.join(directory, r["bert"]) for regime, r in REGIMES.items()
             if os.path.isdir(os.path.join(directory, r["bert"]))}
    return data, berts, reference(os.path.join(directory, "results.json"))


def test_files(data_dir):
    """(the test file to predict, its gold): the yardstick keeps the gold apart; the hard set's test files hold it."""
    test = sorted(glob.glob(os.path.join(data_dir, "test1*.json")))[0]
    gold = os.path.join(data_dir, "test_gold.json")
    return test, gold if os.path.isfile(gold) else test


def run_one(track, data_dir, bert_dir, out_dir, settings, extra, seed, epochs, timeout, report_only=False):
    """Train, predict the held-out test file, score it: the run's record (reused if this code made it;
    None with `report_only` when there is none)."""
    from tools.validate import score

    record_path = os.path.join(out_dir, "bench_record.json")
    fingerprint = code_fingerprint(track)
    if os.path.isfile(record_path):
        with open(record_path, encoding="utf-8") as f:
            record = json.load(f)
        if record.get("code") == fingerprint and record.get("epochs") == epochs and record.get("args") == extra:
            return record
    if report_only:
        return None
    started = time.time()
    history = train(track, data_dir, bert_dir, out_dir, dict(settings, epochs=epochs, seed=seed), extra, timeout)
    train_seconds = time.time() - started
    test, gold = test_files(data_dir)
    predictions = os.path.join(out_dir, "test_predictions.json")
    result = subprocess.run([sys.executable, f"{track}/predict.py", "--model-dir", out_dir, "--input", test,
                             "--output", predictions], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"predict of {out_dir} failed:\n{result.stderr[-3000:]}")
    best = max(history, key=lambda r: r["dev_f1"])
    record = {"track": track, "seed": seed, "args": extra, "code": fingerprint, "epochs": epochs,
              "dev_f1": [r["dev_f1"] for r in history], "loss": [r["loss"] for r in history],
              "best_epoch": best["epoch"], "best_dev_f1": best["dev_f1"], "test": score(track, gold, predictions),
              "seconds": round(train_seconds)}
    with open(record_path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return record


def summarize(runs):
    """{set: {regime: {track: {variant: mean dev curve, mean best dev, test F1 mean and per seed}}}}."""
    summary = {}
    for r in runs:
        entry = summary.setdefault(r["set"], {}).setdefault(r["regime"], {}).setdefault(r["track"], {}).setdefault(
            r["variant"], {"dev_curves": [], "best_dev": [], "test_f1": [], "seeds": []})
        entry["dev_curves"].append(r["dev_f1"])
        entry["best_dev"].append(r["best_dev_f1"])
        entry["test_f1"].append(r["test"]["f1"])
        entry["seeds"].append(r["seed"])
    for regimes in summary.values():
        for tracks in regimes.values():
            for variants in tracks.values():
                for entry in variants.values():
                    length = min(map(len, entry["dev_curves"]))
                    entry["dev_curve_mean"] = np.mean([c[:length] for c in entry["dev_curves"]], 0).round(4).tolist()
                    entry["best_dev_mean"] = round(float(np.mean(entry["best_dev"])), 4)
                    entry["test_f1_mean"] = round(float(np.mean(entry["test_f1"])), 4)
    return summary


def fmt(track, value):
    return f"{value:.1f}" if track == "reading_comprehension" else f"{value:.3f}"


def tables(summary, recorded):
    """Markdown tables: per set, regime and track, the 2020 design's recorded row, then ours."""
    lines = []
    for set_name, regimes in summary.items():
        for regime, tracks in regimes.items():
            for track in TRACKS:
                if track not in tracks:
                    continue
                lines += [f"\n{track}, {set_name}, {regime} BERT:\n",
                          "| variant | dev F1 per epoch (mean of the seeds) | best dev | test F1 (seeds) |",
                          "|---|---|---|---|"]
                ref = recorded.get(set_name, {}).get(track, {}).get(regime)
                if ref:
                    lines.append(f"| **2020 design (recorded)** | {' '.join(fmt(track, v) for v in ref['dev_f1'])} | "
                                 f"{fmt(track, max(ref['dev_f1']))} | **{fmt(track, ref['test_f1'])}** |")
                order = sorted(tracks[track].items(), key=lambda kv: (kv[0] != "default", kv[0]))
                for name, e in order:
                    seeds = ", ".join(fmt(track, v) for v in e["test_f1"])
                    lines.append(f"| {name} | {' '.join(fmt(track, v) for v in e['dev_curve_mean'])} | "
                                 f"{fmt(track, e['best_dev_mean'])} | {fmt(track, e['test_f1_mean'])} ({seeds}) |")
    return "\n".join(lines) + "\n"


def plot(summary, recorded, paths):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(s, r) for s, regimes in summary.items() for r in regimes]
    fig, axes = plt.subplots(len(rows), len(TRACKS), figsize=(5.5 * len(TRACKS), 3.6 * len(rows)), squeeze=False)
    for i, (set_name, regime) in enumerate(rows):
        for j, track in enumerate(TRACKS):
            ax = axes[i][j]
            for name, e in sorted(summary[set_name][regime].get(track, {}).items()):
                curve = e["dev_curve_mean"]
                style = dict(linewidth=3, color="black") if name == "default" else dict(linewidth=1)
                ax.plot(range(1, len(curve) + 1), curve, label=name, **style)
            ref = recorded.get(set_name, {}).get(track, {}).get(regime, {}).get("dev_f1")
            if ref:
                ax.plot(range(1, len(ref) + 1), ref, label="2020 design (recorded)", linewidth=2, linestyle="--",
                        color="tab:red")
            ax.set_title(f"{track}: {set_name}, {regime} BERT", fontsize=10)
            ax.set_xlabel("epoch")
            ax.set_ylabel("dev F1")
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=6)
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argument_parser(__name__, __doc__)
    p.add_argument("--sets", nargs="+", choices=SETS, default=["yardstick", "hard"],
                   help="real needs --real-dir")
    p.add_argument("--real-dir", help="the real set: LIC-layout data, BERTs and recorded rows (see above)")
    p.add_argument("--regimes", nargs="+", choices=list(REGIMES), default=list(REGIMES))
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--variants", nargs="+", help="variant names to run (default: all on the yardstick's random "
                                                 "regime, FEW_VARIANTS elsewhere)")
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 43])
    p.add_argument("--hard-seeds", nargs="+", type=int, default=[42],
                   help="seeds on the hard set (its runs take 3-15 minutes each on 2 cores)")
    p.add_argument("--train-args", default="",
                   help="train.py arguments added to every variant's, e.g. \"--ema 0\" to compare heads without the "
                        "weight average (use another --out: a run is reused only with the same arguments)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--pretrain-steps", type=int, default=1500, help="masked-LM steps of the hard set's BERT")
    p.add_argument("--timeout", type=int, default=14400, help="seconds one train.py may take")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: tables and figure of the runs already recorded by this code")
    p.add_argument("--out", default=OUT)
    p.add_argument("--figure", default=os.path.join(ROOT, "docs", "learning.png"), help="a copy of the figure")
    args = p.parse_args(argv)
    if "real" in args.sets and not args.real_dir:
        p.error("--sets real needs --real-dir")
    work = os.path.join(args.out, "learning")
    recorded, runs = {}, []
    for set_name in args.sets:
        if set_name == "hard":
            (data, berts), recorded[set_name] = prepare_hard(os.path.join(work, "hard"), args.pretrain_steps,
                                                                args.regimes), {}
        else:
            data, berts, recorded[set_name] = lic_layout(YARDSTICK if set_name == "yardstick" else args.real_dir)
        for regime in args.regimes:
            if regime not in berts:
                print(f"[{set_name}] no BERT for the {regime} regime: skipped", flush=True)
                continue
            for track in args.tracks:
                if track not in data:
                    print(f"[{set_name}] no {track} data: skipped", flush=True)
                    continue
                for variant, extra in VARIANTS[track].items():
                    wanted = args.variants or (VARIANTS[track] if (set_name, regime) == ("yardstick", "random")
                                               else FEW_VARIANTS[track])
                    if variant not in wanted:
                        continue
                    for seed in args.hard_seeds if set_name == "hard" else args.seeds:
                        out_dir = os.path.join(work, "runs", set_name, regime, track, f"{variant}-s{seed}")
                        print(f"[{set_name}, {regime}] {track} {variant} seed {seed}", flush=True)
                        settings = dict(SETTINGS[track], learning_rate=REGIMES[regime]["learning_rate"])
                        record = run_one(track, data[track], berts[regime], out_dir, settings,
                                         extra + shlex.split(args.train_args), seed,
                                         args.epochs, args.timeout, args.report_only)
                        if record is None:
                            print("  not run")
                            continue
                        runs.append(dict(record, set=set_name, regime=regime, variant=variant))
                        print(f"  dev {' '.join(f'{v:.3f}' for v in record['dev_f1'])} | test "
                              f"{record['test']['f1']:.3f} ({record['seconds']}s)", flush=True)
    summary = summarize(runs)
    results = {"settings": dict(vars(args), regimes=REGIMES, track_settings=SETTINGS, hard_sizes=HARD_SIZES),
               "reference": recorded, "runs": runs, "summary": summary}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "learning.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    markdown = tables(summary, recorded)
    with open(os.path.join(args.out, "learning.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    print(markdown)
    figure = os.path.join(args.out, "learning.png")
    plot(summary, recorded, [figure])
    if args.figure:
        shutil.copyfile(figure, args.figure)
    print(f"written: {os.path.join(args.out, 'learning.json')}, learning.md, {figure}"
          + (f", {args.figure}" if args.figure else ""))


if __name__ == "__main__":
    main()
