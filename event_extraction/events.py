"""DuEE 1.0: (event type, role) classes, three heads over BERT, and decoding into arguments.

Heads (`--head`):
  span  every class scores every span (start, end) at once, so one span may carry several
        classes (the same argument in two roles or two events) and spans may nest or overlap.
        Scores are EfficientGlobalPointer's: s_c(i, j) = shared(i, j) + start_c(i) + end_c(j),
        trained with a multi-label cross-entropy over spans. The (batch, classes, length, length)
        tensor of all scores is never built: the layer returns its three factors, the loss sums
        exp(s_c) over all spans as a matrix product of the factors, and decoding checks only the
        spans whose upper bound shared + max_c start_c + max_c end_c is above 0.
  crf   one B/I tag per token (tag 0 is O; class c has B = 1 + 2c and I = 2 + 2c), BERT + CRF,
        constrained Viterbi; an argument whose tokens another one already holds is lost.
  memm  the same tags with bert4keras's bidirectional maximum-entropy Markov model: a
        softmax per token instead of the CRF's sequence normalisation (faster to train).
"""
from dataclasses import dataclass

import numpy as np

from common.tokenization import tokenize
from common.windows import split_windows

HEADS = ("span", "crf", "memm")


@dataclass
class Classes:
    """The (event type, role) pairs of a schema."""
    pairs: list

    @classmethod
    def from_schema(cls, schema):
        return cls([(event_type, role) for event_type, roles in schema.items() for role in roles])

    def __post_init__(self):
        self._index = {c: i for i, c in enumerate(self.pairs)}

    def __len__(self):
        return len(self.pairs)

    def index(self, event_type, role):
        return self._index[(event_type, role)]

    @property
    def n_tags(self):
        return 1 + 2 * len(self.pairs)

    def allowed_transitions(self):
        """(tags, tags) booleans: an I tag follows only the B or I of its own class."""
        allowed = np.ones((self.n_tags, self.n_tags), bool)
        inside = np.arange(2, self.n_tags, 2)
        allowed[:, inside] = False
        allowed[inside - 1, inside] = True  # B-c -> I-c
        allowed[inside, inside] = True      # I-c -> I-c
        return allowed


# ---------------------------------------------------------------- encoding

def argument_spans(tokenized, arguments, classes):
    """[(class, first token, last token)] of a sentence's arguments, without duplicates, in text order."""
    spans = {}
    for event_type, role, start, value in arguments:
        span = tokenized.token_span(start, start + len(value))
        if span is not None:
            spans[(classes.index(event_type, role),) + span] = None
    return sorted(spans, key=lambda s: (s[1], s[2], s[0]))


def tag_sequence(n_tokens, spans):
    """B/I tags of a text's tokens and the spans one tag per token cannot hold (overlapping an earlier one)."""
    tags = np.zeros(n_tokens, "int32")
    lost = []
    for c, first, last in spans:
        if tags[first:last + 1].any():
            lost.append((c, first, last))
            continue
        tags[first] = 1 + 2 * c
        tags[first + 1:last + 1] = 2 + 2 * c
    return tags, lost


@dataclass
class Example:
    """One window: token ids with [CLS]/[SEP], and its labels in model positions (0 is [CLS])."""
    token_ids: list
    spans: list          # [(class, first, last)] held whole by the window (span head)
    tags: np.ndarray     # B/I tags (crf, memm heads)
    cut_left: bool       # the window starts inside the text: a span at its first token may be cut
    cut_right: bool      # the window ends inside the text


