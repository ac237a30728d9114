"""Predict events for a DuEE test file and write the JSON-lines submission.

    python event_extraction/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32, precision="fp32", allow_unfinished=False):
    from common.bert import build_bert
    from common.data import load_duee_schema
    from common.model_dir import load_model_dir, load_weights
    from common.precision import resolve_precision, set_precision
    from common.tokenization import load_tokenizer
    from event_extraction import events

    files, args, schema_path = load_model_dir(model_dir, "event_extraction", allow_unfinished)
    set_precision(resolve_precision(precision))
    classes = events.Classes.from_schema(load_duee_schema(schema_path))
    bert = build_bert(files, recompute=args.get("recompute") or False, load_weights=False)
    head = args.get("head", "crf")
    multiplier = args.get("head_lr_multiplier", args.get("crf_lr_multiplier", events.HEAD_LR_MULTIPLIERS[head]))
    models = events.build_model(bert, classes, head, multiplier, args.get("max_span_len", 32))
    load_weights(models.train, model_dir)
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False), args.get("do_lower_case", True))
    return events.Predictor(tokenizer, models, classes, head, args["maxlen"], args.get("stride"), batch_size,
                            args.get("max_span_len", 32), args.get("max_spans", 256), args.get("threshold", 0.5),
                            (args.get("max_triggers", 64), args.get("max_trigger_arguments", 64)))

def main():
    args = cli.predict_parser(__doc__).parse_args()
    cli.check_output(args)
    from common.data import load_duee
    from common.model_dir import load_model_dir
    from common.submission import write_duee_submission
    from event_extraction.events import event_list

    load_model_dir(args.model_dir, "event_extraction", args.use_unfinished)  # fail before reading the test file
    sentences = load_duee(args.input, require_items=True)
    predictor = load_predictor(args.model_dir, args.batch_size, args.precision, args.use_unfinished)
    from common.training import progress  # TensorFlow: only once the inputs are read
    started = time.time()
    predicted = predictor.predict([s["text"] for s in sentences], progress)
    elapsed = time.time() - started
    write_duee_submission(args.output, [s["id"] for s in sentences], [event_list(e) for e in predicted])
    cli.warn_if_unlearned(None, "f1", predictor.warning())
    print(f"{len(sentences)} sentences, {sum(len(a) for e in predicted for _, _, a in e)} arguments in {elapsed:.1f}s "
          f"({len(sentences) / max(elapsed, 1e-9):.1f} sentences/s); submission: {args.output}")


if __name__ == "__main__":
    cli.run(main)
