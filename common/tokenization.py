"""Tokenize with bert4keras and keep each token's character span in the text."""
from dataclasses import dataclass


def load_tokenizer(vocab_path, word_level=False, lower_case=True):
    """A bert4keras Tokenizer for `vocab_path`, lower-casing unless the checkpoint says otherwise.

    word_level: pre-tokenize with jieba so that whole words of a word-level
    vocabulary (WoBERT style) are found before falling back to characters.
    """
    from common import env  # noqa: F401  (bert4keras reads its settings when first imported)
    from bert4keras.tokenizers import Tokenizer

    if not word_level:
        return Tokenizer(vocab_path, do_lower_case=lower_case)
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading on every start
    # bert4keras keeps a jieba word found in the vocabulary and splits the rest as usual
    return Tokenizer(vocab_path, do_lower_case=lower_case, pre_tokenize=lambda text: jieba.cut(text, HMM=False))


def special_ids(tokenizer):
    """(CLS id, SEP id): what an empty text encodes to."""
    cls, sep = tokenizer.encode("")[0]
    return cls, sep


@dataclass
class TokenizedText:
    """A text's tokens (no [CLS]/[SEP]), their ids, and [start, end) character spans."""
    text: str
    tokens: list
    ids: list
    spans: list

    def char_span(self, first, last):
        """Characters covered by tokens first..last (inclusive)."""
        return self.spans[first][0], self.spans[last][1]

    def token_span(self, start, end):
        """Tokens (first, last) that cover characters [start, end), or None if no token does."""
        first = last = None
        for i, (s, e) in enumerate(self.spans):
            if e > start and s < end:
                if first is None:
                    first = i
                last = i
        return None if first is None else (first, last)


def tokenize(tokenizer, text):
    """Tokenize `text` and map every token back to the characters it came from.

    Tokens bert4keras cannot map (such as [UNK] for an emoji) take the
    non-space characters between their neighbours, so every character that is
    not a space belongs to some token and spans cut from the text are exact.
    """
    tokens = tokenizer.tokenize(text)[1:-1]
    mapping = tokenizer.rematch(text, tokens)
    spans = [(m[0], m[-1] + 1) if m else None for m in mapping]
    for i, span in enumerate(spans):
        if span is None:
            start = spans[i - 1][1] if i > 0 else 0
            end = next((s[0] for s in spans[i + 1:] if s is not None), len(text))
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            spans[i] = (start, max(end, start))
    return TokenizedText(text, tokens, tokenizer.tokens_to_ids(tokens), spans)
