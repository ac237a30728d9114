"""Answer every question of a DuReader_robust test file and write the JSON submission.

    python reading_comprehension/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32):
    from common.bert import build_bert
    from common.model_dir import load_model_dir, weights_path
    from common.tokenization import load_tokenizer
    from reading_comprehension import spans

    files, args, _ = load_model_dir(model_dir)
    model = spans.build_model(build_bert(files, recompute=args.get("recompute") or False, load_weights=False))
    model.load_weights(weights_path(model_dir))
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False))
    return spans.Predictor(tokenizer, model, args["maxlen"], args["max_question_len"], args["max_answer_len"],
                           args.get("stride"), batch_size)


def main():
    args = cli.predict_parser(__doc__).parse_args()
    from common.data import load_dureader
    from common.model_dir import load_model_dir
    from common.submission import write_rc_submission
    from common.training import progress

    load_model_dir(args.model_dir)  # a wrong directory fails before the test file is read
    questions = load_dureader(args.input, report=False)
    predictor = load_predictor(args.model_dir, args.batch_size)
    started = time.time()
    answers = predictor.predict(questions, progress)
    elapsed = time.time() - started
    write_rc_submission(args.output, [q.id for q in questions], answers)
    print(f"{len(questions)} questions answered in {elapsed:.1f}s "
          f"({len(questions) / max(elapsed, 1e-9):.1f} questions/s); submission: {args.output}")


if __name__ == "__main__":
    cli.run(main)
