"""Learning curves: dev F1 after every epoch of each track's default recipe and of variants, side by side.

    python -m benchmarks learning [--regimes random pretrained] [--tracks ...] [--variants NAME ...]
                                    [--seeds 42 43] [--epochs 6]

Every run is the track's own train.py (then predict.py on a held-out test file
with gold), on the hard LIC-format data of synthetic.hard_data, with one of two
small BERTs:

random      the tiny BERT of synthetic.tiny_bert, random weights, learning rate 1e-3 (everything
            learns from scratch, as in the side-by-side trial that found the stall)
pretrained  the same BERT after a few CPU minutes of masked-LM pretraining on other generated
            texts (synthetic.pretrain), fine-tuned at a BERT-like learning rate: the regime of real use

Variants change one thing against the default (or, for "lic2020", re-create the
2020 single-file baselines' design); the pretrained regime runs the variants of
PRETRAINED_VARIANTS unless --variants names others. Runs already done with the same
code (their record on disk) are reused, so an interrupted benchmark continues where it
stopped.
Results: outputs/bench/learning.json, a table, and outputs/bench/learning.png.
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.helpers import OUT, ROOT, TRACKS, train

REGIMES = {
    "random": {"learning_rate": 1e-3, "batch_size": 16},
    # 3e-4 is in the learning-rate grid Google gives for fine-tuning its small BERTs (1e-4 .. 3e-4 for 2 layers)
    "pretrained": {"learning_rate": 3e-4, "batch_size": 16},
}
# variant -> extra train.py arguments; "default" is the track's train.py as it ships (so every other
# variant changes one thing against it, except "lic2020", the 2020 single-file baselines' design)
VARIANTS = {
    "relation_extraction": {
        "default": [],
        "lic2020": ["--head", "lic2020", "--schedule", "constant", "--clip-norm", "0"],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "no-clip": ["--clip-norm", "0"],
        "zero-bias": ["--output-bias", "zero"],
        "condition-on-output": ["--condition-on", "output"],
        "object-loss-mean": ["--object-loss", "mean"],
        "sampled-subject": ["--subjects", "sample"],
        "threshold-0.5": ["--threshold", "0.5"],
        "head-lr-x1": ["--head-lr-multiplier", "1"],
    },
    "event_extraction": {
        "default": [],
        "lic2020": ["--head", "crf", "--schedule", "constant", "--clip-norm", "0", "--head-lr-multiplier", "1000"],
        "crf": ["--head", "crf"],
        "memm": ["--head", "memm"],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "head-lr-x1": ["--head-lr-multiplier", "1"],
    },
    "reading_comprehension": {
        "default": [],
        "lic2020": ["--windows", "first", "--maxlen", "256", "--max-answer-len", "16", "--schedule", "constant",
                    "--clip-norm", "0"],
        "constant": ["--schedule", "constant"],
        "warmup-linear": ["--schedule", "warmup-linear"],
        "negatives-0": ["--negative-share", "0"],
        "maxlen-512": ["--maxlen", "512"],
    },
}
# the pretrained regime checks the decisions that matter for real use (the recipe and the head) on fewer variants
PRETRAINED_VARIANTS = {"relation_extraction": ["default", "lic2020", "warmup-linear"],
                       "event_extraction": ["default", "lic2020"],
                       "reading_comprehension": ["default", "lic2020"]}
SUBMISSION = {"relation_extraction": "test_predictions.json", "event_extraction": "test_predictions.json",
              "reading_comprehension": "test_predictions.json"}
TEST_FILE = {"relation_extraction": "test1_data.json", "event_extraction": "test1.json",
             "reading_comprehension": "test1.json"}


def prepare(out, pretrain_steps, log=print):
    """The hard data (train/dev/test), a tiny BERT and its pretrained copy, made once under `out`."""
    from synthetic.hard_data import write_hard_data
    from synthetic.pretrain import pretrain
    from synthetic.sample_data import write_sample_data
    from synthetic.tiny_bert import texts_of_files, write_tiny_bert

    data, corpus = os.path.join(out, "data"), os.path.join(out, "corpus")
    random_bert, pretrained_bert = os.path.join(out, "tiny_bert"), os.path.join(out, "tiny_bert_pretrained")
    if not os.path.isfile(os.path.join(data, "done")):
        write_hard_data(data)
        write_hard_data(corpus, seed=1001, sizes=(4000, 10, 10))  # pretraining texts, none of the bench's
        write_sample_data(os.path.join(corpus, "sample"))
        open(os.path.join(data, "done"), "w").close()
    if not os.path.isfile(os.path.join(random_bert, "bert_model.ckpt.index")):
        texts = texts_of_files(sorted(glob.glob(os.path.join(data, "*", "*.json"))
                                      + glob.glob(os.path.join(corpus, "**", "*.json"), recursive=True)))
        write_tiny_bert(random_bert, texts)
    if not os.path.isfile(os.path.join(pretrained_bert, "bert_model.ckpt.index")):
        texts = [t for t in texts_of_files(sorted(glob.glob(os.path.join(corpus, "*", "train*.json"))))
                 if len(t) >= 8]
        log(f"pretraining the tiny BERT ({pretrain_steps} steps of masked LM on {len(texts)} texts)")
        first, last = pretrain(random_bert, texts, pretrained_bert, steps=pretrain_steps, log=log)
        log(f"masked-LM loss {first:.2f} -> {last:.2f}")
    return data, {"random": random_bert, "pretrained": pretrained_bert}


# the code a run's result depends on: a run recorded with other code is run again
SOURCES = ["common/training.py", "common/cli.py", "common/losses.py", "common/heads.py", "common/recompute.py",
           "common/bert.py", "common/data.py", "common/tokenization.py", "common/windows.py", "common/metrics.py",
           "relation_extraction/train.py", "relation_extraction/spo.py", "event_extraction/train.py",
           "event_extraction/events.py", "reading_comprehension/train.py", "reading_comprehension/spans.py"]


def code_fingerprint():
    digest = hashlib.sha1()
    for path in SOURCES:
        with open(os.path.join(ROOT, path), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def run_one(track, data_dir, bert_dir, out_dir, settings, extra, seed, epochs, timeout):
    """Train, predict the held-out test file, score it: the run's record (reused if this code made it)."""
    from common.validate import score

    record_path = os.path.join(out_dir, "bench_record.json")
    fingerprint = code_fingerprint()
    if os.path.isfile(record_path):
        with open(record_path, encoding="utf-8") as f:
            record = json.load(f)
        if record.get("code") == fingerprint and record.get("epochs") == epochs:
            return record
    started = time.time()
    recipe = {"epochs": epochs, "seed": seed, "learning_rate": settings["learning_rate"],
              "batch_size": settings["batch_size"]}
    history = train(track, data_dir, bert_dir, out_dir, recipe, extra, timeout)
    train_seconds = time.time() - started
    test = os.path.join(data_dir, TEST_FILE[track])
    predictions = os.path.join(out_dir, SUBMISSION[track])
    result = subprocess.run([sys.executable, f"{track}/predict.py", "--model-dir", out_dir, "--input", test,
                             "--output", predictions], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"predict of {out_dir} failed:\n{result.stderr[-3000:]}")
    best = max(history, key=lambda r: r["dev_f1"])
    record = {"track": track, "seed": seed, "args": extra, "code": fingerprint, "epochs": epochs,
              "dev_f1": [r["dev_f1"] for r in history],
              "loss": [r["loss"] for r in history], "best_epoch": best["epoch"], "best_dev_f1": best["dev_f1"],
              "test": score(track, test, predictions), "seconds": round(train_seconds)}
    with open(record_path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return record


def summarize(runs):
    """Per regime, track and variant: mean dev curve, mean best dev and test F1 (and each seed's)."""
    summary = {}
    for r in runs:
        entry = summary.setdefault(r["regime"], {}).setdefault(r["track"], {}).setdefault(
            r["variant"], {"dev_curves": [], "best_dev": [], "test_f1": []})
        entry["dev_curves"].append(r["dev_f1"])
        entry["best_dev"].append(r["best_dev_f1"])
        entry["test_f1"].append(r["test"]["f1"])
    for tracks in summary.values():
        for variants in tracks.values():
            for entry in variants.values():
                length = min(map(len, entry["dev_curves"]))
                entry["dev_curve_mean"] = np.mean([c[:length] for c in entry["dev_curves"]], 0).round(4).tolist()
                entry["best_dev_mean"] = round(float(np.mean(entry["best_dev"])), 4)
                entry["test_f1_mean"] = round(float(np.mean(entry["test_f1"])), 4)
    return summary


def print_table(summary):
    for regime, tracks in summary.items():
        for track, variants in tracks.items():
            print(f"\n[{regime}] {track}: dev F1 per epoch (mean over seeds), best dev, held-out test F1 (per seed)")
            for name, e in sorted(variants.items(), key=lambda kv: (kv[0] != "default", kv[0] != "lic2020", kv[0])):
                curve = " ".join(f"{v:.3f}" for v in e["dev_curve_mean"])
                seeds = ", ".join(f"{v:.3f}" for v in e["test_f1"])
                print(f"  {name:20s} {curve} | best {e['best_dev_mean']:.3f} | test {e['test_f1_mean']:.3f} ({seeds})")


def plot(summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = list(summary)
    tracks = [t for t in TRACKS if any(t in summary[r] for r in regimes)]
    fig, axes = plt.subplots(len(regimes), len(tracks), figsize=(5.5 * len(tracks), 4 * len(regimes)), squeeze=False)
    for i, regime in enumerate(regimes):
        for j, track in enumerate(tracks):
            ax = axes[i][j]
            for name, e in sorted(summary[regime].get(track, {}).items()):
                curve = e["dev_curve_mean"]
                style = dict(linewidth=3, color="black") if name == "default" else \
                    dict(linewidth=2, linestyle="--", color="tab:red") if name == "lic2020" else dict(linewidth=1)
                ax.plot(range(1, len(curve) + 1), curve, label=name, **style)
            ax.set_title(f"{track} ({regime})", fontsize=10)
            ax.set_xlabel("epoch")
            ax.set_ylabel("dev F1 (mean over seeds)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--regimes", nargs="+", choices=list(REGIMES), default=list(REGIMES))
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--variants", nargs="+", help="variant names to run (default: all of each track)")
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 43])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--pretrain-steps", type=int, default=1500)
    p.add_argument("--timeout", type=int, default=14400, help="seconds one train.py may take")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    work = os.path.join(args.out, "learning")
    data, berts = prepare(work, args.pretrain_steps)
    runs = []
    for regime in args.regimes:
        for track in args.tracks:
            for variant, extra in VARIANTS[track].items():
                if args.variants and variant not in args.variants:
                    continue
                if regime == "pretrained" and not args.variants and variant not in PRETRAINED_VARIANTS[track]:
                    continue
                for seed in args.seeds:
                    out_dir = os.path.join(work, "runs", regime, track, f"{variant}-s{seed}")
                    print(f"[{regime}] {track} {variant} seed {seed}", flush=True)
                    record = run_one(track, os.path.join(data, track), berts[regime], out_dir, REGIMES[regime],
                                     extra, seed, args.epochs, args.timeout)
                    runs.append(dict(record, regime=regime, variant=variant))
                    print(f"  dev {' '.join(f'{v:.3f}' for v in record['dev_f1'])} | test {record['test']['f1']:.3f}"
                          f" ({record['seconds']}s)", flush=True)
    summary = summarize(runs)
    results = {"settings": dict(vars(args), regimes_settings={r: REGIMES[r] for r in args.regimes}),
               "runs": runs, "summary": summary}
    with open(os.path.join(args.out, "learning.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    print_table(summary)
    plot(summary, os.path.join(args.out, "learning.png"))
    print(f"written: {os.path.join(args.out, 'learning.json')}, {os.path.join(args.out, 'learning.png')}")


if __name__ == "__main__":
    main()
