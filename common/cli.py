"""Command-line arguments every track's train.py and predict.py share."""
import argparse
import sys

from common.bert import CheckpointError
from common.data import DataError


def train_parser(description, track, defaults):
    """The train.py contract; `defaults` sets the track's epochs, batch size, maxlen and learning rate."""
    p = argparse.ArgumentParser(description=description)
    data = p.add_argument_group("data (--data-dir finds the official file names; the others override)")
    data.add_argument("--data-dir", help="directory with the official train/dev/test (and schema) files")
    data.add_argument("--train")
    data.add_argument("--dev")
    data.add_argument("--test", help="optional: predicted after training")
    if track != "reading_comprehension":
        data.add_argument("--schema")
    p.add_argument("--bert-dir", required=True, help="Google-format BERT: bert_config.json, bert_model.ckpt.*, vocab.txt")
    p.add_argument("--word-level", action="store_true", help="jieba pre-tokenization for word-level vocabularies")
    p.add_argument("--output-dir", required=True, help="model directory to write")
    p.add_argument("--epochs", type=int, default=defaults["epochs"])
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    p.add_argument("--maxlen", type=int, default=defaults["maxlen"], help="tokens per window, [CLS] and [SEP] included")
    p.add_argument("--stride", type=int, default=None, help="tokens between window starts (default: half a window)")
    p.add_argument("--learning-rate", type=float, default=defaults["learning_rate"])
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps with linear warm-up")
    p.add_argument("--recompute", nargs="?", const="block", default=False, choices=["block", "layer"],
                   help="keep only each transformer block's input and recompute the block in the backward pass "
                        "(much less activation memory, some more time; same numbers); 'layer': bert4keras's "
                        "per-layer scheme")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last finished epoch")
    return p


def predict_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model-dir", required=True, help="a directory written by train.py")
    p.add_argument("--input", required=True, help="the official test file")
    p.add_argument("--output", required=True, help="submission file to write")
    p.add_argument("--batch-size", type=int, default=32)
    return p


def run(main):
    """Run `main()`, turning the project's input errors into one line and exit code 2."""
    try:
        return main()
    except (DataError, CheckpointError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
