"""DuEE 1.0: event types and (event type, role) classes, four heads over BERT, and decoding into events.

Heads (`--head`):
  trigger  (the default) sigmoid start/end pointers mark the triggers of every event type; then,
        conditioned on one trigger (its start and end vectors modulate the last block's states by
        conditional layer normalization, common.pointers), every class of the trigger's type tags
        the tokens O/B/I under its own linear-chain CRF. Each trigger is one event with its own
        arguments, so two events of one type in one sentence stay apart (sharing arguments or not),
        and an argument may overlap or nest in an argument of another class or event. A row trains
        the classes of its trigger's types only (what decoding reads for that trigger). Not held:
        two events of one type with one trigger (they merge), a span nested in another of its class
        in one event, and an argument more than half a window (--stride) away from its trigger.
  span  every class scores every span (start, end) at once, so one span may carry several
        classes (the same argument in two roles or two events) and spans may nest or overlap.
        Scores are EfficientGlobalPointer's: s_c(i, j) = shared(i, j) + start_c(i) + end_c(j),
        trained with a multi-label cross-entropy over spans. The (batch, classes, length, length)
        tensor of all scores is never built: the layer returns its three factors, the loss sums
        exp(s_c) over all spans as a matrix product of the factors, and decoding checks only the
        spans whose upper bound shared + max_c start_c + max_c end_c is above 0.
  crf   one B/I tag per token (tag 0 is O; class c has B = 1 + 2c and I = 2 + 2c), BERT + CRF,
        constrained Viterbi; an argument whose tokens another one already holds is lost.
  memm  the same tags with bert4keras's bidirectional maximum-entropy Markov model: a
        softmax per token instead of the CRF's sequence normalisation (faster to train).
The span, crf and memm heads find arguments, not events: the arguments of one event type make one event.
"""
from dataclasses import dataclass, field

import numpy as np

from common.pointers import decode_classes, label_counts
from common.tokenization import tokenize
from common.windows import split_windows

HEADS = ("trigger", "span", "crf", "memm")
HEAD_LR_MULTIPLIERS = {"trigger": 10.0, "span": 100.0, "crf": 100.0, "memm": 100.0}


@dataclass
class Classes:
    """The event types and (event type, role) pairs of a schema."""
    pairs: list
    types: list = None

    @classmethod
    def from_schema(cls, schema):
        return cls([(event_type, role) for event_type, roles in schema.items() for role in roles], list(schema))

    def __post_init__(self):
        self._index = {c: i for i, c in enumerate(self.pairs)}
        self.types = self.types or list(dict.fromkeys(t for t, _ in self.pairs))
        self._type_index = {t: i for i, t in enumerate(self.types)}
        # the classes of each event type: what a trigger of that type reads
        self.type_classes = [np.array([i for i, (t, _) in enumerate(self.pairs) if t == name], int)
                             for name in self.types]

    def type_index(self, event_type):
        return self._type_index[event_type]

    def __len__(self):
        return len(self.pairs)

    def index(self, event_type, role):
        return self._index[(event_type, role)]

    @property
    def n_tags(self):
        return 1 + 2 * len(self.pairs)

    def allowed_transitions(self):
        """(tags, tags) booleans: an I tag follows only the B or I of its own class."""
        allowed = np.ones((self.n_tags, self.n_tags), bool)
        inside = np.arange(2, self.n_tags, 2)
        allowed[:, inside] = False
        allowed[inside - 1, inside] = True  # B-c -> I-c
        allowed[inside, inside] = True      # I-c -> I-c
        return allowed


# ---------------------------------------------------------------- encoding

def argument_spans(tokenized, arguments, classes):
    """[(class, first token, last token)] of a sentence's arguments, without duplicates, in text order."""
    spans = {}
    for event_type, role, start, value in arguments:
        span = tokenized.token_span(start, start + len(value))
        if span is not None:
            spans[(classes.index(event_type, role),) + span] = None
    return sorted(spans, key=lambda s: (s[1], s[2], s[0]))


def tag_sequence(n_tokens, spans):
    """B/I tags of a text's tokens and the spans one tag per token cannot hold (overlapping an earlier one)."""
    tags = np.zeros(n_tokens, "int32")
    lost = []
    for c, first, last in spans:
        if tags[first:last + 1].any():
            lost.append((c, first, last))
            continue
        tags[first] = 1 + 2 * c
        tags[first + 1:last + 1] = 2 + 2 * c
    return tags, lost


def event_spans(tokenized, sentence, classes):
    """{(type, trigger first, trigger last): {(class, first, last)}} of a sentence's events whose trigger is in
    its text (two events of one type with one trigger become one), in text token positions."""
    found = {}
    for event in sentence.get("events", ()):
        if event["trigger_start"] < 0 or event["event_type"] not in classes.types:
            continue
        trigger = tokenized.token_span(event["trigger_start"], event["trigger_start"] + len(event["trigger"]))
        if trigger is None:
            continue
        arguments = found.setdefault((classes.type_index(event["event_type"]),) + trigger, {})
        for role, start, value in event["arguments"]:
            span = tokenized.token_span(start, start + len(value))
            if span is not None:
                arguments[(classes.index(event["event_type"], role),) + span] = None
    return {key: list(arguments) for key, arguments in found.items()}


