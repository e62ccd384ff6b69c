"""Word counting, language detection, sentence splitting/trimming, repetition measures."""

from __future__ import annotations

import random
import re

import pytest

from longform.text import (
    count_words,
    detect_language,
    overlap_with,
    repeated_ngram_share,
    split_sentences,
    trim_to_sentence,
    trim_to_words,
)


def longbench_count(text: str) -> int:
    """The LongBench-Write reference implementation, verbatim."""
    return len(re.findall(r"[\u4e00-\u9fff]", text)) + len(re.findall(r"\b[a-zA-Z]+\b", text))


# ------------------------------------------------------------------ count_words


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 0),
        ("hello world", 2),
        ("don't", 2),  # apostrophe splits: LongBench counts "don" and "t"
        ("café", 0),  # "caf" + "é" has no word boundary after "caf"
        ("naïve", 0),
        ("state-of-the-art", 4),
        ("abc123 x1 42", 0),  # letters glued to digits are not words
        ("snake_case", 0),
        ("你好世界", 4),
        ("我爱 Python 编程", 5),
        ("Hello，世界！This is 测试。", 7),
        ("ＡＢＣ", 0),  # full-width Latin is neither CJK nor ASCII
        ("こんにちは", 0),  # kana are outside \u4e00-\u9fff
        ("  \n\t ", 0),
    ],
)
def test_count_words_official_rule(text, expected):
    assert count_words(text) == expected
    assert count_words(text, "official") == expected
    assert longbench_count(text) == expected  # the table itself is the reference rule


def test_count_words_official_matches_reference_on_random_text():
    rng = random.Random(3)
    alphabet = "ab Zé'-_1 中文字。,.\n'’ñ"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert count_words(text) == longbench_count(text), text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("café naïve", 2),
        ("don't stop", 2),  # an apostrophe joins, like in ordinary word counts
        ("don’t", 1),
        ("Привет мир", 2),
        ("你好 world", 3),
        ("我爱Python", 3),
        ("abc 123 4.5", 1),  # digits are not words
        ("", 0),
    ],
)
def test_count_words_unicode_rule(text, expected):
    assert count_words(text, "unicode") == expected


def test_count_words_unknown_rule():
    with pytest.raises(ValueError, match="unknown word rule"):
        count_words("text", "bogus")


