"""Token spans map back to exact characters; jieba pre-tokenization for word vocabularies."""
from common.tokenization import load_tokenizer, tokenize


def test_spans_are_exact_with_spaces_english_digits_fullwidth_emoji(tokenizer):
    text = "你好 Hello World，ＡＢＣ 2020年😀测试"
    tokenized = tokenize(tokenizer, text)
    pieces = [text[s:e] for s, e in tokenized.spans]
    assert "".join(pieces) == text.replace(" ", "")
    assert tokenized.tokens[:3] == ["你", "好", "hello"] or tokenized.tokens[2].startswith("h")
    first, last = tokenized.token_span(text.index("World"), text.index("World") + 5)
    assert text[slice(*tokenized.char_span(first, last))] == "World"  # case kept from the text
    emoji = text.index("😀")
    first, last = tokenized.token_span(emoji, emoji + 1)
    assert text[slice(*tokenized.char_span(first, last))] == "😀"


def test_word_level_pre_tokenization(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "北京", "北", "京", "的", "大", "学", "hello"]) + "\n")
    char_level = load_tokenizer(str(vocab)).tokenize("北京的大学hello")[1:-1]
    word_level = load_tokenizer(str(vocab), word_level=True).tokenize("北京的大学hello")[1:-1]
    assert char_level == ["北", "京", "的", "大", "学", "hello"]
    assert word_level == ["北京", "的", "大", "学", "hello"]  # 大学 is no vocabulary word: split
    tokenized = tokenize(load_tokenizer(str(vocab), word_level=True), "北京的大学hello")
    assert tokenized.spans[0] == (0, 2)
