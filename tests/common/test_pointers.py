"""Pointer decoding the extraction heads share: nearest ends, caps on the strongest spans; prior counts."""
from types import SimpleNamespace

import numpy as np

from common.pointers import decode_classes, decode_spans, label_counts


def test_decode_spans_pairs_each_start_with_nearest_end():
    starts = np.array([0, .9, 0, 0, .8, 0, 0, 0])
    ends = np.array([0, 0, .9, 0, 0, 0, .7, 0])
    assert decode_spans(starts, ends, 6) == [(1, 2), (4, 6)]
    assert decode_spans(starts, ends, 5) == [(1, 2)]  # nothing past the length
    assert decode_spans(np.zeros(8), ends, 6) == []


def test_caps_keep_the_strongest_spans():
    starts = np.array([0, .9, .6, .7, .95, 0])
    ends = np.array([0, .9, .8, .6, .95, 0])
    spans = decode_spans(starts, ends, 4)
    assert spans == [(1, 1), (2, 2), (3, 3), (4, 4)]
    kept, cut = decode_classes(np.stack([starts, ends], -1)[:, None], 4, cap=2)
    assert kept == [(0, 1, 1), (0, 4, 4)] and cut == 2
    probs = np.zeros((6, 3, 2))
    probs[[1, 2, 3], 0, :] = [[.9, .9], [.6, .6], [.99, .99]]
    objects, cut = decode_classes(probs, 4, cap=1)
    assert objects == [(0, 3, 3)] and cut == 2


def test_label_counts_for_the_priors():
    """Two windows of 10 and 6 tokens: the first has two anchors, one trained as a row with its targets."""
    first = SimpleNamespace(token_ids=[0] * 10, anchors={(1, 2): [(0, 4, 6), (3, 8, 8)], (5, 5): []})
    second = SimpleNamespace(token_ids=[0] * 6, anchors={})
    rows = [(first, (1, 2)), (first, (5, 5)), (second, None)]
    counts = label_counts(rows, lambda ex: len(ex.anchors), lambda ex, anchor: ex.anchors[anchor])
    # anchors: 2 + 2 + 0; tokens: 10 + 10 + 6; targets: 2 + 0; tokens of anchored rows: 10 + 10; inside: 2 + 0
    assert counts == (4, 26, 2, 20, 2)
