"""DuReader_robust: question/context windows, the start/end model, and vectorized span search.

Input of one window: [CLS] question [SEP] context window [SEP]. A long context
is read as overlapping windows; at predict time the best span over all
windows of a question wins. A window that does not hold the answer is trained
to point at [CLS] (position 0), which is how its answer scores stay low.
"""
from dataclasses import dataclass

import numpy as np

from common.ensemble import mean_weights, traced, weighted_mean
from common.tokenization import special_ids, tokenize
from common.windows import split_windows


@dataclass
class Example:
    """One (question, context window) pair as the model reads it: [CLS] question [SEP] window [SEP]."""
    qid: str
    token_ids: list
    window: object          # common.windows.Window: the context tokens it reads
    offset: int             # model position of the window's first context token
    answer: tuple = (0, 0)  # model positions (first, last) of the answer it holds whole; (0, 0): none, [CLS]

    @property
    def holds_answer(self):
        return self.answer[0] > 0


def encode_question(tokenizer, question, max_question_len, maxlen, stride=None):
    """(tokenized context, examples: one per window) of a Question, with the answer where a window holds it."""
    q_ids = tokenize(tokenizer, question.question).ids[:max_question_len]
    context = tokenize(tokenizer, question.context)
    size = maxlen - len(q_ids) - 3
    gold = [span for span in (context.token_span(s, s + len(a)) for s, a in question.found) if span]
    examples, offset = [], len(q_ids) + 2
    for w in split_windows(len(context.ids), size, stride):
        held = next((span for span in gold if w.holds(*span)), None)
        examples.append(Example(question.id, w.wrap(context.ids, special_ids(tokenizer), q_ids), w, offset,
                                w.to_model(*held, offset) if held else (0, 0)))
    return context, examples


def negative_sampler(share):
    """Batches' resample hook: every example holding an answer, plus `share` of the others drawn anew each
    epoch (as many each epoch, so every epoch has the same number of steps)."""
    def sample(examples, rng):
        positive = [e for e in examples if e.holds_answer]
        negative = [e for e in examples if not e.holds_answer]
        k = int(round(share * len(negative)))
        chosen = rng.choice(len(negative), k, replace=False) if k else []
        return positive + [negative[i] for i in sorted(chosen)]
    return sample


def answer_length_limit(examples, quantile=0.99, least=8):
    """Longest answer (tokens) the span search allows: the `quantile` of the training answers' lengths, so a
    few long outliers do not let the model answer with whole sentences; at least `least`."""
    lengths = [e.answer[1] - e.answer[0] + 1 for e in examples if e.holds_answer]
    return max(least, int(np.ceil(np.quantile(lengths, quantile)))) if lengths else 64


def collate(examples, whole_window=False):
    """Arrays of a batch keyed by the training model's input names. The span mask allows [CLS] and the
    context (`whole_window`: every real position, question included, as the 2020 design)."""
    from common.training import padded_length
    n = padded_length(max(len(e.token_ids) for e in examples))
    token_ids = np.zeros((len(examples), n), "int32")
    segment_ids = np.zeros((len(examples), n), "int32")
    span_mask = np.zeros((len(examples), n), "float32")
    for i, e in enumerate(examples):
        token_ids[i, :len(e.token_ids)] = e.token_ids
        segment_ids[i, e.offset:len(e.token_ids)] = 1
        span_mask[i, 0] = 1
        span_mask[i, 1 if whole_window else e.offset:len(e.token_ids) - 1] = 1
    return {"Input-Token": token_ids, "Input-Segment": segment_ids, "span_mask": span_mask,
            "start": np.array([e.answer[0] for e in examples], "int32"),
            "end": np.array([e.answer[1] for e in examples], "int32")}


# ---------------------------------------------------------------- model