def untriggered(sentence):
    """Events of a sentence that the trigger head cannot learn: no trigger found in the text."""
    return sum(1 for e in sentence.get("events", ()) if e["trigger_start"] < 0)


@dataclass
class Example:
    """One window: token ids with [CLS]/[SEP], and its labels in model positions (0 is [CLS])."""
    token_ids: list
    spans: list          # [(class, first, last)] held whole by the window (span head)
    tags: np.ndarray     # B/I tags (crf, memm heads)
    cut_left: bool       # the window starts inside the text: a span at its first token may be cut
    cut_right: bool      # the window ends inside the text
    events: dict = field(default_factory=dict)  # {(type, first, last) of a trigger: [(class, first, last)]} held
    #                                              whole by the window (trigger head)


def make_examples(tokenizer, sentence, classes, maxlen, stride=None):
    """(one Example per window, spans a tag sequence cannot hold, all spans)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    spans = argument_spans(tokenized, sentence["arguments"], classes)
    tags, lost = tag_sequence(len(tokenized.ids), spans)
    triggered = event_spans(tokenized, sentence, classes)
    examples = []
    for w in split_windows(len(tokenized.ids), maxlen - 2, stride):
        window_tags = tags[w.start:w.end].copy()
        if w.start > 0 and window_tags[0] % 2 == 0 and window_tags[0] > 0:
            window_tags[0] -= 1  # an argument cut by the left border starts here as B
        shift = 1 - w.start
        held = [(c, f + shift, l + shift) for c, f, l in spans if w.holds_whole(f, l)]
        held_events = {(t, f + shift, l + shift): [(c, af + shift, al + shift) for c, af, al in arguments
                                                   if w.holds_whole(af, al)]
                       for (t, f, l), arguments in triggered.items() if w.holds_whole(f, l)}
        ids = [tokenizer._token_start_id] + tokenized.ids[w.start:w.end] + [tokenizer._token_end_id]
        examples.append(Example(ids, held, np.concatenate([[0], window_tags, [0]]).astype("int32"),
                                w.start > 0, w.end < len(tokenized.ids), held_events))
    return examples, lost, spans


def span_limits(examples, margin=1.5, extra=4):
    """(longest span in tokens, most spans per window) the span head allows: from the training data,
    with a margin, so an undertrained model cannot flood a window with long or many spans."""
    longest = max((l - f + 1 for ex in examples for _, f, l in ex.spans), default=8)
    most = max((len(ex.spans) for ex in examples), default=0)
    return int(longest * margin) + extra, int(most * margin * 2) + extra


def span_prior(examples, n_classes, max_span_len):
    """Frequency of a positive among all (class, valid span) pairs of the examples: the span head's
    scores start at its log-odds, so a fresh head predicts what the data holds."""
    positives = candidates = 0
    for e in examples:
        n = len(e.token_ids) - 2
        positives += len(e.spans)
        candidates += sum(min(max_span_len, n - i) for i in range(n))
    return positives / max(1, candidates * n_classes)


def trigger_rows(examples):
    """Training rows of the trigger head: one per (window, trigger span), its arguments those of every event
    of that span; a window without triggers trains the trigger pointers only (span None)."""
    rows = []
    for ex in examples:
        spans = list(dict.fromkeys((f, l) for _, f, l in ex.events))
        rows += [(ex, span) for span in spans] or [(ex, None)]
    return rows


def row_arguments(example, span):
    """(class, first, last) of every event of `example` whose trigger is at `span`."""
    return list(dict.fromkeys(a for (_, f, l), arguments in example.events.items() if (f, l) == span
                              for a in arguments))


def trigger_priors(rows, classes):
    """Frequencies of a positive trigger label (per event type) and argument label (per class) in `rows`,
    and the share of argument cells inside a span past its first token (the I tags)."""
    triggers, tokens, arguments, argument_tokens, inside = label_counts(rows, lambda ex: len(ex.events),
                                                                        row_arguments)
    cells = max(1, argument_tokens * len(classes))
    return triggers / max(1, tokens * len(classes.types)), arguments / cells, inside / cells


def trigger_caps(examples, margin=2, extra=4):
    """Per-window caps on predicted triggers and per-trigger arguments (twice the most in training, plus 4)."""
    triggers = max((len(ex.events) for ex in examples), default=0)
    arguments = max((len(a) for ex in examples for a in ex.events.values()), default=0)
    return margin * triggers + extra, margin * arguments + extra


def collate_triggers(rows, classes):
    """Arrays for a batch of trigger-head rows, keyed by the training model's input names."""
    token_ids = _token_arrays([ex for ex, _ in rows])
    n = token_ids.shape[1]
    trigger_labels = np.zeros((len(rows), n, len(classes.types), 2), "float32")
    trigger_ids = np.zeros((len(rows), 2), "int32")
    argument_tags = np.zeros((len(rows), n, len(classes)), "int32")  # 0 O, 1 B, 2 I per class
    has_trigger = np.zeros((len(rows), 1), "float32")
    # the classes a row trains: those of its trigger's event types (what decoding reads for that trigger)
    row_classes = np.zeros((len(rows), len(classes)), "float32")
    for i, (ex, span) in enumerate(rows):
        for t, f, l in ex.events:
            trigger_labels[i, f, t, 0] = trigger_labels[i, l, t, 1] = 1
            if (f, l) == span:
                row_classes[i, classes.type_classes[t]] = 1
        if span is not None:
            trigger_ids[i], has_trigger[i] = span, 1
            for c, f, l in sorted(row_arguments(ex, span), key=lambda a: (a[1], -a[2])):
                if not argument_tags[i, f:l + 1, c].any():  # a span inside another of its class is not taggable
                    argument_tags[i, f, c], argument_tags[i, f + 1:l + 1, c] = 1, 2
    return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids), "trigger_labels": trigger_labels,
            "trigger_ids_train": trigger_ids, "argument_tags": argument_tags,
            "has_trigger": has_trigger, "row_classes": row_classes}