def make_examples(tokenizer, sentence, classes, maxlen, stride=None):
    """(one Example per window, spans a tag sequence cannot hold, all spans)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    spans = argument_spans(tokenized, sentence["arguments"], classes)
    tags, lost = tag_sequence(len(tokenized.ids), spans)
    examples = []
    for w in split_windows(len(tokenized.ids), maxlen - 2, stride):
        window_tags = tags[w.start:w.end].copy()
        if w.start > 0 and window_tags[0] % 2 == 0 and window_tags[0] > 0:
            window_tags[0] -= 1  # an argument cut by the left border starts here as B
        shift = 1 - w.start
        held = [(c, f + shift, l + shift) for c, f, l in spans if w.holds_whole(f, l)]
        ids = [tokenizer._token_start_id] + tokenized.ids[w.start:w.end] + [tokenizer._token_end_id]
        examples.append(Example(ids, held, np.concatenate([[0], window_tags, [0]]).astype("int32"),
                                w.start > 0, w.end < len(tokenized.ids)))
    return examples, lost, spans


def span_limits(examples, margin=1.5, extra=4):
    """(longest span in tokens, most spans per window) the span head allows: from the training data,
    with a margin, so an undertrained model cannot flood a window with long or many spans."""
    longest = max((l - f + 1 for ex in examples for _, f, l in ex.spans), default=8)
    most = max((len(ex.spans) for ex in examples), default=0)
    return int(longest * margin) + extra, int(most * margin * 2) + extra


def span_prior(examples, n_classes, max_span_len):
    """Frequency of a positive among all (class, valid span) pairs of the examples: the span head's
    scores start at its log-odds, so a fresh head predicts what the data holds."""
    positives = candidates = 0
    for e in examples:
        n = len(e.token_ids) - 2
        positives += len(e.spans)
        candidates += sum(min(max_span_len, n - i) for i in range(n))
    return positives / max(1, candidates * n_classes)


def _token_arrays(examples):
    from common.training import padded_length
    n = padded_length(max(len(e.token_ids) for e in examples))
    token_ids = np.zeros((len(examples), n), "int32")
    for i, e in enumerate(examples):
        token_ids[i, :len(e.token_ids)] = e.token_ids
    return token_ids


def span_masks(examples, n):
    """(start_ok, end_ok): where a span may start and end (real tokens, not a border that may cut it)."""
    start_ok = np.zeros((len(examples), n), "float32")
    end_ok = np.zeros((len(examples), n), "float32")
    for i, e in enumerate(examples):
        last = len(e.token_ids) - 2
        start_ok[i, 1:last + 1] = end_ok[i, 1:last + 1] = 1
        if e.cut_left:
            start_ok[i, 1] = 0
        if e.cut_right:
            end_ok[i, last] = 0
    return start_ok, end_ok


def collate(examples, head):
    """Arrays of a batch keyed by the training model's input names."""
    token_ids = _token_arrays(examples)
    batch = {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids)}
    if head == "span":
        batch["span_start_ok"], batch["span_end_ok"] = span_masks(examples, token_ids.shape[1])
        k = max(1, max(len(e.spans) for e in examples))
        labels = np.full((len(examples), k, 3), -1, "int32")  # (class, first, last); -1: padding
        for i, e in enumerate(examples):
            if e.spans:
                labels[i, :len(e.spans)] = e.spans
        batch["span_labels"] = labels
    else:
        tags = np.zeros_like(token_ids)
        for i, e in enumerate(examples):
            tags[i, :len(e.tags)] = e.tags
        batch["tags"] = tags
    return batch


# ---------------------------------------------------------------- models

