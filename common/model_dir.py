"""A trained model directory holds everything `predict.py --model-dir DIR` needs, and says when it is not done.

DIR/bert_config.json, DIR/vocab.txt: the encoder's shape and vocabulary;
DIR/config.json: {"track", "config": the track's Config (everything predict needs, the schema included),
    "run": the training run's arguments, "thresholds": how they were chosen on dev}, written and read here
    only (directories of earlier versions
    hold args.json and schema.json instead: their track converts them, common.track's legacy_config);
DIR/model.weights.h5: the weights of the best dev epoch (float32 whatever the training precision);
DIR/snapshots/epochE.weights.h5 (train.py --snapshots K): the weights of the K best dev epochs, the best one
    included (a hard link to model.weights.h5 where the file system has them), which an ensemble may average
    (snapshot_paths);
DIR/training.json: present while a run writes the directory (and after a run that did not finish);
DIR/metrics.jsonl, DIR/resume/: the epochs' records and the last resume point;
DIR/.lock: held by the run writing the directory, for as long as it runs (RunLock).

An ensemble directory (pipeline.py --seeds, tools.kfold) holds its members' model directories and
DIR/ensemble.json: {"track", "members": their paths relative to DIR, "weights" (null: equal),
"thresholds": the setting the ensemble decodes at (null: its members' weighted mean), "votes" (null: averaged),
"combine": how it combines its members' outputs (null: the track's default way), "snapshots": how many of each
member's best epochs it averages (null: 1, the best alone), "chosen_on"};
`predict.py --model-dir DIR` predicts with it as it was submitted.

Every file is written atomically (common.files).
"""
import atexit
import errno
import json
import os
import shutil
import socket
import threading
import time

from common.bert import BertFiles
from common.data import DataError
from common.files import read_json, save_atomically, write_json
from common.options import CheckpointError, ModelDirError

WEIGHTS = "model.weights.h5"
CONFIG = "config.json"
ARGS = "args.json"  # earlier versions' config
MARKER = "training.json"
RESUME = "resume"  # a run's resume point: RESUME/state.json names the checkpoint beside it
RESUME_STATE = os.path.join(RESUME, "state.json")
ENSEMBLE = "ensemble.json"
METRICS = "metrics.jsonl"
LOCK = ".lock"
SNAPSHOTS = "snapshots"
# what a run writes: --overwrite removes exactly these
RUN_FILES = (WEIGHTS, CONFIG, ARGS, MARKER, METRICS, "schema.json", "bert_config.json", "vocab.txt",
             "dev_predictions.json", "dev_predictions.zip", "tensorboard", RESUME, "report", ENSEMBLE, SNAPSHOTS)
# arguments a resumed run must share with the run it continues (they shape the model or the data), besides
# the track's own RESUME_KEYS
RESUME_KEYS = ("maxlen", "stride", "word_level", "seed", "batch_size", "learning_rate", "schedule", "ema", "adversarial",
               "adv_epsilon", "snapshots")


