"""The argument stage of the trigger heads (trigger, pointer): conditioned on one trigger, every (event type,
role) class of the trigger's type tags the tokens O/B/I under a linear-chain CRF of its own.

The trigger's start and end vectors modulate the last block's states by conditional layer normalization
(common.pointers). In training each (window, trigger) pair is a row of its own, which trains only the
classes of its trigger's type (what decoding reads for it); a window without triggers trains the trigger
stage alone. Each trigger is one event with its own arguments.
"""
import numpy as np

from common.pointers import label_counts
from event_extraction.decoding import NO_PATH, decode_class_crf


def rows(examples):
    """Training rows: one per (window, trigger span), its arguments those of every event of that span; a
    window without triggers trains the trigger stage only (span None)."""
    found = []
    for ex in examples:
        spans = list(dict.fromkeys((f, l) for _, f, l in ex.events))
        found += [(ex, span) for span in spans] or [(ex, None)]
    return found


def length(row):
    return len(row[0].token_ids)


def row_arguments(example, span):
    """(class, first, last) of every event of `example` whose trigger is at `span`."""
    return list(dict.fromkeys(a for (_, f, l), arguments in example.events.items() if (f, l) == span
                              for a in arguments))


def priors(rows, classes):
    """Frequencies of a positive trigger label (per event type and token) and argument label (per class) in
    `rows`, and the share of argument cells inside a span past its first token (the I tags)."""
    triggers, tokens, arguments, argument_tokens, inside = label_counts(rows, lambda ex: len(ex.events),
                                                                        row_arguments)
    cells = max(1, argument_tokens * len(classes))
    return triggers / max(1, tokens * len(classes.types)), arguments / cells, inside / cells


def caps(examples, margin=2, extra=4):
    """Per-window caps on predicted triggers and per-trigger arguments (twice the most in training, plus 4)."""
    triggers = max((len(ex.events) for ex in examples), default=0)
    arguments = max((len(a) for ex in examples for a in ex.events.values()), default=0)
    return margin * triggers + extra, margin * arguments + extra


def held(train, examples, path):
    """What of the training data (file `path`) the trigger heads represent; DataError when no event has its
    trigger."""
    from common.data import DataError

    if not any(e.events for e in examples):
        raise DataError(f"{path}: no event has its trigger in the text, and the trigger heads learn from "
                        "triggers; give trigger and trigger_start_index, or train with --head span")
    missing = sum(1 for s in train for e in s.get("events", ()) if e["trigger_start"] < 0)
    return f"{missing} events without a trigger in the text left out" if missing else "all representable"


def collate(rows, classes, token_ids):
    """The argument stage's arrays for a batch of rows: each row's trigger, its classes' O/B/I tags, and which
    classes it trains."""
    n = token_ids.shape[1]
    trigger_ids = np.zeros((len(rows), 2), "int32")
    argument_tags = np.zeros((len(rows), n, len(classes)), "int32")  # 0 O, 1 B, 2 I per class
    has_trigger = np.zeros((len(rows), 1), "float32")
    # the classes a row trains: those of its trigger's event types (what decoding reads for that trigger)
    row_classes = np.zeros((len(rows), len(classes)), "float32")
    for i, (ex, span) in enumerate(rows):
        for t, f, l in ex.events:
            if (f, l) == span:
                row_classes[i, classes.type_classes[t]] = 1
        if span is not None:
            trigger_ids[i], has_trigger[i] = span, 1
            for c, f, l in sorted(row_arguments(ex, span), key=lambda a: (a[1], -a[2])):
                if not argument_tags[i, f:l + 1, c].any():  # a span inside another of its class is not taggable
                    argument_tags[i, f, c], argument_tags[i, f + 1:l + 1, c] = 1, 2
    return {"trigger_ids_train": trigger_ids, "argument_tags": argument_tags, "has_trigger": has_trigger,
            "row_classes": row_classes}


