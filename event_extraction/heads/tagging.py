"""`--head crf` and `--head memm`: one B/I tag per token over all (event type, role) classes (tag 0 is O;
class c has B = 1 + 2c and I = 2 + 2c). crf: BERT + CRF with constrained Viterbi, the 2020 design's head;
memm: bert4keras's bidirectional maximum-entropy Markov model, a softmax per token instead of the CRF's
sequence normalisation (faster to train). An argument whose tokens another one already holds is lost;
the arguments of one event type make one event.
"""
import numpy as np

from event_extraction.decoding import tag_spans, viterbi
from event_extraction.events import Models, token_arrays


def memm_token_losses(trans, emissions, tags, mask):
    """Cross-entropy per token of the bidirectional MEMM: softmax((emission_t + trans[tag_{t-1}]) / 2),
    forwards and backwards (transposed transitions over the reversed sequence), averaged."""
    from common.env import tf

    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), 1)

    def direction(e, y, t):
        history = tf.gather(t, y)                                           # (B, T, K): scores of the next tag
        logits = (e + tf.concat([e[:, :1], history[:, :-1]], 1)) / 2
        return tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)

    forward = direction(emissions, tags, trans)
    reverse = lambda x: tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)  # noqa: E731
    backward = reverse(direction(reverse(emissions), reverse(tags), tf.transpose(trans)))
    return (forward + backward) / 2


class TaggingHead:
    lr_multiplier = 100.0
    thresholds = ()

    def __init__(self, name, help):
        self.name, self.help = name, help

    def rows(self, examples):
        return examples

    def length(self, example):
        return len(example.token_ids)

    def fit(self, examples, rows, classes, max_span_len):
        return {}

    def held(self, train, examples, lost, path):
        return f"{lost} of them not taggable with one tag per token"

    def collate(self, examples, classes=None, config=None):
        token_ids = token_arrays(examples)
        tags = np.zeros_like(token_ids)
        for i, e in enumerate(examples):
            tags[i, :len(e.tags)] = e.tags
        return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids), "tags": tags}

    def build(self, bert, classes, config):
        from common.env import keras, tf
        from common.losses import global_mean
        from bert4keras.layers import ConditionalRandomField, MaximumEntropyMarkovModel

        init = keras.initializers.TruncatedNormal(stddev=0.02, seed=config.seed)
        token_ids, segment_ids = bert.model.inputs
        emissions = keras.layers.Dense(classes.n_tags, kernel_initializer=init, dtype="float32",
                                       name="emissions")(bert.model.output)
        layer = (ConditionalRandomField if self.name == "crf" else MaximumEntropyMarkovModel)(
            lr_multiplier=config.head_lr_multiplier, dtype="float32", name=self.name)
        scores = layer(emissions)  # padding masked to -inf (the CRF reads its mask from there)
        tags = keras.layers.Input((None,), dtype="int32", name="tags")
        crf = self.name == "crf"

        def loss(x):
            scores, tags, ids = x
            mask = tf.not_equal(ids, 0)
            if crf:
                return global_mean(layer.sparse_loss(tags, scores))  # per sentence
            return global_mean(memm_token_losses(layer.trans, tf.where(mask[..., None], scores, 0.0), tags, mask),
                               mask)

        total = keras.layers.Lambda(loss, dtype="float32", name="loss")([scores, tags, token_ids])
        train_model = keras.Model([token_ids, segment_ids, tags], scores)
        train_model.add_loss(total)
        predict_model = keras.Model(bert.model.inputs, scores)
        return Models(train_model, predict_model, transitions=lambda: np.asarray(layer.trans, "float32"))

    def window_events(self, predictor, examples, settings):
        """Viterbi over the (ensemble: averaged) emissions and transitions, I only after B or I of its class;
        the same for every setting (no threshold)."""
        token_ids = token_arrays(examples)
        # the CRF layer masks padding with -inf
        emissions = predictor.average([np.nan_to_num(m.predict([token_ids, np.zeros_like(token_ids)]), neginf=0.0)
                                       for m in predictor.members])
        transitions = predictor.average([m.transitions() for m in predictor.members])
        lengths = (token_ids > 0).sum(1)
        paths, _ = viterbi(emissions, lengths, transitions, predictor.classes.allowed_transitions())
        found = [[(None, None, [(c, f + 1, l + 1) for c, f, l in tag_spans(path[1:length - 1])])]
                 for path, length in zip(paths, lengths)]
        return [found] * len(settings)

    def gold_events(self, example, classes, config):
        return [(None, None, [(c, f + 1, l + 1) for c, f, l in tag_spans(example.tags[1:-1])])]

    def caps(self, config, cut):
        return "", ""


CRF = TaggingHead("crf", "one B/I tag per token over all classes, BERT + CRF (the 2020 design's head)")
MEMM = TaggingHead("memm", "one B/I tag per token, bert4keras's bidirectional MEMM")
