"""DuEE classes, the encodings of the heads and their decoders, the span loss, the per-class CRF, Viterbi."""
import itertools
import os
import types

import numpy as np
import pytest

from event_extraction import duee, events
from event_extraction.decoding import NO_PATH, decode_class_crf, decode_span_scores, tag_spans, viterbi
from event_extraction.heads import HEADS, arguments, span
from event_extraction.track import Config

SCHEMA = os.path.join("synthetic", "resources", "duee1_schema.json")


@pytest.fixture(scope="module")
def classes():
    return events.Classes.from_schema(duee.load_schema(SCHEMA))


def decode(tokenizer, sentence, classes, maxlen, head):
    """A sentence's events decoded from its own encoded labels under `head` (what the head can hold)."""
    return events.decode_gold(tokenizer, sentence, classes, Config(maxlen=maxlen, head=head), HEADS[head])


def event_sentence(text, *events):
    """A loaded DuEE sentence from events (event_type, trigger, [(role, argument)]), each trigger and argument
    at its first occurrence in the text."""
    loaded = [{"event_type": t, "trigger": trigger, "trigger_start": text.index(trigger),
               "arguments": [(r, text.index(v), v) for r, v in arguments]} for t, trigger, arguments in events]
    return {"text": text, "events": loaded,
            "arguments": [(e["event_type"], r, start, v) for e in loaded for r, start, v in e["arguments"]]}


def flat(decoded):
    """Sorted (event_type, role, argument) of decoded events, once per event holding it."""
    return sorted((t, r, a) for t, _, arguments in decoded for r, a in dict.fromkeys(arguments))


def gold_of(s):
    """The same of a sentence's gold events."""
    return sorted((e["event_type"], r, v) for e in s["events"]
                  for r, v in dict.fromkeys((r, v) for r, _, v in e["arguments"]))


def test_real_schema_sizes(classes):
    assert len(classes) == 217 and classes.n_tags == 435 and len(classes.types) == 65


OVERLAPS = {
    # the same span in two events' roles (the winner is also the champion)
    "shared": event_sentence("9月9日，湖人队击败火箭队，夺得总冠军。",
                             ("竞赛行为-胜负", "击败", [("时间", "9月9日"), ("胜者", "湖人队"), ("败者", "火箭队")]),
                             ("竞赛行为-夺冠", "夺得", [("时间", "9月9日"), ("冠军", "湖人队")])),
    # nested spans: the place inside the building
    "nested": event_sentence("昨日，北京火车站发生爆炸并起火。",
                             ("灾害/意外-爆炸", "爆炸", [("地点", "北京火车站"), ("时间", "昨日")]),
                             ("灾害/意外-起火", "起火", [("地点", "北京")])),
    # the same span in two roles of one event
    "two roles": event_sentence("张三为自己庆祝30岁生日。",
                                ("人生-庆生", "庆祝", [("庆祝方", "张三"), ("生日方", "张三"), ("生日方年龄", "30岁")])),
}
# two events of one type sharing arguments: the trigger head keeps them apart, each with its own arguments
SAME_TYPE = event_sentence("9月9日，在世锦赛中，湖人队击败火箭队，热火队战胜勇士队。",
                           ("竞赛行为-胜负", "击败", [("时间", "9月9日"), ("赛事名称", "世锦赛"), ("胜者", "湖人队"),
                                                    ("败者", "火箭队")]),
                           ("竞赛行为-胜负", "战胜", [("时间", "9月9日"), ("赛事名称", "世锦赛"), ("胜者", "热火队"),
                                                    ("败者", "勇士队")]))


@pytest.mark.parametrize("case", list(OVERLAPS))
def test_span_and_trigger_heads_represent_overlapping_arguments_the_tags_cannot(tokenizer, classes, case):
    s = OVERLAPS[case]
    gold = gold_of(s)
    for head in ("trigger", "pointer", "span"):
        assert flat(decode(tokenizer, s, classes, 64, head)) == gold, head
    tagged = flat(decode(tokenizer, s, classes, 64, "crf"))
    assert set(tagged) < set(gold)  # one tag per token loses an overlapping argument
    _, lost, _ = events.make_examples(tokenizer, s, classes, 64)
    assert len(set(gold) - set(tagged)) == len(lost)


