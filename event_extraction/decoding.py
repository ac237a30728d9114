"""Decoders over numpy that the event extraction heads share: Viterbi, B/I runs, span scores above 0,
and the per-class O/B/I CRFs of the trigger heads' arguments."""
import numpy as np

# O -> I is not a path: an inside tag follows a B or an I of its class
NO_PATH = np.array([[0, 0, -1e4], [0, 0, 0], [0, 0, 0]], "float32")


def viterbi(emissions, lengths, trans, allowed=None):
    """Best tag paths and their scores for a batch, vectorized over batch and tags.

    emissions: (B, T, K); lengths: (B,) real positions, the first of which is
    [CLS] and is forced to tag 0; trans: (K, K), or (B, K, K) for one per sequence; allowed: (K, K) booleans.
    Returns paths (B, T) (tag 0 beyond a length) and scores (B,).
    Cost: O(T * K^2) per sequence, memory O(T * K) for the back-pointers.
    """
    batch, steps, k = emissions.shape
    trans = trans if allowed is None else np.where(allowed, trans, -np.inf)
    score = np.full((batch, k), -np.inf, "float32")
    score[:, 0] = emissions[:, 0, 0]
    back = np.zeros((batch, steps, k), "int32")
    for t in range(1, steps):
        candidates = score[:, :, None] + (trans if trans.ndim == 3 else trans[None])  # (B, from, to)
        best_from = candidates.argmax(1)
        new_score = np.take_along_axis(candidates, best_from[:, None, :], 1)[:, 0] + emissions[:, t]
        active = (t < lengths)[:, None]
        score = np.where(active, new_score, score)
        back[:, t] = np.where(active, best_from, np.arange(k)[None])
    last = score.argmax(1)
    best = score[np.arange(batch), last]
    paths = np.zeros((batch, steps), "int32")
    paths[:, -1] = last
    for t in range(steps - 1, 0, -1):
        paths[:, t - 1] = back[np.arange(batch), t, paths[:, t]]
    paths[np.arange(steps)[None] >= lengths[:, None]] = 0
    return paths, best


def tag_spans(path):
    """[(class, first, last)] positions of the B/I runs of one tag path."""
    spans, current = [], None
    for i, tag in enumerate(path):
        tag = int(tag)
        if current is not None and tag == 2 + 2 * current[0]:
            current[2] = i
            continue
        if current is not None:
            spans.append(tuple(current))
            current = None
        if tag % 2 == 1:
            current = [(tag - 1) // 2, i, i]
    if current is not None:
        spans.append(tuple(current))
    return spans


def decode_span_scores(shared, start, end, start_ok, end_ok, max_span_len, cap=None, threshold=0.0):
    """[(class, first, last)] of one window's spans scoring above `threshold` (a logit), best first if `cap`
    cuts; (spans, cut).

    shared (T, T), start and end (C, T): only spans whose bound shared + max start + max end is
    above the threshold are scored for every class, so the (C, T, T) scores are never formed.
    """
    t = shared.shape[0]
    i, j = np.nonzero(np.triu(np.ones((t, t), bool)) & ~np.triu(np.ones((t, t), bool), max_span_len)
                      & (start_ok[:, None] > 0) & (end_ok[None, :] > 0)
                      & (shared + start.max(0)[:, None] + end.max(0)[None, :] > threshold))
    if not len(i):
        return [], 0
    scores = shared[i, j][:, None] + start[:, i].T + end[:, j].T  # (candidates, C)
    k, c = np.nonzero(scores > threshold)
    found = sorted(zip(scores[k, c].tolist(), c.tolist(), i[k].tolist(), j[k].tolist()), reverse=True)
    cut = max(0, len(found) - cap) if cap is not None else 0
    return sorted((c, f, l) for _, c, f, l in found[:len(found) - cut]), cut


def decode_class_crf(emissions, length, trans, classes, cap=None, o_shifts=(0.0,)):
    """Per shift of the O tag's emissions (`o_shifts`, all decoded as one batch): ([(class, start, end)] positions
    1..length, how many the cap cut). Each class's best O/B/I path (its own CRF) over emissions (T, n_classes, 3),
    for `classes`; the `cap` strongest by their B emission. A shift of 0 decodes the emissions as they are."""
    classes = np.asarray(classes, int)
    columns = np.transpose(emissions[:length + 2, classes], (1, 0, 2))     # (k, length + 2, 3) with [CLS], [SEP]
    shifts = np.array([[s, 0, 0] for s in o_shifts], columns.dtype)[:, None, None]
    batch = (columns[None] + shifts).reshape((-1,) + columns.shape[1:])   # (shifts x k, length + 2, 3)
    paths, _ = viterbi(batch, np.full(len(batch), length + 2), np.tile(trans[classes] + NO_PATH, (len(o_shifts), 1, 1)))
    decoded = []
    for n in range(len(o_shifts)):
        found, scores = [], []
        for k, path in enumerate(paths[n * len(classes):(n + 1) * len(classes)]):
            for _, first, last in tag_spans(path[1:length + 1]):
                found.append((int(classes[k]), first + 1, last + 1))
                scores.append(emissions[first + 1, classes[k], 1])
        if cap is None or len(found) <= cap:
            decoded.append((found, 0))
        else:
            keep = sorted(np.argsort(scores, kind="stable")[::-1][:cap])
            decoded.append(([found[k] for k in keep], len(found) - cap))
    return decoded
