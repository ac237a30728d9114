"""The contract every track fulfils, and the train and predict drivers built on it alone.

A track is a module (relation_extraction/track.py, event_extraction/track.py,
reading_comprehension/track.py) with these parts; the drivers here and the tools above the
tracks (tools/: validate, report, ceiling, kfold) use nothing else:

  NAME, FILES       its name, and {role: [official file names]} (train, dev, test, maybe schema)
  DEFAULTS          the recipe's defaults (epochs, batch_size, maxlen, learning_rate, schedule)
  RESUME_KEYS       its options a --resume must keep (they shape the model or the data)
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
  analyse(gold items, rows, tokenizer, config)               error analysis (tools/report.py draws it)
  summary(rows) -> str                                       one line on what was predicted

A Predictor has predict(inputs, progress) -> predictions, a batch_size, and warning() (str or None).
To add a track: a package with train.py and predict.py calling train_main and predict_main below,
and a track.py with the parts above; list it in tools/tracks.py.
"""
import dataclasses
import os
import sys
import time
from dataclasses import dataclass


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
    track.add_arguments(parser)
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

    best = session.fit(model, optimizer, batches, evaluate, save_dev_predictions, data.config)
    shown = " ".join(f"{k[4:]} {v:.4f}" for k, v in best.items() if k.startswith("dev_") and isinstance(v, float))
    print(f"best dev (official metric, epoch {best['epoch']}): {shown}")
    cli.warn_if_unlearned(best, "f1", predictor.warning())


def load_predictor(track, model_dir, batch_size=32, precision="fp32", allow_unfinished=False):
    """The Predictor of a trained model directory: its config, encoder shape, vocabulary and weights."""
    from common.bert import build_bert
    from common.model_dir import load_model_dir, load_weights
    from common.precision import resolve_precision, set_precision
    from common.tokenization import load_tokenizer

    files, config = load_model_dir(model_dir, track, allow_unfinished)
    set_precision(resolve_precision(precision))
    bert = build_bert(files, recompute=config.recompute, load_weights=False)
    tokenizer = load_tokenizer(files.vocab, config.word_level, config.do_lower_case)
    model, predictor = track.build(config, bert, tokenizer)
    load_weights(model, model_dir)
    predictor.batch_size = batch_size
    return predictor


def predict_main(track, description):
    """predict.py of `track`: read the test file, predict, write the submission."""
    from common import cli
    from common.model_dir import load_model_dir

    args = cli.predict_parser(description).parse_args()
    getattr(track, "check_output", lambda a: None)(args)
    cli.check_output(args)
    load_model_dir(args.model_dir, track, args.use_unfinished)  # fail before reading the test file
    items = track.load(args.input, report=False, require_items=True)
    predictor = load_predictor(track, args.model_dir, args.batch_size, args.precision, args.use_unfinished)
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
    track.add_arguments(parser)
    args = parser.parse_args(["--bert-dir", "", "--output-dir", ""])
    for key, value in values.items():
        setattr(args, key, value)
    return args
