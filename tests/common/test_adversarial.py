"""--adversarial fgm: one step equals the perturbed-gradient step computed by hand."""
import numpy as np

from common.env import keras, tf
from common.losses import global_mean
from common.training import Trainer, seed_everything


def tiny_model():
    """Token embeddings (a layer named as bert4keras names BERT's), a dense layer, a squared error."""
    from bert4keras.layers import Embedding

    seed_everything(0)
    ids, y = keras.Input((None,), dtype="int32", name="ids"), keras.Input((), name="y")
    vectors = Embedding(10, 4, name="Embedding-Token")(ids)
    prediction = keras.layers.Dense(1, name="dense")(keras.layers.GlobalAveragePooling1D()(vectors))
    model = keras.Model([ids, y], prediction)
    model.add_loss(keras.layers.Lambda(lambda t: global_mean(tf.square(t[0][:, 0] - t[1])))([prediction, y]))
    return model


def test_one_fgm_step_equals_the_hand_computed_step():
    batch = {"ids": np.array([[1, 2, 3, 3], [4, 5, 1, 0]], "int32"), "y": np.array([1.0, -1.0], "float32")}
    epsilon, rate = 0.7, 0.1
    model = tiny_model()
    start = model.get_weights()

    def loss_and_gradients(embedding_shift):
        embeddings, kernel, bias = (tf.constant(w) for w in model.get_weights())
        with tf.GradientTape() as tape:
            tape.watch([embeddings, kernel, bias])
            vectors = tf.gather(embeddings + embedding_shift, batch["ids"])
            prediction = tf.reduce_mean(vectors, 1) @ kernel + bias
            loss = tf.reduce_mean(tf.square(prediction[:, 0] - batch["y"]))
        return [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, [embeddings, kernel, bias])]

    first = loss_and_gradients(0.0)
    delta = epsilon * first[0] / np.linalg.norm(first[0])
    second = loss_and_gradients(delta)
    expected = [w - rate * (a + b) for w, a, b in zip(start, first, second)]

    trainer = Trainer(model, keras.optimizers.SGD(rate), None, 1, None, "/tmp", chief=False, adversarial="fgm",
                      adv_epsilon=epsilon)
    trainer.step(batch)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    plain = tiny_model()
    Trainer(plain, keras.optimizers.SGD(rate), None, 1, None, "/tmp", chief=False).step(batch)
    assert not np.allclose(plain.get_weights()[0], model.get_weights()[0])  # the perturbation changed the step
