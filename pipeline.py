"""One track end to end: train, score dev, predict the test file, validate the submission.

    python -m pipeline TRACK [--data-dir DIR] [--bert-dir DIR] [--out DIR] [--epochs N] [--seeds N | --folds K] ...

Without --data-dir and --bert-dir it runs on the embedded default: the sample
data of synthetic.sample_data and a tiny BERT of synthetic.tiny_bert, generated on
first use under outputs/, with settings that let the tiny model learn in minutes.
Run again, it keeps a finished model and resumes an interrupted one (tools.runs.train_member);
--train-args=--overwrite trains anew.
--seeds N trains N models (seeds 42, 43, ...; OUT/seed-S each, kept when finished and
resumed when interrupted) and writes one submission from their ensemble, with each
member's dev score and the ensemble's; OUT is then an ensemble directory (predict.py --model-dir OUT
predicts as the submission was made); --folds K runs tools.kfold instead (--votes V: its fold models vote).
"""
import argparse
import glob
import os
import shlex
import sys

from common import cli
from common.data import find_data_files
from common.files import write_json
from tools.runs import check_out, ensemble_rows, run_step, train_member
from tools.tracks import NAMES as TRACKS, track

ROOT = os.path.dirname(os.path.abspath(__file__))
# settings of the embedded default: a tiny BERT learns from scratch, so a high learning rate
TINY_SETTINGS = {
    "relation_extraction": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
    "event_extraction": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
    "reading_comprehension": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
}


def embedded_default(outputs):
    """Sample data and a tiny BERT under `outputs` (made once); returns (sample dir, BERT dir)."""
    from synthetic.sample_data import write_sample_data
    from synthetic.tiny_bert import texts_of_files, write_tiny_bert

    sample, bert = os.path.join(outputs, "sample_data"), os.path.join(outputs, "tiny_bert")
    if not os.path.isfile(os.path.join(sample, "done")):
        write_sample_data(sample)
        open(os.path.join(sample, "done"), "w").close()
        print(f"sample data written to {sample}")
    if not os.path.isfile(os.path.join(bert, "bert_model.ckpt.index")):
        write_tiny_bert(bert, texts_of_files(sorted(glob.glob(os.path.join(sample, "*", "*.json")))))
        print(f"tiny BERT written to {bert}")
    return sample, bert


def main(argv=None):
    # no abbreviations: --train-args "--seed=7 ..." would be read as --seeds
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("track", choices=TRACKS)
    # make quotes each path (they may hold spaces), so the shell leaves a leading ~ to be expanded here
    p.add_argument("--data-dir", type=os.path.expanduser)
    p.add_argument("--bert-dir", type=os.path.expanduser)
    p.add_argument("--out", type=os.path.expanduser,
                   help="model directory (default outputs/<track>; with --seeds outputs/<track>-seeds, with --folds "
                        "outputs/<track>-folds); one holds one kind of run")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--maxlen", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--recompute", action="store_true")
    p.add_argument("--precision")
    p.add_argument("--strategy")
    p.add_argument("--train-args", default="", help="more train.py arguments, as one string (--train-args=--jit "
                                                     "where it is one option)")
    p.add_argument("--seeds", type=cli.integer_from(1), default=1,
                   help="train this many seeds and submit their ensemble")
    p.add_argument("--folds", type=cli.integer_from(0), default=0,
                   help="k-fold (tools.kfold): K models (K >= 2; 0: none), submit their ensemble")
    p.add_argument("--votes", type=float, help="with --folds (relation extraction): the fold models vote, an SPO "
                                               "kept where at least VOTES of them predict it (--seeds chooses its "
                                               "vote on dev)")
    args = p.parse_args(argv)
    if args.folds == 1:
        p.error("--folds 1: k-fold takes 2 folds or more (0: none)")
    if args.folds and args.seeds > 1:
        p.error("--seeds N or --folds K, not both")
    if args.votes is not None and not args.folds:
        p.error("--votes goes with --folds; --seeds chooses its vote on dev")
    outputs = os.path.join(ROOT, "outputs")
    settings = {}
    if not args.data_dir or not args.bert_dir:
        sample, bert = embedded_default(outputs)
        if not args.data_dir:
            args.data_dir = os.path.join(sample, args.track)
        if not args.bert_dir:
            args.bert_dir = bert
            settings = dict(TINY_SETTINGS[args.track])
    for key in settings.keys() | {"epochs", "batch_size", "maxlen", "learning_rate", "precision", "strategy"}:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    kind = "folds" if args.folds else "seeds" if args.seeds > 1 else "model"
    out = args.out or os.path.join(outputs, args.track + ("" if kind == "model" else "-" + kind))
    check_out(out, kind)
    test = find_data_files(track(args.track).FILES, args.data_dir, need=())["test"]
    python = sys.executable
    recipe = []
    for key, value in sorted(settings.items()):
        recipe += [f"--{key.replace('_', '-')}", str(value)]
    if args.recompute:
        recipe.append("--recompute")
    recipe += shlex.split(args.train_args)
    data = ["--data-dir", args.data_dir, "--bert-dir", args.bert_dir]
    submission = os.path.join(out, track(args.track).SUBMISSION)
    if args.folds:
        votes = [] if args.votes is None else ["--votes", f"{args.votes:g}"]
        run_step([python, "-m", "tools.kfold", args.track, "--folds", str(args.folds), *votes, *data, "--out", out,
                  *recipe])
        run_step([python, "-m", "tools.report", out])
    elif args.seeds > 1:
        first, recipe = _first_seed(recipe)
        predictor = train_seeds(args.track, out, args.seeds, data + recipe, first)
        run_step([python, "-m", "tools.report", out])
        if test:
            _, rows = ensemble_rows(args.track, None, test, predictor=predictor)
            track(args.track).write_submission(submission, rows)
    else:
        train_member(args.track, out, data + recipe)  # one model is a run of one member: kept, or resumed
        run_step([python, "-m", "tools.report", out])
        if test:
            run_step([python, os.path.join(ROOT, args.track, "predict.py"), "--model-dir", out, "--input", test,
                      "--output", submission])
    if not test:
        print(f"\n{args.track}: model in {out}; no test file under {args.data_dir}, so no submission was written "
              f"(put the test file there and run {args.track}/predict.py --model-dir {out} ...)")
        return
    run_step([python, "-m", "tools.validate", "--track", args.track, "--test", test, "--submission", submission])
    print(f"\n{args.track}: model in {out}, submission {submission}")