class RunLock:
    """DIR/.lock, created exclusively by the run that writes DIR and removed when it ends, so two runs
    started into one directory cannot both proceed. It names its holder (pid, host, start) and is
    touched every `refresh` seconds; a lock whose holder is gone (a dead pid on this host, or not
    touched for `stale_after` seconds, as a run killed on another host leaves it) is taken over."""

    def __init__(self, output_dir, refresh=30, stale_after=180):
        self.path, self.refresh, self.stale_after = os.path.join(output_dir, LOCK), refresh, stale_after
        self.stopped = threading.Event()
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:  # a file in the way, no permission
            raise ModelDirError(f"{output_dir}: cannot create the directory ({e.strerror}: {e.filename}); choose "
                                "another --output-dir") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if self._take_over_stale():
                    continue
                raise
            with os.fdopen(fd, "w") as f:
                json.dump(holder, f)
            break
        else:
            raise ModelDirError(f"{output_dir}: another run took its lock at the same moment; choose another "
                                "--output-dir")
        threading.Thread(target=self._touch, daemon=True).start()
        atexit.register(self.release)

    def _take_over_stale(self):
        """True if the lock there is stale and was removed; ModelDirError naming its holder if it is alive."""
        try:
            with open(self.path, encoding="utf-8") as f:
                holder = json.load(f)
            age = time.time() - os.path.getmtime(self.path)
        except (OSError, ValueError):  # gone meanwhile, or torn by a kill while being written
            holder, age = {}, self.stale_after + 1
        alive = age <= self.stale_after
        if holder.get("host") == socket.gethostname():
            alive = _pid_alive(holder.get("pid"))
        if alive:
            raise ModelDirError(f"{os.path.dirname(self.path)}: another run is writing here (pid {holder.get('pid')} on "
                                f"{holder.get('host')}, started {holder.get('started')}); wait for it to end, or "
                                "choose another --output-dir")
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        return True

    def _touch(self):
        while not self.stopped.wait(self.refresh):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self):
        if not self.stopped.is_set():
            self.stopped.set()
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except OSError as e:
        return e.errno == errno.EPERM  # alive, another user's
    return True


# what a directory holding a model (or a run of train.py toward one) has, whatever its state
MODEL_MARKS = (CONFIG, ARGS, WEIGHTS, MARKER, RESUME)


def holds_run(output_dir, marks=MODEL_MARKS + (ENSEMBLE,)):
    """True if `output_dir` holds one of `marks`: by default a model, a run toward one, or an ensemble."""
    return any(os.path.exists(os.path.join(output_dir, name)) for name in marks)


def read_record(model_dir):
    """(track name, the run's arguments, the Config's values or None for an earlier version's directory) as
    config.json (or an earlier version's args.json) holds them; (None, {}, None) where there is neither."""
    path = os.path.join(model_dir, CONFIG)
    if os.path.isfile(path):
        doc = read_json(path, "config")
        return doc.get("track"), doc.get("run") or {}, doc.get("config") or {}
    path = os.path.join(model_dir, ARGS)
    if os.path.isfile(path):
        args = read_json(path, "args")
        return args.get("track"), args, None
    return None, {}, None


def changed_settings(previous, current, keys):
    """["--key old -> new", ...]: the `keys` that run record `previous` holds and `current` sets otherwise."""
    return [f"--{k.replace('_', '-')} {previous[k]!r} -> {current.get(k)!r}"
            for k in keys if k in previous and previous[k] != current.get(k)]