@pytest.mark.parametrize("head", ["trigger", "pointer"])
def test_trigger_heads_keep_two_events_of_one_type_apart(tokenizer, classes, head):
    decoded = decode(tokenizer, SAME_TYPE, classes, 64, head)
    assert sorted(decoded) == sorted([
        ("竞赛行为-胜负", "击败", [("时间", "9月9日"), ("赛事名称", "世锦赛"), ("胜者", "湖人队"), ("败者", "火箭队")]),
        ("竞赛行为-胜负", "战胜", [("时间", "9月9日"), ("赛事名称", "世锦赛"), ("胜者", "热火队"), ("败者", "勇士队")])])
    merged = decode(tokenizer, SAME_TYPE, classes, 64, "span")
    assert len(merged) == 1 and len(flat(merged)) == 6  # one event: the shared time and match once
    gold = [{"id": "1", "event_list": [{"event_type": t, "arguments": [{"role": r, "argument": v} for r, _, v in a]}
                                       for t, a in ((e["event_type"], e["arguments"]) for e in SAME_TYPE["events"])]}]
    scored = {h: duee.scores(gold, [{"id": "1", "event_list": events.event_list(
        decode(tokenizer, SAME_TYPE, classes, 64, h))}])["recall"] for h in (head, "span")}
    assert scored == {head: 1.0, "span": 0.75}


def test_argument_cut_by_a_window_border_is_read_from_the_next_window(tokenizer, classes):
    filler = "这是一段没有事件的说明文字。" * 5
    s = event_sentence(filler + "昨日，北京火车站发生爆炸。" + filler,
                       ("灾害/意外-爆炸", "爆炸", [("地点", "北京火车站"), ("时间", "昨日")]))
    tokens = len(tokenizer.tokenize(s["text"])) - 2
    for maxlen in (16, 20, 24, 30, 34):  # window borders at many places, some inside the arguments
        examples, _, _ = events.make_examples(tokenizer, s, classes, maxlen)
        assert len(examples) > 2 and tokens > maxlen
        for head in ("span", "crf"):
            assert flat(decode(tokenizer, s, classes, maxlen, head)) == gold_of(s), (maxlen, head)
        # the trigger heads read an argument from a window that holds it whole with its trigger: sure when
        # the two lie within half a window (here 12 tokens from 昨日 to 爆炸)
        for head in ("trigger", "pointer"):
            trigger_head = flat(decode(tokenizer, s, classes, maxlen, head))
            assert set(trigger_head) <= set(gold_of(s))
            if (maxlen - 2) // 2 >= 12:
                assert trigger_head == gold_of(s), (maxlen, head)


def test_round_trip_of_the_sample_and_the_hard_data(sample_dir, hard_dir, tokenizer):
    for directory in (sample_dir, hard_dir):
        path = directory / "event_extraction"
        classes = events.Classes.from_schema(duee.load_schema(str(path / "event_schema.json")))
        sentences = duee.load(str(path / "dev.json"), None, report=False)
        recall = {}
        for head in ("trigger", "pointer", "span", "crf"):
            decoded = [decode(tokenizer, s, classes, 128, head) for s in sentences]
            for s, d in zip(sentences, decoded):
                assert set(flat(d)) <= set(gold_of(s))  # nothing invented
            scores = duee.scores(sentences, [{"id": s["id"], "event_list": events.event_list(d)}
                                             for s, d in zip(sentences, decoded)])
            assert scores["precision"] == 1.0
            recall[head] = scores["recall"]
        if directory == hard_dir:  # overlapping arguments (about 10%), events of one type sharing arguments (5%)
            assert min(recall["trigger"], recall["pointer"]) >= 0.99, recall
            assert recall["crf"] < recall["span"] < min(recall["trigger"], recall["pointer"]), recall
        else:
            assert recall["trigger"] == recall["pointer"] == recall["span"] == 1.0 and recall["crf"] < 1.0, recall


