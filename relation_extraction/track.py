"""Relation extraction (DuIE 2.0) under the track contract (common/track.py)."""
import os
from dataclasses import dataclass, field

from common.data import line_objects, read_json_lines, texts
from common.files import write_json_lines
from common.track import Prepared, TrackConfig, common_config
from relation_extraction import duie

NAME = "relation_extraction"
FILES = duie.FILES
# --ema 0.95: the weight average won here on every set and regime measured; --adversarial fgm at epsilon 0.3
# gained on real text (README, weight averaging and adversarial training)
DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 3e-5, "schedule": "warmup-constant",
            "ema": 0.95, "adversarial": "fgm", "adv_epsilon": 0.3}
RESUME_KEYS = ("condition_on", "output_bias", "object_loss", "subjects")
ENSEMBLE_KEYS = ("schema",)
SUBMISSION = "submission.zip"
DEV_PREDICTIONS = "dev_predictions.json"  # the JSON lines, with the zip the leaderboard takes beside it
read_predictions, check_submission = duie.read_predictions, duie.check_submission


@dataclass
class Config(TrackConfig):
    schema: list = field(default_factory=list)  # the schema file's lines
    condition_on: str = "pre-norm"
    output_bias: str = "prior"
    object_loss: str = "sum"
    head_lr_multiplier: float = 10.0
    subject_threshold: float = 0.4             # the probabilities above which a subject / object pointer fires
    object_threshold: float = 0.4
    max_subjects: int = 64
    max_objects: int = 64
    priors: list = field(default_factory=lambda: [0.5, 0.5])  # subject and object label frequencies (init only)

    def parsed_schema(self):
        return duie.parse_schema(enumerate(self.schema, 1), "config.json: schema")


DEFAULT = Config()


def load(path, config=None, report=True, require_items=False):
    """The sentences of a DuIE file (with `config`: the SPOs its schema holds)."""
    return duie.load(path, config and config.parsed_schema(), report, require_items)


def add_arguments(parser):
    head = parser.add_argument_group("relation extraction head")
    head.add_argument("--condition-on", choices=["pre-norm", "output"], default=DEFAULT.condition_on,
                      help="where subject vectors are gathered and objects are conditioned: the last block "
                           "before its final LayerNorm, or the encoder output")
    head.add_argument("--output-bias", choices=["prior", "zero"], default=DEFAULT.output_bias,
                      help="output biases start at the log-odds of the labels' frequency in the training data "
                           "(prior) or at 0")
    head.add_argument("--head-lr-multiplier", type=float, default=DEFAULT.head_lr_multiplier,
                      help="the subject and object output layers learn this many times faster than BERT")
    head.add_argument("--object-loss", choices=["sum", "mean"], default=DEFAULT.object_loss,
                      help="object cross-entropy summed or averaged over predicate/slot pairs")
    head.add_argument("--subjects", choices=["all", "sample"], default="all",
                      help="train objects for every subject of a window, or for one drawn per epoch (the 2020 way)")
    head.add_argument("--threshold", type=float, default=DEFAULT.subject_threshold,
                      help="the subject and object pointers' decoding threshold (the start of the dev search, and "
                           "the one used with --thresholds fixed)")


def check_output(args):
    if not args.output.endswith((".zip", ".json")):
        raise SystemExit("error: --output should end in .zip (the leaderboard's zip) or .json (JSON lines + zip)")


