"""--adversarial fgm: the fast gradient method on the token embeddings (Miyato et al. 2017).

Per step: the usual forward and backward pass gives the gradient g of the token embedding matrix E; a
second pass runs with E + epsilon * g / ||g|| and its gradients are added to the first pass's before the
optimizer applies them. The perturbation is added to the looked-up token vectors (its rows for the batch's
tokens), so E itself is never changed and restored: nothing can be left perturbed by an interruption. Under
a distribution strategy g is the global batch's gradient (summed over the replicas), so every replica adds
the perturbation one device would.
"""
from common.env import tf
from common.losses import global_sum


class AdversarialEmbeddings:
    """Adds a perturbation to the output of `model`'s token embedding layer while `delta` is set."""

    def __init__(self, model, epsilon=1.0, layer="Embedding-Token"):
        self.layer, self.epsilon, self.delta = model.get_layer(layer), epsilon, None
        self.embeddings = self.layer.embeddings
        call = self.layer.call

        def perturbed(inputs, *args, **kwargs):
            outputs = call(inputs, *args, **kwargs)
            if self.delta is None or kwargs.get("mode", "embedding") != "embedding":
                return outputs
            return outputs + tf.cast(tf.gather(self.delta, tf.cast(inputs, tf.int32)), outputs.dtype)

        self.layer.call = perturbed

    def perturbation(self, gradient):
        """epsilon * g / ||g|| of the (replica's) embedding gradient g, g summed over the replicas first."""
        g = global_sum(tf.cast(tf.convert_to_tensor(gradient), tf.float32))
        return self.epsilon * g / tf.maximum(tf.norm(g), 1e-12)
