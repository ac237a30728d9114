"""Answer every question of a DuReader_robust test file and write the JSON submission.

    python reading_comprehension/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32, precision="fp32", allow_unfinished=False):
    from common.bert import build_bert
    from common.model_dir import load_model_dir, load_weights
    from common.precision import resolve_precision, set_precision
    from common.tokenization import load_tokenizer
    from reading_comprehension import spans

    files, args, _ = load_model_dir(model_dir, "reading_comprehension", allow_unfinished)
    set_precision(resolve_precision(precision))
    train_model, predict_model = spans.build_model(
        build_bert(files, recompute=args.get("recompute") or False, load_weights=False),
        lr_multiplier=args.get("head_lr_multiplier", 1.0))
    load_weights(train_model, model_dir)
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False), args.get("do_lower_case", True))
    return spans.Predictor(tokenizer, predict_model, args["maxlen"], args["max_question_len"],
                           args.get("max_answer_len") or 64, args.get("stride"), batch_size,
                           first_window_only=args.get("windows") == "first")


def main():
    args = cli.predict_parser(__doc__).parse_args()
    cli.check_output(args)
    from common.data import load_dureader
    from common.model_dir import load_model_dir
    from common.submission import write_rc_submission

    load_model_dir(args.model_dir, "reading_comprehension", args.use_unfinished)  # fail before reading the test
    questions = load_dureader(args.input, report=False, require_items=True)
    predictor = load_predictor(args.model_dir, args.batch_size, args.precision, args.use_unfinished)
    from common.training import progress  # TensorFlow: only once the inputs are read
    started = time.time()
    answers = predictor.predict(questions, progress)
    elapsed = time.time() - started
    write_rc_submission(args.output, [q.id for q in questions], answers)
    print(f"{len(questions)} questions answered in {elapsed:.1f}s "
          f"({len(questions) / max(elapsed, 1e-9):.1f} questions/s); submission: {args.output}")


if __name__ == "__main__":
    cli.run(main)