def _token_arrays(examples):
    from common.training import padded_length
    n = padded_length(max(len(e.token_ids) for e in examples))
    token_ids = np.zeros((len(examples), n), "int32")
    for i, e in enumerate(examples):
        token_ids[i, :len(e.token_ids)] = e.token_ids
    return token_ids


def span_masks(examples, n):
    """(start_ok, end_ok): where a span may start and end (real tokens, not a border that may cut it)."""
    start_ok = np.zeros((len(examples), n), "float32")
    end_ok = np.zeros((len(examples), n), "float32")
    for i, e in enumerate(examples):
        last = len(e.token_ids) - 2
        start_ok[i, 1:last + 1] = end_ok[i, 1:last + 1] = 1
        if e.cut_left:
            start_ok[i, 1] = 0
        if e.cut_right:
            end_ok[i, last] = 0
    return start_ok, end_ok


def collate(examples, head, classes=None):
    """Arrays of a batch keyed by the training model's input names (trigger head: rows of trigger_rows)."""
    if head == "trigger":
        return collate_triggers(examples, classes)
    token_ids = _token_arrays(examples)
    batch = {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids)}
    if head == "span":
        batch["span_start_ok"], batch["span_end_ok"] = span_masks(examples, token_ids.shape[1])
        k = max(1, max(len(e.spans) for e in examples))
        labels = np.full((len(examples), k, 3), -1, "int32")  # (class, first, last); -1: padding
        for i, e in enumerate(examples):
            if e.spans:
                labels[i, :len(e.spans)] = e.spans
        batch["span_labels"] = labels
    else:
        tags = np.zeros_like(token_ids)
        for i, e in enumerate(examples):
            tags[i, :len(e.tags)] = e.tags
        batch["tags"] = tags
    return batch


# ---------------------------------------------------------------- models

def _factored_scorer():
    from common.env import keras, tf
    from common.losses import prior_logit
    from bert4keras.backend import apply_rotary_position_embeddings
    from bert4keras.layers import EfficientGlobalPointer, SinusoidalPositionEmbedding

    class FactoredSpanScores(EfficientGlobalPointer):
        """EfficientGlobalPointer's scores as their factors: shared (B, T, T), start and end (B, C, T).

        `prior`: the scores start at its log-odds (the per-class start and end biases hold it).
        `lr_multiplier`: the per-class terms learn this many times faster than the rest (their
        weights are stored divided by it and multiplied back, as bert4keras's CRF does).
        """

        def __init__(self, prior=0.5, lr_multiplier=1.0, **kwargs):
            super().__init__(**kwargs)
            self.prior, self.lr_multiplier = prior, lr_multiplier

        def build(self, input_shape):
            super().build(input_shape)
            for dense in (self.p_dense, self.q_dense):  # the whole head computes in float32, whatever the policy
                dense._set_dtype_policy(self.dtype_policy)
            m = self.lr_multiplier
            self.q_dense.bias_initializer = keras.initializers.Constant(prior_logit(self.prior) / m)
            self.q_dense.kernel_initializer = keras.initializers.TruncatedNormal(stddev=0.02 / m, seed=self.seed)

        def call(self, inputs, mask=None):
            x = self.p_dense(inputs)
            qw, kw = x[..., ::2], x[..., 1::2]
            if self.RoPE:
                position = SinusoidalPositionEmbedding(self.head_size, "zero", dtype=self.dtype_policy)(x)
                qw, kw = apply_rotary_position_embeddings(position, qw, kw)
            shared = tf.einsum("bmd,bnd->bmn", qw, kw) / self.head_size ** 0.5
            bias = tf.einsum("bnh->bhn", self.q_dense(x)) * (self.lr_multiplier / 2)
            return [shared, bias[:, ::2], bias[:, 1::2]]

        def compute_mask(self, inputs, mask=None):
            return None

    return FactoredSpanScores


def valid_spans(start_ok, end_ok, max_span_len):
    """(B, T, T) booleans: spans (i, j) with i <= j < i + max_span_len, starting and ending where allowed."""
    from common.env import tf

    position = tf.range(tf.shape(start_ok)[1])
    width = position[None, :] - position[:, None]  # j - i
    band = (width >= 0) & (width < max_span_len)
    return band[None] & (start_ok[:, :, None] > 0) & (end_ok[:, None, :] > 0)


