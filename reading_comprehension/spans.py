"""DuReader_robust: question/context windows, the start/end model, and vectorized span search.

Input of one window: [CLS] question [SEP] context window [SEP]. A long context
is read as overlapping windows; at predict time the best span over all
windows of a question wins. A window that does not hold the answer is trained
to point at [CLS] (position 0), which is how its answer scores stay low.
"""
from dataclasses import dataclass

import numpy as np

from common.tokenization import tokenize
from common.windows import split_windows


@dataclass
class Window:
    qid: str
    token_ids: list
    context_offset: int  # position of the window's first context token in token_ids
    tokens: slice        # the window's slice of the context's tokens
    start: int = 0       # training target positions (0: [CLS], no answer here)
    end: int = 0


def encode_question(tokenizer, question, max_question_len, maxlen, stride=None):
    """(tokenized context, windows) of a common.data.Question, with targets where the answer is held."""
    q_ids = tokenize(tokenizer, question.question).ids[:max_question_len]
    context = tokenize(tokenizer, question.context)
    size = maxlen - len(q_ids) - 3
    gold = [span for span in (context.token_span(s, s + len(a)) for s, a in question.found) if span]
    windows = []
    cls, sep = tokenizer._token_start_id, tokenizer._token_end_id
    for w in split_windows(len(context.ids), size, stride):
        offset = len(q_ids) + 2
        window = Window(question.id, [cls] + q_ids + [sep] + context.ids[w.start:w.end] + [sep],
                        offset, slice(w.start, w.end))
        held = next(((f, l) for f, l in gold if w.start <= f and l < w.end), None)
        if held:
            window.start, window.end = held[0] - w.start + offset, held[1] - w.start + offset
        windows.append(window)
    return context, windows


def negative_sampler(share):
    """Batches' resample hook: every window holding an answer, plus `share` of the others drawn anew each
    epoch (as many each epoch, so every epoch has the same number of steps)."""
    def sample(windows, rng):
        positive = [w for w in windows if w.start > 0]
        negative = [w for w in windows if w.start == 0]
        k = int(round(share * len(negative)))
        chosen = rng.choice(len(negative), k, replace=False) if k else []
        return positive + [negative[i] for i in sorted(chosen)]
    return sample


def answer_length_limit(windows, quantile=0.99, least=8):
    """Longest answer (tokens) the span search allows: the `quantile` of the training answers' lengths, so a
    few long outliers do not let the model answer with whole sentences; at least `least`."""
    lengths = [w.end - w.start + 1 for w in windows if w.start > 0]
    return max(least, int(np.ceil(np.quantile(lengths, quantile)))) if lengths else 64


def collate(windows, whole_window=False):
    """Arrays of a batch keyed by the training model's input names. The span mask allows [CLS] and the
    context (`whole_window`: every real position, question included, as the 2020 design)."""
    from common.training import padded_length
    n = padded_length(max(len(w.token_ids) for w in windows))
    token_ids = np.zeros((len(windows), n), "int32")
    segment_ids = np.zeros((len(windows), n), "int32")
    span_mask = np.zeros((len(windows), n), "float32")
    for i, w in enumerate(windows):
        token_ids[i, :len(w.token_ids)] = w.token_ids
        segment_ids[i, w.context_offset:len(w.token_ids)] = 1
        span_mask[i, 0] = 1
        span_mask[i, 1 if whole_window else w.context_offset:len(w.token_ids) - 1] = 1
    return {"Input-Token": token_ids, "Input-Segment": segment_ids, "span_mask": span_mask,
            "start": np.array([w.start for w in windows], "int32"), "end": np.array([w.end for w in windows], "int32")}


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


class Predictor:
    """Batched prediction over the windows of many questions; the best span over a question's windows wins."""

    def __init__(self, tokenizer, model, maxlen, max_question_len=64, max_answer_len=64, stride=None, batch_size=32,
                 span_search=best_spans, first_window_only=False):
        from common.bert import predict_function

        self.tokenizer, self.model, self.span_search = tokenizer, predict_function(model), span_search
        self.maxlen, self.max_question_len, self.max_answer_len = maxlen, max_question_len, max_answer_len
        self.stride, self.batch_size, self.first_window_only = stride, batch_size, first_window_only

    def predict(self, questions, progress=lambda x, **k: x):
        """{question id: answer text}, an answer ("" at worst) for every question."""
        items = []  # (question, tokenized context, window)
        for q in questions:
            context, windows = encode_question(self.tokenizer, q, self.max_question_len, self.maxlen, self.stride)
            items += [(q, context, w) for w in windows[:1 if self.first_window_only else None]]
        best = {q.id: (-np.inf, "") for q in questions}
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            batch = collate([w for _, _, w in chunk])
            inputs = [batch["Input-Token"], batch["Input-Segment"], batch["span_mask"]]
            start_lp, end_lp = self.model(inputs)
            context_only = batch["span_mask"].astype(bool)
            context_only[:, 0] = False  # [CLS] is "no answer in this window", never an answer
            starts, ends, scores = self.span_search(np.where(context_only, start_lp, -np.inf),
                                              np.where(context_only, end_lp, -np.inf), self.max_answer_len)
            for (q, context, w), s, e, score in zip(chunk, starts, ends, scores):
                if np.isfinite(score) and score > best[q.id][0]:
                    first = s - w.context_offset + w.tokens.start
                    last = e - w.context_offset + w.tokens.start
                    char_start, char_end = context.char_span(first, last)
                    best[q.id] = (score, q.context[char_start:char_end])
        return {qid: answer for qid, (_, answer) in best.items()}


def decode_gold(tokenizer, question, maxlen, max_question_len=64, stride=None):
    """Answer texts obtained by decoding the encoded training targets of a question's windows."""
    context, windows = encode_question(tokenizer, question, max_question_len, maxlen, stride)
    answers = []
    for w in windows:
        if w.start > 0:
            first = w.start - w.context_offset + w.tokens.start
            last = w.end - w.context_offset + w.tokens.start
            answers.append(question.context[slice(*context.char_span(first, last))])
    return answers
