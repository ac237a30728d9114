"""Train the DuEE 1.0 event extraction baseline, score dev each epoch, keep the best.

    python event_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT [--head span|crf|memm]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 2e-5, "schedule": "warmup-constant"}


def main():
    from event_extraction.events import HEADS

    parser = cli.train_parser(__doc__, "event_extraction", DEFAULTS)
    head = parser.add_argument_group("event extraction head")
    head.add_argument("--head", choices=HEADS, default="span",
                      help="span: every (event type, role) scores every span, so arguments may overlap; "
                           "crf / memm: one B/I tag per token")
    head.add_argument("--head-lr-multiplier", "--crf-lr-multiplier", type=float, default=100,
                      help="the head's own parameters (span: per-class scores; crf, memm: transitions) learn "
                           "this many times faster than BERT")
    args = parser.parse_args()

    from common.bert import build_bert
    from common.data import load_duee, load_duee_schema
    from common.metrics import duee_scores
    from common.submission import group_events, write_duee_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, progress
    from event_extraction import events

    session = cli.TrainingSession(args, "event_extraction")
    files = session.files
    schema = load_duee_schema(files["schema"])
    classes = events.Classes.from_schema(schema)
    tokenizer = load_tokenizer(session.bert_files.vocab, args.word_level)
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
    held = f"{lost} of them not taggable with one tag per token" if args.head != "span" else "all representable"
    print(f"train: {len(train)} sentences, {len(examples)} windows, {n_spans} argument spans ({held}); "
          f"dev: {len(dev)} sentences; {len(classes)} event type/role classes; head {args.head}")

    batches = Batches(examples, args.batch_size, lambda b: events.collate(b, args.head),
                      length=lambda e: len(e.token_ids), seed=args.seed)
    with session.strategy.scope():
        bert = build_bert(session.bert_files, recompute=args.recompute)
        train_model, predict_model, transitions = events.build_model(
            bert, classes, args.head, args.head_lr_multiplier, args.max_span_len,
            events.span_prior(examples, len(classes), args.max_span_len), seed=args.seed)
        optimizer = session.optimizer(args.epochs * len(batches))
    predictor = events.Predictor(tokenizer, predict_model, classes, args.head, args.maxlen, args.stride,
                                 args.batch_size, transitions, args.max_span_len, args.max_spans)
    last = {}

    def evaluate():
        arguments = predictor.predict([s["text"] for s in dev], progress)
        last["events"] = [group_events(a) for a in arguments]
        return duee_scores(dev, [{"id": s["id"], "event_list": e} for s, e in zip(dev, last["events"])])

    def save_dev_predictions(_):
        write_duee_submission(os.path.join(args.output_dir, "dev_predictions.json"),
                              [s["id"] for s in dev], last["events"])

    best = session.fit(train_model, optimizer, batches, evaluate, save_dev_predictions, files["schema"])
    print(f"best dev (official argument-level metric): precision {best['dev_precision']:.4f} "
          f"recall {best['dev_recall']:.4f} f1 {best['dev_f1']:.4f} (epoch {best['epoch']})")
    cli.warn_if_unlearned(best, "f1", predictor.warning())


if __name__ == "__main__":
    cli.run(main)
