"""Predict SPOs for a DuIE test file and write the zip the leaderboard takes.

    python relation_extraction/predict.py --model-dir OUT --input test1_data.json --output submission.zip
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli  # noqa: E402


def load_predictor(model_dir, batch_size=32):
    from common.bert import build_bert
    from common.data import load_duie_schema
    from common.model_dir import load_model_dir, weights_path
    from common.tokenization import load_tokenizer
    from relation_extraction import spo

    files, args, schema_path = load_model_dir(model_dir)
    labels = spo.Labels.from_schema(load_duie_schema(schema_path))
    bert = build_bert(files, recompute=args.get("recompute") or False, load_weights=False)
    train_model, encoder, object_head = spo.build_models(bert, len(labels.pairs))
    train_model.load_weights(weights_path(model_dir))
    tokenizer = load_tokenizer(files.vocab, args.get("word_level", False))
    return spo.Predictor(tokenizer, encoder, object_head, labels, args["maxlen"], args.get("stride"), batch_size)


def main():
    args = cli.predict_parser(__doc__).parse_args()
    if not args.output.endswith((".zip", ".json")):
        raise SystemExit("error: --output should end in .zip (the leaderboard's zip) or .json (JSON lines + zip)")
    from common.data import load_duie
    from common.model_dir import load_model_dir
    from common.submission import write_duie_submission
    from common.training import progress

    load_model_dir(args.model_dir)  # a wrong directory fails before the test file is read
    texts = [s["text"] for s in load_duie(args.input)]
    predictor = load_predictor(args.model_dir, args.batch_size)
    started = time.time()
    spo_lists = predictor.predict(texts, progress)
    elapsed = time.time() - started
    zip_path = write_duie_submission(args.output, texts, spo_lists)
    print(f"{len(texts)} sentences, {sum(map(len, spo_lists))} SPOs in {elapsed:.1f}s "
          f"({len(texts) / max(elapsed, 1e-9):.1f} sentences/s); submission: {zip_path}")


if __name__ == "__main__":
    cli.run(main)