def class_transitions_layer():
    from common.env import keras

    class ClassTransitions(keras.layers.Layer):
        """O/B/I transition scores of every class, (classes, 3, 3), learning `lr_multiplier` times faster
        (stored divided by it, as bert4keras's CRF does). Passes its input through."""

        def __init__(self, n_classes, lr_multiplier=1.0, **kwargs):
            super().__init__(**kwargs)
            self.n_classes, self.lr_multiplier = n_classes, lr_multiplier

        def build(self, input_shape):
            self._trans = self.add_weight(name="trans", shape=(self.n_classes, 3, 3), initializer="zeros")
            super().build(input_shape)

        @property
        def trans(self):
            return self._trans * self.lr_multiplier

        def call(self, inputs):
            return inputs

    return ClassTransitions


def class_crf_nll(emissions, tags, mask, trans):
    """Negative log-likelihood of each class's O/B/I tag path under its own linear-chain CRF, (B, C).

    emissions (B, T, C, 3), tags (B, T, C), mask (B, T) of 1 at real positions (first) and 0 after, trans (C, 3, 3).
    Computed in float64: log Z and the gold path's score nearly cancel, and in float32 the gradient would
    depend on how the batch is summed (one device against replicas) beyond 1e-5. The cost is small next
    to the encoder's (B x T x C x 9 values per step).
    """
    from common.env import tf

    emissions = tf.cast(emissions, tf.float64)
    trans = tf.cast(trans, tf.float64) + NO_PATH.astype("float64")
    steps = tf.transpose(emissions, [1, 0, 2, 3])                          # (T, B, C, 3)
    real = tf.cast(mask, tf.float64)
    # from the lengths, not a transposed mask: Grappler moves a transpose ahead of casts, and where oneDNN
    # does not take booleans (this 2-core AMX machine is one) a transposed boolean prints an ERROR-level line
    lengths = tf.reduce_sum(tf.cast(real, tf.int32), 1)
    keep = (tf.range(tf.shape(real)[1])[:, None] < lengths[None, :])[:, :, None, None]  # (T, B, 1, 1)
    first = steps[0] + tf.constant([0, 0, -1e4], tf.float64)              # no path starts inside

    def forward(alpha, step):
        e, m = step
        return tf.where(m, tf.reduce_logsumexp(alpha[..., :, None] + trans[None], -2) + e, alpha)

    last = tf.foldl(forward, (steps[1:], keep[1:]), first)
    log_z = tf.reduce_logsumexp(last, -1)                                  # (B, C)
    one_hot = tf.one_hot(tags, 3, dtype=tf.float64) * real[:, :, None, None]
    point = tf.reduce_sum(emissions * one_hot, [1, 3])
    pairs = tf.einsum("btci,cij,btcj->bc", one_hot[:, :-1], trans, one_hot[:, 1:])
    return tf.cast(log_z - point - pairs, tf.float32)


def argument_loss(tags, emissions, has_trigger, row_classes, mask, transitions, per="token"):
    """Each row's summed class NLLs (over the classes it trains), per token ("token") or per row ("row") of the
    rows with a trigger."""
    from common.env import tf
    from common.losses import global_sum

    nll = tf.reduce_sum(class_crf_nll(emissions, tags, mask, transitions.trans) * row_classes, -1)
    nll = nll * has_trigger[:, 0]
    count = mask * has_trigger if per == "token" else has_trigger
    return tf.reduce_sum(nll) / tf.maximum(global_sum(tf.reduce_sum(count)), 1.0)


def trigger_events(emissions, length, transitions, classes, types, cap=None, argument_thresholds=(0.5,)):
    """Per argument threshold: the events of one trigger span [(type, [(class, first, last)])], a trigger of type t
    reading the classes of t only, from its (T, classes, 3) emissions, and how many arguments the cap cut.

    An argument threshold p shifts the O tag's emissions by its log-odds, log(p / (1 - p)), before the CRF decodes,
    as a probability threshold moves a binary decision: 0.5 decodes the scores as trained, a lower one tags more
    tokens as arguments. The CRF is trained on gold paths alone, so nothing in training sets the balance of
    precision and recall the official metric rewards; on real DuEE text the models trained here find fewer
    arguments than they miss, and a threshold chosen on dev lifts their F1 (README, "The argument threshold")."""
    shifts = [float(np.log(p / (1 - p))) if p != 0.5 else 0.0 for p in argument_thresholds]
    found = [([], 0) for _ in shifts]
    for t in types:
        for n, (arguments, cut) in enumerate(decode_class_crf(emissions, length, transitions, classes.type_classes[t],
                                                              cap, shifts)):
            found[n] = (found[n][0] + [(t, arguments)], found[n][1] + cut)
    return found