def _factored_scorer():
    from common.env import keras, tf
    from common.losses import prior_logit
    from bert4keras.backend import apply_rotary_position_embeddings
    from bert4keras.layers import EfficientGlobalPointer, SinusoidalPositionEmbedding

    class FactoredSpanScores(EfficientGlobalPointer):
        """EfficientGlobalPointer's scores as their factors: shared (B, T, T), start and end (B, C, T).

        `prior`: the scores start at its log-odds (the per-class start and end biases hold it).
        `lr_multiplier`: the per-class terms learn this many times faster than the rest (their
        weights are stored divided by it and multiplied back, as bert4keras's CRF does).
        """

        def __init__(self, prior=0.5, lr_multiplier=1.0, **kwargs):
            super().__init__(**kwargs)
            self.prior, self.lr_multiplier = prior, lr_multiplier

        def build(self, input_shape):
            super().build(input_shape)
            for dense in (self.p_dense, self.q_dense):  # the whole head computes in float32, whatever the policy
                dense._set_dtype_policy(self.dtype_policy)
            m = self.lr_multiplier
            self.q_dense.bias_initializer = keras.initializers.Constant(prior_logit(self.prior) / m)
            self.q_dense.kernel_initializer = keras.initializers.TruncatedNormal(stddev=0.02 / m, seed=self.seed)

        def call(self, inputs, mask=None):
            x = self.p_dense(inputs)
            qw, kw = x[..., ::2], x[..., 1::2]
            if self.RoPE:
                position = SinusoidalPositionEmbedding(self.head_size, "zero", dtype=self.dtype_policy)(x)
                qw, kw = apply_rotary_position_embeddings(position, qw, kw)
            shared = tf.einsum("bmd,bnd->bmn", qw, kw) / self.head_size ** 0.5
            bias = tf.einsum("bnh->bhn", self.q_dense(x)) * (self.lr_multiplier / 2)
            return [shared, bias[:, ::2], bias[:, 1::2]]

        def compute_mask(self, inputs, mask=None):
            return None

    return FactoredSpanScores


def valid_spans(start_ok, end_ok, max_span_len):
    """(B, T, T) booleans: spans (i, j) with i <= j < i + max_span_len, starting and ending where allowed."""
    from common.env import tf

    position = tf.range(tf.shape(start_ok)[1])
    width = position[None, :] - position[:, None]  # j - i
    band = (width >= 0) & (width < max_span_len)
    return band[None] & (start_ok[:, :, None] > 0) & (end_ok[:, None, :] > 0)


def span_loss(shared, start, end, valid, labels):
    """Multi-label cross-entropy over all spans of every (example, class), (B,) summed over classes.

    log(1 + sum over negative spans of e^s) + log(1 + sum over positive spans of e^-s), where the
    sum over all spans, exp(s_c(i, j)) = exp(shared(i, j)) exp(start_c(i)) exp(end_c(j)), is a
    product of (B, T, T) and (B, T, C) matrices (with max-shifts for stability), and the negatives'
    sum is that total minus the positives' (clipped away from 0, as GPLinker's sparse version does).
    labels: (B, K, 3) of (class, first, last), class -1 for padding.
    """
    from common.env import tf

    shared, start, end = (tf.cast(t, tf.float32) for t in (shared, start, end))
    batch, n_classes = tf.shape(start)[0], tf.shape(start)[1]
    very_negative = -1e30
    masked = tf.where(valid, shared, very_negative)
    row_max = tf.reduce_max(masked, -1)                                    # (B, T)
    row_ok = row_max > very_negative / 2
    row_max = tf.where(row_ok, row_max, 0.0)
    p = tf.where(valid, tf.exp(masked - row_max[:, :, None]), 0.0)         # (B, T, T), entries in [0, 1]
    end_ok = tf.reduce_any(valid, 1)                                       # (B, T): ends of some valid span
    end_masked = tf.where(end_ok[:, None, :], end, very_negative)
    end_max = tf.reduce_max(end_masked, -1)                                # (B, C)
    q = tf.where(end_ok[:, None, :], tf.exp(end_masked - end_max[:, :, None]), 0.0)  # (B, C, T)
    row_sums = tf.einsum("bij,bcj->bci", p, q)                             # (B, C, T)
    row_terms = start + row_max[:, None, :] + tf.math.log(tf.maximum(row_sums, 1e-30))
    row_terms = tf.where(row_ok[:, None, :] & (row_sums > 0), row_terms, very_negative)
    log_total = end_max + tf.reduce_logsumexp(row_terms, -1)               # (B, C): log sum_spans e^s

    classes, firsts, lasts = labels[..., 0], labels[..., 1], labels[..., 2]
    real = classes >= 0
    b = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(classes))
    c, f, l = (tf.maximum(t, 0) for t in (classes, firsts, lasts))
    scores = (tf.gather_nd(shared, tf.stack([b, f, l], -1)) + tf.gather_nd(start, tf.stack([b, c, f], -1))
              + tf.gather_nd(end, tf.stack([b, c, l], -1)))                # (B, K)
    segments = tf.where(real, b * n_classes + c, batch * n_classes)        # padding: an extra segment
    n_segments = batch * n_classes + 1

    def segment_logsumexp(values):
        values = tf.where(real, values, very_negative)
        top = tf.math.unsorted_segment_max(tf.reshape(values, [-1]), tf.reshape(segments, [-1]), n_segments)
        top = tf.where(top > very_negative / 2, top, 0.0)
        summed = tf.math.unsorted_segment_sum(tf.reshape(tf.exp(values - tf.gather(top, segments)), [-1]),
                                              tf.reshape(segments, [-1]), n_segments)
        return tf.reshape((top + tf.math.log(tf.maximum(summed, 1e-30)))[:-1], [batch, n_classes]), \
            tf.reshape(summed[:-1] > 0, [batch, n_classes])

    log_positive, has_positive = segment_logsumexp(scores)                 # (B, C): log sum_pos e^s
    log_negative_pos, _ = segment_logsumexp(-scores)                       # log sum_pos e^-s
    log_all = tf.nn.softplus(log_total)                                    # log(1 + sum_spans e^s)
    share = tf.where(has_positive, tf.exp(log_positive - log_all), 0.0)    # positives' part of it
    negative = log_all + tf.math.log(tf.clip_by_value(1.0 - share, 1e-7, 1.0))
    positive = tf.where(has_positive, tf.nn.softplus(log_negative_pos), 0.0)
    return tf.reduce_sum(negative + positive, -1)


