"""Cover a long token sequence with overlapping windows, so no text is truncated.

A window is a slice [start, end) of a text's tokens (common.tokenization keeps
each token's characters, so a window maps back to the text). Consecutive
windows start `stride` tokens apart; a span of fewer than `size - stride` tokens
that crosses one window's border lies whole in the next window.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    n_tokens: int  # tokens in the whole text

    def holds_whole(self, first, last):
        """True if tokens first..last (inclusive) are inside this window and
        touch none of its inner borders (a span there may have been cut)."""
        if first < self.start or last >= self.end:
            return False
        cut_left = self.start > 0 and first == self.start
        cut_right = self.end < self.n_tokens and last == self.end - 1
        return not (cut_left or cut_right)


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
