"""Layers the tracks' heads share."""
from common.env import keras


class ScaledInitializer(keras.initializers.Initializer):
    """`initializer`'s values divided by `factor`."""

    def __init__(self, initializer, factor):
        self.initializer, self.factor = keras.initializers.get(initializer), factor

    def __call__(self, shape, dtype=None, **kwargs):
        return self.initializer(shape, dtype=dtype, **kwargs) / self.factor

    def get_config(self):
        return {"initializer": keras.initializers.serialize(self.initializer), "factor": self.factor}


class ScaledDense(keras.layers.Dense):
    """A linear Dense layer whose weights learn `lr_multiplier` times faster than the rest under Adam.

    The weights are stored divided by the multiplier and the output multiplied back: the layer
    computes what a plain Dense with the given initializers would, while every Adam step (about
    the same size for every weight) moves its effective weights `lr_multiplier` times further.
    A head trained from scratch on a pretrained encoder thus keeps up with a learning rate chosen
    for the encoder (bert4keras's CRF does the same for its transitions).
    """

    def __init__(self, units, lr_multiplier=1.0, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        self.lr_multiplier = float(lr_multiplier)
        super().__init__(units, kernel_initializer=ScaledInitializer(kernel_initializer, self.lr_multiplier),
                         bias_initializer=ScaledInitializer(bias_initializer, self.lr_multiplier), **kwargs)

    def call(self, inputs):
        outputs = super().call(inputs)
        return outputs * self.lr_multiplier if self.lr_multiplier != 1 else outputs

    def get_config(self):
        return dict(super().get_config(), lr_multiplier=self.lr_multiplier)
