"""Block recompute gives the loss and gradients of the plain model, with and without dropout."""
import json

import numpy as np
import pytest

from common.bert import BertFiles, build_bert
from common.env import tf
from common.recompute import TransformerBlock, set_recompute

INPUTS = [np.array([[2, 5, 6, 7, 8, 9, 3], [2, 10, 11, 3, 0, 0, 0]], "int32"),  # padding: masks matter
          np.array([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 0, 0, 0]], "int32")]


def files_with_dropout(tiny_bert_dir, tmp_path, rate):
    config = json.loads((tiny_bert_dir / "bert_config.json").read_text())
    config.update(hidden_dropout_prob=rate, attention_probs_dropout_prob=rate)
    path = tmp_path / f"config_{rate}.json"
    path.write_text(json.dumps(config))
    files = BertFiles.from_dir(str(tiny_bert_dir))
    return BertFiles(str(path), files.checkpoint, files.vocab)


def loss_and_gradients(model, steps=1):
    weights = tf.constant(np.random.default_rng(0).normal(size=(1, 1, model.output.shape[-1])), tf.float32)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x, training=True) * weights)
        return loss, tape.gradient(loss, model.trainable_weights)

    tf.random.set_seed(0)  # the embedding dropout, outside the blocks, draws the same in both runs
    for _ in range(steps):
        loss, grads = step(INPUTS)
    return loss.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_block_recompute_gives_the_same_loss_and_gradients(tiny_bert_dir, tmp_path, dropout, monkeypatch):
    files = files_with_dropout(tiny_bert_dir, tmp_path, dropout)
    traced = []
    forward = TransformerBlock.forward
    monkeypatch.setattr(TransformerBlock, "forward", lambda self, *a: traced.append(self.index) or forward(self, *a))
    plain = build_bert(files, recompute=False).model
    traced.clear()
    loss, grads = loss_and_gradients(plain, steps=2)
    plain_traces = list(traced)
    recomputed = build_bert(files, recompute="block").model
    traced.clear()
    loss_r, grads_r = loss_and_gradients(recomputed, steps=2)
    # each block but the last ran again for the backward pass (the last one's backward follows it at once)
    assert traced.count(0) == 2 * plain_traces.count(0) > 0 and traced.count(1) == plain_traces.count(1) > 0
    assert len(grads) == len(grads_r) == len(plain.trainable_weights)
    np.testing.assert_allclose(loss_r, loss, rtol=1e-6)
    for g, g_r, w in zip(grads, grads_r, plain.trainable_weights):
        np.testing.assert_allclose(g_r, g, rtol=1e-5, atol=1e-6, err_msg=w.name)


def test_dropout_masks_differ_between_steps_and_vanish_in_inference(tiny_bert_dir, tmp_path):
    model = build_bert(files_with_dropout(tiny_bert_dir, tmp_path, 0.3), recompute="block").model
    first, second = (model(INPUTS, training=True).numpy() for _ in range(2))
    assert not np.allclose(first, second)  # a new mask each step
    np.testing.assert_array_equal(model(INPUTS, training=False).numpy(), model(INPUTS, training=False).numpy())


def test_switching_recompute_keeps_the_numbers(tiny_bert_dir):
    model = build_bert(BertFiles.from_dir(str(tiny_bert_dir)), recompute=False).model
    before = model.predict(INPUTS, verbose=0)
    set_recompute(model, True)
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    assert [b.recompute for b in blocks] == [True] * (len(blocks) - 1) + [False]
    np.testing.assert_array_equal(model.predict(INPUTS, verbose=0), before)


def test_per_layer_recompute_builds_the_same_function(tiny_bert_dir):
    files = BertFiles.from_dir(str(tiny_bert_dir))
    np.testing.assert_allclose(build_bert(files, recompute="layer").model.predict(INPUTS, verbose=0),
                               build_bert(files, recompute="block").model.predict(INPUTS, verbose=0), atol=1e-6)