def test_class_crf_likelihood_and_decoding_equal_brute_force():
    from common.env import tf

    rng = np.random.default_rng(3)
    b, t, c = 2, 5, 3
    emissions = rng.normal(size=(b, t, c, 3)).astype("float32")
    trans = rng.normal(size=(c, 3, 3)).astype("float32")
    tags = rng.integers(0, 3, size=(b, t, c))
    tags[:, 0] = 0
    tags[tags == 2] = 1  # every path starts its spans with B: a valid path
    lengths = np.array([5, 3])
    mask = (np.arange(t)[None] < lengths[:, None]).astype("float32")
    nll = arguments.class_crf_nll(tf.constant(emissions), tf.constant(tags), tf.constant(mask), tf.constant(trans)).numpy()
    allowed = lambda path: path[0] != 2 and all(not (x == 0 and y == 2) for x, y in zip(path, path[1:]))  # noqa: E731
    for k in range(b):
        n = lengths[k]
        for cls in range(c):
            score = lambda path: (sum(emissions[k, i, cls, y] for i, y in enumerate(path))  # noqa: E731
                                  + sum(trans[cls, x, y] for x, y in zip(path, path[1:])))
            paths = [p for p in itertools.product(range(3), repeat=n) if allowed(p)]
            log_z = np.logaddexp.reduce([score(p) for p in paths])
            assert nll[k, cls] == pytest.approx(log_z - score(tuple(tags[k, :n, cls])), rel=1e-4, abs=1e-4)
            best = max((p for p in paths if p[0] == 0), key=score)  # [CLS] is O
            [(found, _)] = decode_class_crf(emissions[k, :n], n - 2, trans, [cls])
            expected = [(cls, f + 1, l + 1) for _, f, l in tag_spans(best[1:n - 1])]
            assert found == expected



def test_the_argument_threshold_decodes_as_trained_at_one_half_and_tags_more_tokens_below():
    rng = np.random.default_rng(5)
    n_classes, n = 3, 6
    emissions = rng.normal(size=(n + 2, n_classes, 3)).astype("float32")
    trans = rng.normal(size=(n_classes, 3, 3)).astype("float32")
    as_trained = [decode_class_crf(emissions, n, trans, [c])[0][0] for c in range(n_classes)]
    classes = types.SimpleNamespace(type_classes=[[c] for c in range(n_classes)])
    [(found, _)] = arguments.trigger_events(emissions, n, trans, classes, range(n_classes))
    assert [a for _, a in found] == as_trained  # 0.5: the emissions untouched, bit for bit
    thresholds = (0.8, 0.5, 0.3, 0.1, 0.02)
    together = arguments.trigger_events(emissions, n, trans, classes, range(n_classes), argument_thresholds=thresholds)
    allowed = lambda path: all(not (x == 0 and y == 2) for x, y in zip(path, path[1:]))  # noqa: E731
    paths = [(0,) + p for p in itertools.product(range(3), repeat=n + 1) if allowed((0,) + p)]  # [CLS] is O
    tagged = []
    for threshold, (found, _) in zip(thresholds, together):  # decoded as one batch: each as the brute-force best
        bias = np.log(threshold / (1 - threshold))  # every O tag pays it
        for c, (_, spans) in enumerate(found):
            score = lambda path: (sum(emissions[i, c, y] + bias * (y == 0) for i, y in enumerate(path))  # noqa: E731
                                  + sum((trans[c] + NO_PATH)[x, y] for x, y in zip(path, path[1:])))
            assert spans == [(c, f + 1, l + 1) for _, f, l in tag_spans(max(paths, key=score)[1:n + 1])]
        tagged.append(sum(l - f + 1 for _, spans in found for _, f, l in spans))
    assert tagged == sorted(tagged) and tagged[0] < tagged[-1], tagged


