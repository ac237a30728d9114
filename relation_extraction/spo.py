"""DuIE 2.0: label encoding, the subject/object pointer model, and SPO decoding.

The model reads a window of tokens, points at subject starts and ends, then,
conditioned on one subject (its start and end vectors modulate the last block's
states before its final LayerNorm through conditional layer normalization,
common.pointers), points at object starts and ends for every predicate/slot pair
of the schema ("饰演/@value", "饰演/inWork", ...). Sigmoid pointers trained from
logits; output biases start at the log-odds of the training labels' frequency (a
fresh head predicts what the data holds, so its first gradients do not flatten the
encoder to push 110 outputs from 0.5 to 0); the object loss sums over predicate/slot
pairs; the output layers learn 10x faster than BERT and decode at 0.4 (both chosen
by the learning benchmark).
"""
from dataclasses import dataclass

import numpy as np

from common.ensemble import mean_weights, traced, weighted_mean
from common.pointers import decode_classes, decode_spans, label_counts
from common.tokenization import special_ids, tokenize
from common.windows import split_windows


@dataclass
class Labels:
    """Predicate/slot pairs of a schema, one object pointer pair each."""
    pairs: list   # [(predicate, slot)]
    schema: dict  # predicate -> common.data.Predicate

    @classmethod
    def from_schema(cls, schema):
        pairs = [(name, slot) for name, p in schema.items()
                 for slot in ["@value"] + sorted(s for s in p.object_types if s != "@value")]
        return cls(pairs, schema)

    def index(self, predicate, slot):
        return self._index[(predicate, slot)]

    def __post_init__(self):
        self._index = {pair: i for i, pair in enumerate(self.pairs)}


# ---------------------------------------------------------------- encoding

@dataclass
class Example:
    """One window of one sentence, in model positions (0 is [CLS])."""
    token_ids: list
    subjects: dict  # (start, end) -> [(pair, start, end)] ; positions inclusive


def _nearest(text, value, anchor):
    """Start of the occurrence of `value` in `text` nearest to char `anchor`."""
    starts, i = [], text.find(value)
    while i >= 0:
        starts.append(i)
        i = text.find(value, i + 1)
    return min(starts, key=lambda s: abs(s - anchor)) if starts else -1


def gold_token_spans(tokenized, spo_list, labels):
    """{subject token span: [(pair, object token span)]} for a sentence, in text token indices.

    The subject is taken at its first occurrence; each object value at its
    occurrence nearest the subject. Spans that no token covers are left out.
    """
    text, found = tokenized.text, {}
    for spo in spo_list:
        s_start = text.find(spo["subject"])
        subject = tokenized.token_span(s_start, s_start + len(spo["subject"]))
        if subject is None:
            continue
        objects = found.setdefault(subject, [])
        for slot, value in spo["object"].items():
            o_start = _nearest(text, value, s_start)
            span = tokenized.token_span(o_start, o_start + len(value))
            if span is not None:
                objects.append((labels.index(spo["predicate"], slot), span))
    return found


def make_examples(tokenizer, sentence, labels, maxlen, stride=None):
    """Training examples of a sentence: one per window, holding the spans whole in it."""
    tokenized = tokenize(tokenizer, sentence["text"])
    gold = gold_token_spans(tokenized, sentence["spo_list"], labels)
    examples = []
    for w in split_windows(len(tokenized.ids), maxlen - 2, stride):
        subjects = {w.to_model(*subject): [(p,) + w.to_model(*span) for p, span in objects if w.holds_whole(*span)]
                    for subject, objects in gold.items() if w.holds_whole(*subject)}
        examples.append(Example(w.wrap(tokenized.ids, special_ids(tokenizer)), subjects))
    return examples


def training_rows(examples):
    """One row per (window, subject); a window without subjects trains the subject head only."""
    rows = []
    for ex in examples:
        if not ex.subjects:
            rows.append((ex, None))
        for subject in ex.subjects:
            rows.append((ex, subject))
    return rows


def sample_rows(examples, rng):
    """The 2020 way: one row per window that holds subjects, its subject drawn at random each epoch
    (a start of one subject with an end at or after it, so sometimes no subject at all: a negative)."""
    rows = []
    for ex in examples:
        if not ex.subjects:
            continue
        starts = sorted({s for s, _ in ex.subjects})
        start = starts[rng.integers(len(starts))]
        ends = sorted({e for _, e in ex.subjects if e >= start})
        rows.append((ex, (start, ends[rng.integers(len(ends))])))
    return rows


