"""k-fold: K models, each trained with one fold of train+dev held out; their out-of-fold score; the test
file predicted by the K-model ensemble.

    python -m tools.kfold TRACK --folds K --data-dir DATA --bert-dir BERT --out OUT [--fold I] [--votes V]
                          [train.py options]

train+dev is cut into K folds deterministically (by sentence; reading comprehension by paragraph, so a
context's questions stay together; --fold-seed orders them): fold i's model trains on the other folds and
keeps its best epoch on fold i. OUT/fold-I/ holds that fold's data and model directory; a finished fold is
kept and an interrupted one resumes (for the same cut and recipe only: others are refused), so the command
can be run again after a kill, and `--fold I` runs one fold only: K machines or scheduler jobs can run the
folds side by side on a shared directory. Once every fold is finished (by whichever run finishes last):

  - the out-of-fold predictions (each fold's model on its own held-out fold) are scored with the official
    metric; where the track has decoding thresholds they are chosen on the out-of-fold predictions of all
    folds together and saved in every fold's model directory (folds train with --thresholds fixed);
  - OUT becomes an ensemble directory of the K models (OUT/ensemble.json: predict.py --model-dir OUT): it
    averages them at those thresholds, or, with --votes V (relation extraction), each model decodes at them
    and an SPO is kept where at least V of the K predict it;
  - the test file (if DATA has one) is predicted by that ensemble: OUT/<submission>.
Results: OUT/kfold.json, OUT/ensemble.json, OUT/oof_predictions.*, OUT/<submission>; python -m tools.report OUT
analyses the out-of-fold predictions.
"""
import argparse
import dataclasses
import hashlib
import json
import os
import random
import shutil
import sys

from common import cli
from common.cli import integer_from
from common.data import DataError, find_data_files
from common.model_dir import check_votes
from common.options import ModelDirError
from tools.runs import check_out, ensemble_rows, finished, train_member
from tools.tracks import NAMES, track