def test_arguments_of_many_settings_decoded_together_equal_each_decoded_alone():
    """arguments.settings_events decodes the triggers once per trigger threshold, scores each (window, trigger) pair
    once and decodes it per argument threshold; the caps' cuts are those of the first setting."""
    rng = np.random.default_rng(7)
    n_classes, n_windows, width = 4, 3, 9
    classes = types.SimpleNamespace(type_classes=[[0, 1], [2, 3]])
    states = rng.normal(size=(n_windows, width, 5)).astype("float32")
    weights = rng.normal(size=(5, n_classes * 3)).astype("float32")
    trans = rng.normal(size=(n_classes, 3, 3)).astype("float32")

    def scores(inputs):  # the argument stage: each row's states, shifted by its trigger's first token
        rows, spans = inputs
        return ((rows + rows[np.arange(len(rows)), spans[:, 0]][:, None]) @ weights).reshape(len(rows), width,
                                                                                            n_classes, 3)

    member = types.SimpleNamespace(arguments=scores, transitions=lambda: trans)
    examples = [types.SimpleNamespace(window=types.SimpleNamespace(length=width - 2 - k)) for k in range(n_windows)]
    triggers = {0.3: [({(1, 2): [0, 1], (4, 4): [1]}, 2), ({(2, 3): [0]}, 0), ({}, 1)],  # per window, with cuts
                0.7: [({(1, 2): [0]}, 0), ({}, 0), ({(5, 6): [1]}, 4)]}
    settings = [{"threshold": t, "argument_threshold": a} for t, a in ((0.3, 0.5), (0.7, 0.2), (0.3, 0.2), (0.7, 0.5))]

    def decoded(chosen, batch_size, cap=64):
        predictor = types.SimpleNamespace(members=[member], average=lambda outputs: outputs[0], batch_size=batch_size,
                                          classes=classes, config=Config(max_trigger_arguments=cap), cut=[0, 0])
        calls = []
        found = arguments.settings_events(predictor, examples, [states], chosen,
                                          lambda threshold: calls.append(threshold) or triggers[threshold])
        assert sorted(calls) == sorted({s["threshold"] for s in chosen})  # once per trigger threshold
        assert predictor.cut[0] == sum(cut for _, cut in triggers[chosen[0]["threshold"]])
        return found, predictor.cut[1]

    alone = [(found[0], cut) for found, cut in (decoded([setting], 32) for setting in settings)]
    for batch_size in (32, 1):
        found, cut = decoded(settings, batch_size)
        assert found == [a for a, _ in alone] and cut == alone[0][1]
    assert alone[0] != alone[2] and sum(len(a) for w in alone[0][0] for _, _, a in w) > 0  # the threshold tells
    capped = [(found[0], cut) for found, cut in (decoded([setting], 32, cap=1) for setting in settings)]
    found, cut = decoded(settings, 32, cap=1)
    assert found == [a for a, _ in capped] != [a for a, _ in alone] and cut == capped[0][1] > 0  # per setting


def test_the_argument_loss_trains_without_onednn_s_error_line_about_booleans():
    """On CPUs whose oneDNN lacks booleans, a transposed boolean (the CRF's mask once was) prints "E0000 ...
    oneDNN supports DT_BOOL only on platforms with AVX-512" into every event extraction training: an error line
    that is none. The argument loss and its gradient print nothing; where a transposed boolean prints nothing
    either, the check cannot fail and is skipped."""
    from tests.conftest import run

    step = ("import numpy as np, types; from common.env import tf; from event_extraction.heads import arguments\n"
            "e = tf.Variable(np.random.default_rng(0).normal(size=(2, 6, 3, 3)).astype('float32'))\n"
            "mask = tf.constant([[1.0] * 6, [1.0] * 4 + [0.0] * 2])\n"
            "trans = types.SimpleNamespace(trans=tf.Variable(np.zeros((3, 3, 3), 'float32')))\n"
            "@tf.function\ndef step():\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = arguments.argument_loss(tf.zeros((2, 6, 3), tf.int32), e, tf.ones((2, 1)), "
            "tf.ones((2, 3)), mask, trans, per='row')\n"
            "    return tape.gradient(loss, [e, trans.trans])\n"
            "step()\n")
    line = "oneDNN supports DT_BOOL"
    result = run("-c", step)
    assert result.returncode == 0 and line not in result.stderr, result.stderr[-2000:]
    control = run("-c", "from common.env import tf\ntf.function(lambda x: tf.transpose(x > 0))(tf.ones((2, 3)))")
    if line not in control.stderr:
        pytest.skip("this CPU's oneDNN takes booleans: a transposed boolean prints nothing here either")