def memm_token_losses(trans, emissions, tags, mask):
    """Cross-entropy per token of the bidirectional MEMM: softmax((emission_t + trans[tag_{t-1}]) / 2),
    forwards and backwards (transposed transitions over the reversed sequence), averaged."""
    from common.env import tf

    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), 1)

    def direction(e, y, t):
        history = tf.gather(t, y)                                           # (B, T, K): scores of the next tag
        logits = (e + tf.concat([e[:, :1], history[:, :-1]], 1)) / 2
        return tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)

    forward = direction(emissions, tags, trans)
    reverse = lambda x: tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)  # noqa: E731
    backward = reverse(direction(reverse(emissions), reverse(tags), tf.transpose(trans)))
    return (forward + backward) / 2


def build_model(bert, classes, head="span", lr_multiplier=100, max_span_len=32, prior=0.5, head_size=64, seed=0):
    """(train_model, predict_model, transitions): train_model takes a dict of inputs and labels and holds its
    loss; predict_model maps [token_ids, segment_ids] to emissions (crf, memm) or span factors (span);
    transitions() gives the tag transition scores as numpy (crf, memm).

    lr_multiplier: how many times faster than BERT the head's own parameters learn (span: the
    per-class start/end terms; crf, memm: the transitions). prior: the span head's starting
    frequency of a positive (class, span) pair (span_prior)."""
    from common.env import keras, tf
    from common.losses import global_mean
    from bert4keras.layers import ConditionalRandomField, MaximumEntropyMarkovModel

    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose from {', '.join(HEADS)}")
    init = keras.initializers.TruncatedNormal(stddev=0.02, seed=seed)
    token_ids, segment_ids = bert.model.inputs
    if head == "span":
        scorer = _factored_scorer()(prior=prior, lr_multiplier=lr_multiplier, heads=len(classes), head_size=head_size,
                                    kernel_initializer=init, dtype="float32", name="span_scores")
        scorer.seed = seed
        factors = scorer(bert.model.output)
        predict_model = keras.Model(bert.model.inputs, factors)
        start_ok = keras.layers.Input((None,), name="span_start_ok")
        end_ok = keras.layers.Input((None,), name="span_end_ok")
        labels = keras.layers.Input((None, 3), dtype="int32", name="span_labels")
        loss = keras.layers.Lambda(lambda x: global_mean(span_loss(
            x[0], x[1], x[2], valid_spans(x[3], x[4], max_span_len), x[5])), dtype="float32", name="loss")(
            factors + [start_ok, end_ok, labels])
        train_model = keras.Model([token_ids, segment_ids, start_ok, end_ok, labels], factors)
        train_model.add_loss(loss)
        return train_model, predict_model, None

    emissions = keras.layers.Dense(classes.n_tags, kernel_initializer=init, dtype="float32",
                                   name="emissions")(bert.model.output)
    layer = (ConditionalRandomField if head == "crf" else MaximumEntropyMarkovModel)(
        lr_multiplier=lr_multiplier, dtype="float32", name=head)
    scores = layer(emissions)  # padding masked to -inf (the CRF reads its mask from there)
    tags = keras.layers.Input((None,), dtype="int32", name="tags")

    def loss(x):
        scores, tags, ids = x
        mask = tf.not_equal(ids, 0)
        if head == "crf":
            return global_mean(layer.sparse_loss(tags, scores))  # per sentence
        return global_mean(memm_token_losses(layer.trans, tf.where(mask[..., None], scores, 0.0), tags, mask), mask)

    total = keras.layers.Lambda(loss, dtype="float32", name="loss")([scores, tags, token_ids])
    train_model = keras.Model([token_ids, segment_ids, tags], scores)
    train_model.add_loss(total)
    predict_model = keras.Model(bert.model.inputs, scores)
    return train_model, predict_model, lambda: np.asarray(layer.trans, "float32")


