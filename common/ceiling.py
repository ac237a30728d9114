"""The best score any model could reach under a track's encoding: decode a data file's own encoded gold.

    python -m common.ceiling TRACK --data FILE [--schema FILE] --bert-dir DIR [--maxlen N] [--stride N] [--head H]

Each gold annotation goes through the same encoding a model is trained on
(tokens, windows, labels: B/I tags, span labels, pointers) and back through the
decoder that reads a model's output; the official metric of the result is what
a perfect model would score. What is lost shows before any training: arguments
that overlap under one-tag-per-token event extraction, spans no token boundary
matches, answers cut by every window.
"""
import argparse
import json
import sys

from common.data import DataError


def ceiling(track, data_path, vocab_path, maxlen, stride=None, schema_path=None, head=None, word_level=False):
    """Official-metric scores of the encoded-then-decoded gold of `data_path` (dict as common.metrics gives)."""
    from common.data import load_duee, load_duee_schema, load_dureader, load_duie, load_duie_schema
    from common.metrics import duee_scores, duie_scores, rc_scores
    from common.tokenization import load_tokenizer

    tokenizer = load_tokenizer(vocab_path, word_level)
    if track == "relation_extraction":
        from relation_extraction import spo

        schema = load_duie_schema(schema_path)
        labels = spo.Labels.from_schema(schema)
        gold = load_duie(data_path, report=False)  # every gold SPO counts, also those the schema lacks
        usable = load_duie(data_path, schema, report=False)
        decoded = [{"text": s["text"], "spo_list": spo.decode_gold(tokenizer, s, labels, maxlen, stride)}
                   for s in usable]
        return duie_scores(gold, decoded)
    if track == "event_extraction":
        from event_extraction import events

        schema = load_duee_schema(schema_path)
        classes = events.Classes.from_schema(schema)
        sentences = load_duee(data_path, schema, report=False)
        gold = load_duee(data_path, report=False)
        decoded = [{"id": s["id"], "event_list": events.event_list(
            events.decode_gold(tokenizer, s, classes, maxlen, stride, head or "trigger"))} for s in sentences]
        return duee_scores(gold, decoded)
    if track == "reading_comprehension":
        from reading_comprehension import spans

        questions = load_dureader(data_path, report=False)
        answers = {}
        for q in questions:
            decoded = spans.decode_gold(tokenizer, q, maxlen, stride=stride) if q.found else []
            answers[q.id] = decoded[0] if decoded else ""
        scores = rc_scores({q.id: q.answers for q in questions}, answers)
        return {"f1": float(scores["F1"]), "em": float(scores["EM"]), "total": scores["TOTAL"]}
    raise ValueError(f"unknown track {track!r}")


def main(argv=None):
    from common.data import TRACKS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("track", choices=TRACKS)
    p.add_argument("--data", required=True, help="a train or dev file with gold annotations")
    p.add_argument("--schema", help="the schema (relation and event extraction)")
    p.add_argument("--bert-dir", required=True, help="the BERT whose vocab.txt tokenizes the text")
    p.add_argument("--maxlen", type=int, default=256)
    p.add_argument("--stride", type=int)
    p.add_argument("--head", choices=["trigger", "span", "crf", "memm"],
                   help="event extraction: the encoding (default trigger)")
    p.add_argument("--word-level", action="store_true")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = p.parse_args(argv)
    if args.track != "reading_comprehension" and not args.schema:
        p.error(f"{args.track} needs --schema")
    import os
    vocab = os.path.join(args.bert_dir, "vocab.txt")
    try:
        if not os.path.isfile(vocab):
            raise DataError(f"{vocab}: missing; --bert-dir names a BERT directory with vocab.txt")
        scores = ceiling(args.track, args.data, vocab, args.maxlen, args.stride, args.schema, args.head,
                         args.word_level)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(scores))
    else:
        encoding = f", head {args.head or 'trigger'}" if args.track == "event_extraction" else ""
        shown = ", ".join(f"{k} {v}" for k, v in scores.items())
        print(f"{args.track} ceiling of {args.data} (maxlen {args.maxlen}{encoding}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
