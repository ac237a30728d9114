"""Anchor-then-target pointer heads, shared by relation extraction (subject -> objects) and event
extraction (trigger -> arguments).

Sigmoid start/end pointers over the tokens mark the anchors (per anchor class); then, conditioned
on one anchor (its start and end vectors modulate the encoder's states through conditional layer
normalization), sigmoid start/end pointers mark the targets of that anchor, per target class.
Decoding pairs every start above the threshold with the nearest end at or after it.
"""
import numpy as np


def build_pointer_heads(bert, n_anchor, n_target, condition_on="pre-norm", priors=(0.5, 0.5), use_prior=True,
                        lr_multiplier=1.0, seed=0, names=("subject", "subject_conditioned_norm", "objects"),
                        target_outputs=2, target_bias=None):
    """(states, anchor_logits, target_logits, target_model).

    states: what the anchor vectors are gathered from and what the conditional LayerNorm normalises:
    the last block before its final LayerNorm ("pre-norm", as the 2020 baselines) or the encoder's
    output ("output"). anchor_logits: (B, T, n_anchor * 2) from the encoder's output (None for
    n_anchor 0: the caller finds its anchors another way).
    target_logits(h, anchor_ids): (B, T, n_target, 2) for hidden states h and anchor (start, end) ids (B, 2).
    target_model: [states, anchor_ids] -> target logits (prediction runs it once per anchor).
    priors: frequencies of a positive anchor and target label; with use_prior the output biases start
    at their log-odds (a fresh head predicts what the data holds). lr_multiplier: the output layers
    learn this many times faster than BERT. The output layers compute in float32 whatever the policy.
    """
    from common.env import keras, K, tf
    from common.heads import ScaledDense
    from common.losses import prior_logit
    from common.recompute import last_block_before_norm
    from bert4keras.layers import LayerNormalization

    init = lambda i: keras.initializers.TruncatedNormal(stddev=0.02, seed=seed + i)  # noqa: E731
    bias = lambda rate: keras.initializers.Constant(prior_logit(rate) if use_prior else 0.0)  # noqa: E731
    states = last_block_before_norm(bert) if condition_on == "pre-norm" else bert.model.output
    size = K.int_shape(states)[-1]
    anchor_name, norm_name, target_name = names
    anchor_logits = ScaledDense(n_anchor * 2, lr_multiplier, kernel_initializer=init(0),
                                bias_initializer=bias(priors[0]), dtype="float32", name=anchor_name)(
        bert.model.output) if n_anchor else None
    gather = keras.layers.Lambda(lambda x: tf.concat(
        [tf.gather(x[0], x[1][:, 0], batch_dims=1), tf.gather(x[0], x[1][:, 1], batch_dims=1)], axis=-1),
        name=f"{anchor_name}_vectors")
    cond_norm = LayerNormalization(conditional=True, hidden_initializer=init(1), name=norm_name)
    target_init = bias(priors[1]) if target_bias is None else keras.initializers.Constant(
        np.tile(np.asarray(target_bias, "float32"), n_target))
    target_dense = ScaledDense(n_target * target_outputs, lr_multiplier, kernel_initializer=init(2),
                               bias_initializer=target_init, dtype="float32", name=target_name)
    to_classes = keras.layers.Reshape((-1, n_target, target_outputs), name=f"{target_name}_classes")

    def target_logits(h, anchor_ids):
        return to_classes(target_dense(cond_norm([h, gather([h, anchor_ids])])))

    h_in = keras.layers.Input((None, size), name="hidden_states")
    ids_in = keras.layers.Input((2,), dtype="int32", name=f"{anchor_name}_ids")
    target_model = keras.Model([h_in, ids_in], target_logits(h_in, ids_in))
    return states, anchor_logits, target_logits, target_model


def label_counts(rows, anchors, targets):
    """What the priors of an anchor-then-target head are computed from, over (example, anchor) training
    rows (anchor None: the row trains the anchor pointers only): (anchor spans, real tokens, target spans,
    real tokens of rows with an anchor, tokens inside the target spans past their first).
    anchors(example): how many anchor spans; targets(example, anchor): its [(..., start, end)] targets."""
    anchor_spans = tokens = target_spans = target_tokens = inside = 0
    for example, anchor in rows:
        n = len(example.token_ids)
        tokens += n
        anchor_spans += anchors(example)
        if anchor is not None:
            found = targets(example, anchor)
            target_tokens += n
            target_spans += len(found)
            inside += sum(span[-1] - span[-2] for span in found)
    return anchor_spans, tokens, target_spans, target_tokens, inside


def decode_spans(start_probs, end_probs, length, threshold=0.5):
    """[(start, end)] positions 1..length: every start above threshold with the nearest end at or after it."""
    starts = np.flatnonzero(start_probs[1:length + 1] > threshold) + 1
    ends = np.flatnonzero(end_probs[1:length + 1] > threshold) + 1
    if not len(starts) or not len(ends):
        return []
    nearest = np.searchsorted(ends, starts)  # first end >= start
    keep = nearest < len(ends)
    return list(zip(starts[keep].tolist(), ends[nearest[keep]].tolist()))


def decode_classes(probs, length, threshold=0.5, cap=None):
    """[(class, start, end)] from (T, n_classes, 2) probabilities, vectorized over classes; the `cap`
    strongest by start x end probability, in class order; (spans, how many were cut)."""
    window = probs[1:length + 1]
    firing = (window[:, :, 0] > threshold).any(0) & (window[:, :, 1] > threshold).any(0)
    found, scores = [], []
    for c in np.flatnonzero(firing):
        for s, e in decode_spans(probs[:, c, 0], probs[:, c, 1], length, threshold):
            found.append((int(c), s, e))
            scores.append(probs[s, c, 0] * probs[e, c, 1])
    if cap is None or len(found) <= cap:
        return found, 0
    keep = sorted(np.argsort(scores, kind="stable")[::-1][:cap])
    return [found[k] for k in keep], len(found) - cap
