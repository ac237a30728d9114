"""`--head pointer`: sigmoid start/end pointers per event type mark the triggers (130 outputs per token for
DuEE's 65 types, biases at the training frequency, threshold --threshold), then the argument stage
(heads/arguments.py). The default until the trigger head's span scores replaced the pointers: on real
news text, where many triggers are rare or unseen in training, the pointers rarely reach 0.5 (on a
development split of real DuEE lines, 10 of 146 test events found at 0.5; README, event extraction).
"""
import numpy as np

from common.pointers import decode_classes
from event_extraction.events import Models, token_arrays
from event_extraction.heads import arguments


class PointerHead:
    name = "pointer"
    thresholds = ("threshold", "argument_threshold")
    lr_multiplier = 10.0
    help = "sigmoid trigger pointers per event type, then the trigger head's arguments (the earlier default)"
    rows, length = staticmethod(arguments.rows), staticmethod(arguments.length)

    def fit(self, examples, rows, classes, max_span_len):
        max_triggers, max_trigger_arguments = arguments.caps(examples)
        return {"priors": list(arguments.priors(rows, classes)), "max_triggers": max_triggers,
                "max_trigger_arguments": max_trigger_arguments}

    def held(self, train, examples, lost, path):
        return arguments.held(train, examples, path)

    def collate(self, rows, classes, config=None):
        token_ids = token_arrays([ex for ex, _ in rows])
        trigger_labels = np.zeros(token_ids.shape + (len(classes.types), 2), "float32")
        for i, (ex, _) in enumerate(rows):
            for t, f, l in ex.events:
                trigger_labels[i, f, t, 0] = trigger_labels[i, l, t, 1] = 1
        return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids), "trigger_labels": trigger_labels,
                **arguments.collate(rows, classes, token_ids)}

    def build(self, bert, classes, config):
        """Trigger pointers per event type, then, conditioned on one trigger (common.pointers), O/B/I emissions
        per class, each class with its own linear-chain CRF. config.priors: frequencies of a trigger label (per
        type and start/end), of an argument's B and of its I (per class): the output biases start at them."""
        from common.env import keras, tf
        from common.losses import global_mean, sigmoid_cross_entropy
        from common.pointers import build_pointer_heads

        n_types, n_classes, multiplier = len(classes.types), len(classes), config.head_lr_multiplier
        begin, inside = config.priors[1], config.priors[2]
        states, trigger_flat, argument_logits, argument_model = build_pointer_heads(
            bert, n_types, n_classes, priors=tuple(config.priors), lr_multiplier=multiplier, seed=config.seed,
            names=("triggers", "trigger_conditioned_norm", "arguments"), target_outputs=3,
            target_bias=np.log(np.maximum([1 - begin - inside, begin, inside], 1e-6)))
        trigger_logits = keras.layers.Reshape((-1, n_types, 2), name="trigger_types")(trigger_flat)
        token_ids, segment_ids = bert.model.inputs
        trigger_probs = keras.layers.Activation("sigmoid", dtype="float32", name="trigger_probs")(trigger_logits)
        encoder = keras.Model(bert.model.inputs, [states, trigger_probs])
        transitions = arguments.class_transitions_layer()(n_classes, multiplier, dtype="float32", name="argument_crf")
        argument_emissions = keras.Model(argument_model.inputs, transitions(argument_model.output))

        trigger_labels = keras.layers.Input((None, n_types, 2), name="trigger_labels")
        trigger_ids = keras.layers.Input((2,), dtype="int32", name="trigger_ids_train")
        argument_tags = keras.layers.Input((None, n_classes), dtype="int32", name="argument_tags")
        has_trigger = keras.layers.Input((1,), name="has_trigger")
        row_classes = keras.layers.Input((n_classes,), name="row_classes")
        emissions = transitions(argument_logits(states, trigger_ids))

        def loss(x):
            ids, t_labels, t_logits, tags, e, has, trained = x
            mask = tf.cast(tf.not_equal(ids, 0), tf.float32)
            t_loss = global_mean(tf.reduce_sum(sigmoid_cross_entropy(t_labels, t_logits), [2, 3]), mask)
            return t_loss + arguments.argument_loss(tags, e, has, trained, mask, transitions)

        total = keras.layers.Lambda(loss, dtype="float32", name="loss")(
            [token_ids, trigger_labels, trigger_logits, argument_tags, emissions, has_trigger, row_classes])
        train = keras.Model([token_ids, segment_ids, trigger_labels, trigger_ids, argument_tags, has_trigger,
                             row_classes], [trigger_logits, emissions])
        train.add_loss(total)
        return Models(train, encoder, argument_emissions, lambda: np.asarray(transitions.trans, "float32"))

    def window_events(self, predictor, examples, settings):
        token_ids = token_arrays(examples)
        outputs = [m.predict([token_ids, np.zeros_like(token_ids)]) for m in predictor.members]
        probs = predictor.average([p for _, p in outputs])
        return arguments.settings_events(predictor, examples, [s for s, _ in outputs], settings, lambda threshold: (
            window_triggers(probs[k], example.window.length, threshold, predictor.config.max_triggers)
            for k, example in enumerate(examples)))

    def gold_events(self, example, classes, config):
        labels = self.collate([(example, None)], classes)["trigger_labels"][0]
        return arguments.gold_events(example, classes, window_triggers(labels, example.window.length)[0])

    def caps(self, config, cut):
        return (f"{config.max_triggers} triggers per window, {config.max_trigger_arguments} arguments per trigger",
                f"{cut[0]} triggers and {cut[1]} arguments")


def window_triggers(trigger_probs, length, threshold=0.5, cap=None):
    """{(first, last): [event types]} of one window's triggers from (T, types, 2) probabilities; how many the
    cap cut."""
    triggers, cut = decode_classes(trigger_probs, length, threshold, cap)
    by_span = {}
    for t, f, l in triggers:
        by_span.setdefault((f, l), []).append(t)
    return by_span, cut


HEAD = PointerHead()