def build_model(bert, seed=0, lr_multiplier=1.0):
    """(train_model, predict_model): predict_model maps [token_ids, segment_ids, span_mask] to start and end
    log-probabilities over the allowed positions; train_model also takes the gold "start" and "end" and
    holds their cross-entropy (averaged over the global batch) as its loss. lr_multiplier: the output
    layer learns this many times faster than BERT."""
    from common.env import keras, tf
    from common.heads import ScaledDense
    from common.losses import global_mean

    span_mask = keras.layers.Input((None,), name="span_mask")
    logits = ScaledDense(2, lr_multiplier, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed),
                         dtype="float32", name="span_logits")(bert.model.output)
    # float32 logits: a -1e12 mask and the softmax stay exact under any precision policy
    masked = keras.layers.Lambda(
        lambda x: tf.nn.log_softmax(tf.transpose(x[0], [0, 2, 1]) - (1.0 - x[1][:, None]) * 1e12, axis=-1),
        dtype="float32", name="span_log_probs")([logits, span_mask])
    start = keras.layers.Lambda(lambda x: x[:, 0], dtype="float32", name="start_log_probs")(masked)
    end = keras.layers.Lambda(lambda x: x[:, 1], dtype="float32", name="end_log_probs")(masked)
    predict_model = keras.Model(bert.model.inputs + [span_mask], [start, end])
    gold_start = keras.layers.Input((), dtype="int32", name="start")
    gold_end = keras.layers.Input((), dtype="int32", name="end")
    loss = keras.layers.Lambda(lambda x: global_mean(
        -tf.gather(x[0], x[2], batch_dims=1) - tf.gather(x[1], x[3], batch_dims=1)), dtype="float32", name="loss")(
        [start, end, gold_start, gold_end])
    train_model = keras.Model(bert.model.inputs + [span_mask, gold_start, gold_end], [start, end])
    train_model.add_loss(loss)
    return train_model, predict_model


# ---------------------------------------------------------------- decoding

def best_spans(start_scores, end_scores, max_answer_len):
    """For each row, the (start, end, score) maximizing start + end score with start <= end < start + max_answer_len.

    start_scores, end_scores: (B, T), -inf where no answer may start or end.
    The band of the outer sum start[i] + end[j] has its maximum at the end j maximizing
    end[j] + max(start[j - max_answer_len + 1 .. j]); those sliding maxima come from a
    table of maxima over power-of-two windows, so the cost is O(B * T * log max_answer_len),
    vectorized, instead of the O(T * max_answer_len) Python loop.
    """
    batch, t = start_scores.shape
    width = min(max_answer_len, t)
    # padded[:, x] = start score at x - (width - 1): the starts allowed for end j are padded[:, j:j + width]
    padded = np.concatenate([np.full((batch, width - 1), -np.inf, start_scores.dtype), start_scores], axis=1)
    power, table = 1, padded  # table[:, x] = max(padded[:, x:x + power])
    while 2 * power <= width:
        table = np.maximum(table[:, :-power], table[:, power:])
        power *= 2
    best_start = np.maximum(table[:, :t], table[:, width - power:width - power + t])
    ends = (end_scores + best_start).argmax(1)
    rows = np.arange(batch)
    allowed = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)[rows, ends]  # (B, width)
    starts = np.maximum(ends - width + 1 + allowed.argmax(1), 0)  # a row with no allowed span: (0, 0, -inf)
    return starts, ends, start_scores[rows, starts] + end_scores[rows, ends]


# How an ensemble combines its members' start and end distributions before the span search (ensemble.json
# "combine"; the first is the default): the weighted mean of their probabilities, of their log-probabilities,
# or of their span probabilities p(start) x p(end) (mixture_spans).
COMBINE_RULES = ("probabilities", "log-probabilities", "span probabilities")