def span_loss(shared, start, end, valid, labels):
    """Multi-label cross-entropy over all spans of every (example, class), (B,) summed over classes.

    log(1 + sum over negative spans of e^s) + log(1 + sum over positive spans of e^-s), where the
    sum over all spans, exp(s_c(i, j)) = exp(shared(i, j)) exp(start_c(i)) exp(end_c(j)), is a
    product of (B, T, T) and (B, T, C) matrices (with max-shifts for stability), and the negatives'
    sum is that total minus the positives' (clipped away from 0, as GPLinker's sparse version does).
    labels: (B, K, 3) of (class, first, last), class -1 for padding.
    """
    from common.env import tf

    shared, start, end = (tf.cast(t, tf.float32) for t in (shared, start, end))
    batch, n_classes = tf.shape(start)[0], tf.shape(start)[1]
    very_negative = -1e30
    masked = tf.where(valid, shared, very_negative)
    row_max = tf.reduce_max(masked, -1)                                    # (B, T)
    row_ok = row_max > very_negative / 2
    row_max = tf.where(row_ok, row_max, 0.0)
    p = tf.where(valid, tf.exp(masked - row_max[:, :, None]), 0.0)         # (B, T, T), entries in [0, 1]
    end_ok = tf.reduce_any(valid, 1)                                       # (B, T): ends of some valid span
    end_masked = tf.where(end_ok[:, None, :], end, very_negative)
    end_max = tf.reduce_max(end_masked, -1)                                # (B, C)
    q = tf.where(end_ok[:, None, :], tf.exp(end_masked - end_max[:, :, None]), 0.0)  # (B, C, T)
    row_sums = tf.einsum("bij,bcj->bci", p, q)                             # (B, C, T)
    row_terms = start + row_max[:, None, :] + tf.math.log(tf.maximum(row_sums, 1e-30))
    row_terms = tf.where(row_ok[:, None, :] & (row_sums > 0), row_terms, very_negative)
    log_total = end_max + tf.reduce_logsumexp(row_terms, -1)               # (B, C): log sum_spans e^s

    classes, firsts, lasts = labels[..., 0], labels[..., 1], labels[..., 2]
    real = classes >= 0
    b = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(classes))
    c, f, l = (tf.maximum(t, 0) for t in (classes, firsts, lasts))
    scores = (tf.gather_nd(shared, tf.stack([b, f, l], -1)) + tf.gather_nd(start, tf.stack([b, c, f], -1))
              + tf.gather_nd(end, tf.stack([b, c, l], -1)))                # (B, K)
    segments = tf.where(real, b * n_classes + c, batch * n_classes)        # padding: an extra segment
    n_segments = batch * n_classes + 1

    def segment_logsumexp(values):
        values = tf.where(real, values, very_negative)
        top = tf.math.unsorted_segment_max(tf.reshape(values, [-1]), tf.reshape(segments, [-1]), n_segments)
        top = tf.where(top > very_negative / 2, top, 0.0)
        summed = tf.math.unsorted_segment_sum(tf.reshape(tf.exp(values - tf.gather(top, segments)), [-1]),
                                              tf.reshape(segments, [-1]), n_segments)
        return tf.reshape((top + tf.math.log(tf.maximum(summed, 1e-30)))[:-1], [batch, n_classes]), \
            tf.reshape(summed[:-1] > 0, [batch, n_classes])

    log_positive, has_positive = segment_logsumexp(scores)                 # (B, C): log sum_pos e^s
    log_negative_pos, _ = segment_logsumexp(-scores)                       # log sum_pos e^-s
    log_all = tf.nn.softplus(log_total)                                    # log(1 + sum_spans e^s)
    share = tf.where(has_positive, tf.exp(log_positive - log_all), 0.0)    # positives' part of it
    negative = log_all + tf.math.log(tf.clip_by_value(1.0 - share, 1e-7, 1.0))
    positive = tf.where(has_positive, tf.nn.softplus(log_negative_pos), 0.0)
    return tf.reduce_sum(negative + positive, -1)


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


@dataclass
class Models:
    """train: takes a dict of inputs and labels and holds its loss; predict: [token_ids, segment_ids] ->
    emissions (crf, memm), span factors (span) or [states, trigger probabilities (B, T, types, 2)] (trigger);
    arguments (trigger): [states, trigger (start, end) ids] -> argument probabilities (B, T, classes, 2);
    transitions() (crf, memm): the tag transition scores as numpy."""
    train: object
    predict: object
    arguments: object = None
    transitions: object = None


def _class_transitions_layer():
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


# O -> I is not a path: an inside tag follows a B or an I of its class
_NO_PATH = np.array([[0, 0, -1e4], [0, 0, 0], [0, 0, 0]], "float32")


