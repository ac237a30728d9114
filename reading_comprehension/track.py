"""Reading comprehension (DuReader_robust) under the track contract (common/track.py)."""
from dataclasses import dataclass

from common.cli import integer_from
from common.track import Prepared, TrackConfig, common_config
from reading_comprehension import dureader, spans

NAME = "reading_comprehension"
FILES = dureader.FILES
# --adversarial fgm at epsilon 0.3 won each of the 4 sets and regimes measured (README, weight averaging and
# adversarial training); at 1.0 it cost the pretrained ones
DEFAULTS = {"epochs": 3, "batch_size": 16, "maxlen": 256, "learning_rate": 3e-5, "schedule": "warmup-constant",
            "ema": 0.0, "adversarial": "fgm", "adv_epsilon": 0.3}
RESUME_KEYS = ("max_question_len", "negative_share", "windows")
ENSEMBLE_KEYS = ("max_question_len", "windows")
COMBINE_RULES = spans.COMBINE_RULES
# SEEDS=N averages each member's 1 to 3 best epochs, the count chosen on dev: +0.59 a trio over each member's best
# epoch alone on 10 real trios, no loss on the yardstick, where dev keeps 1 while members still climb
# (docs/ensembles.md, "Seeds and epochs, built")
SEEDS_SNAPSHOTS = 3
SUBMISSION = "submission.json"
DEV_PREDICTIONS = "dev_predictions.json"
read_predictions, check_submission = dureader.read_predictions, dureader.check_submission


@dataclass
class Config(TrackConfig):
    max_question_len: int = 64
    max_answer_len: int = 64
    head_lr_multiplier: float = 10.0
    windows: str = "all"  # "first": only the first window, softmax over all its positions (the 2020 design)


DEFAULT = Config()


def load(path, config=None, report=True, require_items=False):
    return dureader.load(path, report, require_items)


def add_arguments(parser):
    head = parser.add_argument_group("reading comprehension")
    head.add_argument("--max-question-len", type=integer_from(1), default=DEFAULT.max_question_len,
                      help="question tokens kept")
    head.add_argument("--max-answer-len", type=integer_from(1), default=None,
                      help="longest answer in tokens (default: the 99th percentile of the training answers)")
    head.add_argument("--negative-share", type=float, default=0.2,
                      help="share of windows without the answer trained to point at [CLS], drawn anew each epoch")
    head.add_argument("--head-lr-multiplier", type=float, default=DEFAULT.head_lr_multiplier,
                      help="the start/end output layer learns this many times faster than BERT (default %(default)g)")
    head.add_argument("--windows", choices=["all", "first"], default=DEFAULT.windows,
                      help="all: read long contexts as overlapping windows; first: only the first window, "
                           "softmax over all its positions (the 2020 design, for comparison)")


def check_arguments(parser, args):
    if args.maxlen - args.max_question_len - 3 < 16:
        parser.error(f"--maxlen {args.maxlen} leaves too few context tokens after a question of "
                     f"--max-question-len {args.max_question_len}; raise --maxlen or lower --max-question-len")
    if not 0 <= args.negative_share <= 1:
        parser.error("--negative-share must be between 0 and 1")


def prepare(args, files, tokenizer, bert_files):
    from common.cli import require_learnable
    from common.training import progress
    from reading_comprehension import spans

    train = dureader.load(files["train"])
    dev = dureader.load(files["dev"])
    require_learnable(sum(1 for q in train if q.found), sum(1 for q in dev if q.answers),
                      "answers", files["train"], files["dev"])
    examples, unanswerable = [], 0
    first_only = args.windows == "first"
    for q in progress(train, "encode train"):
        if not q.found:
            unanswerable += 1  # its answer is not in its context: nothing to learn from
            continue
        _, question_examples = spans.encode_question(tokenizer, q, args.max_question_len, args.maxlen, args.stride)
        examples += [e for e in question_examples[:1] if e.holds_answer] if first_only else question_examples
    max_answer_len = args.max_answer_len or spans.answer_length_limit(examples)
    config = Config(**common_config(args, bert_files), max_question_len=args.max_question_len,
                    max_answer_len=max_answer_len, head_lr_multiplier=args.head_lr_multiplier, windows=args.windows)
    summary = (f"train: {len(train)} questions ({unanswerable} skipped, no answer found in the context), "
               f"{len(examples)} windows ({sum(e.holds_answer for e in examples)} holding the answer); dev: "
               f"{len(dev)} questions; answers of up to {max_answer_len} tokens")
    return Prepared(config, examples, lambda batch: spans.collate(batch, whole_window=first_only),
                    lambda e: len(e.token_ids), dev, summary,
                    resample=None if first_only else spans.negative_sampler(args.negative_share))


def build(config, bert, tokenizer):
    from reading_comprehension import spans

    model, predict_model = spans.build_model(bert, config.seed, config.head_lr_multiplier)
    return model, spans.Predictor(tokenizer, [predict_model], config.maxlen, config.max_question_len,
                                  config.max_answer_len, config.stride, first_window_only=config.windows == "first")


def legacy_config(args, model_dir):
    """The Config of a directory written before config.json (its args.json)."""
    return Config(maxlen=args["maxlen"], stride=args.get("stride"), word_level=args.get("word_level", False),
                  do_lower_case=args.get("do_lower_case", True), recompute=args.get("recompute") or False,
                  max_question_len=args["max_question_len"], max_answer_len=args.get("max_answer_len") or 64,
                  head_lr_multiplier=args.get("head_lr_multiplier", 1.0), windows=args.get("windows") or "all")


def read_units(path):
    """What k-fold keeps together, as the file holds it: its paragraphs, each with its questions."""
    from common.data import read_json_document

    return [paragraph for article in read_json_document(path)["data"] for paragraph in article["paragraphs"]]


def write_units(path, units):
    from common.files import write_json

    write_json(path, {"data": [{"title": "", "paragraphs": units}]}, indent=None)


def inputs(questions):
    return questions


def to_submission(questions, answers):
    """{id: answer} for every question ("" where nothing was predicted)."""
    return {q.id: answers.get(q.id, "") for q in questions}


def score(gold, answers):
    return dureader.scores(gold, answers)


def write_submission(path, answers):
    dureader.write_submission(path, list(answers), answers)


def decode_gold(config, tokenizer, questions):
    """{id: answer} decoded from each question's encoded targets (what Predictor.predict returns)."""
    from reading_comprehension import spans

    answers = {}
    for q in questions:
        decoded = spans.decode_gold(tokenizer, q, config.maxlen, config.max_question_len, config.stride) \
            if q.found else []
        answers[q.id] = decoded[0] if decoded else ""
    return answers


def summary(answers):
    return f"{len(answers)} questions answered"


def analyse(gold, answers, tokenizer=None, config=None):
    from reading_comprehension.analysis import analyse as run

    return run(gold, answers, tokenizer, config)