def priors(rows, n_pairs):
    """Frequencies of a positive subject label and of a positive object label (per pair) in `rows`."""
    subjects, tokens, objects, object_tokens, _ = label_counts(rows, lambda ex: len(ex.subjects),
                                                              lambda ex, subject: ex.subjects.get(subject, ()))
    return subjects / max(1, tokens), objects / max(1, object_tokens * n_pairs)


def collate(rows, n_pairs):
    """Arrays for a batch of training rows, padded to the batch's longest window, keyed by input name."""
    from common.training import padded_length
    n = padded_length(max(len(ex.token_ids) for ex, _ in rows))
    token_ids = np.zeros((len(rows), n), "int32")
    subject_labels = np.zeros((len(rows), n, 2), "float32")
    subject_ids = np.zeros((len(rows), 2), "int32")
    object_labels = np.zeros((len(rows), n, n_pairs, 2), "float32")
    has_subject = np.zeros((len(rows), 1), "float32")
    for i, (ex, subject) in enumerate(rows):
        token_ids[i, :len(ex.token_ids)] = ex.token_ids
        for s, e in ex.subjects:
            subject_labels[i, s, 0] = subject_labels[i, e, 1] = 1
        if subject is not None:
            subject_ids[i] = subject
            has_subject[i] = 1
            for p, s, e in ex.subjects.get(subject, ()):
                object_labels[i, s, p, 0] = object_labels[i, e, p, 1] = 1
    return {"Input-Token": token_ids, "Input-Segment": np.zeros_like(token_ids), "subject_labels": subject_labels,
            "subject_ids_train": subject_ids, "object_labels": object_labels, "has_subject": has_subject}


# ---------------------------------------------------------------- model

def build_models(bert, n_pairs, condition_on="pre-norm", object_loss="sum", priors=(0.5, 0.5), output_bias="prior",
                 lr_multiplier=1.0, seed=0):
    """(train_model, encoder, object_head).

    encoder: [token_ids, segment_ids] -> [conditioning states, subject probabilities (B, T, 2)]
    object_head: [conditioning states, subject_ids (B, 2)] -> object probabilities (B, T, n_pairs, 2)
    train_model: all inputs and labels in (a dict), its loss in train_model.losses.
    condition_on: "pre-norm" (the last block's output before its final LayerNorm, as the 2020
    design) or "output" (the encoder's output) is what the subject vectors are gathered from and
    what the conditional LayerNorm normalises. object_loss: "sum" or "mean" over pairs and start/end.
    priors: frequencies of positive subject and object labels; with output_bias="prior" the pointer
    head's biases start at their log-odds ("zero": at 0, where every output starts at 0.5).
    lr_multiplier: the subject and object output layers learn this many times faster than BERT.
    """
    from common.env import keras, tf
    from common.losses import global_mean, sigmoid_cross_entropy
    from common.pointers import build_pointer_heads

    states, subject_logits, object_logits, object_model = build_pointer_heads(
        bert, 1, n_pairs, condition_on, priors, output_bias == "prior", lr_multiplier, seed)
    token_ids, segment_ids = bert.model.inputs
    sigmoid = lambda name: keras.layers.Activation("sigmoid", dtype="float32", name=name)  # noqa: E731
    subject_probs = sigmoid("subject_probs")(subject_logits)
    encoder = keras.Model(bert.model.inputs, [states, subject_probs])
    object_head = keras.Model(object_model.inputs, sigmoid("object_probs")(object_model.output))

    subject_labels = keras.layers.Input((None, 2), name="subject_labels")
    subject_ids = keras.layers.Input((2,), dtype="int32", name="subject_ids_train")
    object_labels = keras.layers.Input((None, n_pairs, 2), name="object_labels")
    has_subject = keras.layers.Input((1,), name="has_subject")
    objects = object_logits(states, subject_ids)
    inputs = [token_ids, segment_ids, subject_labels, subject_ids, object_labels, has_subject]

    def loss(x):
        ids, s_labels, s_logits, o_labels, o_logits, has = x
        mask = tf.cast(tf.not_equal(ids, 0), tf.float32)
        s_loss = tf.reduce_mean(sigmoid_cross_entropy(s_labels, s_logits), -1)
        o_loss = sigmoid_cross_entropy(o_labels, o_logits)
        o_loss = tf.reduce_sum(o_loss, [2, 3]) if object_loss == "sum" else tf.reduce_mean(o_loss, [2, 3])
        return global_mean(s_loss, mask) + global_mean(o_loss, mask * has)

    total = keras.layers.Lambda(loss, dtype="float32", name="loss")(
        [token_ids, subject_labels, subject_logits, object_labels, objects, has_subject])
    train_model = keras.Model(inputs, [subject_probs, objects])
    train_model.add_loss(total)
    return train_model, encoder, object_head


