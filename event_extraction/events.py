"""DuEE 1.0 events over BERT: the schema's classes, the encoding of a sentence's windows, the predictor
every head shares, and the assembly of what the windows found into events.

The heads (event_extraction/heads/, one module each, chosen by --head from one table) turn these
windows into training rows and model outputs into window events: [(event type or None, trigger
(first, last) or None, [(class, first, last)])] in model positions. The trigger heads find events,
each trigger one event with its own arguments; the argument-only heads (span, crf, memm) find
arguments, and the arguments of one event type make one event.
"""
from dataclasses import dataclass, field

import numpy as np

from common.ensemble import mean_weights, traced, weighted_mean
from common.tokenization import special_ids, tokenize
from common.windows import Window, split_windows


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


@dataclass
class Example:
    """One window: token ids with [CLS]/[SEP], and its labels in model positions (0 is [CLS])."""
    token_ids: list
    spans: list          # [(class, first, last)] held whole by the window (span head)
    tags: np.ndarray     # B/I tags (crf, memm heads)
    window: Window       # the text tokens it reads
    events: dict = field(default_factory=dict)  # {(type, first, last) of a trigger: [(class, first, last)]} held
    #                                              whole by the window (trigger heads)


def make_examples(tokenizer, sentence, classes, maxlen, stride=None):
    """(one Example per window, spans a tag sequence cannot hold, all spans)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    spans = argument_spans(tokenized, sentence["arguments"], classes)
    tags, lost = tag_sequence(len(tokenized.ids), spans)
    triggered = event_spans(tokenized, sentence, classes)
    examples = []
    for w in split_windows(len(tokenized.ids), maxlen - 2, stride):
        window_tags = tags[w.start:w.end].copy()
        if w.cut_left and window_tags[0] % 2 == 0 and window_tags[0] > 0:
            window_tags[0] -= 1  # an argument cut by the left border starts here as B
        held = [(c,) + w.to_model(f, l) for c, f, l in spans if w.holds_whole(f, l)]
        held_events = {(t,) + w.to_model(f, l): [(c,) + w.to_model(af, al) for c, af, al in arguments
                                                 if w.holds_whole(af, al)]
                       for (t, f, l), arguments in triggered.items() if w.holds_whole(f, l)}
        examples.append(Example(w.wrap(tokenized.ids, special_ids(tokenizer)), held,
                                np.concatenate([[0], window_tags, [0]]).astype("int32"), w, held_events))
    return examples, lost, spans


def span_limits(examples, margin=1.5, extra=4):
    """(longest span in tokens, most spans per window) the span head allows: from the training data,
    with a margin, so an undertrained model cannot flood a window with long or many spans."""
    longest = max((l - f + 1 for ex in examples for _, f, l in ex.spans), default=8)
    most = max((len(ex.spans) for ex in examples), default=0)
    return int(longest * margin) + extra, int(most * margin * 2) + extra


def token_arrays(examples):
    """Token ids of a batch of examples, padded to the batch's padded length."""
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
        if e.window.cut_left:
            start_ok[i, 1] = 0
        if e.window.cut_right:
            end_ok[i, last] = 0
    return start_ok, end_ok


@dataclass
class Models:
    """train: takes a dict of inputs and labels and holds its loss; predict: [token ids, segment ids] -> the
    head's outputs per window; arguments (trigger heads): [states, trigger (first, last)] -> argument
    emissions; transitions: () -> transition scores as numpy (crf, memm; per class for the trigger heads)."""
    train: object
    predict: object
    arguments: object = None
    transitions: object = None

    def calls(self, run):
        """The same with its prediction models called through `run` (common.ensemble.traced)."""
        return Models(self.train, run(self.predict), self.arguments and run(self.arguments), self.transitions)


# ---------------------------------------------------------------- from windows to events

