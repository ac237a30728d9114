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


def training_windows(windows, negative_share, rng):
    """Windows holding an answer, plus a random `negative_share` of the others."""
    return [w for w in windows if w.start > 0 or rng.random() < negative_share]


def collate(windows):
    n = max(len(w.token_ids) for w in windows)
    token_ids = np.zeros((len(windows), n), "int32")
    segment_ids = np.zeros((len(windows), n), "int32")
    span_mask = np.zeros((len(windows), n), "float32")
    for i, w in enumerate(windows):
        token_ids[i, :len(w.token_ids)] = w.token_ids
        segment_ids[i, w.context_offset:len(w.token_ids)] = 1
        span_mask[i, 0] = 1
        span_mask[i, w.context_offset:len(w.token_ids) - 1] = 1
    starts = np.array([w.start for w in windows], "int32")
    ends = np.array([w.end for w in windows], "int32")
    return [token_ids, segment_ids, span_mask], (starts, ends)


# ---------------------------------------------------------------- model

def build_model(bert, seed=0):
    """[token_ids, segment_ids, span_mask] -> start and end log-probabilities over [CLS] and the context."""
    from common.env import keras, tf

    span_mask = keras.layers.Input((None,), name="span_mask")
    logits = keras.layers.Dense(2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed),
                                name="span_logits")(bert.model.output)
    masked = keras.layers.Lambda(
        lambda x: tf.nn.log_softmax(tf.transpose(x[0], [0, 2, 1]) - (1.0 - x[1][:, None]) * 1e12, axis=-1),
        name="span_log_probs")([logits, span_mask])
    start = keras.layers.Lambda(lambda x: x[:, 0], name="start")(masked)
    end = keras.layers.Lambda(lambda x: x[:, 1], name="end")(masked)
    return keras.Model(bert.model.inputs + [span_mask], [start, end])


def nll(y_true, log_probs):
    """Cross-entropy of the gold position under the model's log-probabilities."""
    from common.env import tf
    index = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
    return -tf.gather(log_probs, index, batch_dims=1)


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
                 span_search=best_spans):
        from common.bert import predict_function

        self.tokenizer, self.model, self.span_search = tokenizer, predict_function(model), span_search
        self.maxlen, self.max_question_len, self.max_answer_len = maxlen, max_question_len, max_answer_len
        self.stride, self.batch_size = stride, batch_size

    def predict(self, questions, progress=lambda x, **k: x):
        """{question id: answer text}, an answer ("" at worst) for every question."""
        items = []  # (question, tokenized context, window)
        for q in questions:
            context, windows = encode_question(self.tokenizer, q, self.max_question_len, self.maxlen, self.stride)
            items += [(q, context, w) for w in windows]
        best = {q.id: (-np.inf, "") for q in questions}
        for b in progress(range(0, len(items), self.batch_size), desc="predict"):
            chunk = items[b:b + self.batch_size]
            inputs, _ = collate([w for _, _, w in chunk])
            start_lp, end_lp = self.model(inputs)
            context_only = inputs[2].astype(bool)
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