def settings_events(predictor, examples, states, settings, decode_triggers):
    """window_events for settings of a trigger threshold and an argument threshold each (the trigger heads'), the
    triggers decoded once per trigger threshold the settings use: decode_triggers(threshold) gives per window
    ({(first, last): [types]}, how many triggers the cap cut). The cuts are counted for the first setting."""
    by_threshold = {}
    for threshold in dict.fromkeys(s["threshold"] for s in settings):
        decoded = list(decode_triggers(threshold))
        predictor.cut[0] += sum(cut for _, cut in decoded) if not by_threshold else 0
        by_threshold[threshold] = [triggers for triggers, _ in decoded]
    return window_events(predictor, examples, states, [by_threshold[s["threshold"]] for s in settings],
                         [s["argument_threshold"] for s in settings])


def window_events(predictor, examples, states, triggers, argument_thresholds):
    """Per setting, per window [(type, trigger, arguments)]: the arguments of every (window, trigger) pair that
    some setting holds, scored once, in batches, and decoded once per argument threshold the settings that hold
    the pair use.

    states: per member, the windows' encoder states; triggers: per setting, per window {(first, last): [types]};
    argument_thresholds: per setting, its argument threshold (trigger_events). The members' emissions and
    transitions are averaged (one CRF of averaged scores). The cap's cuts are counted for the first setting."""
    wanted = [{} for _ in examples]  # per window {(first, last): {type: [argument thresholds]}} of every setting
    for per_window, threshold in zip(triggers, argument_thresholds):
        for k, by_span in enumerate(per_window):
            for span, types in by_span.items():
                for t in types:
                    chosen = wanted[k].setdefault(span, {}).setdefault(t, [])
                    chosen += [threshold] if threshold not in chosen else []
    pairs = [(k, span, by_type) for k, by_span in enumerate(wanted) for span, by_type in by_span.items()]
    decoded = [{} for _ in examples]  # per window {(type, span, argument threshold): arguments}
    members = predictor.members
    transitions = predictor.average([m.transitions() for m in members])
    first = {(k, span, t) for k, by_span in enumerate(triggers[0]) for span, types in by_span.items() for t in types}
    for b in range(0, len(pairs), predictor.batch_size):
        part = pairs[b:b + predictor.batch_size]
        rows, spans = [k for k, _, _ in part], np.array([s for _, s, _ in part], "int32")
        emissions = predictor.average([m.arguments([s[rows], spans]) for m, s in zip(members, states)])
        for (k, span, by_type), e in zip(part, emissions):
            for t, thresholds in by_type.items():
                found = trigger_events(e, examples[k].window.length, transitions, predictor.classes, [t],
                                       predictor.config.max_trigger_arguments, thresholds)
                for threshold, ([(_, arguments)], cut) in zip(thresholds, found):
                    predictor.cut[1] += cut if (k, span, t) in first and threshold == argument_thresholds[0] else 0
                    decoded[k][t, span, threshold] = arguments
    return [[[(t, span, decoded[k][t, span, threshold]) for span, types in by_span.items() for t in types]
             for k, by_span in enumerate(per_window)] for per_window, threshold in zip(triggers, argument_thresholds)]


def gold_events(example, classes, triggers):
    """A window's events decoded from its own labels: the argument tags as one-hot emissions of every
    (window, trigger) row, under no transitions. triggers: {(first, last): [types]} decoded from the labels."""
    labelled = [(example, span) for _, span in rows([example]) if span is not None]
    if not labelled:
        return []
    arrays = collate(labelled, classes, np.zeros((len(labelled), len(example.token_ids)), "int32"))
    emissions = {span: 10 * np.eye(3, dtype="float32")[arrays["argument_tags"][r]]
                 for r, (_, span) in enumerate(labelled)}
    no_transitions = np.zeros((len(classes), 3, 3), "float32")
    found = []
    for span, types in triggers.items():
        [(events, _)] = trigger_events(emissions[span], example.window.length, no_transitions, classes, types)
        found += [(t, span, arguments) for t, arguments in events]
    return found
