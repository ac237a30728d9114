"""The official LIC2020 metrics, in plain Python (no TensorFlow).

reading comprehension: DuReader_robust F1/EM (`rc_scores`);
relation extraction: DuIE 2.0 SPO precision/recall/F1 (`duie_scores`);
event extraction: DuEE 1.0 argument-level P/R/F1 (`duee_scores`).
"""
from collections import Counter

# ---------------------------------------------------------------- DuReader_robust

# The official list; "……" is two characters and so never matches one character.
RC_PUNCTUATION = {":", "_", "`", "，", "。", "：", "？", "！", "(", ")", "“", "”", "；", "’", "《", "》",
                  "……", "·", "、", ",", "「", "」", "（", "）", "－", "～", "『", "』", "|"}


def _is_cjk(ch):
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def rc_normalize(text):
    """Lower-case and drop the official punctuation."""
    return "".join(ch for ch in text.lower() if ch not in RC_PUNCTUATION)


def rc_tokens(text):
    """Every CJK character and "=" is a token; each run of other characters is one token."""
    tokens, run = [], ""
    for ch in text:
        if _is_cjk(ch) or ch == "=":
            if run:
                tokens.append(run)
                run = ""
            tokens.append(ch)
        else:
            run += ch
    if run:
        tokens.append(run)
    return tokens


def longest_common_run(a, b):
    """Length of the longest common contiguous run of two token lists.

    (bert4keras.snippets has one too, but importing it starts TensorFlow.)
    """
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def rc_f1(answers, prediction):
    """Best F1 over the gold answers; overlap = longest common run of tokens."""
    best = 0.0
    pred = rc_tokens(rc_normalize(prediction))
    for answer in answers:
        gold = rc_tokens(rc_normalize(answer))
        overlap = longest_common_run(gold, pred)
        if overlap:
            p, r = overlap / len(pred), overlap / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


def rc_em(answers, prediction):
    return float(any(rc_normalize(a) == rc_normalize(prediction) for a in answers))


def rc_scores(references, predictions):
    """Official-format scores: references {id: [answers]}, predictions {id: answer}."""
    f1 = em = 0.0
    skip = 0
    for qid, answers in references.items():
        if qid not in predictions:
            skip += 1
            continue
        f1 += rc_f1(answers, predictions[qid])
        em += rc_em(answers, predictions[qid])
    total = len(references)
    return {"F1": f"{100 * f1 / total if total else 0:.3f}", "EM": f"{100 * em / total if total else 0:.3f}",
            "TOTAL": total, "SKIP": skip}


# ---------------------------------------------------------------- DuIE 2.0

def _duie_value(value):
    value = value.lower()
    if value.startswith("《") and value.endswith("》"):
        value = value[1:-1]
    return value


def duie_spo_key(spo):
    """What the official script compares: predicate, subject, and the whole object dict."""
    objects = spo["object"] if isinstance(spo["object"], dict) else {"@value": spo["object"]}
    return (spo["predicate"], _duie_value(spo["subject"]),
            tuple(sorted((slot, _duie_value(v)) for slot, v in objects.items())))


def prf(correct, predicted, gold, digits=4):
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, digits), "recall": round(r, digits), "f1": round(f, digits)}


def _spo_sets(sentences):
    by_text = {}
    for s in sentences:
        by_text.setdefault(s["text"], set()).update(duie_spo_key(spo) for spo in s.get("spo_list") or [])
    return by_text


def duie_counts(gold_sentences, predicted_sentences):
    """{predicate: [correct, predicted, gold]}: the official metric's counts, split by predicate."""
    predicted_by_text, gold_by_text = _spo_sets(predicted_sentences), _spo_sets(gold_sentences)
    counts = {}
    for text, gold_spos in gold_by_text.items():
        pred_spos = predicted_by_text.get(text, set())
        for key in gold_spos | pred_spos:
            c = counts.setdefault(key[0], [0, 0, 0])
            c[0] += key in gold_spos and key in pred_spos
            c[1] += key in pred_spos
            c[2] += key in gold_spos
    return counts


def duie_scores(gold_sentences, predicted_sentences):
    """P/R/F1 over SPOs; sentences are dicts with "text" and "spo_list", matched by text."""
    counts = duie_counts(gold_sentences, predicted_sentences).values()
    return prf(*(sum(c[i] for c in counts) for i in range(3)))


# ---------------------------------------------------------------- DuEE 1.0

def char_f1(gold, prediction):
    """F1 over the characters two strings share (case-insensitive)."""
    common = sum((Counter(gold.lower()) & Counter(prediction.lower())).values())
    if not common:
        return 0.0
    p, r = common / len(prediction), common / len(gold)
    return 2 * p * r / (p + r)


def duee_counts(gold_sentences, predicted_sentences):
    """{(event_type, role): [score, predicted, gold]}: the official metric's sums, split by class.

    gold_sentences: {"id", "event_list"} as in the data files (aliases allowed);
    predicted_sentences: {"id", "event_list"} as in a submission. Within one
    event type and role, predicted arguments (each distinct one once per event,
    so that two events of one type sharing an argument predict it twice, as
    their gold holds it twice) and gold arguments are paired best score first
    (each used once); a pair scores the character F1 of the prediction with
    the gold argument or its best alias.
    """
    predicted_by_id = {s["id"]: s for s in predicted_sentences}
    counts = {}
    for sentence in gold_sentences:
        golds = {}
        for event in sentence.get("event_list") or []:
            for arg in event["arguments"]:
                names = [arg["argument"]] + list(arg.get("alias") or [])
                golds.setdefault((event["event_type"], arg["role"]), []).append(names)
        predicted = {}
        for event in predicted_by_id.get(sentence["id"], {}).get("event_list", []):
            for role, argument in dict.fromkeys((a["role"], a["argument"]) for a in event["arguments"]):
                predicted.setdefault((event["event_type"], role), []).append(argument)
        for key in golds.keys() | predicted.keys():
            c = counts.setdefault(key, [0.0, 0, 0])
            arguments, gold_args = predicted.get(key, []), golds.get(key, [])
            c[1] += len(arguments)
            c[2] += len(gold_args)
            pairs = sorted(((max(char_f1(name, a) for name in names), i, j)
                            for j, a in enumerate(arguments) for i, names in enumerate(gold_args)), reverse=True)
            used_gold, used_pred = set(), set()
            for pair_score, i, j in pairs:
                if i not in used_gold and j not in used_pred:
                    used_gold.add(i)
                    used_pred.add(j)
                    c[0] += pair_score
    return counts


def duee_scores(gold_sentences, predicted_sentences):
    """Argument-level P/R/F1 (see duee_counts)."""
    counts = duee_counts(gold_sentences, predicted_sentences).values()
    return prf(*(sum(c[i] for c in counts) for i in range(3)))