def train_seeds(name, out, n, arguments, first_seed=42):
    """Train n seeds (OUT/seed-S, each kept when finished, resumed when interrupted; each keeping its
    SEEDS_SNAPSHOTS best epochs where its track sets more than 1, or --snapshots K), then score their ensemble
    on dev (at its members' mean thresholds, by the count of best epochs a member scoring best, or a vote where
    one scores higher: tools.runs.ensemble_on_dev) beside each member's best dev, and save it
    (OUT/ensemble.json: predict.py --model-dir OUT predicts with it); the ensemble's Predictor."""
    from common.model_dir import write_ensemble
    from tools.runs import best_dev, ensemble_on_dev, train_member

    t = track(name)
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--snapshots")
    snapshots = parser.parse_known_args(arguments)[0].snapshots  # --snapshots K or --snapshots=K of TRAIN_ARGS
    if snapshots is None:
        snapshots = str(getattr(t, "SEEDS_SNAPSHOTS", 1))
        arguments = [*arguments, "--snapshots", snapshots]
    members = [os.path.join(out, f"seed-{first_seed + k}") for k in range(n)]
    for k, member in enumerate(members):
        train_member(name, member, [*arguments, "--seed", str(first_seed + k)])
    dev = find_data_files(t.FILES, arguments[arguments.index("--data-dir") + 1],
                          {"dev": _option(arguments, "--dev")}, need=("dev",))["dev"]
    predictor, gold, rows, choice = ensemble_on_dev(name, members, dev, snapshots=int(snapshots))
    votes = choice and choice["votes"]
    epochs = None if votes or not choice or choice.get("snapshots", 1) == 1 else choice["snapshots"]
    thresholds = None if votes else getattr(predictor, "thresholds", None)
    write_ensemble(out, name, members, chosen_on=choice and "dev", votes=votes, snapshots=epochs)
    t.write_submission(os.path.join(out, t.DEV_PREDICTIONS), rows)
    summary = {"members": {}, "ensemble_dev_f1": t.score(gold, rows)["f1"], "thresholds": thresholds,
               "chosen_on_dev": choice}
    for member in members:
        best, tuned = best_dev(member)
        summary["members"][member] = {"best_dev_f1": best, "dev_f1_at_chosen_thresholds": tuned}
        print(f"{member}: best dev F1 {best:.4f}"
              + (f" ({tuned:.4f} at the thresholds chosen on dev)" if tuned else ""))
    averaged = f" at its members' mean thresholds, {_rounded(thresholds)}" if thresholds else ""
    if votes:
        print(f"ensemble of {n} seeds: dev F1 {summary['ensemble_dev_f1']:.4f} by a vote chosen on dev (kept where at "
              f"least {votes:g} of the {n} members predict it; averaged: {choice['averaged_dev_f1']:.4f})")
    else:
        by = f", each member by its {epochs} best epochs" if epochs else ""
        print(f"ensemble of {n} seeds: dev F1 {summary['ensemble_dev_f1']:.4f} averaged{averaged}{by}"
              + (f" (voting scores {max(choice['dev_f1'].values()):.4f} at best)" if choice and "dev_f1" in choice
                 else ""))
    if choice and "snapshots_dev_f1" in choice:
        print("  dev F1 by the count of best epochs a member: "
              + ", ".join(f"{k}: {f1:.4f}" for k, f1 in choice["snapshots_dev_f1"].items()))
    write_json(os.path.join(out, "seeds.json"), summary)
    return predictor


def _first_seed(recipe):
    """(the first seed of a --seeds run, the recipe without it): TRAIN_ARGS="--seed S" gives seeds S, S + 1, ...,
    rather than being overridden by each member's seed; 42 by default."""
    parser = argparse.ArgumentParser(prog="pipeline.py --train-args", allow_abbrev=False, add_help=False)
    parser.add_argument("--seed", type=int, default=42)
    known, rest = parser.parse_known_args(recipe)
    return known.seed, rest


def _rounded(thresholds):
    return ", ".join(f"{k} {v:.3g}" for k, v in thresholds.items())


def _option(arguments, name):
    return arguments[arguments.index(name) + 1] if name in arguments else None


if __name__ == "__main__":
    cli.run(main)  # a bad input or Ctrl-C between steps: one line