# ------------------------------------------------------------------ detect_language


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Write a story about a lighthouse", "en"),
        ("写一篇关于灯塔的故事", "zh"),
        ("请写一篇 3000 字的 essay", "zh"),  # CJK characters outnumber ASCII words
        ("Write an essay about 长城 and its long history in China", "en"),
        ("", "en"),
        ("12345 !!!", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


# ------------------------------------------------------------------ split_sentences


@pytest.mark.parametrize(
    "text",
    [
        "",
        "One sentence only",
        "First. Second! Third? ",
        "He said \"stop.\" Then he left.  Two spaces.\n\nNew paragraph.",
        "中文句子。第二句！第三句？没有结尾",
        "Mixed. 中文。English again… and more",
        "   leading space. trailing   ",
        "Ellipsis... continues. (Bracketed.) Done",
    ],
)
def test_split_sentences_round_trips(text):
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert all(parts)  # no empty pieces


def test_split_sentences_boundaries():
    assert split_sentences("One. Two! Three? Four") == ["One. ", "Two! ", "Three? ", "Four"]
    assert split_sentences("甲。乙！丙") == ["甲。", "乙！", "丙"]


def test_split_sentences_round_trips_random():
    rng = random.Random(11)
    alphabet = "ab .!?。！？\n\"')…"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        assert "".join(split_sentences(text)) == text


# ------------------------------------------------------------------ trim_to_sentence


def test_trim_to_sentence_drops_unfinished_tail():
    assert trim_to_sentence("One is done. Two is done. Three is cu") == "One is done. Two is done."
    assert trim_to_sentence("第一句。第二句没写完") == "第一句。"


def test_trim_to_sentence_keeps_finished_text():
    assert trim_to_sentence("All done here.  \n") == "All done here."
    assert trim_to_sentence('He said "yes."') == 'He said "yes."'


def test_trim_to_sentence_keeps_text_without_a_complete_sentence():
    assert trim_to_sentence("no sentence end at all") == "no sentence end at all"
    assert trim_to_sentence("") == ""


# ------------------------------------------------------------------ trim_to_words


def _random_prose(rng: random.Random, sentences: int) -> str:
    words = ["river", "harbor", "lantern", "orchard", "ledger", "winter", "cedar", "meadow", "signal", "copper"]
    out = []
    for _ in range(sentences):
        n = rng.randint(1, 15)
        out.append(" ".join(rng.choice(words) for _ in range(n)).capitalize() + rng.choice(".!?"))
    return " ".join(out)


def test_trim_to_words_examples():
    text = "One two three. Four five six. Seven eight."
    assert trim_to_words(text, 100) == text
    assert trim_to_words(text, 8) == text
    assert trim_to_words(text, 7) == "One two three. Four five six."
    assert trim_to_words(text, 6) == "One two three. Four five six."
    assert trim_to_words(text, 5) == "One two three."
    # a single first sentence longer than the limit is kept (an empty section is worse)
    assert trim_to_words("One two three four five. Six.", 2) == "One two three four five."


def test_trim_to_words_properties():
    rng = random.Random(5)
    for _ in range(200):
        text = _random_prose(rng, rng.randint(1, 12))
        limit = rng.randint(1, 80)
        out = trim_to_words(text, limit)
        sentences = split_sentences(text)
        first = count_words(sentences[0])
        assert text.startswith(out)
        assert out and out[-1] in ".!?"
        if first <= limit:
            assert count_words(out) <= limit
        else:
            assert out == sentences[0].rstrip()
        # maximal: adding the next sentence would exceed the limit
        if out != text.rstrip():
            nxt = split_sentences(text[len(out):].lstrip())[0]
            assert count_words(out) + count_words(nxt) > limit


def test_trim_to_words_chinese():
    text = "一二三。四五六。七八。"
    assert trim_to_words(text, 7) == "一二三。四五六。"
    assert count_words(trim_to_words(text, 7)) == 6


# ------------------------------------------------------------------ repetition measures


def test_repeated_ngram_share_distinct_prose_is_zero():
    text = ("The keeper climbed the tower before dawn and trimmed the wick. Ships passed far "
            "out beyond the reef while gulls argued over scraps on the rocks below.")
    assert repeated_ngram_share(text) == 0.0
    assert repeated_ngram_share("") == 0.0
    assert repeated_ngram_share("too short") == 0.0


def test_repeated_ngram_share_loop_is_high():
    loop = "The lantern swings over the dark harbor tonight. " * 40
    assert repeated_ngram_share(loop) > 0.5
    # a moderate repeat scores between the two
    half = _random_prose(random.Random(1), 10)
    mixed = half + " " + "The lantern swings over the dark harbor tonight. " * 3
    assert 0 < repeated_ngram_share(mixed) < repeated_ngram_share(loop)


def test_repeated_ngram_share_chinese_loop():
    assert repeated_ngram_share("我们走在回家的路上。" * 20) > 0.5


def test_overlap_with():
    assert overlap_with("a b c d e", "x a b c d y") == 0.5
    text = "The keeper climbed the tower before dawn and trimmed the wick."
    assert overlap_with(text, text) == 1.0
    assert overlap_with(text, "Completely different words appear in this other passage here.") == 0.0
    assert overlap_with(text, "") == 0.0
    assert overlap_with("", text) == 0.0
    # case-insensitive, punctuation ignored
    assert overlap_with("THE KEEPER CLIMBED THE", "the keeper, climbed the tower") == 1.0


def test_cut_near_words_never_cuts_at_an_unfinished_sentence():
    """A section of 58 words for 52 once ended "…is a fascinating example": the fragment a token
    limit left was the nearest "end". Only sentence ends are places to cut."""
    from longform.text import cut_near_words

    text = "One two three four five. Six seven eight nine ten. Eleven twelve thirteen"
    assert cut_near_words(text, 11) == "One two three four five. Six seven eight nine ten."
    assert cut_near_words("One two three four five. Six seven eight nine ten eleven", 7) == "One two three four five."
    assert cut_near_words("no end at all here", 2) == "no end at all here"  # nothing better to keep
