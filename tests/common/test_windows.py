"""Windows cover every character of a long text; a span cut by one border is whole in the next window."""
import random

import pytest

from common.tokenization import tokenize
from common.windows import split_windows


def test_every_token_and_character_is_covered(tokenizer):
    text = "北京是中国的首都，Hello World 2020！" * 40
    tokenized = tokenize(tokenizer, text)
    windows = split_windows(len(tokenized.ids), 50, 20)
    assert windows[0].start == 0 and windows[-1].end == len(tokenized.ids)
    covered = set()
    for w in windows:
        assert w.end - w.start <= 50
        for s, e in tokenized.spans[w.start:w.end]:
            covered.update(range(s, e))
    assert covered >= {i for i, ch in enumerate(text) if not ch.isspace()}


@pytest.mark.parametrize("n, size, stride", [(100, 30, 10), (64, 16, 8), (31, 10, 6), (5, 10, 5)])
def test_span_crossing_a_border_is_whole_in_another_window(n, size, stride):
    windows = split_windows(n, size, stride)
    rng = random.Random(0)
    for _ in range(500):
        length = rng.randint(1, size - stride - 1)
        first = rng.randrange(0, n - length + 1)
        last = first + length - 1
        assert any(w.holds_whole(first, last) for w in windows), (first, last)


def test_holds_whole_rejects_spans_touching_inner_borders():
    first, second = split_windows(20, 10, 5)[:2]
    assert not first.holds_whole(7, 9)   # may continue past token 9
    assert second.holds_whole(7, 9)
    assert first.holds_whole(0, 2)       # the text's own start is no cut


def test_bad_stride():
    with pytest.raises(ValueError):
        split_windows(10, 5, 6)
