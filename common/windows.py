"""Cover a long token sequence with overlapping windows, so no text is truncated.

A window is a slice [start, end) of a text's tokens. The model reads it wrapped as
[CLS] + the window's tokens + [SEP] (after whatever comes first, such as a question:
`offset` is the model position of the window's first token, 1 by default), so text
token i sits at model position i - start + offset. `wrap`, `to_model`, `to_text` and
`char_span` are the only places that shift between the two. Consecutive windows
start `stride` tokens apart; a span of fewer than `size - stride` tokens that crosses
one window's border lies whole in the next window.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    n_tokens: int  # tokens in the whole text

    @property
    def length(self):
        return self.end - self.start

    @property
    def cut_left(self):
        """The window starts inside the text: a span at its first token may be cut."""
        return self.start > 0

    @property
    def cut_right(self):
        return self.end < self.n_tokens

    def holds_whole(self, first, last):
        """True if text tokens first..last (inclusive) are inside this window and
        touch none of its inner borders (a span there may have been cut)."""
        if first < self.start or last >= self.end:
            return False
        return not ((self.cut_left and first == self.start) or (self.cut_right and last == self.end - 1))

    def holds(self, first, last):
        """True if text tokens first..last are inside this window (borders allowed)."""
        return self.start <= first and last < self.end

    def wrap(self, ids, special, before=()):
        """Model input ids: [CLS] + before + [SEP] (when `before` is given) + the window's ids + [SEP];
        `special` is (CLS id, SEP id) (common.tokenization.special_ids)."""
        cls, sep = special
        head = [cls] + list(before) + [sep] if before else [cls]
        return head + list(ids[self.start:self.end]) + [sep]

    def to_model(self, first, last, offset=1):
        """Model positions of text tokens first..last."""
        shift = offset - self.start
        return first + shift, last + shift

    def to_text(self, first, last, offset=1):
        """Text tokens of model positions first..last."""
        shift = self.start - offset
        return first + shift, last + shift

    def char_span(self, tokenized, first, last, offset=1):
        """Characters [start, end) of the text covered by model positions first..last."""
        return tokenized.char_span(*self.to_text(first, last, offset))


def split_windows(n_tokens, size, stride=None):
    """Windows of at most `size` tokens, `stride` apart (default: half a window), covering all tokens."""
    if size < 1:
        raise ValueError(f"window size must be positive, got {size}")
    stride = stride or max(1, size // 2)
    if not 0 < stride <= size:
        raise ValueError(f"stride must be in 1..{size}, got {stride}")
    windows, start = [], 0
    while True:
        end = min(start + size, n_tokens)
        windows.append(Window(start, end, n_tokens))
        if end >= n_tokens:
            return windows
        start += stride
