"""The logits processors in longform.backends.sampling, on crafted token ids."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from longform.backends.sampling import (
    LINE_MARKERS,
    NoRepeatNGram,
    ProseOnly,
    word_continuations,
)


def reference_banned(ids: list[int], n: int) -> set[int]:
    """Brute force: every token that followed an earlier occurrence of the last n-1 tokens."""
    if len(ids) < n - 1:
        return set()
    tail = ids[len(ids) - (n - 1):]
    return {ids[i + n - 1] for i in range(len(ids) - n + 1) if ids[i : i + n - 1] == tail}


# NoRepeatNGram ------------------------------------------------------------------

@pytest.mark.parametrize(
    "n, ids, expected",
    [
        (3, [1, 2, 3, 1, 2], {3}),  # "1 2" was followed by 3
        (3, [1, 2, 3, 1, 2, 4, 1, 2], {3, 4}),  # and later by 4
        (3, [1, 2, 3, 4, 5], set()),  # "4 5" never seen before
        (2, [5, 5, 5], {5}),  # a self-overlapping repeat
        (2, [7, 8, 9, 7], {8}),
        (4, [1, 2, 3, 9, 1, 2, 3], {9}),
        (4, [1, 2, 3, 9, 2, 3], set()),  # only 2 of the 3 context tokens match
        (5, [1, 2, 3, 4, 5, 6, 1, 2, 3, 4], {5}),
        (3, [], set()),
        (3, [1], set()),
        (3, [1, 2], set()),  # too short to hold any n-gram
        (2, [4], set()),
    ],
)
def test_banned_is_exactly_the_tokens_completing_a_seen_ngram(n, ids, expected):
    assert NoRepeatNGram(n).banned(ids) == expected
    assert reference_banned(ids, n) == expected


def test_the_prompt_counts_as_context():
    # The n-gram "10 11 12" is in the prompt only; the generated tail "10 11"
    # must not be completed with 12 again.
    prompt = [10, 11, 12, 13, 14]
    generated = [20, 10, 11]
    assert NoRepeatNGram(3).banned(prompt + generated) == {12}


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", range(6))
def test_incremental_calls_match_a_fresh_instance_and_brute_force(n, seed):
    rng = random.Random(seed * 31 + n)
    vocab = rng.choice([3, 4, 6])  # small alphabets make repeats frequent
    ids = [rng.randrange(vocab) for _ in range(rng.randrange(10, 25))]
    incremental = NoRepeatNGram(n)
    nonempty = 0
    for length in range(len(ids) + 1):
        prefix = ids[:length]
        expected = reference_banned(prefix, n)
        assert incremental.banned(prefix) == expected, (n, prefix)
        assert NoRepeatNGram(n).banned(prefix) == expected, (n, prefix)
        nonempty += bool(expected)
    # the incremental instance also answers repeated questions about the same context
    assert incremental.banned(ids) == reference_banned(ids, n)
    if vocab <= 4 and n <= 3:
        assert nonempty, "the crafted sequence should produce at least one ban"


def test_incremental_calls_may_jump_several_tokens():
    ids = [1, 2, 3, 1, 2, 3, 4, 1, 2]
    proc = NoRepeatNGram(3)
    assert proc.banned(ids[:2]) == set()
    assert proc.banned(ids[:7]) == reference_banned(ids[:7], 3)  # indexes 5 new tokens at once
    assert proc.banned(ids) == {3}


@pytest.mark.parametrize("n", [1, 0, -3])
def test_n_below_two_is_rejected(n):
    with pytest.raises(ValueError):
        NoRepeatNGram(n)


def test_call_sets_banned_scores_to_minus_infinity_and_keeps_the_rest():
    ids = np.array([1, 2, 3, 1, 2, 4, 1, 2], dtype=np.intc)  # llama.cpp passes a numpy array
    scores = np.linspace(-1.0, 1.0, 8).astype(np.single)
    before = scores.copy()
    out = NoRepeatNGram(3)(ids, scores)
    assert out is scores  # llama.cpp assigns the return value; in place is fine
    assert out[3] == -math.inf and out[4] == -math.inf
    keep = [i for i in range(8) if i not in (3, 4)]
    np.testing.assert_array_equal(out[keep], before[keep])


def test_call_without_a_repeat_changes_nothing():
    ids = np.array([1, 2, 3, 4], dtype=np.intc)
    scores = np.arange(6, dtype=np.single)
    out = NoRepeatNGram(2)(ids, scores.copy())
    np.testing.assert_array_equal(out, scores)


def test_call_is_incremental_over_a_growing_context():
    # Feeding 0 1 0 1 ...: once "0 1" and "1 0" have been seen, the only token
    # that continues the alternation is banned at every step.
    proc = NoRepeatNGram(2)
    ids = [0, 1]
    for step in range(6):
        scores = proc(np.array(ids, dtype=np.intc), np.zeros(3, dtype=np.single))
        banned = {i for i in range(3) if scores[i] == -math.inf}
        assert banned == reference_banned(ids, 2)
        assert banned == (set() if step == 0 else {1 - ids[-1]})
        ids.append(1 - ids[-1])


def test_exempt_tokens_are_never_banned():
    ids = [1, 2, 3, 1, 2, 4, 1, 2]
    assert NoRepeatNGram(3).banned(ids) == {3, 4}
    proc = NoRepeatNGram(3, exempt=frozenset({3}))
    assert proc.banned(ids) == {4}
    scores = proc(np.array(ids, dtype=np.intc), np.zeros(6, dtype=np.single))
    assert [i for i in range(6) if scores[i] == -math.inf] == [4]
    # exemption only filters the answer: the index still holds the exempt continuations
    assert NoRepeatNGram(3, exempt=frozenset({3, 4})).banned(ids) == set()


@pytest.mark.parametrize("seed", range(4))
def test_exempt_matches_brute_force_minus_the_exempt_set(seed):
    rng = random.Random(seed)
    ids = [rng.randrange(4) for _ in range(20)]
    exempt = frozenset({0, 2})
    proc = NoRepeatNGram(2, exempt)
    for length in range(len(ids) + 1):
        assert proc.banned(ids[:length]) == reference_banned(ids[:length], 2) - exempt


def test_word_continuations_are_tokens_starting_with_an_ascii_letter():
    vocab = ["light", "houses", " the", "Ing", "1st", "-ly", "", "\n", "éclair", "Z", " ", "'s", "ß"]
    assert word_continuations(vocab) == frozenset({0, 1, 3, 9})


# ProseOnly ------------------------------------------------------------------------

VOCAB = [
    "Hello",  # 0
    "\n",  # 1  line end
    "1",  # 2  marker
    " 2",  # 3  marker after spaces
    "-",  # 4  marker
    "*",  # 5  marker
    "#",  # 6  marker
    "[",  # 7  marker
    "(",  # 8  marker
    " world",  # 9
    ".\n",  # 10 line end
    "\n\n",  # 11 line end
    "12.",  # 12 marker
    "  -",  # 13 marker
    "•",  # 14 marker
    ">",  # 15 marker
    "|",  # 16 marker
    "A1",  # 17 (a digit later in the token is fine)
    "",  # 18
    " ",  # 19
    "The",  # 20
    "x-",  # 21
    "##",  # 22 marker
    ":\n",  # 23 line end
    "\n    ",  # 24 line end (newline then indentation)
    "\t",  # 25 blank
]
MARKERS = {2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 16, 22}
LINE_ENDS = {1, 10, 11, 23, 24}
BLANKS = {19, 25}


def test_prose_only_classifies_the_vocabulary():
    prose = ProseOnly(VOCAB)
    assert set(prose.markers) == MARKERS
    assert prose.line_ends == LINE_ENDS
    assert set("0123456789-*#[(") <= LINE_MARKERS


@pytest.mark.parametrize("last", sorted(LINE_ENDS))
def test_after_a_line_end_list_markers_are_forbidden(last):
    scores = np.zeros(len(VOCAB), dtype=np.single)
    out = ProseOnly(VOCAB)(np.array([0, 9, last], dtype=np.intc), scores)
    assert {i for i, s in enumerate(out) if s == -math.inf} == MARKERS
    assert all(out[i] == 0 for i in range(len(VOCAB)) if i not in MARKERS)


@pytest.mark.parametrize("blanks", [[19], [25], [19, 25, 19]])
def test_blank_tokens_after_a_line_end_keep_the_line_start(blanks):
    """ "\n" + " " + "2" would otherwise slip a list item through."""
    scores = np.zeros(len(VOCAB), dtype=np.single)
    out = ProseOnly(VOCAB)(np.array([0, 1, *blanks], dtype=np.intc), scores)
    assert {i for i, s in enumerate(out) if s == -math.inf} == MARKERS


def test_blank_tokens_after_words_change_nothing():
    scores = np.zeros(len(VOCAB), dtype=np.single)
    out = ProseOnly(VOCAB)(np.array([1, 0, 19], dtype=np.intc), scores)
    assert not np.isinf(out).any()


@pytest.mark.parametrize("last", [i for i in range(len(VOCAB)) if i not in LINE_ENDS | BLANKS])
def test_after_any_other_token_nothing_changes(last):
    scores = np.linspace(0, 1, len(VOCAB)).astype(np.single)
    out = ProseOnly(VOCAB)(np.array([1, last], dtype=np.intc), scores.copy())
    np.testing.assert_array_equal(out, scores)


def test_prose_only_with_an_empty_context_changes_nothing():
    scores = np.ones(len(VOCAB), dtype=np.single)
    out = ProseOnly(VOCAB)(np.array([], dtype=np.intc), scores.copy())
    np.testing.assert_array_equal(out, scores)