def mixture_spans(start, end, max_answer_len, weights):
    """The best span per row under the mixture of the members' span distributions: a span scores
    log(sum over members of weight x p(start) x p(end)). start, end: (members, B, T) log-probabilities, -inf where
    no answer may start or end. Returns (starts, ends, scores) as best_spans does."""
    _, batch, t = start.shape
    positions = np.arange(t)
    band = (positions[None] >= positions[:, None]) & (positions[None] < positions[:, None] + max_answer_len)
    pairs = np.full((batch, t, t), -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf + -inf where neither may be an answer
        for weight, s, e in zip(np.log(np.asarray(weights, "float64")), start, end):  # one member at a time: memory
            pairs = np.logaddexp(pairs, weight + s[:, :, None] + e[:, None, :])
    pairs = np.where(band, pairs, -np.inf).reshape(batch, -1)
    best = pairs.argmax(1)
    starts, ends = np.unravel_index(best, (t, t))
    return starts, ends, pairs[np.arange(batch), best]


class Predictor:
    """Batched prediction over the windows of many questions; the best span over a question's windows wins.

    models: one predict model, or several whose start and end distributions are combined per window by
    `combine` (one of COMBINE_RULES; None: the first), with `weights`, before the span search."""

    def __init__(self, tokenizer, models, maxlen, max_question_len=64, max_answer_len=64, stride=None, batch_size=32,
                 span_search=best_spans, first_window_only=False, weights=None, combine=None):
        self.tokenizer, self.span_search = tokenizer, span_search
        self.models, self.weights = models, mean_weights(len(models), weights)
        self.members = traced(models)
        self.maxlen, self.max_question_len, self.max_answer_len = maxlen, max_question_len, max_answer_len
        self.stride, self.batch_size, self.first_window_only = stride, batch_size, first_window_only
        self.combine = combine

    def spans(self, outputs, allowed, rule):
        """(starts, ends, scores): the best span of each window of a batch, from the members' start and end
        log-probabilities (`outputs`) combined by `rule`; `allowed`: where an answer may start or end."""
        def masked(log_probs):
            return np.where(allowed, log_probs, -np.inf)

        if len(outputs) == 1:
            return self.span_search(masked(outputs[0][0]), masked(outputs[0][1]), self.max_answer_len)
        if rule == "span probabilities":
            start, end = (np.stack([masked(np.asarray(o[k], "float64")) for o in outputs]) for k in (0, 1))
            return mixture_spans(start, end, self.max_answer_len, self.weights)
        dtype = np.asarray(outputs[0][0]).dtype  # back in the models' dtype: N copies of one model are that model
        if rule == "log-probabilities":
            start, end = weighted_mean([[np.asarray(o[k], "float64") for k in (0, 1)] for o in outputs], self.weights)
        else:
            probs = weighted_mean([[np.exp(np.asarray(o[k], "float64")) for k in (0, 1)] for o in outputs],
                                  self.weights)
            with np.errstate(divide="ignore"):  # positions no answer may take have probability 0
                start, end = (np.log(p) for p in probs)
        return self.span_search(masked(start.astype(dtype)), masked(end.astype(dtype)), self.max_answer_len)

    def predict(self, questions, progress=lambda x, **k: x, rules=None):
        """{question id: answer text}, an answer ("" at worst) for every question; with `rules` (of
        COMBINE_RULES), a list of them, one per rule, from one pass of the models."""
        chosen = list(rules) if rules else [self.combine or COMBINE_RULES[0]]
        for rule in chosen:
            if rule not in COMBINE_RULES:
                raise ValueError(f"combine: {rule!r} is not one of {', '.join(COMBINE_RULES)}")
        items = []  # (question, tokenized context, example)
        for q in questions:
            context, examples = encode_question(self.tokenizer, q, self.max_question_len, self.maxlen, self.stride)
            items += [(q, context, e) for e in examples[:1 if self.first_window_only else None]]
        best = [{q.id: (-np.inf, "") for q in questions} for _ in chosen]
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            batch = collate([e for _, _, e in chunk])
            outputs = [m([batch["Input-Token"], batch["Input-Segment"], batch["span_mask"]]) for m in self.members]
            allowed = batch["span_mask"].astype(bool)
            allowed[:, 0] = False  # [CLS] is "no answer in this window", never an answer
            for rule, found in zip(chosen, best):
                for (q, context, e), s, t, score in zip(chunk, *self.spans(outputs, allowed, rule)):
                    if np.isfinite(score) and score > found[q.id][0]:
                        found[q.id] = (score, q.context[slice(*e.window.char_span(context, s, t, e.offset))])
        answers = [{qid: answer for qid, (_, answer) in found.items()} for found in best]
        return answers if rules else answers[0]

    def warning(self):
        return None


def decode_gold(tokenizer, question, maxlen, max_question_len=64, stride=None):
    """Answer texts obtained by decoding the encoded training targets of a question's windows."""
    context, examples = encode_question(tokenizer, question, max_question_len, maxlen, stride)
    return [question.context[slice(*e.window.char_span(context, *e.answer, e.offset))]
            for e in examples if e.holds_answer]
