"""Event extraction (DuEE 1.0) under the track contract (common/track.py)."""
import os
from dataclasses import dataclass, field

from common.data import line_objects, read_json_lines, texts
from common.files import write_json_lines
from common.track import Prepared, TrackConfig, common_config
from event_extraction import duee
from event_extraction.heads import HEADS

NAME = "event_extraction"
FILES = duee.FILES
# --ema 0.95: the weight average won here on every set and regime measured (README, weight averaging)
DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 2e-5, "schedule": "warmup-constant",
            "ema": 0.95}
RESUME_KEYS = ("head",)
ENSEMBLE_KEYS = ("schema", "head")
SUBMISSION = "submission.json"
DEV_PREDICTIONS = "dev_predictions.json"
read_predictions, check_submission = duee.read_predictions, duee.check_submission


@dataclass
class Config(TrackConfig):
    schema: list = field(default_factory=list)  # the schema file's lines
    head: str = "trigger"
    head_lr_multiplier: float = None           # None: the head's own default
    threshold: float = 0.5                     # probability above which a trigger (span head: an argument) is kept
    argument_threshold: float = 0.5            # trigger heads: the arguments' CRF decodes at it (0.5: as trained)
    max_span_len: int = 32                     # span head: longest argument, in tokens
    max_spans: int = 256                       # span head: arguments per window
    max_trigger_len: int = 16                  # trigger head: longest trigger, in tokens
    max_triggers: int = 64                     # trigger heads: per window
    max_trigger_arguments: int = 64            # trigger heads: per trigger
    priors: list = field(default_factory=lambda: [0.5, 0.5, 0.5])  # label frequencies the head starts at (init)

    def __post_init__(self):
        if self.head_lr_multiplier is None:
            self.head_lr_multiplier = HEADS[self.head].lr_multiplier

    def classes(self):
        from event_extraction.events import Classes

        return Classes.from_schema(duee.parse_schema(enumerate(self.schema, 1), "config.json: schema"))


DEFAULT = Config()


def load(path, config=None, report=True, require_items=False):
    """The sentences of a DuEE file (with `config`: the arguments its schema holds)."""
    schema = config and duee.parse_schema(enumerate(config.schema, 1), "config.json: schema")
    return duee.load(path, schema, report, require_items)


def add_arguments(parser):
    head = parser.add_argument_group("event extraction head")
    head.add_argument("--head", choices=list(HEADS), default=DEFAULT.head,
                      help="; ".join(f"{name}: {h.help}" for name, h in HEADS.items()))
    head.add_argument("--head-lr-multiplier", "--crf-lr-multiplier", type=float, default=None,
                      help="the head's own parameters (its output layers, span scores, transitions) learn this many "
                           "times faster than BERT (default: "
                           + ", ".join(f"{name} {h.lr_multiplier:g}" for name, h in HEADS.items()) + ")")
    head.add_argument("--threshold", type=float, default=DEFAULT.threshold,
                      help="trigger, pointer and span heads: the probability above which a trigger (span head: an "
                           "argument) is kept (the start of the dev search, and the one used with --thresholds fixed)")
    head.add_argument("--argument-threshold", type=float, default=DEFAULT.argument_threshold,
                      help="trigger and pointer heads: the arguments' CRFs decode with the O tag's scores shifted by "
                           "this probability's log-odds; 0.5 decodes them as trained, lower finds more arguments "
                           "(the start of the dev search, and the one used with --thresholds fixed)")