# ---------------------------------------------------------------- decoding

def assemble_spos(text, subject, objects, labels):
    """SPO dicts for one subject from char spans: subject (start, end), objects [(pair, start, end)].

    One SPO per "@value" object of a predicate. The values of another slot
    join the "@value" objects in text order when there are as many of each
    (two films, two roles: first with first); otherwise each "@value" object
    takes the value of that slot nearest to it.
    """
    by_predicate = {}
    for pair, start, end in objects:
        predicate, slot = labels.pairs[pair]
        by_predicate.setdefault(predicate, {}).setdefault(slot, set()).add((start, end))
    spos = []
    for predicate, slots in by_predicate.items():
        values = sorted(slots.pop("@value", ()))
        grouped = {v: {"@value": text[v[0]:v[1]]} for v in values}
        for slot, spans in slots.items():
            spans = sorted(spans)
            if len(spans) == len(values):
                chosen = zip(values, spans)
            else:
                chosen = ((v, min(spans, key=lambda s: (abs(s[0] - v[0]), s))) for v in values)
            for v, span in chosen:
                grouped[v][slot] = text[span[0]:span[1]]
        types = labels.schema[predicate]
        for v in values:
            obj = grouped[v]
            spos.append({"predicate": predicate, "subject": text[subject[0]:subject[1]],
                         "subject_type": types.subject_type, "object": obj,
                         "object_type": {slot: types.object_types[slot] for slot in obj}})
    return spos


def prediction_caps(examples, margin=2, extra=4):
    """Per-window caps on predicted subjects and per-subject objects: `margin` x the most any training
    window holds, plus `extra`. An undertrained model can fire everywhere; the caps keep its output
    (and the submission file) bounded."""
    subjects = max((len(ex.subjects) for ex in examples), default=0)
    objects = max((len(objs) for ex in examples for objs in ex.subjects.values()), default=0)
    return margin * subjects + extra, margin * objects + extra


