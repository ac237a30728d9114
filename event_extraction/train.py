"""Train the DuEE 1.0 event extraction baseline, score dev each epoch, keep the best.

    python event_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT [--head trigger|span|crf|memm]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 2e-5, "schedule": "warmup-constant"}


def main():
    from event_extraction.events import HEAD_LR_MULTIPLIERS, HEADS

    parser = cli.train_parser(__doc__, "event_extraction", DEFAULTS)
    head = parser.add_argument_group("event extraction head")
    head.add_argument("--head", choices=HEADS, default="trigger",
                      help="trigger: trigger pointers per event type, then, conditioned on each trigger, O/B/I "
                           "tags per (event type, role) class under a CRF each (one event per trigger; arguments may "
                           "overlap); span: every class scores every span; crf / memm: one B/I tag per token")
    head.add_argument("--head-lr-multiplier", "--crf-lr-multiplier", type=float, default=None,
                      help="the head's own parameters (trigger: the output layers; span: per-class scores; crf, memm: "
                           "transitions) learn this many times faster than BERT (default: "
                           + ", ".join(f"{h} {m:g}" for h, m in HEAD_LR_MULTIPLIERS.items()) + ")")
    head.add_argument("--threshold", type=float, default=0.5, help="trigger head: decoding threshold")
    args = parser.parse_args()
    if args.head_lr_multiplier is None:
        args.head_lr_multiplier = HEAD_LR_MULTIPLIERS[args.head]

    from common.bert import build_bert
    from common.data import DataError, load_duee, load_duee_schema
    from common.metrics import duee_scores
    from common.submission import write_duee_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, progress
    from event_extraction import events

    session = cli.TrainingSession(args, "event_extraction")
    files = session.files
    schema = load_duee_schema(files["schema"])
    classes = events.Classes.from_schema(schema)
    tokenizer = load_tokenizer(session.bert_files.vocab, args.word_level, session.bert_files.do_lower_case)
    train = load_duee(files["train"], schema)
    dev = load_duee(files["dev"])
    cli.require_learnable(sum(len(s["arguments"]) for s in train),
                          sum(len(e.get("arguments") or []) for s in dev for e in s["event_list"]),
                          "arguments", files["train"], files["dev"])
    examples, lost, n_spans = [], 0, 0
    for sentence in progress(train, "encode train"):
        windows, lost_here, spans = events.make_examples(tokenizer, sentence, classes, args.maxlen, args.stride)
        examples += windows
        lost += len(lost_here)
        n_spans += len(spans)
    args.max_span_len, args.max_spans = events.span_limits(examples)
    args.max_triggers, args.max_trigger_arguments = events.trigger_caps(examples)
    rows = events.trigger_rows(examples) if args.head == "trigger" else examples
    if args.head == "trigger":
        no_trigger = sum(events.untriggered(s) for s in train)
        if not any(e.events for e in examples):
            raise DataError(f"{files['train']}: no event has its trigger in the text, and the trigger head learns "
                            "from triggers; give trigger and trigger_start_index, or train with --head span")
        held = f"{no_trigger} events without a trigger in the text left out" if no_trigger else "all representable"
        prior = events.trigger_priors(rows, classes)
    else:
        held = f"{lost} of them not taggable with one tag per token" if args.head != "span" else "all representable"
        prior = events.span_prior(examples, len(classes), args.max_span_len)
    print(f"train: {len(train)} sentences, {len(examples)} windows, {n_spans} argument spans ({held}); "
          f"dev: {len(dev)} sentences; {len(classes.types)} event types, {len(classes)} event type/role classes; "
          f"head {args.head}")

    length = (lambda row: len(row[0].token_ids)) if args.head == "trigger" else (lambda e: len(e.token_ids))
    batches = Batches(rows, args.batch_size, lambda b: events.collate(b, args.head, classes), length=length,
                      seed=args.seed)
    with session.model_scope():
        bert = build_bert(session.bert_files, recompute=args.recompute)
        models = events.build_model(bert, classes, args.head, args.head_lr_multiplier, args.max_span_len, prior,
                                    seed=args.seed)
        optimizer = session.optimizer(args.epochs * len(batches))
    predictor = events.Predictor(tokenizer, models, classes, args.head, args.maxlen, args.stride, args.batch_size,
                                 args.max_span_len, args.max_spans, args.threshold,
                                 (args.max_triggers, args.max_trigger_arguments))
    last = {}

    def evaluate():
        last["events"] = [events.event_list(e) for e in predictor.predict([s["text"] for s in dev], progress)]
        return duee_scores(dev, [{"id": s["id"], "event_list": e} for s, e in zip(dev, last["events"])])

    def save_dev_predictions(_):
        write_duee_submission(os.path.join(args.output_dir, "dev_predictions.json"),
                              [s["id"] for s in dev], last["events"])

    best = session.fit(models.train, optimizer, batches, evaluate, save_dev_predictions, files["schema"])
    print(f"best dev (official argument-level metric): precision {best['dev_precision']:.4f} "
          f"recall {best['dev_recall']:.4f} f1 {best['dev_f1']:.4f} (epoch {best['epoch']})")
    cli.warn_if_unlearned(best, "f1", predictor.warning())


if __name__ == "__main__":
    cli.run(main)
