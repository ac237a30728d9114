"""Train the DuReader_robust reading comprehension baseline, score dev each epoch, keep the best.

    python reading_comprehension/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 3, "batch_size": 16, "maxlen": 512, "learning_rate": 3e-5}


def main():
    parser = cli.train_parser(__doc__, "reading_comprehension", DEFAULTS)
    parser.add_argument("--max-question-len", type=int, default=64, help="question tokens kept")
    parser.add_argument("--max-answer-len", type=int, default=64, help="longest answer in tokens")
    parser.add_argument("--negative-share", type=float, default=0.2,
                        help="share of windows without the answer trained to point at [CLS]")
    args = parser.parse_args()
    if args.maxlen - args.max_question_len - 3 < 16:
        parser.error(f"--maxlen {args.maxlen} leaves too few context tokens after a question of "
                     f"--max-question-len {args.max_question_len}; raise --maxlen or lower --max-question-len")
    from common.bert import BertFiles, build_bert
    from common.data import find_data_files, load_dureader
    from common.metrics import rc_scores
    from common.model_dir import save_model_dir
    from common.submission import write_rc_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, DevEvaluator, fit, make_optimizer, progress, seed_everything
    from reading_comprehension import spans

    files = find_data_files("reading_comprehension", args.data_dir,
                            {"train": args.train, "dev": args.dev, "test": args.test})
    bert_files = BertFiles.from_dir(args.bert_dir)
    seed_everything(args.seed)
    tokenizer = load_tokenizer(bert_files.vocab, args.word_level)
    train = load_dureader(files["train"])
    dev = load_dureader(files["dev"])
    rng = random.Random(args.seed)
    windows, unanswerable = [], 0
    for q in progress(train, "encode train"):
        if not q.found:
            unanswerable += 1  # its answer is not in its context: nothing to learn from
            continue
        _, question_windows = spans.encode_question(tokenizer, q, args.max_question_len, args.maxlen, args.stride)
        windows += spans.training_windows(question_windows, args.negative_share, rng)
    print(f"train: {len(train)} questions ({unanswerable} skipped, no answer found in the context), "
          f"{len(windows)} windows ({sum(w.start > 0 for w in windows)} holding the answer); "
          f"dev: {len(dev)} questions")

    bert = build_bert(bert_files, recompute=args.recompute)
    model = spans.build_model(bert, args.seed)
    batches = Batches(windows, args.batch_size, spans.collate, length=lambda w: len(w.token_ids), seed=args.seed)
    model.compile(optimizer=make_optimizer(args.learning_rate, args.epochs * len(batches), args.warmup),
                  loss=[spans.nll, spans.nll])
    save_model_dir(args.output_dir, bert_files, vars(args))
    predictor = spans.Predictor(tokenizer, model, args.maxlen, args.max_question_len, args.max_answer_len,
                                args.stride, args.batch_size)
    references = {q.id: q.answers for q in dev}
    last = {}

    def evaluate():
        last["answers"] = predictor.predict(dev, progress)
        scores = rc_scores(references, last["answers"])
        return {"f1": float(scores["F1"]), "em": float(scores["EM"]), "total": scores["TOTAL"],
                "skip": scores["SKIP"]}

    def save_dev_predictions(_):
        write_rc_submission(os.path.join(args.output_dir, "dev_predictions.json"), [q.id for q in dev],
                            last["answers"])

    best = fit(model, batches, args.epochs, DevEvaluator(evaluate, args.output_dir, on_best=save_dev_predictions),
               args.output_dir, args.resume)
    official = {"F1": f"{best['dev_f1']:.3f}", "EM": f"{best['dev_em']:.3f}", "TOTAL": int(best["dev_total"]),
                "SKIP": int(best["dev_skip"])}
    print(f"best dev (official DuReader_robust metric, epoch {best['epoch']}): {json.dumps(official)}")


if __name__ == "__main__":
    cli.run(main)
