"""Block-level recompute (gradient checkpointing) for bert4keras's BERT.

Every transformer block (attention, dropout, add & norm, feed-forward, dropout,
add & norm) runs as one TransformerBlock layer. With `recompute` on, only the
block's input is kept for the backward pass; everything inside is computed
again from it there (tf.recompute_grad), so activation memory per block falls
from a dozen (batch, length, hidden)-sized tensors plus the attention matrices
to one (batch, length, hidden) tensor. The last block is not recomputed: its
backward pass follows its forward pass at once.

Dropout inside a block draws its masks from a stateless generator seeded by
(the block's call count, block index, position of the dropout in the block),
so the recomputed forward pass drops exactly what the first one dropped and the
gradients are exact. The same layer with `recompute` off is the default model,
so switching recompute on changes memory and time, never the numbers.
"""
import threading

from common.env import K, keras, tf
from bert4keras import layers as _b4k_layers
from bert4keras import models as _b4k_models

_local = threading.local()  # the dropout seed of the block being computed, if any


class _BlockDropoutSeeds:
    def __init__(self, seed, training):
        self.seed, self.training, self.count = seed, training, 0

    def next(self):
        self.count += 1
        return tf.stack([self.seed[0], self.seed[1] * 64 + self.count])


def _is_training(training):
    return K.learning_phase() if training is None else training


def _switch(training, on, off):
    if isinstance(training, (bool, int)):
        return on() if training else off()
    return tf.cond(tf.cast(training, tf.bool), on, off)


class SeededDropout(keras.layers.Dropout):
    """Dropout that, inside a TransformerBlock, takes its mask from the block's seeds; elsewhere plain Dropout."""

    def call(self, inputs, training=None):
        seeds = getattr(_local, "seeds", None)
        if seeds is None or self.rate == 0:
            return super().call(inputs, training=training)
        # inside a block: the block's training flag, since the recomputation runs outside Keras's call context
        seed = seeds.next()

        def dropped():
            # half-precision draws and a boolean select: the backward pass keeps one byte per element
            keep = tf.random.stateless_uniform(tf.shape(inputs), seed, dtype=tf.float16) >= self.rate
            return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros((), inputs.dtype))
        return _switch(seeds.training, dropped, lambda: tf.identity(inputs))


# bert4keras creates its dropout layers (attention probabilities included) from these module names
_b4k_layers.Dropout = SeededDropout
_b4k_models.Dropout = SeededDropout


class TransformerBlock(keras.layers.Layer):
    """One BERT block as one layer; `recompute` keeps only its input for the backward pass."""

    def __init__(self, index, attention, attention_dropout, attention_add, attention_norm,
                 feed_forward, feed_forward_dropout, feed_forward_add, feed_forward_norm, recompute=False, **kwargs):
        super().__init__(**kwargs)
        self.index, self.recompute, self.supports_masking = index, recompute, True
        self.attention, self.attention_dropout = attention, attention_dropout
        self.attention_add, self.attention_norm = attention_add, attention_norm
        self.feed_forward, self.feed_forward_dropout = feed_forward, feed_forward_dropout
        self.feed_forward_add, self.feed_forward_norm = feed_forward_add, feed_forward_norm

    def build(self, input_shape):
        # counts the block's training calls: a new dropout mask every step, the same one when recomputed
        self.calls = self.add_weight(name="dropout_calls", shape=(), dtype="int64", initializer="zeros",
                                     trainable=False)
        super().build(input_shape)

    def forward(self, x, mask, training):
        masks = None if mask is None else [mask, mask, mask]
        y = self.attention([x, x, x], mask=masks)
        y = self.attention_dropout(y, training=training) if self.attention_dropout else y
        x = self.attention_norm(self.attention_add([x, y]))
        y = self.feed_forward(x)
        y = self.feed_forward_dropout(y, training=training) if self.feed_forward_dropout else y
        return self.feed_forward_norm(self.feed_forward_add([x, y]))

    def call(self, x, mask=None, training=None):
        training = _is_training(training)
        calls = _switch(training, lambda: self.calls.assign_add(1), lambda: tf.identity(self.calls))
        # the seed goes in as an argument (float64 holds it exactly): tf.recompute_grad then derives the
        # recomputation's copy from the backward pass, so graph optimization cannot merge the two passes'
        # random draws and keep the first pass's masks alive until the backward pass
        seed = tf.cast(tf.stack([calls, tf.constant(self.index, tf.int64)]), tf.float64)

        def block(h, seed):
            _local.seeds = _BlockDropoutSeeds(tf.cast(seed, tf.int64), training)
            try:
                return self.forward(h, mask, training)
            finally:
                _local.seeds = None

        inference = isinstance(training, (bool, int)) and not training
        if self.recompute and not inference:
            return tf.recompute_grad(block)(x, seed)
        return block(x, seed)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape


class BlockBERT(_b4k_models.BERT):
    """bert4keras's BERT with each transformer block built as one TransformerBlock.

    The inner layers keep bert4keras's names, so checkpoints load as usual.
    """

    def __init__(self, recompute=False, **kwargs):
        super().__init__(**kwargs)
        self.block_recompute = recompute

    def apply_main_layers(self, inputs, index):
        if self.layer_norm_conds[0] is not None or self.compute_attention_bias(index) is not None:
            return super().apply_main_layers(inputs, index)  # conditional or masked-LM variants: bert4keras as is
        attention, feed_forward = f"Transformer-{index}-MultiHeadSelfAttention", f"Transformer-{index}-FeedForward"
        norm = dict(layer=_b4k_layers.LayerNormalization, epsilon=1e-12, conditional=False,
                    hidden_initializer=self.initializer)
        sublayers = dict(
            attention=self.apply(layer=_b4k_layers.MultiHeadAttention, heads=self.num_attention_heads,
                                 head_size=self.attention_head_size, out_dim=self.hidden_size,
                                 key_size=self.attention_key_size, attention_dropout=self.attention_dropout_rate,
                                 kernel_initializer=self.initializer, name=attention),
            attention_dropout=self.apply(layer=SeededDropout, rate=self.dropout_rate, name=f"{attention}-Dropout"),
            attention_add=self.apply(layer=keras.layers.Add, name=f"{attention}-Add"),
            attention_norm=self.apply(name=f"{attention}-Norm", **norm),
            feed_forward=self.apply(layer=_b4k_layers.FeedForward, units=self.intermediate_size,
                                    activation=self.hidden_act, kernel_initializer=self.initializer,
                                    name=feed_forward),
            feed_forward_dropout=self.apply(layer=SeededDropout, rate=self.dropout_rate,
                                            name=f"{feed_forward}-Dropout"),
            feed_forward_add=self.apply(layer=keras.layers.Add, name=f"{feed_forward}-Add"),
            feed_forward_norm=self.apply(name=f"{feed_forward}-Norm", **norm),
        )
        # the last block's backward pass comes right after its forward pass: recomputing it would save nothing
        recompute = self.block_recompute and index < self.num_hidden_layers - 1
        return self.apply(inputs=inputs, layer=TransformerBlock, index=index, recompute=recompute,
                          name=f"Transformer-{index}", **sublayers)


def set_recompute(model, on):
    """Switch block recompute on or off in a built model (the weights and the numbers stay the same)."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    for layer in blocks[:-1]:
        layer.recompute = on
