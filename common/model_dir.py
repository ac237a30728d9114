"""A trained model directory holds everything `predict.py --model-dir DIR` needs.

DIR/bert_config.json, DIR/vocab.txt: the encoder's shape and vocabulary;
DIR/schema.json: the track's schema (relation and event extraction);
DIR/args.json: the training arguments (maxlen, stride, ...);
DIR/model.weights.h5: the weights of the best dev epoch.
"""
import json
import os
import shutil

from common.bert import BertFiles

WEIGHTS = "model.weights.h5"


def save_model_dir(output_dir, bert_files, args, schema_path=None):
    """Copy config, vocab and schema into `output_dir` and record the arguments."""
    os.makedirs(output_dir, exist_ok=True)
    shutil.copyfile(bert_files.config, os.path.join(output_dir, "bert_config.json"))
    shutil.copyfile(bert_files.vocab, os.path.join(output_dir, "vocab.txt"))
    if schema_path:
        shutil.copyfile(schema_path, os.path.join(output_dir, "schema.json"))
    with open(os.path.join(output_dir, "args.json"), "w", encoding="utf-8") as f:
        json.dump(args, f, ensure_ascii=False, indent=2)


def load_model_dir(model_dir):
    """(BertFiles without a checkpoint, training arguments, schema path or None)."""
    needed = ["bert_config.json", "vocab.txt", "args.json", WEIGHTS]
    missing = [n for n in needed if not os.path.isfile(os.path.join(model_dir, n))]
    if missing:
        raise FileNotFoundError(f"{model_dir}: not a trained model directory (missing {', '.join(missing)}); "
                                "train.py --output-dir writes one")
    with open(os.path.join(model_dir, "args.json"), encoding="utf-8") as f:
        args = json.load(f)
    files = BertFiles(os.path.join(model_dir, "bert_config.json"), None, os.path.join(model_dir, "vocab.txt"))
    schema = os.path.join(model_dir, "schema.json")
    return files, args, schema if os.path.isfile(schema) else None


def weights_path(model_dir):
    return os.path.join(model_dir, WEIGHTS)
