"""DuEE 1.0: (event type, role) classes as B/I tags, the BERT + CRF tagger, and constrained Viterbi.

Tag 0 is O; class c (an event type/role pair of the schema) has B = 1 + 2c and I = 2 + 2c.
"""
from dataclasses import dataclass

import numpy as np

from common.tokenization import tokenize
from common.windows import split_windows


@dataclass
class Tags:
    classes: list  # [(event_type, role)]

    @classmethod
    def from_schema(cls, schema):
        return cls([(event_type, role) for event_type, roles in schema.items() for role in roles])

    def __post_init__(self):
        self._index = {c: i for i, c in enumerate(self.classes)}

    @property
    def size(self):
        return 1 + 2 * len(self.classes)

    def begin(self, event_type, role):
        return 1 + 2 * self._index[(event_type, role)]

    def allowed_transitions(self):
        """(size, size) booleans: an I tag follows only the B or I of its own class."""
        allowed = np.ones((self.size, self.size), bool)
        inside = np.arange(2, self.size, 2)
        allowed[:, inside] = False
        allowed[inside - 1, inside] = True  # B-c -> I-c
        allowed[inside, inside] = True      # I-c -> I-c
        return allowed


# ---------------------------------------------------------------- encoding

def gold_tags(tokenized, arguments, tags):
    """Tag ids of a text's tokens and the arguments that could not be tagged.

    A token has one tag, so an argument whose tokens are already taken (the
    same span in two roles or events, or an overlapping one) is left out.
    """
    labels = np.zeros(len(tokenized.ids), "int32")
    lost = []
    for event_type, role, start, value in arguments:
        span = tokenized.token_span(start, start + len(value))
        if span is None or labels[span[0]:span[1] + 1].any():
            lost.append((event_type, role, value))
            continue
        labels[span[0]] = tags.begin(event_type, role)
        labels[span[0] + 1:span[1] + 1] = tags.begin(event_type, role) + 1
    return labels, lost


@dataclass
class Example:
    token_ids: list
    labels: np.ndarray  # with [CLS] and [SEP] as O


def make_examples(tokenizer, sentence, tags, maxlen, stride=None):
    """One training example per window; (examples, number of arguments that could not be tagged)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    labels, lost = gold_tags(tokenized, sentence["arguments"], tags)
    examples = []
    for w in split_windows(len(tokenized.ids), maxlen - 2, stride):
        window_labels = labels[w.start:w.end].copy()
        if w.start > 0 and window_labels[0] % 2 == 0 and window_labels[0] > 0:
            window_labels[0] -= 1  # an argument cut by the left border starts here as B
        ids = [tokenizer._token_start_id] + tokenized.ids[w.start:w.end] + [tokenizer._token_end_id]
        examples.append(Example(ids, np.concatenate([[0], window_labels, [0]]).astype("int32")))
    return examples, len(lost)


def collate(examples):
    n = max(len(e.token_ids) for e in examples)
    token_ids = np.zeros((len(examples), n), "int32")
    labels = np.zeros((len(examples), n), "int32")
    for i, e in enumerate(examples):
        token_ids[i, :len(e.token_ids)] = e.token_ids
        labels[i, :len(e.labels)] = e.labels
    return [token_ids, np.zeros_like(token_ids)], labels


# ---------------------------------------------------------------- model

def build_model(bert, n_tags, crf_lr_multiplier=100, seed=0):
    """BERT -> dense emissions -> CRF (its transitions learn `crf_lr_multiplier` times faster)."""
    from common.env import keras
    from bert4keras.layers import ConditionalRandomField

    emissions = keras.layers.Dense(n_tags, kernel_initializer=keras.initializers.TruncatedNormal(
        stddev=0.02, seed=seed), name="emissions")(bert.model.output)
    crf = ConditionalRandomField(lr_multiplier=crf_lr_multiplier, name="crf")
    model = keras.Model(bert.model.inputs, crf(emissions))
    return model, crf


def transitions(crf):
    """The CRF's transition scores as numpy (the layer stores them divided by the multiplier)."""
    return np.asarray(crf.trans, "float32")


# ---------------------------------------------------------------- decoding

def viterbi(emissions, lengths, trans, allowed=None):
    """Best tag paths and their scores for a batch, vectorized over batch and tags.

    emissions: (B, T, K); lengths: (B,) real positions, the first of which is
    [CLS] and is forced to tag 0; trans: (K, K); allowed: (K, K) booleans.
    Returns paths (B, T) (tag 0 beyond a length) and scores (B,).
    Cost: O(T * K^2) per sequence, memory O(T * K) for the back-pointers.
    """
    batch, steps, k = emissions.shape
    trans = trans if allowed is None else np.where(allowed, trans, -np.inf)
    score = np.full((batch, k), -np.inf, "float32")
    score[:, 0] = emissions[:, 0, 0]
    back = np.zeros((batch, steps, k), "int32")
    for t in range(1, steps):
        candidates = score[:, :, None] + trans[None]  # (B, from, to)
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


class Predictor:
    """Batched tagging of windows of many sentences; arguments merged across windows."""

    def __init__(self, tokenizer, model, crf, tags, maxlen, stride=None, batch_size=32):
        from common.bert import predict_function

        self.tokenizer, self.crf, self.tags = tokenizer, crf, tags
        self.model = predict_function(model)
        self.maxlen, self.stride, self.batch_size = maxlen, stride, batch_size
        self.allowed = tags.allowed_transitions()

    def predict(self, texts, progress=lambda x, **k: x):
        """[(event_type, role, argument)] per text, in text order, without duplicates."""
        items = []
        for i, text in enumerate(texts):
            tokenized = tokenize(self.tokenizer, text)
            items += [(i, tokenized, w) for w in split_windows(len(tokenized.ids), self.maxlen - 2, self.stride)]
        found = [{} for _ in texts]  # (class, char start, char end) -> None, ordered
        trans = transitions(self.crf)
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            ids = [[self.tokenizer._token_start_id] + t.ids[w.start:w.end] + [self.tokenizer._token_end_id]
                   for _, t, w in chunk]
            token_ids = np.zeros((len(ids), max(map(len, ids))), "int32")
            for k, row in enumerate(ids):
                token_ids[k, :len(row)] = row
            emissions = self.model([token_ids, np.zeros_like(token_ids)])
            emissions = np.nan_to_num(emissions, neginf=0.0)  # the CRF layer masks padding with -inf
            paths, _ = viterbi(emissions, np.array([len(r) for r in ids]), trans, self.allowed)
            for (i, tokenized, w), path in zip(chunk, paths):
                for c, first, last in tag_spans(path[1:w.end - w.start + 1]):
                    first, last = first + w.start, last + w.start
                    if w.holds_whole(first, last):
                        found[i][(c,) + tokenized.char_span(first, last)] = None
        results = []
        for text, spans in zip(texts, found):
            results.append([self.tags.classes[c] + (text[s:e],) for c, s, e in sorted(spans, key=lambda x: x[1:])])
        return results


def decode_gold(tokenizer, sentence, tags, maxlen, stride=None):
    """Arguments obtained by decoding a sentence's own encoded tags (checks both directions agree)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    examples, _ = make_examples(tokenizer, sentence, tags, maxlen, stride)
    found = {}
    for w, ex in zip(split_windows(len(tokenized.ids), maxlen - 2, stride), examples):
        for c, first, last in tag_spans(ex.labels[1:-1]):
            first, last = first + w.start, last + w.start
            if w.holds_whole(first, last):
                found[(c,) + tokenized.char_span(first, last)] = None
    return [tags.classes[c] + (sentence["text"][s:e],) for c, s, e in found]
