"""--ema DECAY: an exponential moving average of the trainable weights, kept beside them in float32.

After every optimizer step, shadow <- decay * shadow + (1 - decay) * weight (bert4keras's ExponentialMovingAverage,
which TensorFlow 2 breaks: its step counter stays at 0). Dev is scored, and the best epoch saved, with the
averaged weights swapped in; training goes on with the raw ones. The shadow weights are part of the resume
point, so a resumed run equals an uninterrupted one. Under a distribution strategy the update runs once per
step in cross-replica context, where every replica's weights are the same.
"""
from common.env import tf


class WeightAverage:
    """The moving averages (`shadow`, what a checkpoint saves) of `variables`, created under the caller's
    strategy scope."""

    def __init__(self, variables, decay):
        self.decay, self.variables = decay, list(variables)
        self.shadow = [tf.Variable(tf.cast(v, tf.float32), trainable=False, name=v.name.split(":")[0] + "/ema")
                       for v in self.variables]

    def update(self):
        """One step of the average (in the traced training step, after the optimizer's update)."""
        for s, v in zip(self.shadow, self.variables):
            s.assign(self.decay * s + (1 - self.decay) * tf.cast(v, tf.float32))

    def swap_in(self):
        """Put the averaged weights into the model; the raw ones, for swap_out."""
        raw = [v.numpy() for v in self.variables]
        for s, v in zip(self.shadow, self.variables):
            v.assign(tf.cast(s, v.dtype))
        return raw

    def swap_out(self, raw):
        for value, v in zip(raw, self.variables):
            v.assign(value)
