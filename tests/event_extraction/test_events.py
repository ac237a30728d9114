"""DuEE classes, the encodings of the three heads and their decoders, the span loss, constrained Viterbi."""
import itertools
import os

import numpy as np
import pytest

from common.data import load_duee, load_duee_schema
from event_extraction import events

SCHEMA = os.path.join("synthetic", "resources", "duee1_schema.json")


@pytest.fixture(scope="module")
def classes():
    return events.Classes.from_schema(load_duee_schema(SCHEMA))


def sentence(text, *arguments):
    """A loaded DuEE sentence: arguments (event_type, role, argument), located at their first occurrence
    (or at an explicit start: (event_type, role, argument, start))."""
    return {"text": text, "arguments": [(a[0], a[1], a[3] if len(a) > 3 else text.index(a[2]), a[2])
                                        for a in arguments]}


def test_real_schema_sizes(classes):
    assert len(classes) == 217 and classes.n_tags == 435


OVERLAPS = {
    # the same span in two events' roles (the winner is also the champion)
    "shared": sentence("9月9日，湖人队击败火箭队，夺得总冠军。",
                       ("竞赛行为-胜负", "时间", "9月9日"), ("竞赛行为-胜负", "胜者", "湖人队"),
                       ("竞赛行为-胜负", "败者", "火箭队"), ("竞赛行为-夺冠", "时间", "9月9日"),
                       ("竞赛行为-夺冠", "冠军", "湖人队")),
    # nested spans: the place inside the building
    "nested": sentence("昨日，北京火车站发生爆炸并起火。", ("灾害/意外-爆炸", "地点", "北京火车站"),
                       ("灾害/意外-起火", "地点", "北京"), ("灾害/意外-爆炸", "时间", "昨日")),
    # the same span in two roles of one event
    "two roles": sentence("张三为自己庆祝30岁生日。", ("人生-庆生", "庆祝方", "张三"), ("人生-庆生", "生日方", "张三"),
                          ("人生-庆生", "生日方年龄", "30岁")),
}


@pytest.mark.parametrize("case", list(OVERLAPS))
def test_span_head_represents_overlapping_arguments_the_tags_cannot(tokenizer, classes, case):
    s = OVERLAPS[case]
    gold = {(t, r, v) for t, r, _, v in s["arguments"]}
    assert set(events.decode_gold(tokenizer, s, classes, 64, head="span")) == gold
    tagged = set(events.decode_gold(tokenizer, s, classes, 64, head="crf"))
    assert tagged < gold  # one tag per token loses an overlapping argument
    _, lost, _ = events.make_examples(tokenizer, s, classes, 64)
    assert len(gold - tagged) == len(lost)


def test_argument_cut_by_a_window_border_is_read_from_the_next_window(tokenizer, classes):
    filler = "这是一段没有事件的说明文字。" * 5
    s = sentence(filler + "昨日，北京火车站发生爆炸。" + filler, ("灾害/意外-爆炸", "地点", "北京火车站"),
                 ("灾害/意外-爆炸", "时间", "昨日"))
    tokens = len(tokenizer.tokenize(s["text"])) - 2
    for maxlen in (16, 20, 24, 30):  # window borders at many places, some inside the arguments
        examples, _, _ = events.make_examples(tokenizer, s, classes, maxlen)
        assert len(examples) > 2 and tokens > maxlen
        for head in ("span", "crf"):
            assert sorted(events.decode_gold(tokenizer, s, classes, maxlen, head=head)) == sorted(
                (t, r, v) for t, r, _, v in s["arguments"]), (maxlen, head)


def test_round_trip_of_the_sample_and_the_hard_data(sample_dir, hard_dir, tokenizer):
    for directory, tok in ((sample_dir, tokenizer), (hard_dir, tokenizer)):
        path = directory / "event_extraction"
        classes = events.Classes.from_schema(load_duee_schema(str(path / "event_schema.json")))
        recall = {}
        for head in ("span", "crf"):
            found = total = 0
            for s in load_duee(str(path / "dev.json"), None, report=False):
                gold = {(t, r, v) for t, r, _, v in s["arguments"]}
                decoded = set(events.decode_gold(tok, s, classes, 128, head=head))
                assert decoded <= gold  # nothing invented
                found, total = found + len(decoded), total + len(gold)
            recall[head] = found / total
        assert recall["span"] == 1.0 and recall["crf"] < 1.0, recall


