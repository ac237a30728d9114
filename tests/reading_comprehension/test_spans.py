"""DuReader_robust windows, training targets, and the vectorized span search."""
import numpy as np
import pytest

from common.data import Question, load_dureader
from reading_comprehension import spans


@pytest.mark.parametrize("maxlen", [128, 80])
def test_gold_targets_decode_to_the_gold_answer(sample_dir, tokenizer, maxlen):
    total = beyond_first_window = 0
    for split in ("train.json", "dev.json"):
        for q in load_dureader(str(sample_dir / "reading_comprehension" / split), report=False):
            assert q.found, q.id  # the sample answers are all in their contexts
            _, windows = spans.encode_question(tokenizer, q, 64, maxlen)
            decoded = spans.decode_gold(tokenizer, q, maxlen)
            assert decoded and set(decoded) <= {text for _, text in q.found}, q.id
            total += 1
            beyond_first_window += windows[0].start == 0
    # the sample data is meant to exercise long contexts: a real share of answers lies past the first window
    assert beyond_first_window / total > 0.1


def test_answer_beyond_the_first_window(tokenizer):
    context = "这是无关的句子。" * 60 + "答案是北京大学。" + "这是结尾。" * 30
    start = context.index("北京大学")
    q = Question("q", "答案是什么？", context, ["北京大学"], [(start, "北京大学")])
    _, windows = spans.encode_question(tokenizer, q, 64, 64)
    assert len(windows) > 3 and windows[0].start == 0  # [CLS] target: no answer in the first window
    assert spans.decode_gold(tokenizer, q, 64)[0] == "北京大学"


def test_collate_masks_context_and_cls_only(tokenizer):
    q = Question("q", "问题？", "上下文很短。", ["很短"], [(3, "很短")])
    _, windows = spans.encode_question(tokenizer, q, 64, 64)
    (token_ids, segment_ids, span_mask), (starts, ends) = spans.collate(windows)
    w = windows[0]
    n = len(w.token_ids)
    assert span_mask[0, 0] == 1 and not span_mask[0, 1:w.context_offset].any()  # question is never an answer
    assert span_mask[0, w.context_offset:n - 1].all() and span_mask[0, n - 1] == 0  # final [SEP] neither
    assert (segment_ids[0, w.context_offset:n] == 1).all() and not segment_ids[0, :w.context_offset].any()
    assert starts[0] == w.context_offset + 3 and ends[0] == starts[0] + 1  # 很, 短


def brute_force(start, end, max_answer_len):
    best = (-np.inf, 0, 0)
    for i in range(len(start)):
        for j in range(i, min(len(start), i + max_answer_len)):
            best = max(best, (start[i] + end[j], i, j), key=lambda x: x[0])
    return best


@pytest.mark.parametrize("seed", range(4))
def test_best_spans_equals_double_loop(seed):
    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=(6, 40)), rng.normal(size=(6, 40))
    start[:, :5] = -np.inf  # positions that may not hold an answer (question, [CLS])
    for max_answer_len in (1, 3, 40):
        starts, ends, scores = spans.best_spans(start, end, max_answer_len)
        for b in range(len(start)):
            score, i, j = brute_force(start[b], end[b], max_answer_len)
            assert (starts[b], ends[b]) == (i, j) and np.isclose(scores[b], score)
            assert starts[b] <= ends[b] < starts[b] + max_answer_len


def test_best_spans_of_a_row_without_allowed_positions():
    start, end = np.full((1, 10), -np.inf), np.zeros((1, 10))
    starts, ends, scores = spans.best_spans(start, end, 4)
    assert scores[0] == -np.inf and 0 <= starts[0] <= ends[0] < 10