def prepare_model_dir(output_dir, bert_files, track, run, config=None, resume=False, overwrite=False, write=True):
    """Make `output_dir` ready for a run: refuse to mix two runs, mark it unfinished, copy what predict needs.

    A directory holding another run is refused unless `overwrite` (its run files are removed first,
    so no old weights stay beside the new arguments) or `resume` (with the same key arguments).
    `run`: the run's arguments; `config`: the track's Config (written with them as config.json).
    """
    if resume and holds_run(output_dir):
        previous_track, previous, _ = read_record(output_dir)
        previous = dict(previous, track=previous_track or track.NAME)
        changed = changed_settings(previous, dict(run, track=track.NAME),
                                   ("track",) + RESUME_KEYS + tuple(track.RESUME_KEYS))
        if changed:
            raise ModelDirError(f"{output_dir}: --resume with other settings than the run it continues "
                                f"({'; '.join(changed)}); resume with the same settings or start anew with --overwrite")
    elif holds_run(output_dir) and not overwrite:
        raise ModelDirError(f"{output_dir}: holds another run (config.json, weights, a resume point or "
                            "ensemble.json); pass --resume to continue it, --overwrite to replace it, or choose "
                            "another --output-dir")
    if not write:
        return
    if overwrite and not resume:
        for name in RUN_FILES:
            path = os.path.join(output_dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    os.makedirs(output_dir, exist_ok=True)
    write_json(os.path.join(output_dir, MARKER), {"pid": os.getpid(), "host": socket.gethostname(),
                                                  "started": time.strftime("%Y-%m-%d %H:%M:%S")})
    write_json(os.path.join(output_dir, "bert_config.json"), bert_files.read_config())  # Google format, whatever the source
    save_atomically(os.path.join(output_dir, "vocab.txt"), lambda p: shutil.copyfile(bert_files.vocab, p))
    write_json(os.path.join(output_dir, CONFIG), {"track": track.NAME, "config": config.to_dict(), "run": run})


def update_config(model_dir, config, tuning):
    """Write a config changed after training (thresholds chosen on dev, `tuning` says how) into config.json."""
    path = os.path.join(model_dir, CONFIG)
    doc = read_json(path, "config")
    write_json(path, dict(doc, config=config.to_dict(), thresholds=tuning))


def read_tuning(model_dir):
    """How the model's thresholds were chosen after training, as update_config wrote it ({"setting", "dev_f1",
    "fixed", "fixed_dev_f1", ...}); {} where they were not."""
    return read_json(os.path.join(model_dir, CONFIG), "config").get("thresholds") or {}


def finish_model_dir(output_dir):
    """The run is over: the directory is a finished model."""
    marker = os.path.join(output_dir, MARKER)
    if os.path.exists(marker):
        os.remove(marker)


def load_model_dir(model_dir, track, allow_unfinished=False):
    """(BertFiles without a checkpoint, the track's Config), after checking the directory.

    Checks: the files are there, training finished (or `allow_unfinished`), the directory is of `track`,
    vocab.txt matches bert_config.json, the weights file is readable.
    """
    if not os.path.isdir(model_dir):
        raise ModelDirError(f"{model_dir}: no such directory; train.py --output-dir writes a model directory")
    settings = CONFIG if os.path.isfile(os.path.join(model_dir, CONFIG)) or not os.path.isfile(
        os.path.join(model_dir, ARGS)) else ARGS
    needed = ["bert_config.json", "vocab.txt", settings, WEIGHTS]
    missing = [n for n in needed if not os.path.isfile(os.path.join(model_dir, n))]
    marker = os.path.join(model_dir, MARKER)
    if missing and os.path.isfile(os.path.join(model_dir, ENSEMBLE)):
        raise ModelDirError(f"{model_dir}: an ensemble directory ({ENSEMBLE}), not one model; predict.py takes it, "
                            "other tools take one of its members")
    if missing:
        hint = " (its training has not finished an epoch yet)" if os.path.exists(marker) else ""
        raise ModelDirError(f"{model_dir}: not a trained model directory (missing {', '.join(missing)}){hint}; "
                            "train.py --output-dir writes one")
    if os.path.exists(marker) and not allow_unfinished:
        try:
            run = read_json(marker)
            who = f" (pid {run.get('pid')} on {run.get('host')}, started {run.get('started')})"
        except DataError:
            who = ""
        raise ModelDirError(f"{model_dir}: its training is still running or did not finish{who}; wait for it, "
                            "resume it with train.py --resume, or pass --use-unfinished to predict with its best "
                            "weights so far")
    name, run, values = read_record(model_dir)
    if (name or track.NAME) != track.NAME:
        raise ModelDirError(f"{model_dir}: a model of {name}, not {track.NAME}; use "
                            f"{name}/predict.py, or a model directory of {track.NAME}")
    files = BertFiles(os.path.join(model_dir, "bert_config.json"), None, os.path.join(model_dir, "vocab.txt"))
    try:
        files.check(require_checkpoint=False)
    except CheckpointError as e:
        raise ModelDirError(str(e)) from None
    check_weights_file(os.path.join(model_dir, WEIGHTS))
    where = os.path.join(model_dir, settings)
    config = track.Config.from_dict(values, where) if values is not None else track.legacy_config(run, model_dir)
    return files, config


def write_ensemble(directory, track_name, members, thresholds=None, weights=None, chosen_on=None, votes=None,
                   snapshots=None):
    """DIR/ensemble.json: `members` (model directories, kept relative to DIR so that DIR can be moved whole)
    make one ensemble, decoded at `thresholds` (None: the members' weighted mean) with their outputs combined the
    track's default way, each member by its `snapshots` best epochs (None: its best); with `votes`, the members
    vote instead, each at its own thresholds (common.ensemble.Voting)."""
    write_json(os.path.join(directory, ENSEMBLE), {
        "track": track_name, "members": [os.path.relpath(m, directory) for m in members], "weights": weights,
        "thresholds": thresholds, "votes": votes, "combine": None, "snapshots": snapshots, "chosen_on": chosen_on})


def read_ensemble(model_dir, track):
    """None for a model directory; for an ensemble directory, its ensemble.json with the members' paths
    resolved and its settings left out null. A file naming another track, or no members, or a setting of the
    wrong kind, is a ModelDirError naming it."""
    path = os.path.join(model_dir, ENSEMBLE)
    if not os.path.isfile(path):
        return None
    doc = read_json(path, "ensemble")
    if not isinstance(doc, dict):
        raise ModelDirError(f"{path}: should hold a JSON object (track, members, weights, thresholds)")
    members, weights = doc.get("members"), doc.get("weights")
    if doc.get("track") != track.NAME:
        raise ModelDirError(f"{path}: an ensemble of {doc.get('track')} models, not {track.NAME}; use "
                            f"{doc.get('track')}/predict.py")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise ModelDirError(f"{path}: \"members\" should be a non-empty list of model directories")
    if weights is not None and not (isinstance(weights, list) and len(weights) == len(members) and all(
            isinstance(w, (int, float)) and 0 <= w < float("inf") for w in weights) and sum(weights) > 0):
        raise ModelDirError(f"{path}: \"weights\" should be null or one finite non-negative number per member "
                            f"({len(members)}), not all 0")
    votes = doc.get("votes")
    check_votes(track, votes, sum(weights) if weights else len(members), f"{path}: \"votes\"")
    if votes is not None and doc.get("thresholds"):
        raise ModelDirError(f"{path}: \"votes\" goes with \"thresholds\" null: voting members predict at their "
                            "own thresholds")
    check_combine(track, doc.get("combine"), f"{path}: \"combine\"", null="null")
    snapshots = doc.get("snapshots")
    if snapshots is not None and (isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1):
        raise ModelDirError(f"{path}: \"snapshots\" should be null or a count of each member's best epochs, 1 or "
                            f"more; not {snapshots!r}")
    if snapshots is not None and votes is not None:
        raise ModelDirError(f"{path}: \"snapshots\" goes with \"votes\" null: an ensemble of voting members uses "
                            "each one's best epoch")
    thresholds = doc.get("thresholds")
    if thresholds is not None and not (isinstance(thresholds, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in thresholds.values())):
        raise ModelDirError(f"{path}: \"thresholds\" should be null or an object of numbers, say "
                            "{\"threshold\": 0.4}")
    return {"weights": None, "thresholds": None, "votes": None, "combine": None, "snapshots": None, "chosen_on": None,
            **doc,
            "members": [os.path.normpath(os.path.join(model_dir, m)) for m in members]}


def check_combine(track, combine, where, null=""):
    """ModelDirError, `where` first, unless `combine` is None or one of the track's COMBINE_RULES; `null`: how the
    place writes None (ensemble.json: "null"), named in the error."""
    rules = getattr(track, "COMBINE_RULES", ())
    if combine is not None and combine not in rules:
        if rules:
            raise ModelDirError(f"{where}: {combine!r} is not one of {', '.join(rules)}"
                                + (f" (or {null}: {rules[0]})" if null else ""))
        raise ModelDirError(f"{where}: {track.NAME} ensembles have one way to combine their models"
                            + (f"; leave it {null}" if null else ""))


def check_votes(track, votes, total, where):
    """ModelDirError, `where` first, unless `votes` is None or, for a track whose models vote, a number above 0
    and at most `total`, the members' total weight."""
    if votes is None:
        return
    if not hasattr(track, "vote_key"):
        raise ModelDirError(f"{where}: {track.NAME} models do not vote; their ensemble averages")
    if isinstance(votes, bool) or not isinstance(votes, (int, float)):
        raise ModelDirError(f"{where}: {votes!r} is not a number")
    if not 0 < votes <= total:
        raise ModelDirError(f"{where}: {votes:g} is not above 0 and at most the members' total weight, {total:g}")


def check_snapshots(votes, snapshots):
    """ModelDirError unless the models average (`votes` None) or each uses its best epoch alone."""
    if votes is not None and (snapshots or 1) > 1:
        raise ModelDirError(f"--snapshots {snapshots} goes with averaging: voting models use their best epochs")


def model_dirs_in(model_dir, track, within=()):
    """The model directories `model_dir` stands for: itself, or an ensemble directory's members (expanded
    in turn); an ensemble that holds itself is a ModelDirError."""
    record = read_ensemble(model_dir, track)
    if record is None:
        return [model_dir]
    if os.path.realpath(model_dir) in within:
        raise ModelDirError(f"{os.path.join(model_dir, ENSEMBLE)}: the ensemble is its own member")
    within = within + (os.path.realpath(model_dir),)
    return [d for m in record["members"] for d in model_dirs_in(m, track, within)]


def check_weights_file(path):
    """A readable HDF5 weights file, or ModelDirError naming it."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if not len(f.keys()):
                raise OSError("no weights inside")
    except OSError as e:
        raise ModelDirError(f"{path}: unreadable weights file ({str(e).splitlines()[0]}); it may be truncated: "
                            "train again, or resume the run with train.py --resume") from None


def load_weights(model, model_dir, path=None):
    """Load the best weights (or the weights file `path`) into `model`; a file of another architecture is a clear
    error."""
    path = path or weights_path(model_dir)
    try:
        model.load_weights(path)
    except (ValueError, KeyError) as e:
        raise ModelDirError(f"{path}: does not fit the model rebuilt from its config.json "
                            f"({str(e).splitlines()[0][:200]})") from None


def weights_path(model_dir):
    return os.path.join(model_dir, WEIGHTS)


def best_epochs(history, k, key="dev_f1"):
    """The epochs (1-based, best first) of the k best records of `history` (metrics.jsonl's, in order) by `key`;
    of equal scores the earlier, as the run keeps its first best epoch."""
    ranked = sorted(range(len(history)), key=lambda i: (-history[i][key], i))
    return [history[i]["epoch"] for i in ranked[:k]]


def snapshot_file(model_dir, epoch):
    return os.path.join(model_dir, SNAPSHOTS, f"epoch{epoch}.weights.h5")


def snapshot_paths(model_dir, k):
    """The weights files of the model's k best dev epochs, best first: model.weights.h5, then the kept ones of
    train.py --snapshots. Fewer kept than k is a ModelDirError naming the directory."""
    if k == 1:
        return [weights_path(model_dir)]
    epochs = best_epochs(read_metrics(model_dir), k)
    paths = [snapshot_file(model_dir, e) for e in epochs[1:]]
    kept = 1 + sum(os.path.isfile(p) for p in paths)
    if len(epochs) < k or kept < k:
        raise ModelDirError(f"{model_dir}: holds the weights of {kept} of its best epochs, not {k}; train it with "
                            f"train.py --snapshots {k} (or more)")
    for path in paths:
        check_weights_file(path)
    return [weights_path(model_dir)] + paths


def read_metrics(model_dir):
    """The epoch records of metrics.jsonl; a torn last line (a run killed while writing) is ignored."""
    path = os.path.join(model_dir, METRICS)
    records = []
    if not os.path.isfile(path):
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records
