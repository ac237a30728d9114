"""Train the DuIE 2.0 relation extraction baseline, score dev each epoch, keep the best.

    python relation_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 3e-5}


def main():
    args = cli.train_parser(__doc__, "relation_extraction", DEFAULTS).parse_args()
    from common.bert import BertFiles, build_bert
    from common.data import find_data_files, load_duie, load_duie_schema
    from common.metrics import duie_scores
    from common.model_dir import save_model_dir
    from common.submission import write_duie_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, DevEvaluator, fit, make_optimizer, progress, seed_everything
    from relation_extraction import spo

    files = find_data_files("relation_extraction", args.data_dir,
                            {"train": args.train, "dev": args.dev, "test": args.test, "schema": args.schema})
    bert_files = BertFiles.from_dir(args.bert_dir)
    seed_everything(args.seed)
    schema = load_duie_schema(files["schema"])
    labels = spo.Labels.from_schema(schema)
    tokenizer = load_tokenizer(bert_files.vocab, args.word_level)
    train = load_duie(files["train"], schema)
    dev = load_duie(files["dev"], schema)
    examples = [ex for s in progress(train, "encode train") for ex in
                spo.make_examples(tokenizer, s, labels, args.maxlen, args.stride)]
    rows = spo.training_rows(examples)
    print(f"train: {len(train)} sentences, {len(examples)} windows, {len(rows)} (window, subject) rows; "
          f"dev: {len(dev)} sentences; {len(labels.pairs)} predicate/slot pairs")

    bert = build_bert(bert_files, recompute=args.recompute)
    train_model, encoder, object_head = spo.build_models(bert, len(labels.pairs), args.seed)
    batches = Batches(rows, args.batch_size, lambda b: spo.collate(b, len(labels.pairs)),
                      length=lambda r: len(r[0].token_ids), seed=args.seed)
    train_model.compile(optimizer=make_optimizer(args.learning_rate, args.epochs * len(batches), args.warmup))
    save_model_dir(args.output_dir, bert_files, vars(args), files["schema"])
    predictor = spo.Predictor(tokenizer, encoder, object_head, labels, args.maxlen, args.stride, args.batch_size)
    dev_texts = [s["text"] for s in dev]
    last = {}

    def evaluate():
        last["pred"] = predictor.predict(dev_texts, progress)
        return duie_scores(dev, [{"text": t, "spo_list": p} for t, p in zip(dev_texts, last["pred"])])

    def save_dev_predictions(_):
        write_duie_submission(os.path.join(args.output_dir, "dev_predictions.json"), dev_texts, last["pred"])

    evaluator = DevEvaluator(evaluate, args.output_dir, on_best=save_dev_predictions)
    best = fit(train_model, batches, args.epochs, evaluator, args.output_dir, args.resume)
    print(f"best dev (official DuIE metric): precision {best['dev_precision']:.4f} "
          f"recall {best['dev_recall']:.4f} f1 {best['dev_f1']:.4f} (epoch {best['epoch']})")


if __name__ == "__main__":
    cli.run(main)
