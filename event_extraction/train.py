"""Train the DuEE 1.0 event extraction baseline (BERT + CRF), score dev each epoch, keep the best.

    python event_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 2e-5}


def main():
    parser = cli.train_parser(__doc__, "event_extraction", DEFAULTS)
    parser.add_argument("--crf-lr-multiplier", type=float, default=100,
                        help="the CRF transitions learn this many times faster than BERT")
    args = parser.parse_args()
    from common.bert import BertFiles, build_bert
    from common.data import find_data_files, load_duee, load_duee_schema
    from common.metrics import duee_scores
    from common.model_dir import save_model_dir
    from common.submission import group_events, write_duee_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, DevEvaluator, fit, make_optimizer, progress, seed_everything
    from event_extraction import tagging

    files = find_data_files("event_extraction", args.data_dir,
                            {"train": args.train, "dev": args.dev, "test": args.test, "schema": args.schema})
    bert_files = BertFiles.from_dir(args.bert_dir)
    seed_everything(args.seed)
    schema = load_duee_schema(files["schema"])
    tags = tagging.Tags.from_schema(schema)
    tokenizer = load_tokenizer(bert_files.vocab, args.word_level)
    train = load_duee(files["train"], schema)
    dev = load_duee(files["dev"])
    examples, lost = [], 0
    for sentence in progress(train, "encode train"):
        windows, n_lost = tagging.make_examples(tokenizer, sentence, tags, args.maxlen, args.stride)
        examples += windows
        lost += n_lost
    n_args = sum(len(s["arguments"]) for s in train)
    print(f"train: {len(train)} sentences, {len(examples)} windows, {n_args} arguments "
          f"({lost} not taggable: a span already tagged for another role); dev: {len(dev)} sentences; "
          f"{len(tags.classes)} event type/role classes, {tags.size} tags")

    bert = build_bert(bert_files, recompute=args.recompute)
    model, crf = tagging.build_model(bert, tags.size, args.crf_lr_multiplier, args.seed)
    batches = Batches(examples, args.batch_size, tagging.collate, length=lambda e: len(e.token_ids), seed=args.seed)
    model.compile(optimizer=make_optimizer(args.learning_rate, args.epochs * len(batches), args.warmup),
                  loss=crf.sparse_loss)
    save_model_dir(args.output_dir, bert_files, vars(args), files["schema"])
    predictor = tagging.Predictor(tokenizer, model, crf, tags, args.maxlen, args.stride, args.batch_size)
    last = {}

    def evaluate():
        arguments = predictor.predict([s["text"] for s in dev], progress)
        last["events"] = [group_events(a) for a in arguments]
        return duee_scores(dev, [{"id": s["id"], "event_list": e} for s, e in zip(dev, last["events"])])

    def save_dev_predictions(_):
        write_duee_submission(os.path.join(args.output_dir, "dev_predictions.json"),
                              [s["id"] for s in dev], last["events"])

    best = fit(model, batches, args.epochs, DevEvaluator(evaluate, args.output_dir, on_best=save_dev_predictions),
               args.output_dir, args.resume)
    print(f"best dev (official argument-level metric): precision {best['dev_precision']:.4f} "
          f"recall {best['dev_recall']:.4f} f1 {best['dev_f1']:.4f} (epoch {best['epoch']})")


if __name__ == "__main__":
    cli.run(main)