# ---------------------------------------------------------------- decoding

def viterbi(emissions, lengths, trans, allowed=None):
    """Best tag paths and their scores for a batch, vectorized over batch and tags.

    emissions: (B, T, K); lengths: (B,) real positions, the first of which is
    [CLS] and is forced to tag 0; trans: (K, K); allowed: (K, K) booleans.
    Returns paths (B, T) (tag 0 beyond a length) and scores (B,).
    Cost: O(T * K^2) per sequence, memory O(T * K) for the back-pointers.
    """
    batch, steps, k = emissions.shape
    trans = trans if allowed is None else np.where(allowed, trans, -np.inf)
    score = np.full((batch, k), -np.inf, "float32")
    score[:, 0] = emissions[:, 0, 0]
    back = np.zeros((batch, steps, k), "int32")
    for t in range(1, steps):
        candidates = score[:, :, None] + trans[None]  # (B, from, to)
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


def decode_span_scores(shared, start, end, start_ok, end_ok, max_span_len, cap=None):
    """[(class, first, last)] of one window's spans scoring above 0, best first if `cap` cuts; (spans, cut).

    shared (T, T), start and end (C, T): only spans whose bound shared + max start + max end is
    above 0 are scored for every class, so the (C, T, T) scores are never formed.
    """
    t = shared.shape[0]
    i, j = np.nonzero(np.triu(np.ones((t, t), bool)) & ~np.triu(np.ones((t, t), bool), max_span_len)
                      & (start_ok[:, None] > 0) & (end_ok[None, :] > 0)
                      & (shared + start.max(0)[:, None] + end.max(0)[None, :] > 0))
    if not len(i):
        return [], 0
    scores = shared[i, j][:, None] + start[:, i].T + end[:, j].T  # (candidates, C)
    k, c = np.nonzero(scores > 0)
    found = sorted(zip(scores[k, c].tolist(), c.tolist(), i[k].tolist(), j[k].tolist()), reverse=True)
    cut = max(0, len(found) - cap) if cap is not None else 0
    return sorted((c, f, l) for _, c, f, l in found[:len(found) - cut]), cut


