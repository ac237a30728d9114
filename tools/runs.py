"""Runs of several models, each in its own directory: seeds (pipeline.py --seeds) and folds (tools.kfold).

Each member is its track's train.py in a directory of its own: a finished one is kept, an interrupted one
resumes from its last resume point, so a run of N members killed anywhere continues where it stopped; a directory
holding a member of other settings (recipe, data, BERT) is refused rather than kept.
"""
import os
import signal
import subprocess
import sys

from tools.tracks import track

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_OUTPUTS_BYTES = 2 ** 30  # the members' outputs on dev that ensemble_on_dev keeps to reuse, at most


def finished(model_dir):
    """True if `model_dir` holds a model whose training ended."""
    from common.model_dir import CONFIG, MARKER, WEIGHTS

    return all(os.path.isfile(os.path.join(model_dir, n)) for n in (CONFIG, WEIGHTS)) and not os.path.exists(
        os.path.join(model_dir, MARKER))


# train.py options that change where, how fast or in what precision a member trains, not what it learns: a
# member directory is continued whatever they are
NOT_LEARNED = ("output_dir", "overwrite", "resume", "save_every", "test", "strategy", "precision", "jit", "recompute")
PATHS = ("data_dir", "train", "dev", "schema", "bert_dir")


RUN_KINDS = {"model": "one model", "seeds": "the members of a --seeds run (seed-S/)",
             "folds": "the folds of a k-fold run (fold-I/)"}


def check_out(out, kind):
    """ModelDirError where `out` holds a run of another kind ("model", "seeds", "folds") than the one about to
    write it: the new run would leave the other's models and records beside its own (one model beside the
    members of an ensemble, seeds.json beside a k-fold run)."""
    from common.model_dir import MODEL_MARKS, holds_run
    from common.options import ModelDirError

    if os.path.exists(out) and not os.path.isdir(out):
        raise ModelDirError(f"{out}: a file, not a directory; choose another --out (make: OUT=DIR)")
    names = os.listdir(out) if os.path.isdir(out) else []
    held = {"model": holds_run(out, MODEL_MARKS),
            "seeds": "seeds.json" in names or any(_numbered(n, "seed-") for n in names),
            "folds": "kfold.json" in names or any(_numbered(n, "fold-") for n in names)}
    other = next((k for k, holds in held.items() if holds and k != kind), None)
    if other:
        raise ModelDirError(f"{out}: holds {RUN_KINDS[other]}, not {RUN_KINDS[kind]}; choose another --out "
                            "(make: OUT=DIR) for this run, or delete the directory")


def _numbered(name, prefix):
    return name.startswith(prefix) and name[len(prefix):].isdigit()


def train_member(name, model_dir, arguments, run=None):
    """Train one member of `track` into `model_dir` with train.py `arguments` (data, BERT, recipe): kept when
    finished, resumed when a resume point is there, else started anew; a directory holding a run of other
    settings is refused (check_same_run). `--overwrite` among the arguments trains it anew whatever it holds.
    run(command) runs it (default: subprocess, stopping this process with train.py's exit code if it fails)."""
    from common.model_dir import RESUME_STATE, holds_run

    anew = "--overwrite" in arguments
    arguments = [a for a in arguments if a not in ("--overwrite", "--resume")]  # chosen here
    if holds_run(model_dir) and not anew:
        check_same_run(name, model_dir, arguments)
    if finished(model_dir) and not anew:
        print(f"{model_dir}: finished, kept (train.py's --overwrite, make: TRAIN_ARGS=--overwrite, trains it anew)",
              flush=True)
        return
    state = os.path.join(model_dir, RESUME_STATE)
    resume = os.path.isfile(state) and not anew
    command = [sys.executable, os.path.join(ROOT, name, "train.py"), *arguments, "--output-dir", model_dir,
               "--resume" if resume else "--overwrite"]
    try:
        (run or run_step)(command)
    except SystemExit:
        if os.path.isfile(state):
            print(f"{model_dir}: stopped with a resume point; run this command again to resume it", file=sys.stderr)
        raise


def check_same_run(name, model_dir, arguments):
    """ModelDirError where the run `model_dir` holds (finished or interrupted) was trained with other settings
    than train.py `arguments` give: kept or resumed, it would stand in the ensemble for a member of another
    recipe, data or BERT. Paths are compared by the file they name; a recorded path missing here (a shared
    directory mounted elsewhere on another machine) is taken as the same."""
    from common.model_dir import changed_settings, read_record
    from common.options import ModelDirError

    current = run_record(name, model_dir, arguments)
    _, previous, _ = read_record(model_dir)
    for key in PATHS:
        if _same_path(previous.get(key), current.get(key)):
            current[key] = previous.get(key)
    changed = changed_settings(previous, current, [k for k in current if k not in NOT_LEARNED])
    if changed:
        raise ModelDirError(f"{model_dir}: trained with other settings than this run's ({'; '.join(changed)}); "
                            "run with the same settings, or choose another --out (make: OUT=DIR), or train it anew "
                            "with --overwrite (make: TRAIN_ARGS=--overwrite)")


def run_record(name, model_dir, arguments):
    """The run's arguments as train.py of `name` would record them in config.json (without starting it)."""
    from common import cli

    parser = cli.train_parser(None, track(name))
    parser.prog = f"{name}/train.py"
    return vars(parser.parse_args([*arguments, "--output-dir", model_dir]))


