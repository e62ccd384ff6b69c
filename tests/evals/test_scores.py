"""Judge-free scores: S_l, buckets, word counts as score_row uses them, repetition, sections."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from longform.evals.scores import (
    BUCKETS,
    bucket_of,
    length_score,
    repetition_metrics,
    score_row,
    section_repetition,
    split_sections,
)
from longform.text import count_words

# ------------------------------------------------------------------ length score


@pytest.mark.parametrize(
    "required, actual, expected",
    [
        (1000, 1000, 100.0),  # on target
        (1000, 800, 87.5),  # under: 100*(1-(1000/800-1)/2) = 100*(1-0.125)
        (1000, 500, 50.0),  # under: 100*(1-(2-1)/2)
        (1000, 1600, 80.0),  # over: 100*(1-(1.6-1)/3)
        (1000, 2500, 50.0),  # over: 100*(1-(2.5-1)/3)
        (1000, 4000, 0.0),  # exactly 4x
        (1000, 9000, 0.0),  # far beyond 4x: clipped, not negative
        (900, 300, 0.0),  # exactly a third
        (900, 100, 0.0),  # below a third: clipped, not negative
        (1000, 0, 0.0),  # no output at all
        (1, 1, 100.0),
    ],
)
def test_length_score_hand_computed(required, actual, expected):
    assert length_score(required, actual) == pytest.approx(expected)


def test_length_score_is_asymmetric():
    # Overshooting by 50% costs less than undershooting to two thirds of the target.
    assert length_score(1000, 1500) == pytest.approx(100 * (1 - 0.5 / 3))
    assert length_score(1500, 1000) == pytest.approx(75.0)


@pytest.mark.parametrize("required", [0, -5])
def test_length_score_rejects_non_positive_required(required):
    with pytest.raises(ValueError, match="positive"):
        length_score(required, 100)


# ------------------------------------------------------------------ word counts used by score_row


@pytest.mark.parametrize(
    "text, official, unicode",
    [
        ("don't stop", 3, 2),  # official: "don", "t", "stop"
        ("café au lait", 2, 3),  # official: "café" has no ASCII word boundary after "caf"
        ("长篇写作很难", 6, 6),
        ("我们用 GPT-4o 写了 3 个 chapters。", 8, 9),  # 6 CJK + GPT + chapters; unicode also counts the "o" of "4o"
        ("Привет мир and hello", 2, 4),  # Cyrillic counts only under the unicode rule
    ],
)
def test_count_words_rules(text, official, unicode):
    assert count_words(text) == official
    assert count_words(text, "unicode") == unicode


def test_score_row_uses_the_word_rule():
    row = {"prompt": "Write about Paris.", "length": 4, "response": "Le café était plein, n'est-ce pas"}
    official = score_row(row)
    assert official["response_words"] == 6  # Le plein n est ce pas: "café" and "était" count 0
    assert official["S_l"] == pytest.approx(100 * (1 - (6 / 4 - 1) / 3))
    assert score_row(row, "unicode")["response_words"] == 7  # Le café était plein n'est ce pas
    with pytest.raises(ValueError):
        score_row(row, "nope")


# ------------------------------------------------------------------ buckets


@pytest.mark.parametrize(
    "required, label",
    [
        (0, "[0,500)"),
        (499, "[0,500)"),
        (500, "[500,2000)"),
        (1999, "[500,2000)"),
        (2000, "[2000,4000)"),
        (3999, "[2000,4000)"),
        (4000, "[4000,20000]"),
        (20000, "[4000,20000]"),
        (30000, "[4000,20000]"),
    ],
)
def test_bucket_edges(required, label):
    assert bucket_of(required) == label


def test_buckets_are_contiguous():
    assert [b[0] for b in BUCKETS] == ["[0,500)", "[500,2000)", "[2000,4000)", "[4000,20000]"]
    for (_, _, high), (_, low, _) in pairwise(BUCKETS):
        assert high == low
    assert BUCKETS[-1][2] is None


# ------------------------------------------------------------------ repetition


def prose(n_sentences: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(400)]
    return " ".join(" ".join(rng.choice(vocab) for _ in range(12)).capitalize() + "." for _ in range(n_sentences))


def test_repetition_distinct_prose_vs_loop():
    fresh = repetition_metrics(prose(40))
    loop = repetition_metrics("The river keeps flowing into the sea. " * 40)
    assert set(fresh) == {"repeated_4gram_share", "distinct_1", "distinct_2", "distinct_4"}
    assert fresh["repeated_4gram_share"] < 0.05 and loop["repeated_4gram_share"] > 0.9
    assert fresh["distinct_4"] > 0.95 and loop["distinct_4"] < 0.05
    assert loop["distinct_1"] == pytest.approx(6 / 280)  # 6 distinct words (lower-cased) of 7*40


def test_repetition_hand_computed_and_empty():
    m = repetition_metrics("a b a b")  # tokens a b a b
    assert m["distinct_1"] == pytest.approx(2 / 4)
    assert m["distinct_2"] == pytest.approx(2 / 3)  # (a,b) (b,a) (a,b)
    assert m["distinct_4"] == pytest.approx(1.0)
    assert repetition_metrics("") == {"repeated_4gram_share": 0.0, "distinct_1": 0.0, "distinct_2": 0.0,
                                      "distinct_4": 0.0}
    assert repetition_metrics("one two")["distinct_4"] == 0.0


def test_repetition_counts_cjk_characters_as_tokens():
    m = repetition_metrics("好好学习")  # 好 好 学 习
    assert m["distinct_1"] == pytest.approx(3 / 4)


# ------------------------------------------------------------------ sections


def test_split_sections_by_headings_folds_title_into_first():
    text = "# My Title\n\n## One\nAlpha text.\n\n## Two\nBeta text.\n\n## Three\nGamma text."
    sections = split_sections(text)
    assert len(sections) == 3
    assert sections[0].startswith("# My Title") and "Alpha" in sections[0]
    assert sections[1] == "## Two\nBeta text."
    assert sections[2].endswith("Gamma text.")


def test_split_sections_without_headings_makes_thirds():
    paragraphs = [prose(2, seed=i) for i in range(9)]
    sections = split_sections("\n\n".join(paragraphs))
    assert len(sections) == 3
    assert sections == ["\n\n".join(paragraphs[i : i + 3]) for i in (0, 3, 6)]


def test_split_sections_balances_by_words_not_paragraph_count():
    small = [" ".join(f"s{i}w{j}" for j in range(10)) + "." for i in range(5)]
    big = " ".join(f"big{j}" for j in range(100)) + "."
    sections = split_sections("\n\n".join([*small[:3], big, *small[3:]]))
    assert sections == ["\n\n".join(small[:3]), big, "\n\n".join(small[3:])]


def test_split_sections_single_paragraph_splits_by_sentences():
    text = prose(9)
    sections = split_sections(text)
    assert len(sections) == 3
    assert " ".join(sections) == text
    assert split_sections("") == [] and split_sections("Just one sentence.") == ["Just one sentence."]


def test_section_repetition_finds_a_late_loop():
    text = "\n\n".join([prose(5, 1), prose(5, 2), "Round and round we go again. " * 10])
    per_section = section_repetition(text)
    assert len(per_section) == 3
    assert per_section[0]["repeated_4gram_share"] < 0.05
    assert per_section[2]["repeated_4gram_share"] > 0.8


# ------------------------------------------------------------------ score_row


def test_score_row_english():
    row = {"prompt": "Write a 1000-word story about a lighthouse.", "type": "story", "length": 1000,
           "response": "Light " * 800}
    scored = score_row(row)
    assert scored is not row and "S_l" not in row  # a new dict; the input is untouched
    assert scored["response_words"] == 800
    assert scored["S_l"] == pytest.approx(87.5)
    assert scored["bucket"] == "[500,2000)"
    assert scored["language"] == "en"
    assert scored["type"] == "story"
    assert scored["repetition"]["repeated_4gram_share"] > 0.9
    assert isinstance(scored["sections_repetition"], list)
    assert scored["judge"] is None


def test_score_row_chinese():
    row = {"prompt": "写一篇关于长江的散文，不少于300字。", "length": 300, "response": "长江奔流不息。" * 80}
    scored = score_row(row)
    assert scored["response_words"] == 480  # 6 ideographs x 80; "。" is not a word
    assert scored["S_l"] == pytest.approx(100 * (1 - (480 / 300 - 1) / 3))
    assert scored["bucket"] == "[0,500)"
    assert scored["language"] == "zh"


@pytest.mark.parametrize("response", [None, ""])
def test_score_row_empty_response(response):
    scored = score_row({"prompt": "Write.", "length": 500, "response": response})
    assert scored["response_words"] == 0 and scored["S_l"] == 0.0
    assert scored["sections_repetition"] == []


def test_score_row_keeps_given_language_and_judge():
    judge = {"scores": None, "S_q": None, "raw": "?"}
    scored = score_row({"prompt": "Write.", "length": 10, "response": "x", "language": "zh", "judge": judge})
    assert scored["language"] == "zh" and scored["judge"] == judge


@pytest.mark.parametrize("length", [0, -3, "1000", 1000.0, None, True])
def test_score_row_rejects_bad_length(length):
    with pytest.raises(ValueError, match="length"):
        score_row({"prompt": "Write.", "length": length, "response": "x"})
