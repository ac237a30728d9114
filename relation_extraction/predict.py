"""Predict SPOs for a DuIE test file and write the zip the leaderboard takes.

    python relation_extraction/predict.py --model-dir OUT --input test1_data.json --output submission.zip
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32, precision="fp32", allow_unfinished=False):
    from common.bert import build_bert
    from common.data import load_duie_schema
    from common.model_dir import ModelDirError, load_model_dir, load_weights
    from common.precision import resolve_precision, set_precision
    from common.tokenization import load_tokenizer
    from relation_extraction import spo

    files, args, schema_path = load_model_dir(model_dir, "relation_extraction", allow_unfinished)
    set_precision(resolve_precision(precision))
    labels = spo.Labels.from_schema(load_duie_schema(schema_path))
    bert = build_bert(files, recompute=args.get("recompute") or False, load_weights=False)
    if args.get("head", "pointer") != "pointer":
        raise ModelDirError(f"{model_dir}: trained with the {args['head']} head, which this version no longer has; "
                            "train again")
    train_model, encoder, object_head = spo.build_models(bert, len(labels.pairs), args.get("condition_on", "pre-norm"),
                                                         lr_multiplier=args.get("head_lr_multiplier", 1.0))
    load_weights(train_model, model_dir)
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False), args.get("do_lower_case", True))
    return spo.Predictor(tokenizer, encoder, object_head, labels, args["maxlen"], args.get("stride"), batch_size,
                         args.get("threshold", spo.THRESHOLD), args.get("max_subjects", 64),
                         args.get("max_objects", 64))


def main():
    args = cli.predict_parser(__doc__).parse_args()
    if not args.output.endswith((".zip", ".json")):
        raise SystemExit("error: --output should end in .zip (the leaderboard's zip) or .json (JSON lines + zip)")
    cli.check_output(args)
    from common.data import load_duie
    from common.model_dir import load_model_dir
    from common.submission import write_duie_submission

    load_model_dir(args.model_dir, "relation_extraction", args.use_unfinished)  # fail before reading the test file
    texts = [s["text"] for s in load_duie(args.input, require_items=True)]
    predictor = load_predictor(args.model_dir, args.batch_size, args.precision, args.use_unfinished)
    from common.training import progress  # TensorFlow: only once the inputs are read
    started = time.time()
    spo_lists = predictor.predict(texts, progress)
    elapsed = time.time() - started
    zip_path = write_duie_submission(args.output, texts, spo_lists)
    cli.warn_if_unlearned(None, "f1", predictor.warning())
    print(f"{len(texts)} sentences, {sum(map(len, spo_lists))} SPOs in {elapsed:.1f}s "
          f"({len(texts) / max(elapsed, 1e-9):.1f} sentences/s); submission: {zip_path}")


if __name__ == "__main__":
    cli.run(main)
