"""The contract every track fulfils, and the train and predict drivers built on it alone.

A track is a module (relation_extraction/track.py, event_extraction/track.py,
reading_comprehension/track.py) with these parts; the drivers here and the tools above the
tracks (tools/: validate, report, ceiling, kfold) use nothing else:

  NAME, FILES       its name, and {role: [official file names]} (train, dev, test, maybe schema)
  DEFAULTS          the recipe's defaults (epochs, batch_size, maxlen, learning_rate, schedule, ema; optionally
                    adversarial, adv_epsilon)
  RESUME_KEYS       its options a --resume must keep (they shape the model or the data)
  ENSEMBLE_KEYS     its Config fields the models of one ensemble must share (schema, head, ...)
  SUBMISSION        the submission's file name; DEV_PREDICTIONS: the dev predictions' file name
  Config            a TrackConfig dataclass: everything predict needs, saved as config.json
  add_arguments(parser), check_arguments(parser, args)      its train.py options
  prepare(args, files, tokenizer, bert_files) -> Prepared    the training rows and the Config
  build(config, bert, tokenizer) -> (train model, Predictor) the one place a predictor is made
  legacy_config(args, model_dir) -> Config                   a directory written before config.json
  load(path, config=None, report=True, require_items=False)  its loader (config: keep what its schema holds)
  inputs(items)                     what Predictor.predict takes for the loaded items
  to_submission(items, predictions) the predictions as the submission holds them ("rows")
  score(gold items, rows)           the official metric: a dict holding "f1" (and diagnostics)
  write_submission(path, rows), read_predictions(path) -> rows, check_submission(test, submission)
  decode_gold(config, tokenizer, items) -> predictions       the items' labels encoded and decoded back
  threshold_grid(config) -> [settings], optional             the threshold settings --thresholds dev searches
  THRESHOLDS_IN_TURN, optional      the keys of a setting chosen one at a time, in order (common.track.choose_thresholds)
  vote_key(element), optional       what makes two predicted elements (say SPOs) one: its ensembles may vote
  COMBINE_RULES, optional           the ways its ensembles may combine their members' outputs (the first is the
                                    default; predict.py --combine, ensemble.json "combine" name another)
  SEEDS_SNAPSHOTS, optional         how many best epochs each member of pipeline.py --seeds keeps, of which its
                                    ensemble averages the count best on dev (default 1: each member's best)
  read_units(path), write_units(path, units)                 what k-fold keeps together (sentences, paragraphs)
  analyse(gold items, rows, tokenizer, config)               error analysis (tools/report.py draws it)
  summary(rows) -> str                                       one line on what was predicted

A Predictor has predict(inputs, progress) -> predictions, a batch_size, and warning() (str or None); one whose
track has a threshold grid also has `thresholds` (a setting) and predict(inputs, progress, settings) -> a list
of predictions, one per setting, from one pass of its models; one whose track has COMBINE_RULES has `combine`
(a rule, None: the default) and predict(inputs, progress, rules=...) -> a list of predictions, one per rule.
To add a track: a package with train.py and predict.py calling train_main and predict_main below,
and a track.py with the parts above; list it in tools/tracks.py.
"""
import dataclasses
import os
import sys
import time
from dataclasses import dataclass

# the probabilities a pointer or span threshold is chosen from on dev (--thresholds dev)
THRESHOLD_GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


@dataclass
class TrackConfig:
    """What every track's Config holds: how text becomes model input, and how the encoder is built."""
    maxlen: int = 256
    stride: int = None
    word_level: bool = False
    do_lower_case: bool = True
    recompute: object = False  # False, "block" or "layer": "layer" changes the weights' names
    seed: int = 0              # of the head's initializers (training only)

    @classmethod
    def from_dict(cls, values, where):
        from common.options import ModelDirError

        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ModelDirError(f"{where}: unknown settings {', '.join(unknown)} (written by a newer version of "
                                "this project?); predict with that version, or train again")
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass
class Prepared:
    """What a track's prepare() hands the training driver."""
    config: TrackConfig
    rows: list           # training rows
    collate: object      # collate(list of rows) -> dict of arrays keyed by the training model's inputs
    length: object       # length(row) -> tokens
    dev: list            # the dev items (gold)
    summary: str         # one line on the data, printed before training
    resample: object = None  # Batches' resample(rows, rng): the rows of each epoch, drawn from `rows`


def common_config(args, bert_files):
    """The TrackConfig fields of a run's arguments."""
    return dict(maxlen=args.maxlen, stride=args.stride, word_level=args.word_level,
                do_lower_case=bert_files.do_lower_case, recompute=args.recompute, seed=args.seed)


