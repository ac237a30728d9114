"""Error analysis of DuReader_robust answers: by question word, answer length and window, error kinds."""
from collections import Counter, defaultdict

from common.analysis import Analysis, highlight
from reading_comprehension.dureader import em, f1

QUESTION_WORDS = ["为什么", "怎么", "多少", "哪", "谁", "什么", "何时", "几", "是否", "吗"]


def question_kind(question):
    return next((w for w in QUESTION_WORDS if w in question), "other")


def rows(questions, answers, tokenizer=None, config=None):
    """Per question: id, f1, em, kind, gold length, beyond the first window (if a tokenizer is given)."""
    from reading_comprehension.spans import encode_question

    found = []
    for q in questions:
        prediction = answers.get(q.id, "")
        beyond = None
        if tokenizer is not None and config is not None and q.found:
            _, examples = encode_question(tokenizer, q, config.max_question_len, config.maxlen)
            beyond = not examples[0].holds_answer
        found.append({"id": q.id, "question": q.question, "context": q.context, "gold": q.answers,
                      "prediction": prediction, "f1": f1(q.answers, prediction), "em": em(q.answers, prediction),
                      "kind": question_kind(q.question), "length": min((len(a) for a in q.answers), default=0),
                      "context_length": len(q.context), "beyond_first_window": beyond})
    return found


def _length_bucket(n):
    return "1-3" if n <= 3 else "4-8" if n <= 8 else "9-16" if n <= 16 else "17+"


def _around(context, spans, width=60):
    """The part of a long context around the first of `spans` found in it."""
    positions = [context.find(s) for s in spans if s and context.find(s) >= 0]
    if not positions or len(context) <= 2 * width:
        return context[:2 * width]
    start = max(0, min(positions) - width)
    return ("…" if start else "") + context[start:start + 2 * width] + "…"


def _sample(kind, example):
    context, gold, predicted = example
    return [f"- **{kind}**: gold {gold} / predicted {predicted!r}",
            f"  - {highlight(_around(context, gold + [predicted]), gold + [predicted])}"]


def analyse(questions, answers, tokenizer=None, config=None):
    """The Analysis of answers {id: answer} against the questions."""
    table = rows(questions, answers, tokenizer, config)
    n = len(table) or 1
    overall = {"f1": 100 * sum(r["f1"] for r in table) / n, "em": 100 * sum(r["em"] for r in table) / n}
    empty = sum(not r["prediction"] for r in table)
    lines = ["", f"**Official DuReader_robust metric: F1 {overall['f1']:.3f}, EM {overall['em']:.3f}, "
                 f"TOTAL {len(table)}**", "", f"No-answer predictions (empty string): {empty} of {len(table)} "
                                              f"({empty / n:.1%})"]
    for title, key in (("question word", lambda r: r["kind"]),
                       ("gold answer length (characters)", lambda r: _length_bucket(r["length"])),
                       ("answer beyond the first window", lambda r: r["beyond_first_window"])):
        groups = defaultdict(list)
        for r in table:
            groups[key(r)].append(r)
        lines += ["", f"## By {title}", "", "| group | questions | F1 | EM | share of F1 lost |", "|---|---|---|---|---|"]
        lost = sum(1 - r["f1"] for r in table) or 1
        for group, members in sorted(groups.items(), key=lambda kv: -sum(1 - r["f1"] for r in kv[1])):
            m = len(members)
            lines.append(f"| {group} | {m} | {100 * sum(r['f1'] for r in members) / m:.1f} | "
                         f"{100 * sum(r['em'] for r in members) / m:.1f} | "
                         f"{sum(1 - r['f1'] for r in members) / lost:.0%} |")
    kinds, examples = Counter(), defaultdict(list)
    for r in table:
        if r["em"] < 1:
            kind = "no answer" if not r["prediction"] else "partial (boundary)" if r["f1"] > 0 else "wrong span"
            kinds[kind] += 1
            examples[kind].append((r["context"], r["gold"], r["prediction"]))
    return Analysis(lines, None, kinds, examples, [(r["context_length"], r["f1"]) for r in table], _sample)