def class_crf_nll(emissions, tags, mask, trans):
    """Negative log-likelihood of each class's O/B/I tag path under its own linear-chain CRF, (B, C).

    emissions (B, T, C, 3), tags (B, T, C), mask (B, T) booleans (real positions first), trans (C, 3, 3).
    Computed in float64: log Z and the gold path's score nearly cancel, and in float32 the gradient would
    depend on how the batch is summed (one device against replicas) beyond 1e-5. The cost is small next
    to the encoder's (B x T x C x 9 values per step).
    """
    from common.env import tf

    emissions = tf.cast(emissions, tf.float64)
    trans = tf.cast(trans, tf.float64) + _NO_PATH.astype("float64")
    steps = tf.transpose(emissions, [1, 0, 2, 3])                          # (T, B, C, 3)
    keep = tf.transpose(mask)[:, :, None, None]                            # (T, B, 1, 1)
    first = steps[0] + tf.constant([0, 0, -1e4], tf.float64)              # no path starts inside

    def forward(alpha, step):
        e, m = step
        return tf.where(m, tf.reduce_logsumexp(alpha[..., :, None] + trans[None], -2) + e, alpha)

    last = tf.foldl(forward, (steps[1:], keep[1:]), first)
    log_z = tf.reduce_logsumexp(last, -1)                                  # (B, C)
    one_hot = tf.one_hot(tags, 3, dtype=tf.float64) * tf.cast(mask, tf.float64)[:, :, None, None]
    point = tf.reduce_sum(emissions * one_hot, [1, 3])
    pairs = tf.einsum("btci,cij,btcj->bc", one_hot[:, :-1], trans, one_hot[:, 1:])
    return tf.cast(log_z - point - pairs, tf.float32)


def build_trigger_model(bert, classes, priors=(0.5, 0.5, 0.5), lr_multiplier=10, seed=0):
    """The trigger head's Models: trigger pointers per event type, then, conditioned on one trigger
    (common.pointers), O/B/I emissions per class, each class with its own linear-chain CRF.

    priors: frequencies of a trigger label (per type and start/end), of an argument's B and of its I
    (per class) in the training rows: the output biases start at them. lr_multiplier: the output layers
    and the transitions learn this many times faster than BERT."""
    from common.env import keras, tf
    from common.losses import global_mean, global_sum, sigmoid_cross_entropy
    from common.pointers import build_pointer_heads

    n_types, n_classes = len(classes.types), len(classes)
    begin, inside = priors[1], priors[2]
    states, trigger_flat, argument_logits, argument_model = build_pointer_heads(
        bert, n_types, n_classes, priors=priors, lr_multiplier=lr_multiplier, seed=seed,
        names=("triggers", "trigger_conditioned_norm", "arguments"), target_outputs=3,
        target_bias=np.log(np.maximum([1 - begin - inside, begin, inside], 1e-6)))
    trigger_logits = keras.layers.Reshape((-1, n_types, 2), name="trigger_types")(trigger_flat)
    token_ids, segment_ids = bert.model.inputs
    trigger_probs = keras.layers.Activation("sigmoid", dtype="float32", name="trigger_probs")(trigger_logits)
    encoder = keras.Model(bert.model.inputs, [states, trigger_probs])
    transitions = _class_transitions_layer()(n_classes, lr_multiplier, dtype="float32", name="argument_crf")
    arguments = keras.Model(argument_model.inputs, transitions(argument_model.output))  # emissions

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
        # per token, like the trigger loss: a row's summed class NLLs over the row's tokens
        nll = tf.reduce_sum(class_crf_nll(e, tags, mask > 0, transitions.trans) * trained, -1) * has[:, 0]
        return t_loss + tf.reduce_sum(nll) / tf.maximum(global_sum(tf.reduce_sum(mask * has)), 1.0)

    total = keras.layers.Lambda(loss, dtype="float32", name="loss")(
        [token_ids, trigger_labels, trigger_logits, argument_tags, emissions, has_trigger, row_classes])
    train = keras.Model([token_ids, segment_ids, trigger_labels, trigger_ids, argument_tags, has_trigger,
                         row_classes], [trigger_logits, emissions])
    train.add_loss(total)
    return Models(train, encoder, arguments=arguments, transitions=lambda: np.asarray(transitions.trans, "float32"))


