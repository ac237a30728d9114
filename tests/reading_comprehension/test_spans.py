"""DuReader_robust windows, training targets, and the vectorized span search."""
import numpy as np
import pytest

from reading_comprehension.dureader import Question, load
from reading_comprehension import spans


@pytest.mark.parametrize("maxlen", [128, 80])
def test_gold_targets_decode_to_the_gold_answer(sample_dir, tokenizer, maxlen):
    total = beyond_first_window = 0
    for split in ("train.json", "dev.json"):
        for q in load(str(sample_dir / "reading_comprehension" / split), report=False):
            assert q.found, q.id  # the sample answers are all in their contexts
            _, windows = spans.encode_question(tokenizer, q, 64, maxlen)
            decoded = spans.decode_gold(tokenizer, q, maxlen)
            assert decoded and set(decoded) <= {text for _, text in q.found}, q.id
            total += 1
            beyond_first_window += not windows[0].holds_answer
    # the sample data is meant to exercise long contexts: a real share of answers lies past the first window
    assert beyond_first_window / total > 0.1


def test_answer_beyond_the_first_window(tokenizer):
    context = "这是无关的句子。" * 60 + "答案是北京大学。" + "这是结尾。" * 30
    start = context.index("北京大学")
    q = Question("q", "答案是什么？", context, ["北京大学"], [(start, "北京大学")])
    _, windows = spans.encode_question(tokenizer, q, 64, 64)
    assert len(windows) > 3 and not windows[0].holds_answer  # [CLS] target: no answer in the first window
    assert spans.decode_gold(tokenizer, q, 64)[0] == "北京大学"


def test_collate_masks_context_and_cls_only(tokenizer):
    q = Question("q", "问题？", "上下文很短。", ["很短"], [(3, "很短")])
    _, windows = spans.encode_question(tokenizer, q, 64, 64)
    batch = spans.collate(windows)
    span_mask, segment_ids, starts, ends = batch["span_mask"], batch["Input-Segment"], batch["start"], batch["end"]
    w = windows[0]
    n = len(w.token_ids)
    assert span_mask[0, 0] == 1 and not span_mask[0, 1:w.offset].any()  # question is never an answer
    assert span_mask[0, w.offset:n - 1].all() and span_mask[0, n - 1] == 0  # final [SEP] neither
    assert (segment_ids[0, w.offset:n] == 1).all() and not segment_ids[0, :w.offset].any()
    assert starts[0] == w.offset + 3 and ends[0] == starts[0] + 1  # 很, 短
    whole = spans.collate(windows, whole_window=True)["span_mask"]  # the 2020 design: the question too
    assert whole[0, :n - 1].all() and whole[0, n - 1] == 0


def test_negatives_are_drawn_per_epoch_in_a_fixed_number(tokenizer):
    context = "这是无关的句子。" * 60 + "答案是北京大学。"
    q = Question("q", "答案是什么？", context, ["北京大学"], [(context.index("北京大学"), "北京大学")])
    _, windows = spans.encode_question(tokenizer, q, 64, 64)
    negatives = sum(not w.holds_answer for w in windows)
    sample = spans.negative_sampler(0.5)
    drawn = [sample(windows, np.random.default_rng([0, epoch])) for epoch in range(3)]
    assert all(len(d) == len(windows) - negatives + round(0.5 * negatives) for d in drawn)
    assert all(any(w.holds_answer for w in d) for d in drawn)  # every window with the answer, every epoch
    assert len({tuple(id(w) for w in d) for d in drawn}) > 1  # other negatives in other epochs


def test_answer_length_limit_ignores_rare_long_answers():
    windows = [spans.Example("q", [], None, 0, (5, 5 + n - 1)) for n in [2] * 95 + [3] * 4 + [60]]
    assert spans.answer_length_limit(windows) == 8  # at least 8, far below the one 60-token outlier
    windows = [spans.Example("q", [], None, 0, (5, 5 + n - 1)) for n in range(1, 41)]
    assert spans.answer_length_limit(windows) == 40


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
