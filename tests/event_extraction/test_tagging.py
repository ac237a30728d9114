"""DuEE tag encoding/decoding and the constrained, vectorized Viterbi decoder."""
import itertools
import os

import numpy as np
import pytest

from common.data import load_duee, load_duee_schema
from event_extraction import tagging

SCHEMA = os.path.join("common", "resources", "duee1_schema.json")


def test_real_schema_sizes():
    tags = tagging.Tags.from_schema(load_duee_schema(SCHEMA))
    assert len(tags.classes) == 217 and tags.size == 435


def test_round_trip_of_sample_sentences(sample_dir, tokenizer):
    path = sample_dir / "event_extraction"
    tags = tagging.Tags.from_schema(load_duee_schema(str(path / "event_schema.json")))
    sentences = load_duee(str(path / "train.json"), None)
    total = found = 0
    for s in sentences:
        gold = {(t, r, v) for t, r, _, v in s["arguments"]}
        decoded = set(tagging.decode_gold(tokenizer, s, tags, 128))
        assert decoded <= gold  # nothing invented
        _, lost = tagging.gold_tags(__import__("common.tokenization", fromlist=["x"]).tokenize(tokenizer, s["text"]),
                                    s["arguments"], tags)
        assert gold - decoded == {a for a in lost}  # only what two roles on one span lose
        total += len(gold)
        found += len(decoded)
    assert found / total > 0.95


def test_long_text_arguments_in_later_windows(tokenizer):
    tags = tagging.Tags([("e", "r1"), ("e", "r2")])
    text = "开头" * 200 + "张三与李四" + "结尾" * 200
    sentence = {"text": text, "arguments": [("e", "r1", 400, "张三"), ("e", "r2", 403, "李四")]}
    assert sorted(tagging.decode_gold(tokenizer, sentence, tags, 40)) == [("e", "r1", "张三"), ("e", "r2", "李四")]


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
    tags = tagging.Tags([("e", "a"), ("e", "b")])  # 5 tags
    allowed = tags.allowed_transitions()
    emissions = rng.normal(size=(4, 6, tags.size)).astype("float32")
    trans = rng.normal(size=(tags.size, tags.size)).astype("float32")
    lengths = np.array([6, 5, 3, 1])
    paths, scores = tagging.viterbi(emissions, lengths, trans, allowed)
    for b, length in enumerate(lengths):
        path, score = brute_force(emissions[b], length, trans, allowed)
        assert tuple(paths[b, :length]) == path
        assert scores[b] == pytest.approx(score, rel=1e-5)
        assert not paths[b, length:].any()


def test_allowed_transitions_forbid_i_after_o_or_other_class():
    tags = tagging.Tags([("e", "a"), ("e", "b")])  # O, B-a, I-a, B-b, I-b
    allowed = tags.allowed_transitions()
    assert not allowed[0, 2] and not allowed[3, 2] and not allowed[4, 2]
    assert allowed[1, 2] and allowed[2, 2] and allowed[0, 1] and allowed[2, 3]


def test_tag_spans():
    assert tagging.tag_spans([0, 1, 2, 2, 0, 3, 1, 2]) == [(0, 1, 3), (1, 5, 5), (0, 6, 7)]