def _same_path(recorded, given):
    if not (isinstance(recorded, str) and isinstance(given, str)):
        return False
    return not os.path.exists(recorded) or (os.path.exists(given) and os.path.samefile(recorded, given))


def run_step(command):
    """Run a step (a script of the repo, or a module of it with -m) in this process's directory, so that relative
    paths mean what they meant to the user; a failing step stops this process with its exit code (its own
    message is already shown)."""
    print("+ " + " ".join(command), flush=True)
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    step = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=path))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the step, which stops as it must
    try:
        code = step.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if code in (130, -signal.SIGINT):
        print(f"interrupted (Ctrl-C): {' '.join(command)}", file=sys.stderr)
        sys.exit(130)
    if code != 0:
        print(f"error: step failed (exit {code}): {' '.join(command)}", file=sys.stderr)
        sys.exit(code)


def best_dev(model_dir):
    """A finished member's dev F1: its best epoch's, and with the thresholds chosen on dev where it has them."""
    from common.model_dir import read_metrics, read_tuning

    best = max((r["dev_f1"] for r in read_metrics(model_dir)), default=0.0)
    return best, read_tuning(model_dir).get("dev_f1")


def ensemble_rows(name, model_dirs, path, batch_size=32, precision="auto", predictor=None):
    """(gold items, submission rows) of the ensemble of `model_dirs` (or of `predictor`) on the data file `path`."""
    from common.track import load_predictor
    from common.training import progress

    t = track(name)
    items = t.load(path, report=False, require_items=True)
    predictor = predictor or load_predictor(t, model_dirs, batch_size, precision)
    return items, t.to_submission(items, predictor.predict(t.inputs(items), progress))


def ensemble_on_dev(name, model_dirs, dev, batch_size=32, precision="auto", snapshots=1):
    """(the ensemble's Predictor, dev gold, dev rows, choice) on `dev`, scored with the official metric. The
    averaged ensemble decodes at its members' weighted mean thresholds, each chosen on dev for its own model:
    thresholds chosen again for the ensemble on the same dev set fitted dev, and scored under the members' mean
    on test in most ensembles where the two differed (docs/ensembles.md). With `snapshots` K above 1 (the members
    keep their K best epochs), each count of best epochs a member, 1 to K, is scored on dev, and the best (of
    equal ones, the fewest) is kept. Where the track's models may vote (common.ensemble.Voting), every count of
    votes, 1 to N, is scored on dev as well (each member predicts at its own thresholds, by its best epoch), and
    the best vote replaces the average if it scores higher. Members are combined the track's default way, as
    `predict.py --model-dir A B C` combines them: for reading comprehension, the rule best on a dev set of 100
    questions scored under that default on test (docs/ensembles.md). choice: None, or {"votes": the count
    chosen or None, "dev_f1": {count: dev F1} (voting tracks), "averaged_dev_f1", "snapshots": the count of
    best epochs chosen, "snapshots_dev_f1": {count: dev F1}}."""
    from common.bert import predict_function
    from common.ensemble import OutputMemory, Voting, ensemble, leading, vote, with_run
    from common.track import load_predictor
    from common.training import progress

    t = track(name)
    items = t.load(dev, report=False, require_items=True)
    votes = hasattr(t, "vote_key") and len(model_dirs) > 1
    # each member alone, its K best epochs averaged: members of one run share their settings, so the check of
    # how they read text that load_predictor makes for an ensemble is not needed. The passes over dev (each count
    # of epochs, then each member alone to vote) call each model once on a batch, while the memory lasts
    memory = OutputMemory(DEV_OUTPUTS_BYTES)
    each = [with_run(load_predictor(t, [d], batch_size, precision, snapshots=snapshots),
                     lambda model: memory.remembered(predict_function(model))) for d in model_dirs]
    scores, best = {}, None
    for k in range(1, snapshots + 1):
        candidate = ensemble([leading(p, k) for p in each])
        candidate_rows = t.to_submission(items, candidate.predict(t.inputs(items), progress))
        scores[k] = t.score(items, candidate_rows)["f1"]
        if best is None or scores[k] > scores[best]:  # of equal scores, the fewest epochs
            best, predictor, rows = k, candidate, candidate_rows
    averaged_f1 = scores[best]
    record = {"votes": None, **({"snapshots": best, "snapshots_dev_f1": scores} if snapshots > 1 else {})}
    if not votes:
        memory.close()  # the predictor returned predicts as any other
        return predictor, items, rows, record if snapshots > 1 else None
    voting = Voting([leading(p, 1) for p in each], 1, t.vote_key)
    lists = voting.member_predictions(t.inputs(items), progress)
    memory.close()
    voted = {k: t.to_submission(items, vote(lists, voting.weights, k, t.vote_key)) for k in range(1, len(lists) + 1)}
    record.update(dev_f1={k: t.score(items, r)["f1"] for k, r in voted.items()}, averaged_dev_f1=averaged_f1)
    record["votes"] = chosen_votes(record["dev_f1"], averaged_f1)
    if record["votes"]:
        voting.votes, predictor, rows = record["votes"], voting, voted[record["votes"]]
    return predictor, items, rows, record


def chosen_votes(vote_f1, averaged_f1):
    """The count of votes scoring best ({count: F1}; of equal ones, the fewest) if it scores above the
    averaged ensemble, else None (the average is kept)."""
    best = max(vote_f1, key=lambda k: (vote_f1[k], -k))
    return best if vote_f1[best] > averaged_f1 else None