class Predictor:
    """Batched prediction over the windows of many sentences; arguments merged across windows."""

    def __init__(self, tokenizer, predict_model, classes, head, maxlen, stride=None, batch_size=32,
                 transitions=None, max_span_len=32, max_spans=256):
        from common.bert import predict_function

        self.tokenizer, self.classes, self.head = tokenizer, classes, head
        self.model, self.transitions = predict_function(predict_model), transitions
        self.maxlen, self.stride, self.batch_size = maxlen, stride, batch_size
        self.max_span_len, self.max_spans = max_span_len, max_spans
        self.allowed = classes.allowed_transitions() if head != "span" else None
        self.cut = 0

    def predict(self, texts, progress=lambda x, **k: x):
        """[(event_type, role, argument)] per text, in text order, without duplicates."""
        self.cut = 0
        items = []
        for i, text in enumerate(texts):
            tokenized = tokenize(self.tokenizer, text)
            items += [(i, tokenized, w) for w in split_windows(len(tokenized.ids), self.maxlen - 2, self.stride)]
        found = [{} for _ in texts]  # (class, char start, char end) -> None, ordered
        trans = self.transitions() if self.transitions else None
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            examples = [Example([self.tokenizer._token_start_id] + t.ids[w.start:w.end] + [self.tokenizer._token_end_id],
                                [], None, w.start > 0, w.end < len(t.ids)) for _, t, w in chunk]
            token_ids = _token_arrays(examples)
            outputs = self.model([token_ids, np.zeros_like(token_ids)])
            for (i, tokenized, w), spans in zip(chunk, self._spans(outputs, examples, token_ids, trans)):
                for c, first, last in spans:
                    first, last = first - 1 + w.start, last - 1 + w.start
                    if w.holds_whole(first, last):
                        found[i][(c,) + tokenized.char_span(first, last)] = None
        return [[self.classes.pairs[c] + (text[s:e],) for c, s, e in sorted(spans, key=lambda x: (x[1], x[2], x[0]))]
                for text, spans in zip(texts, found)]

    def _spans(self, outputs, examples, token_ids, trans):
        """Per window, [(class, first, last)] in model positions."""
        if self.head == "span":
            shared, start, end = outputs
            start_ok, end_ok = span_masks(examples, token_ids.shape[1])
            for k in range(len(examples)):
                spans, cut = decode_span_scores(shared[k], start[k], end[k], start_ok[k], end_ok[k],
                                                self.max_span_len, self.max_spans)
                self.cut += cut
                yield spans
            return
        emissions = np.nan_to_num(outputs, neginf=0.0)  # the CRF layer masks padding with -inf
        lengths = (token_ids > 0).sum(1)
        paths, _ = viterbi(emissions, lengths, trans, self.allowed)
        for path, length in zip(paths, lengths):
            yield [(c, f + 1, l + 1) for c, f, l in tag_spans(path[1:length - 1])]

    def warning(self):
        if not self.cut:
            return None
        return (f"warning: {self.cut} spans above the threshold were dropped by the per-window cap "
                f"({self.max_spans}, from the training data); a model that fires this often looks undertrained")


def decode_gold(tokenizer, sentence, classes, maxlen, stride=None, head="span"):
    """Arguments obtained by decoding a sentence's own encoded labels under `head` (what it can represent)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    examples, _, _ = make_examples(tokenizer, sentence, classes, maxlen, stride)
    found = {}
    for w, ex in zip(split_windows(len(tokenized.ids), maxlen - 2, stride), examples):
        spans = ex.spans if head == "span" else [(c, f + 1, l + 1) for c, f, l in tag_spans(ex.tags[1:-1])]
        for c, first, last in spans:
            first, last = first - 1 + w.start, last - 1 + w.start
            if w.holds_whole(first, last):
                found[(c,) + tokenized.char_span(first, last)] = None
    return [classes.pairs[c] + (sentence["text"][s:e],) for c, s, e in found]