def train_main(track, description):
    """train.py of `track`: parse, prepare, build, fit, report the best epoch."""
    from common import cli

    parser = cli.train_parser(description, track)
    args = parser.parse_args()
    getattr(track, "check_arguments", lambda p, a: None)(parser, args)

    from common.bert import build_bert
    from common.tokenization import load_tokenizer
    from common.training import Batches, progress

    session = cli.TrainingSession(args, track)
    tokenizer = load_tokenizer(session.bert_files.vocab, args.word_level, session.bert_files.do_lower_case)
    data = track.prepare(args, session.files, tokenizer, session.bert_files)
    print(data.summary)
    batches = Batches(data.rows, args.batch_size, data.collate, length=data.length, seed=args.seed,
                      resample=data.resample)
    with session.model_scope():
        bert = build_bert(session.bert_files, recompute=args.recompute)
        model, predictor = track.build(data.config, bert, tokenizer)
        optimizer = session.optimizer(args.epochs * len(batches))
    predictor.batch_size = args.batch_size
    inputs = track.inputs(data.dev)
    last = {}

    def evaluate():
        last["rows"] = track.to_submission(data.dev, predictor.predict(inputs, progress))
        return track.score(data.dev, last["rows"])

    def save_dev_predictions(_):
        track.write_submission(os.path.join(args.output_dir, track.DEV_PREDICTIONS), last["rows"])

    def choose_thresholds(best):
        """--thresholds dev: the thresholds that score best on dev with the best epoch's weights, saved."""
        from common.model_dir import load_weights, update_config

        load_weights(model, args.output_dir)
        config, tuning, rows = tune_thresholds(track, predictor, data.config, data.dev, progress)
        if tuning:
            update_config(args.output_dir, config, tuning)
            last["rows"] = rows
            save_dev_predictions(None)
            print(f"thresholds chosen on dev: {tuning['setting']}: dev f1 {tuning['dev_f1']:.4f} (at "
                  f"{tuning['fixed']}: {tuning['fixed_dev_f1']:.4f}); saved in the model directory")

    tune = getattr(args, "thresholds", "fixed") == "dev"
    best = session.fit(model, optimizer, batches, evaluate, save_dev_predictions, data.config,
                       before_finish=choose_thresholds if tune else None)
    shown = " ".join(f"{k[4:]} {v:.4f}" for k, v in best.items() if k.startswith("dev_") and isinstance(v, float))
    print(f"best dev (official metric, epoch {best['epoch']}): {shown}")
    cli.warn_if_unlearned(best, "f1", predictor.warning())


def choose_thresholds(grid, scores, current, in_turn=()):
    """The setting of `grid` with the best score (of `scores`, one per setting); of equal ones, the nearest to
    `current` (then the first). in_turn: keys chosen one at a time, in this order, each with the keys after it at
    `current` (fewer candidates fit a small dev set less); the others are chosen together."""
    def distance(setting):
        return sum(abs(setting[k] - current[k]) for k in setting)

    def best(candidates):
        return max(candidates, key=lambda n: (scores[n], -distance(grid[n]), -n))

    in_turn = [k for k in in_turn if grid and k in grid[0]]
    candidates = range(len(grid))
    for i, key in enumerate(in_turn):
        chosen = best([n for n in candidates if all(grid[n][k] == current[k] for k in in_turn[i + 1:])])
        candidates = [n for n in candidates if grid[n][key] == grid[chosen][key]]
    return best(candidates)


def tune_thresholds(track, predictor, config, items, progress=lambda x, **k: x):
    """(config, tuning, rows): the config with the threshold setting of track.threshold_grid that scores best on
    `items` (the dev set), all settings decoded from one pass of the model; predictor.thresholds set to it.
    tuning: {"setting", "dev_f1", "fixed", "fixed_dev_f1"}; rows: the submission rows at that setting. Both
    None for a track or head without thresholds."""
    grid = track.threshold_grid(config) if hasattr(track, "threshold_grid") else []
    if not grid:
        return config, None, None
    current = {k: getattr(config, k) for k in grid[0]}
    grid = grid + ([current] if current not in grid else [])
    predictions = predictor.predict(track.inputs(items), progress, settings=grid)
    rows = [track.to_submission(items, p) for p in predictions]
    scores = [track.score(items, r)["f1"] for r in rows]
    best = choose_thresholds(grid, scores, current, getattr(track, "THRESHOLDS_IN_TURN", ()))
    predictor.thresholds = grid[best]
    tuning = {"setting": grid[best], "dev_f1": scores[best], "fixed": current,
              "fixed_dev_f1": scores[grid.index(current)]}
    return dataclasses.replace(config, **grid[best]), tuning, rows[best]


