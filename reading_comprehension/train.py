"""Train the DuReader_robust reading comprehension baseline, score dev each epoch, keep the best.

    python reading_comprehension/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402

DEFAULTS = {"epochs": 3, "batch_size": 16, "maxlen": 256, "learning_rate": 3e-5, "schedule": "warmup-constant"}


def main():
    parser = cli.train_parser(__doc__, "reading_comprehension", DEFAULTS)
    head = parser.add_argument_group("reading comprehension")
    head.add_argument("--max-question-len", type=int, default=64, help="question tokens kept")
    head.add_argument("--max-answer-len", type=int, default=None,
                      help="longest answer in tokens (default: the 99th percentile of the training answers)")
    head.add_argument("--negative-share", type=float, default=0.2,
                      help="share of windows without the answer trained to point at [CLS], drawn anew each epoch")
    head.add_argument("--head-lr-multiplier", type=float, default=10.0,
                      help="the start/end output layer learns this many times faster than BERT (default %(default)g)")
    head.add_argument("--windows", choices=["all", "first"], default="all",
                      help="all: read long contexts as overlapping windows; first: only the first window, "
                           "softmax over all its positions (the 2020 design, for comparison)")
    args = parser.parse_args()
    if args.maxlen - args.max_question_len - 3 < 16:
        parser.error(f"--maxlen {args.maxlen} leaves too few context tokens after a question of "
                     f"--max-question-len {args.max_question_len}; raise --maxlen or lower --max-question-len")
    if not 0 <= args.negative_share <= 1:
        parser.error("--negative-share must be between 0 and 1")

    from common.bert import build_bert
    from common.data import load_dureader
    from common.metrics import rc_scores
    from common.submission import write_rc_submission
    from common.tokenization import load_tokenizer
    from common.training import Batches, progress
    from reading_comprehension import spans

    session = cli.TrainingSession(args, "reading_comprehension", ("train", "dev", "test"))
    files = session.files
    tokenizer = load_tokenizer(session.bert_files.vocab, args.word_level, session.bert_files.do_lower_case)
    train = load_dureader(files["train"])
    dev = load_dureader(files["dev"])
    cli.require_learnable(sum(1 for q in train if q.found), sum(1 for q in dev if q.answers),
                          "answers", files["train"], files["dev"])
    windows, unanswerable = [], 0
    first_only = args.windows == "first"
    for q in progress(train, "encode train"):
        if not q.found:
            unanswerable += 1  # its answer is not in its context: nothing to learn from
            continue
        _, question_windows = spans.encode_question(tokenizer, q, args.max_question_len, args.maxlen, args.stride)
        windows += [w for w in question_windows[:1] if w.start > 0] if first_only else question_windows
    if args.max_answer_len is None:
        args.max_answer_len = spans.answer_length_limit(windows)
    print(f"train: {len(train)} questions ({unanswerable} skipped, no answer found in the context), "
          f"{len(windows)} windows ({sum(w.start > 0 for w in windows)} holding the answer); dev: {len(dev)} "
          f"questions; answers of up to {args.max_answer_len} tokens")

    batches = Batches(windows, args.batch_size, lambda b: spans.collate(b, whole_window=first_only),
                      length=lambda w: len(w.token_ids), seed=args.seed,
                      resample=None if first_only else spans.negative_sampler(args.negative_share))
    with session.model_scope():
        train_model, predict_model = spans.build_model(build_bert(session.bert_files, recompute=args.recompute),
                                                       args.seed, args.head_lr_multiplier)
        optimizer = session.optimizer(args.epochs * len(batches))
    predictor = spans.Predictor(tokenizer, predict_model, args.maxlen, args.max_question_len, args.max_answer_len,
                                args.stride, args.batch_size, first_window_only=first_only)
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

    best = session.fit(train_model, optimizer, batches, evaluate, save_dev_predictions)
    official = {"F1": f"{best['dev_f1']:.3f}", "EM": f"{best['dev_em']:.3f}", "TOTAL": int(best["dev_total"]),
                "SKIP": int(best["dev_skip"])}
    print(f"best dev (official DuReader_robust metric, epoch {best['epoch']}): {json.dumps(official)}")
    cli.warn_if_unlearned(best, "f1")


if __name__ == "__main__":
    cli.run(main)
