"""The best score any model could reach under a track's encoding: decode a data file's own encoded gold.

    python -m tools.ceiling TRACK --data FILE [--schema FILE] --bert-dir DIR [--maxlen N] [--stride N] [--head H]

Each gold annotation goes through the same encoding a model is trained on
(tokens, windows, labels: B/I tags, span labels, pointers) and back through the
decoder that reads a model's output; the official metric of the result is what
a perfect model would score. What is lost shows before any training: arguments
that overlap under one-tag-per-token event extraction, spans no token boundary
matches, answers cut by every window.
"""
import argparse
import dataclasses
import json
import os

from common.bert import BertFiles
from common import cli
from common.cli import check_windows
from common.data import DataError, line_objects
from tools.tracks import NAMES, track


def ceiling(name, data_path, vocab_path, maxlen, stride=None, schema_path=None, head=None, word_level=False,
            lower_case=True):
    """Official-metric scores of the encoded-then-decoded gold of `data_path` (as the track's score gives)."""
    from common.tokenization import load_tokenizer

    t = track(name)
    settings = {"maxlen": maxlen, "stride": stride, "word_level": word_level}
    fields = {f.name for f in dataclasses.fields(t.Config)}
    if "schema" in fields:
        settings["schema"] = line_objects(schema_path)
    if head is not None:
        if "head" not in fields:
            raise DataError(f"{name} has no --head")
        settings["head"] = head
    config = t.Config(**settings)
    tokenizer = load_tokenizer(vocab_path, word_level, lower_case)
    gold = t.load(data_path, report=False)  # every gold annotation counts, also those the schema lacks
    usable = t.load(data_path, config, report=False)
    return t.score(gold, t.to_submission(usable, t.decode_gold(config, tokenizer, usable)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("track", choices=NAMES)
    p.add_argument("--data", required=True, type=os.path.expanduser, help="a train or dev file with gold annotations")
    p.add_argument("--schema", type=os.path.expanduser, help="the schema (relation and event extraction)")
    p.add_argument("--bert-dir", required=True, type=os.path.expanduser,
                   help="the BERT folder (either layout) whose vocabulary and casing tokenize the text")
    p.add_argument("--maxlen", type=int, default=256)
    p.add_argument("--stride", type=int)
    p.add_argument("--head", help="event extraction: the head whose encoding to decode (default: the default head)")
    p.add_argument("--word-level", action="store_true")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = p.parse_args(argv)
    if "schema" in track(args.track).FILES and not args.schema:
        p.error(f"{args.track} needs --schema")
    check_windows(args.maxlen, args.stride)
    bert = BertFiles.from_dir(args.bert_dir)  # its vocabulary and casing, as train.py reads them
    scores = ceiling(args.track, args.data, bert.vocab, args.maxlen, args.stride, args.schema, args.head,
                     args.word_level, bert.do_lower_case)
    if args.json:
        print(json.dumps(scores))
    else:
        encoding = f", head {args.head}" if args.head else ""
        shown = ", ".join(f"{k} {v}" for k, v in scores.items())
        print(f"{args.track} ceiling of {args.data} (maxlen {args.maxlen}{encoding}): {shown}")


if __name__ == "__main__":
    cli.run(main)  # unreadable input or Ctrl-C: one line
