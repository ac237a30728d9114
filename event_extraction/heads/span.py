"""`--head span`: every (event type, role) class scores every span (start, end) at once, so one span may
carry several classes (the same argument in two roles or two events) and spans may nest or overlap.

Scores are EfficientGlobalPointer's: s_c(i, j) = shared(i, j) + start_c(i) + end_c(j), trained with a
multi-label cross-entropy over spans (every class: one positive among thousands of candidates, no
threshold to tune but 0). The (batch, classes, length, length) tensor of all scores is never built: the
layer returns its three factors, the loss sums exp(s_c) over all spans as a matrix product of the
factors, and decoding checks only the spans whose upper bound shared + max_c start_c + max_c end_c is
above the threshold. The arguments of one event type make one event. The trigger head scores its
triggers the same way (factored_scorer, span_loss).
"""
import numpy as np

from event_extraction.decoding import decode_span_scores
from event_extraction.events import Models, span_masks, token_arrays


def factored_scorer():
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


def span_labels(spans_per_row):
    """(B, K, 3) of (class, first, last) per row, -1 for padding."""
    k = max(1, max(len(spans) for spans in spans_per_row))
    labels = np.full((len(spans_per_row), k, 3), -1, "int32")
    for i, spans in enumerate(spans_per_row):
        if spans:
            labels[i, :len(spans)] = spans
    return labels


def span_prior(examples, n_classes, max_span_len, positives=lambda e: len(e.spans)):
    """Frequency of a positive among all (class, valid span) pairs of the examples: the scores start at its
    log-odds, so a fresh head predicts what the data holds."""
    found = candidates = 0
    for e in examples:
        n = len(e.token_ids) - 2
        found += positives(e)
        candidates += sum(min(max_span_len, n - i) for i in range(n))
    return found / max(1, candidates * n_classes)


def probability_logit(threshold):
    """The score above which a span's probability sigmoid(score) is above `threshold`."""
    return float(np.log(threshold / (1 - threshold)))


def decode_windows(predictor, examples, factors, max_span_len, cap, threshold):
    """Per window [(class, first, last)] above `threshold` (a probability) and how many the cap cut, from
    each member's factors (shared, start, end); an ensemble averages the members' probabilities."""
    start_ok, end_ok = span_masks(examples, factors[0][0].shape[1])
    found = []
    for k in range(len(examples)):
        if len(factors) == 1:
            shared, start, end = (f[k] for f in factors[0])
            found.append(decode_span_scores(shared, start, end, start_ok[k], end_ok[k], max_span_len, cap,
                                            probability_logit(threshold)))
        else:
            found.append(decode_span_probabilities([[f[k] for f in member] for member in factors], predictor.weights,
                                                   start_ok[k], end_ok[k], max_span_len, cap, threshold))
    return found


def decode_span_probabilities(members, weights, start_ok, end_ok, max_span_len, cap, threshold):
    """decode_span_scores for an ensemble: the weighted mean of the members' probabilities above `threshold`."""
    t = start_ok.shape[0]
    i, j = np.nonzero(np.triu(np.ones((t, t), bool)) & ~np.triu(np.ones((t, t), bool), max_span_len)
                      & (start_ok[:, None] > 0) & (end_ok[None, :] > 0))
    if not len(i):
        return [], 0
    probs = sum(w / (1 + np.exp(-(shared[i, j][:, None] + start[:, i].T + end[:, j].T).astype("float64")))
                for w, (shared, start, end) in zip(weights, members))
    k, c = np.nonzero(probs > threshold)
    found = sorted(zip(probs[k, c].tolist(), c.tolist(), i[k].tolist(), j[k].tolist()), reverse=True)
    cut = max(0, len(found) - cap) if cap is not None else 0
    return sorted((c, f, l) for _, c, f, l in found[:len(found) - cut]), cut


class SpanHead:
    name = "span"
    thresholds = ("threshold",)
    lr_multiplier = 100.0
    help = "every class scores every span (argument-only: one event per event type)"

    def rows(self, examples):
        return examples

    def length(self, example):
        return len(example.token_ids)

    def fit(self, examples, rows, classes, max_span_len):
        return {"priors": [span_prior(examples, len(classes), max_span_len)]}

    def held(self, train, examples, lost, path):
        return "all representable"

    def collate(self, examples, classes=None, config=None):
        token_ids = token_arrays(examples)
        start_ok, end_ok = span_masks(examples, token_ids.shape[1])
        return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids), "span_start_ok": start_ok,
                "span_end_ok": end_ok, "span_labels": span_labels([e.spans for e in examples])}

    def build(self, bert, classes, config, head_size=64):
        from common.env import keras
        from common.losses import global_mean

        init = keras.initializers.TruncatedNormal(stddev=0.02, seed=config.seed)
        token_ids, segment_ids = bert.model.inputs
        scorer = factored_scorer()(prior=config.priors[0], lr_multiplier=config.head_lr_multiplier,
                                   heads=len(classes), head_size=head_size, kernel_initializer=init, dtype="float32",
                                   name="span_scores")
        scorer.seed = config.seed
        factors = scorer(bert.model.output)
        predict_model = keras.Model(bert.model.inputs, factors)
        start_ok = keras.layers.Input((None,), name="span_start_ok")
        end_ok = keras.layers.Input((None,), name="span_end_ok")
        labels = keras.layers.Input((None, 3), dtype="int32", name="span_labels")
        max_span_len = config.max_span_len
        loss = keras.layers.Lambda(lambda x: global_mean(span_loss(
            x[0], x[1], x[2], valid_spans(x[3], x[4], max_span_len), x[5])), dtype="float32", name="loss")(
            factors + [start_ok, end_ok, labels])
        train_model = keras.Model([token_ids, segment_ids, start_ok, end_ok, labels], factors)
        train_model.add_loss(loss)
        return Models(train_model, predict_model)

    def window_events(self, predictor, examples, settings):
        token_ids = token_arrays(examples)
        factors = [m.predict([token_ids, np.zeros_like(token_ids)]) for m in predictor.members]
        found = []
        for n, setting in enumerate(settings):
            found.append([])
            for spans, cut in decode_windows(predictor, examples, factors, predictor.config.max_span_len,
                                             predictor.config.max_spans, setting["threshold"]):
                predictor.cut[0] += cut if n == 0 else 0
                found[n].append([(None, None, spans)])
        return found

    def gold_events(self, example, classes, config):
        return [(None, None, example.spans)]

    def caps(self, config, cut):
        return f"{config.max_spans} spans per window", f"{cut[0]} spans"


HEAD = SpanHead()
