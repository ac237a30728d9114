"""Predict events for a DuEE test file and write the JSON-lines submission.

    python event_extraction/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32):
    from common.bert import build_bert
    from common.data import load_duee_schema
    from common.model_dir import load_model_dir, weights_path
    from common.tokenization import load_tokenizer
    from event_extraction import tagging

    files, args, schema_path = load_model_dir(model_dir)
    tags = tagging.Tags.from_schema(load_duee_schema(schema_path))
    bert = build_bert(files, recompute=args.get("recompute") or False, load_weights=False)
    model, crf = tagging.build_model(bert, tags.size, args["crf_lr_multiplier"])
    model.load_weights(weights_path(model_dir))
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False))
    return tagging.Predictor(tokenizer, model, crf, tags, args["maxlen"], args.get("stride"), batch_size)


def main():
    args = cli.predict_parser(__doc__).parse_args()
    from common.data import load_duee
    from common.model_dir import load_model_dir
    from common.submission import group_events, write_duee_submission
    from common.training import progress

    load_model_dir(args.model_dir)  # a wrong directory fails before the test file is read
    sentences = load_duee(args.input)
    predictor = load_predictor(args.model_dir, args.batch_size)
    started = time.time()
    arguments = predictor.predict([s["text"] for s in sentences], progress)
    elapsed = time.time() - started
    write_duee_submission(args.output, [s["id"] for s in sentences], [group_events(a) for a in arguments])
    print(f"{len(sentences)} sentences, {sum(map(len, arguments))} arguments in {elapsed:.1f}s "
          f"({len(sentences) / max(elapsed, 1e-9):.1f} sentences/s); submission: {args.output}")


if __name__ == "__main__":
    cli.run(main)
