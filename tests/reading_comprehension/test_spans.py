"""DuReader_robust windows, training targets, the vectorized span search, and the ways an ensemble combines its
members' start and end distributions."""
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


def test_mixture_span_search_scores_the_weighted_mixture_of_the_members_span_distributions():
    rng = np.random.default_rng(2)
    start, end = rng.normal(size=(3, 4, 20)), rng.normal(size=(3, 4, 20))
    start[:, :, :2] = -np.inf  # no answer may start there
    start[:, 0, 3], end[:, 0, 8] = 6.0, 6.0  # the likeliest pair is 6 tokens long: too long for 5
    weights = np.array([0.5, 0.3, 0.2])
    starts, ends, scores = spans.mixture_spans(start, end, 5, weights)
    for row in range(4):  # every allowed span, scored directly
        scored = {(i, j): np.log(sum(w * np.exp(start[m, row, i] + end[m, row, j]) for m, w in enumerate(weights)))
                  for i in range(2, 20) for j in range(i, min(20, i + 5))}
        best = max(scored, key=scored.get)
        assert (starts[row], ends[row]) == best and np.isclose(scores[row], scored[best])
    for got, expected in zip(spans.mixture_spans(start[:1], end[:1], 5, [1.0]), spans.best_spans(start[0], end[0], 5)):
        np.testing.assert_allclose(got, expected)


class Member:
    """A stand-in for a predict model: the same start and end log-probabilities for any batch."""

    def __init__(self, start, end):
        self.outputs = [start, end]

    def calls(self, run):
        return lambda inputs: self.outputs


def test_each_combining_rule_picks_the_span_its_definition_scores_best():
    rng = np.random.default_rng(3)
    batch, length, max_answer_len = 40, 6, 4
    weights = np.array([0.6, 0.4])

    def log_softmax(x):
        return (x - np.logaddexp.reduce(x, axis=-1, keepdims=True)).astype("float32")

    start, end = (log_softmax(2 * rng.normal(size=(2, batch, length))) for _ in range(2))
    members = [Member(start[m], end[m]) for m in range(2)]
    predictor = spans.Predictor(None, members, 64, max_answer_len=max_answer_len, weights=weights)
    allowed = np.ones((batch, length), bool)
    allowed[:, 0] = False  # [CLS]
    p_start, p_end = np.exp(start.astype("float64")), np.exp(end.astype("float64"))
    definitions = {  # the score of span (i, j) in row b under each rule
        "probabilities": lambda b, i, j: np.log(weights @ p_start[:, b, i]) + np.log(weights @ p_end[:, b, j]),
        "log-probabilities": lambda b, i, j: weights @ start[:, b, i] + weights @ end[:, b, j],
        "span probabilities": lambda b, i, j: np.log(weights @ (p_start[:, b, i] * p_end[:, b, j]))}
    picked = {}
    for rule, score in definitions.items():
        starts, ends, _ = predictor.spans([m.outputs for m in members], allowed, rule)
        for b in range(batch):
            candidates = [(i, j) for i in range(1, length) for j in range(i, min(length, i + max_answer_len))]
            assert (starts[b], ends[b]) == max(candidates, key=lambda s: score(b, *s)), (rule, b)
        picked[rule] = list(zip(starts, ends))
    # the rules disagree on some rows: the test tells them apart
    assert any(len({picked[rule][b] for rule in definitions}) == 3 for b in range(batch))
    one = spans.Predictor(None, members[:1], 64, max_answer_len=max_answer_len)
    for rule in definitions:  # one model is that model, whatever the rule
        for got, expected in zip(one.spans([members[0].outputs], allowed, rule),
                                 spans.best_spans(np.where(allowed, start[0], -np.inf),
                                                  np.where(allowed, end[0], -np.inf), max_answer_len)):
            np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="'mean' is not one of probabilities, log-probabilities, span probabilities"):
        predictor.predict([], rules=["mean"])