def load_predictor(track, model_dirs, batch_size=32, precision="fp32", allow_unfinished=False, weights=None,
                   votes=None, combine=None, snapshots=None):
    """The Predictor of trained model directories: one model, or an ensemble of several whose outputs it
    averages (`weights`, equal by default; `combine`: one of the track's COMBINE_RULES, None: as the directories
    say), or, with `votes`, whose predictions it votes on (common.ensemble.Voting). An ensemble directory
    (pipeline --seeds, tools.kfold) counts as one, predicting as it was submitted. `snapshots`: each model
    directory is the average of its k best epochs (None: as an ensemble directory says, else 1). Each model is
    built once from its directory's config, encoder shape, vocabulary and weights; models that read text
    differently are refused, naming the two directories."""
    from common.ensemble import Voting
    from common.model_dir import check_snapshots, model_dirs_in, read_ensemble
    from common.precision import resolve_precision, set_precision

    model_dirs = [model_dirs] if isinstance(model_dirs, str) else list(model_dirs)
    averaged = votes is None and (len(model_dirs) > 1 or weights is not None or (snapshots or 1) > 1)
    for model_dir in model_dirs:  # an ensemble directory's structure, checked before any model is built
        model_dirs_in(model_dir, track)
        if averaged and (read_ensemble(model_dir, track) or {}).get("votes") is not None:
            _refuse_averaging(model_dir)
    check_snapshots(votes, snapshots)
    set_precision(resolve_precision(precision))
    group, anchor = [], []  # members that vote each decode alone: each is a group of its own
    predictors = [_predictor(track, model_dir, allow_unfinished, [] if votes is not None else group, anchor,
                             snapshots) for model_dir in model_dirs]
    if votes is not None:
        predictor = Voting(predictors, votes, track.vote_key, weights)
    elif len(predictors) == 1 and weights is None:
        predictor = predictors[0]
    else:
        predictor = _averaged(model_dirs, predictors, weights)
    if combine is not None:
        predictor.combine = combine
    predictor.batch_size = batch_size
    return predictor


def _predictor(track, model_dir, allow_unfinished, group, anchor, snapshots=None):
    """The Predictor of a model directory (the average of its `snapshots` best epochs; None: 1), or of an
    ensemble directory's members, with its weights and thresholds. group: [(directory, BertFiles, Config) of the
    first model built of the models averaged with this one], which it must match in how it reads text; anchor:
    [the same, of the first model of the whole ensemble], which it must match in the track's ENSEMBLE_KEYS,
    voting or not (a vote needs one schema, not one reading)."""
    from common.bert import build_bert
    from common.ensemble import Voting, ensemble
    from common.model_dir import ENSEMBLE, load_model_dir, load_weights, read_ensemble, snapshot_paths
    from common.options import ModelDirError
    from common.tokenization import load_tokenizer

    record = read_ensemble(model_dir, track)
    if record is not None and record.get("votes") is not None:
        return Voting([_predictor(track, m, allow_unfinished, [], anchor) for m in record["members"]],
                      record["votes"], track.vote_key, record["weights"])
    if record is not None:
        count = snapshots or record["snapshots"]
        predictor = _averaged(record["members"], [_predictor(track, m, allow_unfinished, group, anchor, count)
                                                  for m in record["members"]], record["weights"])
        if record["thresholds"]:
            # a key missing (written before the track had it) keeps the members' mean
            if not set(record["thresholds"]) <= set(getattr(predictor, "thresholds", None) or ()):
                raise ModelDirError(f"{os.path.join(model_dir, ENSEMBLE)}: \"thresholds\" should set "
                                    f"{sorted(getattr(predictor, 'thresholds', None) or ())}")
            predictor.thresholds = {**predictor.thresholds, **record["thresholds"]}
        if record["combine"]:
            predictor.combine = record["combine"]
        return predictor
    files, config = load_model_dir(model_dir, track, allow_unfinished)
    for first, reading in ((group, True), (anchor, False)):
        if first:
            check_ensemble(track, first[0], (model_dir, files, config), reading)
        else:
            first.append((model_dir, files, config))
    tokenizer = load_tokenizer(files.vocab, config.word_level, config.do_lower_case)
    predictors = []
    for path in snapshot_paths(model_dir, snapshots or 1):
        model, predictor = track.build(config, build_bert(files, recompute=config.recompute, load_weights=False),
                                       tokenizer)
        load_weights(model, model_dir, path)
        predictors.append(predictor)
    return predictors[0] if len(predictors) == 1 else ensemble(predictors)


