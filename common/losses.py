"""Losses the tracks share, normalised over the global batch and computed in float32.

Under tf.distribute every replica sees a slice of the global batch. A loss here
divides its replica's sum by the *global* count (summed over replicas inside the
step), so the replicas' losses add up to the one-device loss of the whole batch
and their summed gradients (what the optimizer aggregates) are its gradient:
one step on N replicas equals one step on one device, whatever the slices hold.
"""
import math

from common.env import tf


def global_sum(x):
    """`x` summed over the replicas of the current step (x itself outside a replica context)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.SUM, x)


def global_mean(values, weights=None):
    """sum(values * weights) / (global sum of weights); 0 when there is no weight at all."""
    values = tf.cast(values, tf.float32)
    weights = tf.ones_like(values) if weights is None else tf.cast(weights, tf.float32)
    total = tf.reduce_sum(values * weights)
    return total / tf.maximum(global_sum(tf.reduce_sum(weights)), 1.0)


def sigmoid_cross_entropy(labels, logits):
    """Binary cross-entropy from logits, element-wise, in float32 (stable for any logit)."""
    return tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(labels, tf.float32), tf.cast(logits, tf.float32))


def prior_logit(rate):
    """log-odds of a label frequency: the output bias at which a sigmoid head starts at that frequency."""
    rate = min(max(rate, 1e-6), 1 - 1e-6)
    return math.log(rate / (1 - rate))


def multilabel_cross_entropy(labels, logits, mask=None):
    """Multi-label categorical cross-entropy along the last axis: log(1 + sum_neg e^s) + log(1 + sum_pos e^-s).

    Every row scores its positives above 0 and its negatives below 0 with one
    softmax-like term each, so a row with 3 positives among 60,000 negatives
    still gets a balanced loss (no class weights, no threshold to tune: 0).
    labels, logits: (..., n); mask: (..., n) booleans of the candidates that count.
    Returns (...,) in float32.
    """
    logits = tf.cast(logits, tf.float32)
    positive = tf.cast(labels, tf.bool)
    if mask is not None:
        valid = tf.cast(mask, tf.bool)
        positive = positive & valid
    else:
        valid = tf.ones_like(positive)
    very_negative = tf.constant(-1e12, tf.float32)
    zero = tf.zeros_like(logits[..., :1])
    negative_scores = tf.where(valid & ~positive, logits, very_negative)
    positive_scores = tf.where(positive, -logits, very_negative)
    return (tf.reduce_logsumexp(tf.concat([zero, negative_scores], -1), -1)
            + tf.reduce_logsumexp(tf.concat([zero, positive_scores], -1), -1))