class Predictor:
    """Batched prediction over the windows of many sentences; events merged across windows.

    head: the head (event_extraction.heads); members: its Models, one per model of an ensemble whose
    outputs the head averages (`weights`) before it decodes. thresholds: the head's (its `thresholds`) of
    "threshold", the probability above which a trigger (span head: an argument) is kept, and
    "argument_threshold", the one the trigger heads' argument CRFs decode at."""

    def __init__(self, tokenizer, head, members, classes, config, batch_size=32, weights=None):
        self.tokenizer, self.head, self.classes, self.config = tokenizer, head, classes, config
        self.special = special_ids(tokenizer)
        self.models, self.weights = members, mean_weights(len(members), weights)
        self.members = traced(members)
        self.batch_size, self.thresholds = batch_size, {k: getattr(config, k) for k in head.thresholds}
        self.cut = [0, 0]

    def predict(self, texts, progress=lambda x, **k: x, settings=None):
        """Per text, its events [(event_type, trigger text or None, [(role, argument)])], in text order; with
        `settings` (a list of thresholds dicts), one such list per setting, all from one pass of the model."""
        chosen = settings or [self.thresholds]
        self.cut = [0, 0]
        items = []
        for i, text in enumerate(texts):
            tokenized = tokenize(self.tokenizer, text)
            items += [(i, tokenized, w) for w in split_windows(len(tokenized.ids), self.config.maxlen - 2,
                                                               self.config.stride)]
        found = [[{} for _ in texts] for _ in chosen]
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            examples = [Example(w.wrap(t.ids, self.special), [], None, w) for _, t, w in chunk]
            for n, windows in enumerate(self.head.window_events(self, examples, chosen)):
                for (i, tokenized, w), events in zip(chunk, windows):
                    merge_window_events(found[n][i], events, tokenized, w)
        results = [[text_events(f, text, self.classes) for text, f in zip(texts, per_text)] for per_text in found]
        return results if settings else results[0]

    def average(self, outputs):
        """The weighted mean of the members' outputs (arrays, or lists of arrays)."""
        return weighted_mean(outputs, self.weights)

    def warning(self):
        if not any(self.cut):
            return None
        caps, what = self.head.caps(self.config, self.cut)
        return (f"warning: {what} above the threshold were dropped by the caps ({caps}, from the training data); "
                "a model that fires this often looks undertrained")


def merge_window_events(found, window_events, tokenized, window):
    """Add a window's events [(type or None, trigger (first, last) or None, [(class, first, last)])] (model
    positions) to `found` {(type, char start, end) of a trigger, or None: {(class, char start, end)}},
    keeping the triggers and arguments the window holds whole."""
    for t, trigger, arguments in window_events:
        if trigger is None:
            key = None
        elif window.holds_whole(*window.to_text(*trigger)):
            key = (t,) + window.char_span(tokenized, *trigger)
        else:
            continue
        event = found.setdefault(key, {})
        for c, first, last in arguments:
            if window.holds_whole(*window.to_text(first, last)):
                event[(c,) + window.char_span(tokenized, first, last)] = None


def text_events(found, text, classes):
    """[(event_type, trigger or None, [(role, argument)])] of one text, in text order, from what its windows
    found (merge_window_events): one event per trigger; arguments found without a trigger make one event per
    event type."""
    def in_text_order(spans):
        return sorted(spans, key=lambda x: (x[1], x[2], x[0]))

    events = events_by_type([classes.pairs[c] + (text[s:e],) for c, s, e in in_text_order(found.get(None, ()))])
    triggers = in_text_order(key for key in found if key is not None)
    return events + [(classes.types[t], text[s:e], [(classes.pairs[c][1], text[a:b])
                                                    for c, a, b in in_text_order(found[t, s, e])])
                     for t, s, e in triggers]


def events_by_type(arguments):
    """[(event_type, None, [(role, argument)])] from [(event_type, role, argument)]: the argument-only heads
    (span, crf, memm) cannot tell two events of one type apart, so each type is one event."""
    grouped = {}
    for event_type, role, argument in arguments:
        grouped.setdefault(event_type, []).append((role, argument))
    return [(t, None, a) for t, a in grouped.items()]


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


def decode_gold(tokenizer, sentence, classes, config, head):
    """Events [(event_type, trigger or None, [(role, argument)])] obtained by decoding a sentence's own encoded
    labels under `head` (what it can represent)."""
    tokenized = tokenize(tokenizer, sentence["text"])
    examples, _, _ = make_examples(tokenizer, sentence, classes, config.maxlen, config.stride)
    found = {}
    for example in examples:
        merge_window_events(found, head.gold_events(example, classes, config), tokenized, example.window)
    return text_events(found, sentence["text"], classes)