def build_model(bert, classes, head="trigger", lr_multiplier=None, max_span_len=32, prior=0.5, head_size=64, seed=0):
    """The head's Models (see Models).

    lr_multiplier: how many times faster than BERT the head's own parameters learn (span: the
    per-class start/end terms; crf, memm: the transitions). prior: the span head's starting
    frequency of a positive (class, span) pair (span_prior)."""
    from common.env import keras, tf
    from common.losses import global_mean
    from bert4keras.layers import ConditionalRandomField, MaximumEntropyMarkovModel

    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose from {', '.join(HEADS)}")
    lr_multiplier = HEAD_LR_MULTIPLIERS[head] if lr_multiplier is None else lr_multiplier
    if head == "trigger":
        priors = tuple(prior) if np.ndim(prior) else (prior,) * 3  # trigger, argument boundary, inside frequencies
        return build_trigger_model(bert, classes, priors, lr_multiplier, seed)
    init = keras.initializers.TruncatedNormal(stddev=0.02, seed=seed)
    token_ids, segment_ids = bert.model.inputs
    if head == "span":
        scorer = _factored_scorer()(prior=prior, lr_multiplier=lr_multiplier, heads=len(classes), head_size=head_size,
                                    kernel_initializer=init, dtype="float32", name="span_scores")
        scorer.seed = seed
        factors = scorer(bert.model.output)
        predict_model = keras.Model(bert.model.inputs, factors)
        start_ok = keras.layers.Input((None,), name="span_start_ok")
        end_ok = keras.layers.Input((None,), name="span_end_ok")
        labels = keras.layers.Input((None, 3), dtype="int32", name="span_labels")
        loss = keras.layers.Lambda(lambda x: global_mean(span_loss(
            x[0], x[1], x[2], valid_spans(x[3], x[4], max_span_len), x[5])), dtype="float32", name="loss")(
            factors + [start_ok, end_ok, labels])
        train_model = keras.Model([token_ids, segment_ids, start_ok, end_ok, labels], factors)
        train_model.add_loss(loss)
        return Models(train_model, predict_model)

    emissions = keras.layers.Dense(classes.n_tags, kernel_initializer=init, dtype="float32",
                                   name="emissions")(bert.model.output)
    layer = (ConditionalRandomField if head == "crf" else MaximumEntropyMarkovModel)(
        lr_multiplier=lr_multiplier, dtype="float32", name=head)
    scores = layer(emissions)  # padding masked to -inf (the CRF reads its mask from there)
    tags = keras.layers.Input((None,), dtype="int32", name="tags")

    def loss(x):
        scores, tags, ids = x
        mask = tf.not_equal(ids, 0)
        if head == "crf":
            return global_mean(layer.sparse_loss(tags, scores))  # per sentence
        return global_mean(memm_token_losses(layer.trans, tf.where(mask[..., None], scores, 0.0), tags, mask), mask)

    total = keras.layers.Lambda(loss, dtype="float32", name="loss")([scores, tags, token_ids])
    train_model = keras.Model([token_ids, segment_ids, tags], scores)
    train_model.add_loss(total)
    predict_model = keras.Model(bert.model.inputs, scores)
    return Models(train_model, predict_model, transitions=lambda: np.asarray(layer.trans, "float32"))


# ---------------------------------------------------------------- decoding

def viterbi(emissions, lengths, trans, allowed=None):
    """Best tag paths and their scores for a batch, vectorized over batch and tags.

    emissions: (B, T, K); lengths: (B,) real positions, the first of which is
    [CLS] and is forced to tag 0; trans: (K, K), or (B, K, K) for one per sequence; allowed: (K, K) booleans.
    Returns paths (B, T) (tag 0 beyond a length) and scores (B,).
    Cost: O(T * K^2) per sequence, memory O(T * K) for the back-pointers.
    """
    batch, steps, k = emissions.shape
    trans = trans if allowed is None else np.where(allowed, trans, -np.inf)
    score = np.full((batch, k), -np.inf, "float32")
    score[:, 0] = emissions[:, 0, 0]
    back = np.zeros((batch, steps, k), "int32")
    for t in range(1, steps):
        candidates = score[:, :, None] + (trans if trans.ndim == 3 else trans[None])  # (B, from, to)
        best_from = candidates.argmax(1)
        new_score = np.take_along_axis(candidates, best_from[:, None, :], 1)[:, 0] + emissions[:, t]
        active = (t < lengths)[:, None]
        score = np.where(active, new_score, score)
        back[:, t] = np.where(active, best_from, np.arange(k)[None])
    last = score.argmax(1)
    best = score[np.arange(batch), last]
    paths = np.zeros((batch, steps), "int32")
    paths[:, -1] = last
    for t in range(steps - 1, 0, -1):
        paths[:, t - 1] = back[np.arange(batch), t, paths[:, t]]
    paths[np.arange(steps)[None] >= lengths[:, None]] = 0
    return paths, best


