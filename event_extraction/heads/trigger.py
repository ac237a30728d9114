"""`--head trigger` (the default): the triggers of every event type are spans scored GlobalPointer-style,
then the argument stage (heads/arguments.py) reads each trigger's arguments.

Trigger stage: s_t(i, j) = shared(i, j) + start_t(i) + end_t(j) for every event type t and span (i, j)
of up to max_trigger_len tokens (the span head's factored scorer), trained with the multi-label
cross-entropy over spans, log(1 + sum_negatives e^s) + log(1 + sum_positives e^-s) per (row, type):
one positive among thousands of candidates still weighs as much as all the negatives together, so the
scores of real triggers cross 0 (the decision) early in training. The per-token sigmoid pointers it
replaced (`--head pointer`) weigh each positive once against every negative token; on real news text
they rarely reached 0.5 (README, event extraction: trigger recall before and after).

The argument stage's loss is taken per row, as the trigger loss is. Per token (as the pointer head's
per-token trigger loss has it) the arguments weighed about a row's length less than the triggers in the
shared encoder, and each found trigger's arguments came out less precise (README: hard set 0.617 -> 0.731).
"""
import numpy as np

from event_extraction.events import Models, span_masks, token_arrays
from event_extraction.heads import arguments, span


def trigger_length_limit(examples, margin=1.5, extra=4):
    """Longest trigger (tokens) the trigger stage scores: the training data's longest, with a margin."""
    longest = max((l - f + 1 for ex in examples for _, f, l in ex.events), default=4)
    return int(longest * margin) + extra


class TriggerHead:
    name = "trigger"
    thresholds = ("threshold", "argument_threshold")
    lr_multiplier = 10.0
    help = ("trigger spans per event type scored GlobalPointer-style (multi-label cross-entropy), then, conditioned "
            "on each trigger, O/B/I tags per (event type, role) class under a CRF each (one event per trigger; "
            "arguments may overlap)")
    rows, length = staticmethod(arguments.rows), staticmethod(arguments.length)

    def fit(self, examples, rows, classes, max_span_len):
        max_triggers, max_trigger_arguments = arguments.caps(examples)
        max_trigger_len = trigger_length_limit(examples)
        _, begin, inside = arguments.priors(rows, classes)
        trigger = span.span_prior([ex for ex, _ in rows], len(classes.types), max_trigger_len,
                                  positives=lambda ex: len(ex.events))
        return {"priors": [trigger, begin, inside], "max_triggers": max_triggers,
                "max_trigger_arguments": max_trigger_arguments, "max_trigger_len": max_trigger_len}

    def held(self, train, examples, lost, path):
        return arguments.held(train, examples, path)

    def collate(self, rows, classes, config=None):
        token_ids = token_arrays([ex for ex, _ in rows])
        start_ok, end_ok = span_masks([ex for ex, _ in rows], token_ids.shape[1])
        return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids),
                "trigger_span_labels": span.span_labels([sorted(ex.events) for ex, _ in rows]),
                "span_start_ok": start_ok, "span_end_ok": end_ok, **arguments.collate(rows, classes, token_ids)}

    def build(self, bert, classes, config, head_size=64):
        from common.env import keras, tf
        from common.losses import global_mean
        from common.pointers import build_pointer_heads

        n_types, n_classes, multiplier = len(classes.types), len(classes), config.head_lr_multiplier
        trigger_prior, begin, inside = config.priors
        states, _, argument_logits, argument_model = build_pointer_heads(
            bert, 0, n_classes, lr_multiplier=multiplier, seed=config.seed,
            names=("triggers", "trigger_conditioned_norm", "arguments"), target_outputs=3,
            target_bias=np.log(np.maximum([1 - begin - inside, begin, inside], 1e-6)))
        scorer = span.factored_scorer()(
            prior=trigger_prior, lr_multiplier=multiplier, heads=n_types, head_size=head_size, dtype="float32",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=config.seed + 3),
            name="trigger_spans")
        scorer.seed = config.seed + 4
        factors = scorer(bert.model.output)
        token_ids, segment_ids = bert.model.inputs
        encoder = keras.Model(bert.model.inputs, [states] + factors)
        transitions = arguments.class_transitions_layer()(n_classes, multiplier, dtype="float32", name="argument_crf")
        argument_emissions = keras.Model(argument_model.inputs, transitions(argument_model.output))

        labels = keras.layers.Input((None, 3), dtype="int32", name="trigger_span_labels")
        start_ok = keras.layers.Input((None,), name="span_start_ok")
        end_ok = keras.layers.Input((None,), name="span_end_ok")
        trigger_ids = keras.layers.Input((2,), dtype="int32", name="trigger_ids_train")
        argument_tags = keras.layers.Input((None, n_classes), dtype="int32", name="argument_tags")
        has_trigger = keras.layers.Input((1,), name="has_trigger")
        row_classes = keras.layers.Input((n_classes,), name="row_classes")
        emissions = transitions(argument_logits(states, trigger_ids))
        max_trigger_len = config.max_trigger_len

        def loss(x):
            ids, shared, start, end, t_labels, s_ok, e_ok, tags, e, has, trained = x
            mask = tf.cast(tf.not_equal(ids, 0), tf.float32)
            t_loss = global_mean(span.span_loss(shared, start, end, span.valid_spans(s_ok, e_ok, max_trigger_len),
                                                t_labels))  # per row
            return t_loss + arguments.argument_loss(tags, e, has, trained, mask, transitions, per="row")

        total = keras.layers.Lambda(loss, dtype="float32", name="loss")(
            [token_ids] + factors + [labels, start_ok, end_ok, argument_tags, emissions, has_trigger, row_classes])
        train = keras.Model([token_ids, segment_ids, labels, start_ok, end_ok, trigger_ids, argument_tags,
                             has_trigger, row_classes], factors + [emissions])
        train.add_loss(total)
        return Models(train, encoder, argument_emissions, lambda: np.asarray(transitions.trans, "float32"))

    def window_events(self, predictor, examples, settings):
        token_ids = token_arrays(examples)
        outputs = [m.predict([token_ids, np.zeros_like(token_ids)]) for m in predictor.members]
        config = predictor.config
        return arguments.settings_events(predictor, examples, [o[0] for o in outputs], settings, lambda threshold: (
            (by_span(spans), cut) for spans, cut in span.decode_windows(
                predictor, examples, [o[1:] for o in outputs], config.max_trigger_len, config.max_triggers, threshold)))

    def gold_events(self, example, classes, config):
        scored = [(t, f, l) for t, f, l in example.events if l - f < config.max_trigger_len]
        return arguments.gold_events(example, classes, by_span(scored))

    def caps(self, config, cut):
        return (f"{config.max_triggers} triggers per window, {config.max_trigger_arguments} arguments per trigger",
                f"{cut[0]} triggers and {cut[1]} arguments")


def by_span(triggers):
    """{(first, last): [event types]} of [(type, first, last)]."""
    found = {}
    for t, f, l in sorted(triggers):
        found.setdefault((f, l), []).append(t)
    return found


HEAD = TriggerHead()