def prepare(args, files, tokenizer, bert_files):
    from common.cli import require_learnable
    from common.training import progress
    from relation_extraction import spo

    schema_lines = line_objects(files["schema"])
    schema = duie.parse_schema(read_json_lines(files["schema"]), files["schema"])
    labels = spo.Labels.from_schema(schema)
    train = duie.load(files["train"], schema)
    dev = duie.load(files["dev"], schema)
    require_learnable(sum(len(s["spo_list"]) for s in train), sum(len(s["spo_list"]) for s in dev),
                      "SPOs", files["train"], files["dev"])
    examples = [ex for s in progress(train, "encode train") for ex in
                spo.make_examples(tokenizer, s, labels, args.maxlen, args.stride)]
    rows = spo.training_rows(examples)
    max_subjects, max_objects = spo.prediction_caps(examples)
    n_pairs = len(labels.pairs)
    config = Config(**common_config(args, bert_files), schema=schema_lines, condition_on=args.condition_on,
                    output_bias=args.output_bias, object_loss=args.object_loss,
                    head_lr_multiplier=args.head_lr_multiplier, subject_threshold=args.threshold,
                    object_threshold=args.threshold,
                    max_subjects=max_subjects, max_objects=max_objects, priors=list(spo.priors(rows, n_pairs)))
    summary = (f"train: {len(train)} sentences, {len(examples)} windows, {len(rows)} (window, subject) rows; "
               f"dev: {len(dev)} sentences; {n_pairs} predicate/slot pairs")
    collate = lambda batch: spo.collate(batch, n_pairs)  # noqa: E731
    length = lambda row: len(row[0].token_ids)  # noqa: E731
    if args.subjects == "sample":
        return Prepared(config, examples, collate, length, dev, summary, resample=spo.sample_rows)
    return Prepared(config, rows, collate, length, dev, summary)


def build(config, bert, tokenizer):
    from relation_extraction import spo

    labels = spo.Labels.from_schema(config.parsed_schema())
    model, encoder, object_head = spo.build_models(
        bert, len(labels.pairs), config.condition_on, config.object_loss, tuple(config.priors), config.output_bias,
        config.head_lr_multiplier, config.seed)
    predictor = spo.Predictor(tokenizer, [(encoder, object_head)], labels, config.maxlen, config.stride,
                              thresholds=thresholds(config), max_subjects=config.max_subjects,
                              max_objects=config.max_objects)
    return model, predictor


def legacy_config(args, model_dir):
    """The Config of a directory written before config.json: its args.json and schema.json."""
    from common.options import ModelDirError

    if args.get("head", "pointer") != "pointer":
        raise ModelDirError(f"{model_dir}: trained with the {args['head']} head, which this version no longer has; "
                            "train again")
    schema = os.path.join(model_dir, "schema.json")
    return Config(maxlen=args["maxlen"], stride=args.get("stride"), word_level=args.get("word_level", False),
                  do_lower_case=args.get("do_lower_case", True), recompute=args.get("recompute") or False,
                  schema=line_objects(schema),
                  condition_on=args.get("condition_on", "pre-norm"),
                  head_lr_multiplier=args.get("head_lr_multiplier", 1.0),
                  subject_threshold=args.get("threshold", DEFAULT.subject_threshold),
                  object_threshold=args.get("threshold", DEFAULT.object_threshold), max_subjects=args.get("max_subjects", 64),
                  max_objects=args.get("max_objects", 64))


def thresholds(config):
    return {"subject_threshold": config.subject_threshold, "object_threshold": config.object_threshold}


def threshold_grid(config):
    """The settings --thresholds dev searches: every pair of subject and object thresholds of the grid."""
    from common.track import THRESHOLD_GRID

    return [{"subject_threshold": s, "object_threshold": o} for s in THRESHOLD_GRID for o in THRESHOLD_GRID]


read_units = line_objects  # what k-fold keeps together: the file's sentences, as written
write_units = write_json_lines
inputs = texts


vote_key = duie.spo_key  # an ensemble may vote on SPOs (predict.py --votes): the same SPO as the official metric's


def to_submission(sentences, spo_lists):
    return [{"text": s["text"], "spo_list": spos} for s, spos in zip(sentences, spo_lists)]


def score(gold, rows):
    return duie.scores(gold, rows)


def write_submission(path, rows):
    return duie.write_submission(path, [r["text"] for r in rows], [r["spo_list"] for r in rows])


def decode_gold(config, tokenizer, sentences):
    """Per sentence, the SPOs decoded from its encoded labels (what Predictor.predict returns)."""
    from relation_extraction import spo

    labels = spo.Labels.from_schema(config.parsed_schema())
    return [spo.decode_gold(tokenizer, s, labels, config.maxlen, config.stride) for s in sentences]


def summary(rows):
    return f"{len(rows)} sentences, {sum(len(r['spo_list']) for r in rows)} SPOs"


def analyse(gold, rows, tokenizer=None, config=None):
    from relation_extraction.analysis import analyse as run

    return run(gold, rows)
