"""What a track's error analysis is made of (tools/report.py draws it): per-class tables, error kinds with
examples, a score per text, and the samples' markdown."""
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from common.metrics import prf


@dataclass
class Analysis:
    lines: list                                      # markdown: the official score, per-class tables, ...
    counts: dict = None                              # {class: [correct, predicted, gold]} for the class figure
    kinds: Counter = field(default_factory=Counter)  # error kind -> count
    examples: dict = field(default_factory=lambda: defaultdict(list))  # kind -> [(text, gold item, predicted item)]
    points: list = field(default_factory=list)       # (text length, score of that text)
    sample: object = None                            # sample(kind, example) -> markdown lines of one sampled error


def overlaps(a, b):
    return bool(a) and bool(b) and (a in b or b in a)


def sentence_f1(gold, predicted):
    if not gold and not predicted:
        return 1.0
    return prf(len(gold & predicted), len(predicted), len(gold))["f1"]


def highlight(text, spans):
    """The text with the first occurrence of each of `spans` in bold (longest first; no nested bold)."""
    chosen = []
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        index = text.find(span)
        if index >= 0 and not any(index < end and start < index + len(span) for start, end in chosen):
            chosen.append((index, index + len(span)))
    for start, end in sorted(chosen, reverse=True):
        text = text[:start] + "**" + text[start:end] + "**" + text[end:]
    return text.replace("\n", " ")


def class_table(counts, names="class", score_digits=0):
    """Markdown table of per-class P/R/F1 sorted by the errors each costs (false negatives + false positives)."""
    rows = []
    for key, (correct, predicted, gold) in counts.items():
        scores = prf(correct, predicted, gold)
        rows.append((gold - correct + predicted - correct, key, correct, predicted, gold, scores))
    rows.sort(key=lambda r: (-r[0], str(r[1])))
    lines = [f"| {names} | errors | correct | predicted | gold | precision | recall | F1 |", "|---|---|---|---|---|---|---|---|"]
    for errors, key, correct, predicted, gold, s in rows:
        name = "/".join(key) if isinstance(key, tuple) else key
        fmt = (lambda v: f"{v:.{score_digits}f}") if score_digits else str
        lines.append(f"| {name} | {fmt(errors)} | {fmt(correct)} | {predicted} | {gold} | {s['precision']:.3f} | "
                     f"{s['recall']:.3f} | {s['f1']:.3f} |")
    return "\n".join(lines)


def span_sample(show, spans_of):
    """sample() for tracks whose items are spans of a sentence: the gold and predicted items, then the text
    with both in bold. show(item) -> str; spans_of(item) -> [span texts]."""
    def sample(kind, example):
        text, gold_item, predicted_item = example
        return [f"- **{kind}**: gold `{show(gold_item) or '-'}` / predicted `{show(predicted_item) or '-'}`",
                f"  - {highlight(text, spans_of(gold_item) + spans_of(predicted_item))}"]
    return sample
