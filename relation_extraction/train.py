"""Train the DuIE 2.0 relation extraction baseline, score dev each epoch, keep the best.

    python relation_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 20, "batch_size": 32, "maxlen": 256, "learning_rate": 3e-5, "schedule": "warmup-constant"}


def main():
    from relation_extraction.spo import HEAD_LR_MULTIPLIER, THRESHOLD

    parser = cli.train_parser(__doc__, "relation_extraction", DEFAULTS)
    head = parser.add_argument_group("relation extraction head")
    head.add_argument("--condition-on", choices=["pre-norm", "output"], default="pre-norm",
                      help="where subject vectors are gathered and objects are conditioned: the last block "
                           "before its final LayerNorm, or the encoder output")
    head.add_argument("--output-bias", choices=["prior", "zero"], default="prior",
                      help="output biases start at the log-odds of the labels' frequency in the training data "
                           "(prior) or at 0")
    head.add_argument("--head-lr-multiplier", type=float, default=HEAD_LR_MULTIPLIER,
                      help="the subject and object output layers learn this many times faster than BERT")
    head.add_argument("--object-loss", choices=["sum", "mean"], default="sum",
                      help="object cross-entropy summed or averaged over predicate/slot pairs")
    head.add_argument("--subjects", choices=["all", "sample"], default="all",
                      help="train objects for every subject of a window, or for one drawn per epoch (the 2020 way)")
    head.add_argument("--threshold", type=float, default=THRESHOLD, help="decoding threshold")
    args = parser.parse_args()

    from common.data import load_duie, load_duie_schema
    from common.metrics import duie_scores
    from common.bert import build_bert
    from common.submission import write_duie_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, progress
    from relation_extraction import spo

    session = cli.TrainingSession(args, "relation_extraction")
    files = session.files
    schema = load_duie_schema(files["schema"])
    labels = spo.Labels.from_schema(schema)
    tokenizer = load_tokenizer(session.bert_files.vocab, args.word_level, session.bert_files.do_lower_case)
    train = load_duie(files["train"], schema)
    dev = load_duie(files["dev"], schema)
    cli.require_learnable(sum(len(s["spo_list"]) for s in train), sum(len(s["spo_list"]) for s in dev),
                          "SPOs", files["train"], files["dev"])
    examples = [ex for s in progress(train, "encode train") for ex in
                spo.make_examples(tokenizer, s, labels, args.maxlen, args.stride)]
    rows = spo.training_rows(examples)
    args.max_subjects, args.max_objects = spo.prediction_caps(examples)
    print(f"train: {len(train)} sentences, {len(examples)} windows, {len(rows)} (window, subject) rows; "
          f"dev: {len(dev)} sentences; {len(labels.pairs)} predicate/slot pairs")

    n_pairs = len(labels.pairs)
    if args.subjects == "sample":
        batches = Batches(examples, args.batch_size, lambda b: spo.collate(b, n_pairs),
                          length=lambda r: len(r[0].token_ids), seed=args.seed, resample=spo.sample_rows)
    else:
        batches = Batches(rows, args.batch_size, lambda b: spo.collate(b, n_pairs),
                          length=lambda r: len(r[0].token_ids), seed=args.seed)
    with session.model_scope():
        bert = build_bert(session.bert_files, recompute=args.recompute)
        train_model, encoder, object_head = spo.build_models(
            bert, n_pairs, args.condition_on, args.object_loss, spo.priors(rows, n_pairs), args.output_bias,
            args.head_lr_multiplier, args.seed)
        optimizer = session.optimizer(args.epochs * len(batches))
    predictor = spo.Predictor(tokenizer, encoder, object_head, labels, args.maxlen, args.stride, args.batch_size,
                              args.threshold, args.max_subjects, args.max_objects)
    dev_texts = [s["text"] for s in dev]
    last = {}

    def evaluate():
        last["pred"] = predictor.predict(dev_texts, progress)
        return duie_scores(dev, [{"text": t, "spo_list": p} for t, p in zip(dev_texts, last["pred"])])

    def save_dev_predictions(_):
        write_duie_submission(os.path.join(args.output_dir, "dev_predictions.json"), dev_texts, last["pred"])

    best = session.fit(train_model, optimizer, batches, evaluate, save_dev_predictions, files["schema"])
    print(f"best dev (official DuIE metric): precision {best['dev_precision']:.4f} "
          f"recall {best['dev_recall']:.4f} f1 {best['dev_f1']:.4f} (epoch {best['epoch']})")
    cli.warn_if_unlearned(best, "f1", predictor.warning())


if __name__ == "__main__":
    cli.run(main)
