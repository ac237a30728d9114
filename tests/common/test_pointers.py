"""Pointer decoding the extraction heads share: nearest ends, caps on the strongest spans."""
import numpy as np

from common.pointers import decode_classes, decode_spans


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