def fold_units(t, files, k, seed=0):
    """(the units (sentences, paragraphs) of train+dev cut into k folds: [[units of fold 0], ...], the cut: {"folds",
    "fold_seed", "units": a digest of train+dev}, which each fold's data records)."""
    for path in (files["train"], files["dev"]):  # checked as training checks them: errors name these files
        t.load(path, report=False)
    units = t.read_units(files["train"]) + t.read_units(files["dev"])
    if len(units) < k:
        raise DataError(f"{files['train']} and {files['dev']} hold {len(units)} units (sentences, paragraphs) "
                        f"together; --folds {k} needs at least {k}, one per fold")
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    digest = hashlib.sha256(json.dumps(units, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    return [[units[j] for j in order[i::k]] for i in range(k)], {"folds": k, "fold_seed": seed, "units": digest}


def write_fold_data(t, files, folds, cut, i, out):
    """OUT/fold-i/data: the other folds as the training file, fold i as the dev file, the schema as it is. Data
    there from another cut (other --folds, --fold-seed or train+dev) is refused: its model would hold out
    sentences that other folds train on."""
    from common.files import read_json, write_json

    data = os.path.join(out, f"fold-{i}", "data")
    marker = os.path.join(data, "done")
    if os.path.isfile(marker):
        made = read_json(marker, "fold") if os.path.getsize(marker) else cut  # earlier versions': empty
        if made != cut:
            what = "" if made.get("units") == cut["units"] else " of other train+dev data"
            raise ModelDirError(f"{data}: fold {i} of {made.get('folds')} folds (--fold-seed {made.get('fold_seed')})"
                                f"{what}; this run cuts {cut['folds']} folds (--fold-seed {cut['fold_seed']}) of its "
                                "train+dev: choose another --out (make: OUT=DIR)")
        return data
    os.makedirs(data, exist_ok=True)
    t.write_units(os.path.join(data, t.FILES["train"][0]), [u for j, fold in enumerate(folds) if j != i for u in fold])
    t.write_units(os.path.join(data, t.FILES["dev"][0]), folds[i])
    if "schema" in t.FILES:
        shutil.copyfile(files["schema"], os.path.join(data, t.FILES["schema"][0]))
    write_json(marker, cut)
    return data


def held_out_files(t, out, k):
    """The dev file of every fold (its held-out part of train+dev), in fold order."""
    return [find_data_files(t.FILES, os.path.join(out, f"fold-{i}", "data"), need=("dev",))["dev"] for i in range(k)]


def out_of_fold(t, model_dirs, dev_files, batch_size, precision):
    """Every fold's model on its held-out fold, all settings of the threshold grid in one pass each: (gold
    items, {setting index: rows}, grid, the thresholds the folds trained with)."""
    from common.model_dir import load_model_dir, read_tuning
    from common.track import load_predictor
    from common.training import progress

    _, config = load_model_dir(model_dirs[0], t)
    grid = t.threshold_grid(config) if hasattr(t, "threshold_grid") else []
    # finished again (say with another --votes), the folds hold the thresholds chosen before; their record
    # keeps the ones they trained with
    fixed = read_tuning(model_dirs[0]).get("fixed") or {}  # a key the grid gained since: the config's value
    current = {k: fixed.get(k, getattr(config, k)) for k in grid[0]} if grid else None
    grid = grid + ([current] if grid and current not in grid else [])
    gold, rows = [], {n: [] for n in range(max(1, len(grid)))}
    for model_dir, dev_file in zip(model_dirs, dev_files):
        items = t.load(dev_file, report=False)
        predictor = load_predictor(t, model_dir, batch_size, precision)
        found = predictor.predict(t.inputs(items), progress, settings=grid) if grid else [
            predictor.predict(t.inputs(items), progress)]
        gold += items
        for n, predictions in enumerate(found):
            rows[n].append(t.to_submission(items, predictions))
    return gold, {n: combine(parts) for n, parts in rows.items()}, grid, current


def oof_predictions(t, out):
    """Where a k-fold run keeps its out-of-fold predictions (OUT/oof_predictions.json)."""
    return os.path.join(out, "oof_" + t.DEV_PREDICTIONS.replace("dev_", ""))


def combine(parts):
    """The rows of several folds as one: lists concatenated, {id: answer} dicts (reading comprehension) merged."""
    if isinstance(parts[0], dict):
        return {k: v for part in parts for k, v in part.items()}
    return [row for part in parts for row in part]


def finish(t, out, k, batch_size, precision, files, votes=None):
    """Score the out-of-fold predictions, choose thresholds on them, predict the test file with the ensemble
    (averaged, or with `votes` a vote)."""
    from common.files import write_json
    from common.model_dir import load_model_dir, update_config, write_ensemble
    from common.track import choose_thresholds

    model_dirs = [os.path.join(out, f"fold-{i}", "model") for i in range(k)]
    gold, rows, grid, current = out_of_fold(t, model_dirs, held_out_files(t, out, k), batch_size, precision)
    scores = {n: t.score(gold, r) for n, r in rows.items()}
    result = {"track": t.NAME, "folds": k, "members": model_dirs, "votes": votes}
    if grid:
        best = choose_thresholds(grid, [scores[n]["f1"] for n in range(len(grid))], current,
                                 getattr(t, "THRESHOLDS_IN_TURN", ()))
        fixed = grid.index(current)
        result.update(out_of_fold_f1=scores[best]["f1"], out_of_fold_f1_fixed=scores[fixed]["f1"],
                      thresholds=grid[best], fixed_thresholds=current)
        for model_dir in model_dirs:
            _, config = load_model_dir(model_dir, t)
            update_config(model_dir, dataclasses.replace(config, **grid[best]),
                          {"setting": grid[best], "tuned_on": "out-of-fold predictions of all folds",
                           "dev_f1": scores[best]["f1"], "fixed": current, "fixed_dev_f1": scores[fixed]["f1"]})
        chosen = rows[best]
        print(f"out-of-fold F1 {scores[best]['f1']:.4f} at thresholds {grid[best]} chosen on them "
              f"({scores[fixed]['f1']:.4f} at {current})")
    else:
        chosen = rows[0]
        result["out_of_fold_f1"] = scores[0]["f1"]
        print(f"out-of-fold F1 {scores[0]['f1']:.4f}")
    t.write_submission(oof_predictions(t, out), chosen)
    # a vote's models decode at their own thresholds: the ones chosen out of fold, saved in each
    write_ensemble(out, t.NAME, model_dirs, None if votes else result.get("thresholds"),
                   chosen_on="out-of-fold predictions" if grid else None, votes=votes)
    if files.get("test"):
        _, test_rows = ensemble_rows(t.NAME, [out], files["test"], batch_size, precision)
        submission = os.path.join(out, t.SUBMISSION)
        result["submission"] = t.write_submission(submission, test_rows) or submission
        how = f"a vote of at least {votes:g}" if votes else "averaged"
        print(f"test file predicted by the {k}-fold ensemble ({how}): {result['submission']}")
    write_json(os.path.join(out, "kfold.json"), result, indent=1)  # atomic: two last folds may finish at once
    return result


def main(argv=None):
    # no abbreviations: every option this parser does not define goes to train.py whole (--batch-size is
    # train.py's, not an abbreviation of --batch-size-predict)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("track", choices=NAMES)
    p.add_argument("--folds", type=int, default=5, help="K, the number of folds (default 5)")
    p.add_argument("--fold", type=int, help="run this fold only (0 .. K-1); the last fold to finish writes the results")
    p.add_argument("--fold-seed", type=int, default=0, help="orders the units before they are dealt into folds")
    p.add_argument("--data-dir", required=True, type=os.path.expanduser,
                   help="the official train and dev files (and test, schema)")
    p.add_argument("--bert-dir", required=True, type=os.path.expanduser,
                   help="a BERT folder, Hugging Face or Google TF1 (as train.py takes it)")
    p.add_argument("--out", required=True, type=os.path.expanduser,
                   help="the folds' directories and the results go here")
    p.add_argument("--batch-size-predict", type=integer_from(1), default=32,
                   help="batch size of the out-of-fold and test predictions")
    p.add_argument("--precision", default="auto", help="also passed to train.py")
    p.add_argument("--votes", type=float, help="relation extraction: the fold models vote instead of averaging, "
                                               "each at the thresholds chosen out of fold, and an SPO is kept "
                                               "where at least VOTES of them predict it (README: k-fold)")
    args, train_args = p.parse_known_args(argv)
    if args.folds < 2:
        p.error("--folds must be at least 2")
    if args.fold is not None and not 0 <= args.fold < args.folds:
        p.error(f"--fold must be in 0..{args.folds - 1}")
    t = track(args.track)
    try:
        check_votes(t, args.votes, args.folds, "--votes")
    except ModelDirError as e:
        p.error(str(e))
    check_out(args.out, "folds")
    files = find_data_files(t.FILES, args.data_dir, need=("train", "dev", "schema"))
    folds, cut = fold_units(t, files, args.folds, args.fold_seed)
    for i in ([args.fold] if args.fold is not None else range(args.folds)):
        data = write_fold_data(t, files, folds, cut, i, args.out)
        extra = ["--thresholds", "fixed"] if hasattr(t, "threshold_grid") else []
        train_member(args.track, os.path.join(args.out, f"fold-{i}", "model"),
                     ["--data-dir", data, "--bert-dir", args.bert_dir, "--precision", args.precision, *extra,
                      *train_args])
    waiting = [i for i in range(args.folds) if not finished(os.path.join(args.out, f"fold-{i}", "model"))]
    if waiting:
        print(f"folds {', '.join(map(str, waiting))} not finished yet; the run that finishes the last one writes "
              "the out-of-fold score and the submission")
        return 0
    finish(t, args.out, args.folds, args.batch_size_predict, args.precision, files, args.votes)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))  # a bad input or Ctrl-C between steps: one line