def test_span_loss_equals_the_dense_multilabel_cross_entropy():
    from common.env import tf
    from common.losses import multilabel_cross_entropy

    rng = np.random.default_rng(0)
    b, c, t, longest = 3, 4, 9, 4
    shared, start, end = (rng.normal(size=s).astype("float32") * 3 for s in ((b, t, t), (b, c, t), (b, c, t)))
    start_ok, end_ok = np.ones((b, t), "float32"), np.ones((b, t), "float32")
    start_ok[:, 0] = end_ok[:, 0] = 0
    start_ok[1, 6:] = end_ok[1, 6:] = 0
    end_ok[2, 3] = 0
    labels = np.full((b, 3, 3), -1, "int32")
    labels[0] = [(1, 2, 3), (1, 4, 4), (3, 1, 2)]
    labels[2, 0] = (0, 5, 7)
    valid = events.valid_spans(tf.constant(start_ok), tf.constant(end_ok), longest)
    got = events.span_loss(*map(tf.constant, (shared, start, end)), valid, tf.constant(labels)).numpy()
    dense = shared[:, None] + start[:, :, :, None] + end[:, :, None, :]
    y = np.zeros_like(dense)
    for k in range(b):
        for cls, first, last in labels[k]:
            if cls >= 0:
                y[k, cls, first, last] = 1
    mask = np.broadcast_to(valid.numpy()[:, None], dense.shape).reshape(b, c, -1)
    expected = multilabel_cross_entropy(y.reshape(b, c, -1), dense.reshape(b, c, -1), mask).numpy().sum(-1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert set(np.argwhere(valid.numpy()[0])[:, 0].tolist()) <= set(range(1, t))  # never at [CLS]


def test_span_decoding_checks_only_what_can_score_above_zero():
    rng = np.random.default_rng(1)
    c, t = 5, 12
    shared, start, end = rng.normal(size=(t, t)) - 1, rng.normal(size=(c, t)) - 0.5, rng.normal(size=(c, t)) - 0.5
    ok = np.ones(t)
    ok[0] = ok[-1] = 0
    spans, cut = events.decode_span_scores(shared, start, end, ok, ok, 4)
    brute = sorted((k, i, j) for k in range(c) for i in range(t) for j in range(i, min(t, i + 4))
                   if ok[i] and ok[j] and shared[i, j] + start[k, i] + end[k, j] > 0)
    assert spans == brute and cut == 0 and brute
    capped, cut = events.decode_span_scores(shared, start, end, ok, ok, 4, cap=2)
    assert len(capped) == 2 and cut == len(brute) - 2
    scores = {s: shared[s[1], s[2]] + start[s[0], s[1]] + end[s[0], s[2]] for s in brute}
    assert sorted(capped, key=scores.get) == sorted(brute, key=scores.get)[-2:]  # the best two kept


def brute_force(emissions, length, trans, allowed):
    k = emissions.shape[1]
    best, best_path = -np.inf, None
    for rest in itertools.product(range(k), repeat=length - 1):
        path = (0,) + rest
        if not all(allowed[a, b] for a, b in zip(path, path[1:])):
            continue
        score = sum(emissions[t, tag] for t, tag in enumerate(path)) + sum(trans[a, b] for a, b in zip(path, path[1:]))
        if score > best:
            best, best_path = score, path
    return best_path, best


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    classes = events.Classes([("e", "a"), ("e", "b")])  # 5 tags
    allowed = classes.allowed_transitions()
    emissions = rng.normal(size=(4, 6, classes.n_tags)).astype("float32")
    trans = rng.normal(size=(classes.n_tags, classes.n_tags)).astype("float32")
    lengths = np.array([6, 5, 3, 1])
    paths, scores = events.viterbi(emissions, lengths, trans, allowed)
    for b, length in enumerate(lengths):
        path, score = brute_force(emissions[b], length, trans, allowed)
        assert tuple(paths[b, :length]) == path
        assert scores[b] == pytest.approx(score, rel=1e-5)
        assert not paths[b, length:].any()


def test_allowed_transitions_forbid_i_after_o_or_other_class():
    allowed = events.Classes([("e", "a"), ("e", "b")]).allowed_transitions()  # O, B-a, I-a, B-b, I-b
    assert not allowed[0, 2] and not allowed[3, 2] and not allowed[4, 2]
    assert allowed[1, 2] and allowed[2, 2] and allowed[0, 1] and allowed[2, 3]


def test_tag_spans():
    assert events.tag_spans([0, 1, 2, 2, 0, 3, 1, 2]) == [(0, 1, 3), (1, 5, 5), (0, 6, 7)]


def test_limits_and_prior_come_from_the_training_data(tokenizer, classes):
    s = OVERLAPS["shared"]
    examples, _, _ = events.make_examples(tokenizer, s, classes, 64)
    longest, most = events.span_limits(examples)
    assert longest >= max(l - f + 1 for _, f, l in examples[0].spans) and most >= len(examples[0].spans)
    prior = events.span_prior(examples, len(classes), longest)
    assert 0 < prior < len(examples[0].spans) / len(classes)