class Predictor:
    """Batched prediction: subjects of many windows in one call, all (window, subject) pairs in one more.

    members: [(encoder, object head)] of one model, or of several whose probabilities are averaged
    (`weights`): the subjects come from the averaged subject probabilities, and every member then
    scores the objects of those same subjects on its own states. thresholds: {"subject_threshold",
    "object_threshold"}, the probabilities above which a pointer fires."""

    def __init__(self, tokenizer, members, labels, maxlen, stride=None, batch_size=32, thresholds=None,
                 max_subjects=64, max_objects=64, weights=None):
        self.tokenizer, self.labels, self.special = tokenizer, labels, special_ids(tokenizer)
        self.models, self.weights = members, mean_weights(len(members), weights)
        self.members = traced(members)
        self.maxlen, self.stride, self.batch_size = maxlen, stride, batch_size
        self.thresholds = thresholds or {"subject_threshold": 0.4, "object_threshold": 0.4}
        self.max_subjects, self.max_objects = max_subjects, max_objects
        self.cut = {"subjects": 0, "objects": 0}

    def windows(self, text):
        tokenized = tokenize(self.tokenizer, text)
        return tokenized, split_windows(len(tokenized.ids), self.maxlen - 2, self.stride)

    def predict(self, texts, progress=lambda x, **k: x, settings=None):
        """SPO lists, one per text, deduplicated across windows; with `settings` (a list of thresholds dicts),
        one such list per setting, all from one pass of the model."""
        chosen = settings or [self.thresholds]
        self.cut = {"subjects": 0, "objects": 0}
        items = []  # (text index, tokenized, window)
        for i, text in enumerate(texts):
            tokenized, windows = self.windows(text)
            items += [(i, tokenized, w) for w in windows]
        results = [[[] for _ in texts] for _ in chosen]
        seen = [[set() for _ in texts] for _ in chosen]
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            for n, i, spo in self._predict_windows(items[b:b + self.batch_size], chosen):
                key = repr(sorted(spo.items()))
                if key not in seen[n][i]:
                    seen[n][i].add(key)
                    results[n][i].append(spo)
        return results if settings else results[0]

    def warning(self):
        """A line to show when the caps cut predictions (None otherwise)."""
        if not any(self.cut.values()):
            return None
        return (f"warning: {self.cut['subjects']} subjects and {self.cut['objects']} objects above the threshold were "
                f"dropped by the per-window caps ({self.max_subjects} subjects, {self.max_objects} objects per "
                "subject, from the training data); a model that fires this often looks undertrained")

    def _average(self, outputs):
        return weighted_mean(outputs, self.weights)

    def _predict_windows(self, items, settings):
        """(setting index, text index, SPO) of a batch of windows, for every setting."""
        batch = [w.wrap(t.ids, self.special) for _, t, w in items]
        n = max(len(ids) for ids in batch)
        token_ids = np.zeros((len(batch), n), "int32")
        for k, ids in enumerate(batch):
            token_ids[k, :len(ids)] = ids
        encoded = [encoder([token_ids, np.zeros_like(token_ids)]) for encoder, _ in self.members]
        subject_probs = self._average([probs for _, probs in encoded])
        subjects = []  # per window, per setting: its subjects (one class of pointers)
        for k, (_, _, w) in enumerate(items):
            found = [decode_classes(subject_probs[k][:, None], w.length, s["subject_threshold"], self.max_subjects)
                     for s in settings]
            self.cut["subjects"] += found[0][1]
            subjects.append([{(s, e) for _, s, e in spans} for spans, _ in found])
        pairs = sorted({(k, s, e) for k, per_setting in enumerate(subjects) for spans in per_setting for s, e in spans})
        object_probs = []
        for b in range(0, len(pairs), self.batch_size):
            chunk = pairs[b:b + self.batch_size]
            rows = np.array([k for k, _, _ in chunk])
            spans = np.array([[s, e] for _, s, e in chunk], "int32")
            object_probs += list(self._average([head([hidden[rows], spans])
                                                for (_, head), (hidden, _) in zip(self.members, encoded)]))
        for n, setting in enumerate(settings):
            for (k, s, e), probs in zip(pairs, object_probs):
                if (s, e) not in subjects[k][n]:
                    continue
                i, tokenized, w = items[k]
                objects, cut = decode_classes(probs, w.length, setting["object_threshold"], self.max_objects)
                self.cut["objects"] += cut if n == 0 else 0
                yield from ((n, i, spo) for spo in window_spos(tokenized, w, (s, e), objects, self.labels))


def window_spos(tokenized, window, subject, objects, labels):
    """SPOs of one subject found in a window (model positions), keeping the spans the window holds whole."""
    if not window.holds_whole(*window.to_text(*subject)):
        return []
    objects = [(p,) + window.char_span(tokenized, s, e) for p, s, e in objects
               if window.holds_whole(*window.to_text(s, e))]
    return assemble_spos(tokenized.text, window.char_span(tokenized, *subject), objects, labels)


def decode_gold(tokenizer, sentence, labels, maxlen, stride=None):
    """SPOs obtained by decoding a sentence's own encoded labels (checks encoding and decoding agree)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    spos, seen = [], set()
    windows = split_windows(len(tokenized.ids), maxlen - 2, stride)
    for w, ex in zip(windows, make_examples(tokenizer, sentence, labels, maxlen, stride)):
        inputs = collate(training_rows([ex]), len(labels.pairs))
        subject_labels, subject_ids, object_labels = (
            inputs["subject_labels"], inputs["subject_ids_train"], inputs["object_labels"])
        for s, e in decode_spans(subject_labels[0, :, 0], subject_labels[0, :, 1], w.length):
            row = next((r for r, sid in enumerate(subject_ids) if tuple(sid) == (s, e)), None)
            objects = decode_classes(object_labels[row], w.length)[0] if row is not None else []
            for spo in window_spos(tokenized, w, (s, e), objects, labels):
                key = repr(sorted(spo.items()))
                if key not in seen:
                    seen.add(key)
                    spos.append(spo)
    return spos
