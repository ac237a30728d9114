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

    def next(self):  # seed[1] is (replica, block): 64 draws per block
        self.count += 1
        return tf.stack([self.seed[0], self.seed[1] * 64 + self.count])


def _is_training(training):
    return K.learning_phase() if training is None else training


def _switch(training, on, off):
    if isinstance(training, (bool, int)):
        return on() if training else off()
    return tf.cond(tf.cast(training, tf.bool), on, off)


def _replica_id():
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def _counter(layer):
    """A step counter kept with the weights, so dropout draws resume where they stopped."""
    return layer.add_weight(name="dropout_calls", shape=(), dtype="int64", initializer="zeros", trainable=False,
                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _dropped(inputs, rate, seed):
    # half-precision draws and a boolean select: the backward pass keeps one byte per element
    keep = tf.random.stateless_uniform(tf.shape(inputs), seed, dtype=tf.float16) >= rate
    return tf.where(keep, inputs / tf.cast(1.0 - rate, inputs.dtype), tf.zeros((), inputs.dtype))


class SeededDropout(keras.layers.Dropout):
    """Dropout that, inside a TransformerBlock, takes its mask from the block's seeds (the same
    masks when the block is recomputed); elsewhere plain Keras Dropout.

    It creates no weights: bert4keras's attention makes a new one at every call. It keeps its input's
    dtype (no autocast): a dropout made inside a bfloat16 block must not cast to the global policy.
    """

    def __init__(self, *args, **kwargs):
        kwargs["autocast"] = False
        super().__init__(*args, **kwargs)

    def call(self, inputs, training=None):
        seeds = getattr(_local, "seeds", None)
        if seeds is None or self.rate == 0:
            return super().call(inputs, training=training)
        seed = seeds.next()  # inside a block: the block's training flag (recomputation runs outside Keras)
        return _switch(seeds.training, lambda: _dropped(inputs, self.rate, seed), lambda: tf.identity(inputs))


class CountedDropout(SeededDropout):
    """SeededDropout whose masks outside a block come from its own call counter (kept with the
    weights), so a resumed run draws the masks an uninterrupted one would have."""

    def build(self, input_shape):
        self.calls = _counter(self)
        super().build(input_shape)

    def call(self, inputs, training=None):
        if getattr(_local, "seeds", None) is not None or self.rate == 0:
            return super().call(inputs, training=training)

        def dropped():
            calls = self.calls.assign_add(1)
            return _dropped(inputs, self.rate, tf.stack([calls, tf.cast(_replica_id(), tf.int64) * 4096 + 4095]))
        return _switch(_is_training(training), dropped, lambda: tf.identity(inputs))


# bert4keras creates its dropout layers (attention probabilities included) from these module names
_b4k_layers.Dropout = SeededDropout   # attention probabilities: inside blocks
_b4k_models.Dropout = CountedDropout  # embeddings (and every dropout of bert4keras's own graph)


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
        self.calls = _counter(self)
        super().build(input_shape)

    def forward(self, x, mask, training):
        masks = None if mask is None else [mask, mask, mask]
        y = self.attention([x, x, x], mask=masks)
        y = self.attention_dropout(y, training=training) if self.attention_dropout else y
        x = self.attention_norm(self.attention_add([x, y]))
        y = self.feed_forward(x)
        y = self.feed_forward_dropout(y, training=training) if self.feed_forward_dropout else y
        y = self.feed_forward_add([x, y])
        return self.feed_forward_norm(y) if self.feed_forward_norm else y

    def call(self, x, mask=None, training=None):
        training = _is_training(training)
        calls = _switch(training, lambda: self.calls.assign_add(1), lambda: tf.identity(self.calls))
        # the seed goes in as an argument (float64 holds it exactly): tf.recompute_grad then derives the
        # recomputation's copy from the backward pass, so graph optimization cannot merge the two passes'
        # random draws and keep the first pass's masks alive until the backward pass
        where = tf.cast(_replica_id(), tf.int64) * 4096 + self.index  # replicas draw different masks
        seed = tf.cast(tf.stack([calls, where]), tf.float64)

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
        )
        last = index == self.num_hidden_layers - 1
        # the last block's final LayerNorm is a layer of its own, so that heads can read the block's output
        # before it (last_block_before_norm); its backward pass comes right after its forward pass, so
        # recomputing it would save nothing
        x = self.apply(inputs=inputs, layer=TransformerBlock, index=index, recompute=self.block_recompute and not last,
                       feed_forward_norm=None if last else self.apply(name=f"{feed_forward}-Norm", **norm),
                       name=f"Transformer-{index}", **sublayers)
        return self.apply(inputs=x, name=f"{feed_forward}-Norm", **norm) if last else x


def last_block_before_norm(transformer):
    """The last transformer block's output before its final LayerNorm (the residual sum)."""
    model, last = transformer.model, transformer.num_hidden_layers - 1
    if isinstance(transformer, BlockBERT):
        return model.get_layer(f"Transformer-{last}").output
    return model.get_layer(f"Transformer-{last}-FeedForward-Add").output  # bert4keras's own graph


def set_recompute(model, on):
    """Switch block recompute on or off in a built model (the weights and the numbers stay the same)."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    for layer in blocks[:-1]:
        layer.recompute = on