def _averaged(model_dirs, predictors, weights):
    """The ensemble averaging `predictors` (of `model_dirs`); a voting one among them is refused."""
    from common.ensemble import Voting, ensemble

    for model_dir, predictor in zip(model_dirs, predictors):
        if isinstance(predictor, Voting):
            _refuse_averaging(model_dir)
    return ensemble(predictors, weights)


def _refuse_averaging(model_dir):
    from common.model_dir import ENSEMBLE
    from common.options import ModelDirError

    raise ModelDirError(f"{os.path.join(model_dir, ENSEMBLE)}: its members vote, so it cannot be averaged with other "
                        "models; give its members instead, or --votes")


def check_ensemble(track, first, other, reading=True):
    """ModelDirError unless two model directories share the track's ENSEMBLE_KEYS (schema, head, ...) and, with
    `reading` (their outputs are averaged position by position), read text the same way: vocabulary, casing,
    windows. Models that vote each decode their own outputs, so they may read text differently (another BERT)."""
    from common.options import ModelDirError

    (dir_a, files_a, config_a), (dir_b, files_b, config_b) = first, other
    differences = []
    if reading:
        with open(files_a.vocab, "rb") as a, open(files_b.vocab, "rb") as b:
            differences = ["vocabulary"] if a.read() != b.read() else []
        differences += [k for k in ("do_lower_case", "word_level", "maxlen", "stride")
                        if getattr(config_a, k) != getattr(config_b, k)]
    differences += [k for k in track.ENSEMBLE_KEYS if getattr(config_a, k) != getattr(config_b, k)]
    if differences:
        why = ("an ensemble averages its models' outputs position by position" if reading else
               "the models of a vote predict in one schema")
        raise ModelDirError(f"{dir_a} and {dir_b} cannot make one ensemble: they differ in "
                            f"{', '.join(differences)} ({why})")


def predict_main(track, description):
    """predict.py of `track`: read the test file, predict, write the submission."""
    from common import cli
    from common.model_dir import (check_combine, check_snapshots, check_votes, load_model_dir, model_dirs_in,
                                  read_ensemble, snapshot_paths)
    from common.options import ModelDirError

    args = cli.predict_parser(description).parse_args()
    getattr(track, "check_output", lambda a: None)(args)
    cli.check_output(args)
    if args.weights and len(args.weights) != len(args.model_dir):
        raise ModelDirError(f"--weights: {len(args.weights)} weights for {len(args.model_dir)} model directories")
    if args.weights and not sum(args.weights) > 0:
        raise ModelDirError("--weights: all 0; give at least one model a weight above 0")
    check_votes(track, args.votes, sum(args.weights) if args.weights else len(args.model_dir), "--votes")
    check_combine(track, args.combine, "--combine")
    check_snapshots(args.votes, args.snapshots)
    for model_dir in args.model_dir:  # fail before reading the test file
        count = args.snapshots or (read_ensemble(model_dir, track) or {}).get("snapshots") or 1
        for member in model_dirs_in(model_dir, track):
            load_model_dir(member, track, args.use_unfinished)
            snapshot_paths(member, count)
    items = track.load(args.input, report=False, require_items=True)
    predictor = load_predictor(track, args.model_dir, args.batch_size, args.precision, args.use_unfinished,
                               args.weights, args.votes, args.combine, args.snapshots)
    from common.training import progress  # TensorFlow: only once the inputs are read
    started = time.time()
    rows = track.to_submission(items, predictor.predict(track.inputs(items), progress))
    elapsed = time.time() - started
    written = track.write_submission(args.output, rows)
    warning = predictor.warning()
    if warning:
        print(warning, file=sys.stderr)
    print(f"{track.summary(rows)} in {elapsed:.1f}s ({len(items) / max(elapsed, 1e-9):.1f}/s); "
          f"submission: {written or args.output}")


def track_args(track, **values):
    """The namespace `track`'s train.py would parse from no options but the required ones, with `values`
    set over it: for the benchmarks and tools that prepare a track's data without training."""
    from common import cli

    parser = cli.train_parser("", track)
    args = parser.parse_args(["--bert-dir", "", "--output-dir", ""])
    for key, value in values.items():
        setattr(args, key, value)
    return args