def test_argument_loss_per_row_weighs_every_trigger_row_alike_however_long():
    """The trigger head takes its argument loss per row, as its trigger loss; per token (the pointer head's) a row
    counts by its length. Rows without a trigger count in neither."""
    from common.env import tf

    rng = np.random.default_rng(5)
    b, t, c = 3, 6, 2
    emissions = tf.constant(rng.normal(size=(b, t, c, 3)).astype("float32"))
    tags = np.zeros((b, t, c), "int32")
    tags[0, 2, 0], tags[1, 1, 1] = 1, 1
    mask = tf.constant((np.arange(t)[None] < np.array([6, 3, 4])[:, None]).astype("float32"))
    has_trigger = tf.constant([[1.0], [1.0], [0.0]])
    row_classes = tf.ones((b, c))
    transitions = types.SimpleNamespace(trans=tf.constant(rng.normal(size=(c, 3, 3)).astype("float32")))
    nll = arguments.class_crf_nll(emissions, tf.constant(tags), mask, transitions.trans).numpy().sum(-1)
    loss = {per: float(arguments.argument_loss(tf.constant(tags), emissions, has_trigger, row_classes, mask,
                                               transitions, per=per)) for per in ("row", "token")}
    assert loss["row"] == pytest.approx((nll[0] + nll[1]) / 2, rel=1e-5)
    assert loss["token"] == pytest.approx((nll[0] + nll[1]) / (6 + 3), rel=1e-5)


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
    valid = span.valid_spans(tf.constant(start_ok), tf.constant(end_ok), longest)
    got = span.span_loss(*map(tf.constant, (shared, start, end)), valid, tf.constant(labels)).numpy()
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
    spans, cut = decode_span_scores(shared, start, end, ok, ok, 4)
    brute = sorted((k, i, j) for k in range(c) for i in range(t) for j in range(i, min(t, i + 4))
                   if ok[i] and ok[j] and shared[i, j] + start[k, i] + end[k, j] > 0)
    assert spans == brute and cut == 0 and brute
    capped, cut = decode_span_scores(shared, start, end, ok, ok, 4, cap=2)
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
    paths, scores = viterbi(emissions, lengths, trans, allowed)
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
    assert tag_spans([0, 1, 2, 2, 0, 3, 1, 2]) == [(0, 1, 3), (1, 5, 5), (0, 6, 7)]


def test_limits_and_prior_come_from_the_training_data(tokenizer, classes):
    s = OVERLAPS["shared"]
    examples, _, _ = events.make_examples(tokenizer, s, classes, 64)
    longest, most = events.span_limits(examples)
    assert longest >= max(l - f + 1 for _, f, l in examples[0].spans) and most >= len(examples[0].spans)
    prior = span.span_prior(examples, len(classes), longest)
    assert 0 < prior < len(examples[0].spans) / len(classes)


def test_the_dev_search_covers_every_threshold_of_the_head():
    from common.track import THRESHOLD_GRID
    from event_extraction.track import threshold_grid

    for head, names in (("trigger", {"threshold", "argument_threshold"}), ("pointer", {"threshold", "argument_threshold"}),
                        ("span", {"threshold"}), ("crf", set())):
        grid = threshold_grid(Config(head=head))
        assert len(grid) == (len(THRESHOLD_GRID) ** len(names) if names else 0), head
        assert all(set(setting) == names for setting in grid) and len({tuple(s.items()) for s in grid}) == len(grid)
        assert not names or {k: 0.5 for k in names} in grid
    grid = threshold_grid(Config(threshold=0.33, argument_threshold=0.42))  # a start off the grid is searched too
    assert len(grid) == (len(THRESHOLD_GRID) + 1) ** 2 and {"threshold": 0.33, "argument_threshold": 0.42} in grid