def tag_spans(path):
    """[(class, first, last)] positions of the B/I runs of one tag path."""
    spans, current = [], None
    for i, tag in enumerate(path):
        tag = int(tag)
        if current is not None and tag == 2 + 2 * current[0]:
            current[2] = i
            continue
        if current is not None:
            spans.append(tuple(current))
            current = None
        if tag % 2 == 1:
            current = [(tag - 1) // 2, i, i]
    if current is not None:
        spans.append(tuple(current))
    return spans


def decode_span_scores(shared, start, end, start_ok, end_ok, max_span_len, cap=None):
    """[(class, first, last)] of one window's spans scoring above 0, best first if `cap` cuts; (spans, cut).

    shared (T, T), start and end (C, T): only spans whose bound shared + max start + max end is
    above 0 are scored for every class, so the (C, T, T) scores are never formed.
    """
    t = shared.shape[0]
    i, j = np.nonzero(np.triu(np.ones((t, t), bool)) & ~np.triu(np.ones((t, t), bool), max_span_len)
                      & (start_ok[:, None] > 0) & (end_ok[None, :] > 0)
                      & (shared + start.max(0)[:, None] + end.max(0)[None, :] > 0))
    if not len(i):
        return [], 0
    scores = shared[i, j][:, None] + start[:, i].T + end[:, j].T  # (candidates, C)
    k, c = np.nonzero(scores > 0)
    found = sorted(zip(scores[k, c].tolist(), c.tolist(), i[k].tolist(), j[k].tolist()), reverse=True)
    cut = max(0, len(found) - cap) if cap is not None else 0
    return sorted((c, f, l) for _, c, f, l in found[:len(found) - cut]), cut


def event_list(events):
    """The submission's event_list from [(event_type, trigger or None, [(role, argument)])]: one event each,
    arguments without repeats, in order."""
    out = []
    for event_type, trigger, arguments in events:
        event = {"event_type": event_type}
        if trigger is not None:
            event["trigger"] = trigger
        event["arguments"] = [{"role": r, "argument": a} for r, a in dict.fromkeys(arguments)]
        out.append(event)
    return out


def events_by_type(arguments):
    """[(event_type, None, [(role, argument)])] from [(event_type, role, argument)]: the argument-only heads
    (span, crf, memm) cannot tell two events of one type apart, so each type is one event."""
    grouped = {}
    for event_type, role, argument in arguments:
        grouped.setdefault(event_type, []).append((role, argument))
    return [(t, None, a) for t, a in grouped.items()]


def decode_class_crf(emissions, length, trans, classes, cap=None):
    """[(class, start, end)] positions 1..length: each class's best O/B/I path (its own CRF) over emissions
    (T, n_classes, 3), for `classes`; the `cap` strongest by their B emission; (spans, how many were cut)."""
    classes = np.asarray(classes, int)
    columns = np.transpose(emissions[:length + 2, classes], (1, 0, 2))     # (k, length + 2, 3) with [CLS], [SEP]
    paths, _ = viterbi(columns, np.full(len(classes), length + 2), trans[classes] + _NO_PATH)
    found, scores = [], []
    for k, path in enumerate(paths):
        for _, first, last in tag_spans(path[1:length + 1]):
            found.append((int(classes[k]), first + 1, last + 1))
            scores.append(emissions[first + 1, classes[k], 1])
    if cap is None or len(found) <= cap:
        return found, 0
    keep = sorted(np.argsort(scores, kind="stable")[::-1][:cap])
    return [found[k] for k in keep], len(found) - cap


def window_triggers(trigger_probs, length, threshold=0.5, cap=None):
    """{(first, last): [event types]} of one window's triggers from (T, types, 2) probabilities; how many the
    cap cut."""
    triggers, cut = decode_classes(trigger_probs, length, threshold, cap)
    by_span = {}
    for t, f, l in triggers:
        by_span.setdefault((f, l), []).append(t)
    return by_span, cut


def trigger_events(emissions, length, transitions, classes, types, cap=None):
    """[(type, [(class, first, last)])]: the events of one trigger span, a trigger of type t reading the
    classes of t only, from its (T, classes, 3) emissions; how many arguments the cap cut."""
    found, cut = [], 0
    for t in types:
        arguments, cut_here = decode_class_crf(emissions, length, transitions, classes.type_classes[t], cap)
        found.append((t, arguments))
        cut += cut_here
    return found, cut


class Predictor:
    """Batched prediction over the windows of many sentences; events merged across windows."""

    def __init__(self, tokenizer, models, classes, head, maxlen, stride=None, batch_size=32, max_span_len=32,
                 max_spans=256, threshold=0.5, trigger_caps=(64, 64)):
        from common.bert import predict_function

        self.tokenizer, self.classes, self.head = tokenizer, classes, head
        self.model, self.transitions = predict_function(models.predict), models.transitions
        self.arguments = predict_function(models.arguments) if models.arguments is not None else None
        self.maxlen, self.stride, self.batch_size = maxlen, stride, batch_size
        self.max_span_len, self.max_spans = max_span_len, max_spans
        self.threshold, self.trigger_caps = threshold, trigger_caps
        self.allowed = classes.allowed_transitions() if head in ("crf", "memm") else None
        self.cut = [0, 0]

    def predict(self, texts, progress=lambda x, **k: x):
        """Per text, its events [(event_type, trigger text or None, [(role, argument)])], in text order."""
        self.cut = [0, 0]
        items = []
        for i, text in enumerate(texts):
            tokenized = tokenize(self.tokenizer, text)
            items += [(i, tokenized, w) for w in split_windows(len(tokenized.ids), self.maxlen - 2, self.stride)]
        found = [{} for _ in texts]  # (type or class, char start, char end) -> {(class, char start, char end)}
        trans = self.transitions() if self.transitions else None
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            examples = [Example([self.tokenizer._token_start_id] + t.ids[w.start:w.end] + [self.tokenizer._token_end_id],
                                [], None, w.start > 0, w.end < len(t.ids)) for _, t, w in chunk]
            token_ids = _token_arrays(examples)
            outputs = self.model([token_ids, np.zeros_like(token_ids)])
            if self.head == "trigger":
                self._merge_trigger_windows(chunk, outputs, found, trans)
                continue
            for (i, tokenized, w), spans in zip(chunk, self._spans(outputs, examples, token_ids, trans)):
                for c, first, last in spans:
                    first, last = first - 1 + w.start, last - 1 + w.start
                    if w.holds_whole(first, last):
                        found[i][(c,) + tokenized.char_span(first, last)] = None
        return [text_events(f, text, self.classes, self.head) for text, f in zip(texts, found)]

    def _merge_trigger_windows(self, chunk, outputs, found, trans):
        """Triggers of the chunk's windows, then the arguments of all (window, trigger) pairs in batches."""
        states, trigger_probs = outputs
        pairs = []  # (row in chunk, trigger span, its event types)
        for k, (_, _, w) in enumerate(chunk):
            by_span, cut = window_triggers(trigger_probs[k], w.end - w.start, self.threshold, self.trigger_caps[0])
            self.cut[0] += cut
            pairs += [(k, span, types) for span, types in by_span.items()]
        for b in range(0, len(pairs), self.batch_size):
            part = pairs[b:b + self.batch_size]
            emissions = self.arguments([states[[k for k, _, _ in part]], np.array([s for _, s, _ in part], "int32")])
            for (k, span, types), e in zip(part, emissions):
                i, tokenized, w = chunk[k]
                events, cut = trigger_events(e, w.end - w.start, trans, self.classes, types, self.trigger_caps[1])
                self.cut[1] += cut
                merge_window_events(found[i], [(t,) + span + (a,) for t, a in events], tokenized, w)

    def _spans(self, outputs, examples, token_ids, trans):
        """Per window, [(class, first, last)] in model positions."""
        if self.head == "span":
            shared, start, end = outputs
            start_ok, end_ok = span_masks(examples, token_ids.shape[1])
            for k in range(len(examples)):
                spans, cut = decode_span_scores(shared[k], start[k], end[k], start_ok[k], end_ok[k],
                                                self.max_span_len, self.max_spans)
                self.cut[0] += cut
                yield spans
            return
        emissions = np.nan_to_num(outputs, neginf=0.0)  # the CRF layer masks padding with -inf
        lengths = (token_ids > 0).sum(1)
        paths, _ = viterbi(emissions, lengths, trans, self.allowed)
        for path, length in zip(paths, lengths):
            yield [(c, f + 1, l + 1) for c, f, l in tag_spans(path[1:length - 1])]

    def warning(self):
        if not any(self.cut):
            return None
        if self.head == "trigger":
            caps = f"{self.trigger_caps[0]} triggers per window, {self.trigger_caps[1]} arguments per trigger"
            what = f"{self.cut[0]} triggers and {self.cut[1]} arguments"
        else:
            caps, what = f"{self.max_spans} spans per window", f"{self.cut[0]} spans"
        return (f"warning: {what} above the threshold were dropped by the caps ({caps}, from the training data); "
                "a model that fires this often looks undertrained")


def text_events(found, text, classes, head):
    """[(event_type, trigger or None, [(role, argument)])] of one text, in text order, from what its windows
    found: {(type, char start, end) of a trigger: {(class, char start, end)}} (trigger head) or
    {(class, char start, end)} (the others, whose arguments make one event per type)."""
    def in_text_order(spans):
        return sorted(spans, key=lambda x: (x[1], x[2], x[0]))

    if head != "trigger":
        return events_by_type([classes.pairs[c] + (text[s:e],) for c, s, e in in_text_order(found)])
    return [(classes.types[t], text[s:e], [(classes.pairs[c][1], text[a:b]) for c, a, b in in_text_order(found[t, s, e])])
            for t, s, e in in_text_order(found)]


def merge_window_events(found, window_events, tokenized, window):
    """Add a window's events (model positions) to `found` {(type, char start, end): {(class, start, end)}},
    keeping the triggers and arguments the window holds whole."""
    shift = window.start - 1
    for t, f, l, arguments in window_events:
        if not window.holds_whole(f + shift, l + shift):
            continue
        event = found.setdefault((t,) + tokenized.char_span(f + shift, l + shift), {})
        for c, af, al in arguments:
            if window.holds_whole(af + shift, al + shift):
                event[(c,) + tokenized.char_span(af + shift, al + shift)] = None


def decode_gold(tokenizer, sentence, classes, maxlen, stride=None, head="trigger"):
    """Events [(event_type, trigger or None, [(role, argument)])] obtained by decoding a sentence's own encoded
    labels under `head` (what it can represent)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    examples, _, _ = make_examples(tokenizer, sentence, classes, maxlen, stride)
    text, found = sentence["text"], {}
    for w, ex in zip(split_windows(len(tokenized.ids), maxlen - 2, stride), examples):
        if head == "trigger":  # the labels as model outputs: probabilities 0/1, one-hot emissions
            rows = [(e, span) for e, span in trigger_rows([ex]) if span is not None]
            batch = collate_triggers(rows, classes) if rows else None
            length = len(ex.token_ids) - 2
            by_span, _ = window_triggers(batch["trigger_labels"][0], length) if rows else ({}, 0)
            emissions = {span: 10 * np.eye(3, dtype="float32")[batch["argument_tags"][r]]
                         for r, (_, span) in enumerate(rows)}
            no_transitions = np.zeros((len(classes), 3, 3), "float32")
            for span, types in by_span.items():
                events, _ = trigger_events(emissions[span], length, no_transitions, classes, types)
                merge_window_events(found, [(t,) + span + (a,) for t, a in events], tokenized, w)
            continue
        spans = ex.spans if head == "span" else [(c, f + 1, l + 1) for c, f, l in tag_spans(ex.tags[1:-1])]
        for c, first, last in spans:
            first, last = first - 1 + w.start, last - 1 + w.start
            if w.holds_whole(first, last):
                found[(c,) + tokenized.char_span(first, last)] = None
    return text_events(found, text, classes, head)