def prepare(args, files, tokenizer, bert_files):
    from common.cli import require_learnable
    from common.training import progress
    from event_extraction import events

    schema_lines = line_objects(files["schema"])
    schema = duee.parse_schema(read_json_lines(files["schema"]), files["schema"])
    classes = events.Classes.from_schema(schema)
    head = HEADS[args.head]
    train = duee.load(files["train"], schema)
    dev = duee.load(files["dev"])
    require_learnable(sum(len(s["arguments"]) for s in train),
                      sum(len(e.get("arguments") or []) for s in dev for e in s["event_list"]),
                      "arguments", files["train"], files["dev"])
    examples, lost, n_spans = [], 0, 0
    for sentence in progress(train, "encode train"):
        windows, lost_here, spans = events.make_examples(tokenizer, sentence, classes, args.maxlen, args.stride)
        examples += windows
        lost += len(lost_here)
        n_spans += len(spans)
    max_span_len, max_spans = events.span_limits(examples)
    rows = head.rows(examples)
    held = head.held(train, examples, lost, files["train"])
    config = Config(**common_config(args, bert_files), schema=schema_lines, head=args.head,
                    head_lr_multiplier=args.head_lr_multiplier, threshold=args.threshold,
                    argument_threshold=args.argument_threshold, max_span_len=max_span_len,
                    max_spans=max_spans, **head.fit(examples, rows, classes, max_span_len))
    summary = (f"train: {len(train)} sentences, {len(examples)} windows, {n_spans} argument spans ({held}); "
               f"dev: {len(dev)} sentences; {len(classes.types)} event types, {len(classes)} event type/role classes; "
               f"head {args.head}")
    return Prepared(config, rows, lambda batch: head.collate(batch, classes, config), head.length, dev, summary)


def build(config, bert, tokenizer):
    from event_extraction.events import Predictor

    classes, head = config.classes(), HEADS[config.head]
    models = head.build(bert, classes, config)
    return models.train, Predictor(tokenizer, head, [models], classes, config)


def legacy_config(args, model_dir):
    """The Config of a directory written before config.json (its args.json and schema.json). Its "trigger"
    head is today's pointer head."""
    head = {"trigger": "pointer"}.get(args.get("head", "crf"), args.get("head", "crf"))
    schema = os.path.join(model_dir, "schema.json")
    return Config(maxlen=args["maxlen"], stride=args.get("stride"), word_level=args.get("word_level", False),
                  do_lower_case=args.get("do_lower_case", True), recompute=args.get("recompute") or False,
                  schema=line_objects(schema), head=head,
                  head_lr_multiplier=args.get("head_lr_multiplier", args.get("crf_lr_multiplier")),
                  threshold=args.get("threshold", 0.5), max_span_len=args.get("max_span_len", 32),
                  max_spans=args.get("max_spans", 256), max_triggers=args.get("max_triggers", 64),
                  max_trigger_arguments=args.get("max_trigger_arguments", 64))


def threshold_grid(config):
    """The settings --thresholds dev searches: every combination of the grid's values (and the config's own) of
    the head's thresholds (the trigger heads' trigger and argument thresholds, the span head's argument
    threshold; the tagging heads have none)."""
    from itertools import product

    from common.track import THRESHOLD_GRID

    names = HEADS[config.head].thresholds
    values = [sorted(set(THRESHOLD_GRID) | {getattr(config, k)}) for k in names]
    return [dict(zip(names, chosen)) for chosen in product(*values)] if names else []


# the trigger threshold first (the argument threshold at its fixed value), then the argument threshold at it:
# chosen together, the 169 pairs fitted the real set's small dev file and lost on test at 6 epochs (README,
# "The argument threshold")
THRESHOLDS_IN_TURN = ("threshold", "argument_threshold")


read_units = line_objects  # what k-fold keeps together: the file's sentences, as written
write_units = write_json_lines
inputs = texts


def to_submission(sentences, predicted):
    from event_extraction.events import event_list

    return [{"id": s["id"], "event_list": event_list(e)} for s, e in zip(sentences, predicted)]


def score(gold, rows):
    """The official argument-level P/R/F1, and where recall is lost before the arguments (event types, triggers)."""
    return {**duee.scores(gold, rows), **duee.stage_scores(gold, rows)}


def write_submission(path, rows):
    duee.write_submission(path, [r["id"] for r in rows], [r["event_list"] for r in rows])


def decode_gold(config, tokenizer, sentences):
    """Per sentence, the events decoded from its encoded labels under the head (what Predictor.predict returns)."""
    from event_extraction.events import decode_gold

    classes, head = config.classes(), HEADS[config.head]
    return [decode_gold(tokenizer, s, classes, config, head) for s in sentences]


def summary(rows):
    return f"{len(rows)} sentences, {sum(len(e['arguments']) for r in rows for e in r['event_list'])} arguments"


def analyse(gold, rows, tokenizer=None, config=None):
    from event_extraction.analysis import analyse as run

    return run(gold, rows)
