"""DuReader_robust files: the data (SQuAD-style), the official F1/EM, the submission and its check.

A file is one JSON document {"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}; the submission one JSON object {question id: answer}.
"""
import json
from collections import Counter
from dataclasses import dataclass, field

from common.data import DataError, Skips, check_counts, locate, nonempty, read_json_document, require
from common.files import write_atomically

FILES = {  # the LIC2020 names first, then those of the later releases
    "train": ["train.json", "dureader_robust-data/train.json"],
    "dev": ["dev.json", "dureader_robust-data/dev.json"],
    "test": ["test1.json", "test2.json", "test.json", "dureader_robust-data/test1.json",
             "dureader_robust-data/test2.json", "dureader_robust-test1/test1.json"],
}


@dataclass
class Question:
    id: str
    question: str
    context: str
    answers: list = field(default_factory=list)  # every gold answer text (for scoring)
    found: list = field(default_factory=list)    # (char start, text) of the answers found in the context


def load(path, report=True, require_items=False):
    """Questions of a DuReader_robust file (train, dev or test)."""
    doc = read_json_document(path)
    where = f"{path}:1"
    if not isinstance(doc, dict):
        raise DataError(f"{where}: expected an object with key 'data'")
    skips, questions, seen = Skips(path, "answers"), [], set()
    for i, article in enumerate(require(doc, "data", list, where)):
        for j, paragraph in enumerate(require(article, "paragraphs", list, f"{where}: data[{i}]")):
            at = f"{where}: data[{i}].paragraphs[{j}]"
            context = require(paragraph, "context", str, at)
            for k, qa in enumerate(require(paragraph, "qas", list, at)):
                q_at = f"{at}.qas[{k}]"
                if not isinstance(qa, dict):
                    raise DataError(f"{q_at}: expected an object")
                qid = require(qa, "id", (str, int), q_at)
                if qid in seen:
                    raise DataError(f"{q_at}: question id {qid!r} appears twice")
                seen.add(qid)
                question = Question(str(qid), require(qa, "question", str, q_at), context)
                for a, answer in enumerate(qa.get("answers") or []):
                    text = require(answer, "text", str, f"{q_at}.answers[{a}]")
                    question.answers.append(text)
                    start = locate(context, text, answer.get("answer_start"))
                    if start < 0:
                        skips.skip("answers not found in their context")
                    else:
                        skips.keep()
                        question.found.append((start, text))
                questions.append(question)
    if report:
        skips.report()
    return nonempty(path, questions, "question") if require_items else questions


# ---------------------------------------------------------------- the official metric

# The official list; "……" is two characters and so never matches one character.
PUNCTUATION = {":", "_", "`", "，", "。", "：", "？", "！", "(", ")", "“", "”", "；", "’", "《", "》",
                  "……", "·", "、", ",", "「", "」", "（", "）", "－", "～", "『", "』", "|"}


def _is_cjk(ch):
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def normalize(text):
    """Lower-case and drop the official punctuation."""
    return "".join(ch for ch in text.lower() if ch not in PUNCTUATION)


def tokens(text):
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


def f1(answers, prediction):
    """Best F1 over the gold answers; overlap = longest common run of tokens."""
    best = 0.0
    pred = tokens(normalize(prediction))
    for answer in answers:
        gold = tokens(normalize(answer))
        overlap = longest_common_run(gold, pred)
        if overlap:
            p, r = overlap / len(pred), overlap / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


def em(answers, prediction):
    return float(any(normalize(a) == normalize(prediction) for a in answers))


def official_scores(references, predictions):
    """Official-format scores: references {id: [answers]}, predictions {id: answer}."""
    f1_sum = em_sum = 0.0
    skip = 0
    for qid, answers in references.items():
        if qid not in predictions:
            skip += 1
            continue
        f1_sum += f1(answers, predictions[qid])
        em_sum += em(answers, predictions[qid])
    total = len(references)
    return {"F1": f"{100 * f1_sum / total if total else 0:.3f}", "EM": f"{100 * em_sum / total if total else 0:.3f}",
            "TOTAL": total, "SKIP": skip}


def scores(questions, answers):
    """The official F1 and EM (in points) of {id: answer} against the questions' gold answers."""
    official = official_scores({q.id: q.answers for q in questions}, answers)
    return {"f1": float(official["F1"]), "em": float(official["EM"]), "total": official["TOTAL"],
            "skip": official["SKIP"]}


# ---------------------------------------------------------------- submission

def write_submission(path, question_ids, answers):
    """{id: answer} for every id of the test file ("" where nothing was predicted)."""
    unknown = set(answers) - set(question_ids)
    if unknown:
        raise ValueError(f"answers for {len(unknown)} ids that are not in the test file, e.g. {min(unknown)!r}")
    doc = {qid: answers.get(qid, "") for qid in question_ids}
    write_atomically(path, lambda f: f.write(json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")))


def read_predictions(path):
    """{question id: answer} of a submission."""
    doc = read_json_document(path)
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected one JSON object {{question_id: answer}}")
    return doc


def check_submission(test_path, submission_path):
    problems = []
    questions = load(test_path, report=False, require_items=True)
    doc = read_json_document(submission_path)
    if not isinstance(doc, dict):
        return [f"{submission_path}: expected one JSON object {{question_id: answer}}"], 0
    check_counts(problems, Counter(q.id for q in questions), Counter(doc.keys()), "question id")
    contexts = {q.id: q.context for q in questions}
    for qid, answer in doc.items():
        if not isinstance(answer, str):
            problems.append(f"{submission_path}: the answer of {qid!r} is not a string")
        elif qid in contexts and answer not in contexts[qid]:
            problems.append(f"{submission_path}: the answer of {qid!r} ({answer[:30]!r}) is not a span of its context")
    return problems, len(doc)
