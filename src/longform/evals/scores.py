"""Per-response scores that need no judge: LongBench-Write's length score S_l,
the required-length bucket, and repetition measures for the whole text and per section.

The formulas follow the benchmark exactly (see RESEARCH.md §1) so our numbers can
be compared with published ones; the repetition measures are ours and use the
same tokenizer as `longform.text` (each CJK character is a token).
"""

from __future__ import annotations

from ..text import count_words, detect_language, repeated_ngram_share, split_sections, word_tokens

# (label, low, high-exclusive or None). The official last bucket is written
# "[4000,20000]", but Ruler rows ask for up to 30,000 words: anything >= 4000 lands there.
BUCKETS: list[tuple[str, int, int | None]] = [
    ("[0,500)", 0, 500),
    ("[500,2000)", 500, 2000),
    ("[2000,4000)", 2000, 4000),
    ("[4000,20000]", 4000, None),
]



def bucket_of(required: int) -> str:
    """The label of the bucket holding a required length (lower bounds inclusive)."""
    for label, low, high in BUCKETS:
        if required >= low and (high is None or required < high):
            return label
    raise ValueError(f"required length must be >= 0, got {required!r}")


def length_score(required: int, actual: int) -> float:
    """S_l in 0..100: 100 when on target, 0 at >= 4x or <= 1/3 of the required length.

    Overshooting is forgiven more slowly (divided by 3) than undershooting (by 2),
    as in the benchmark.
    """
    if required <= 0:
        raise ValueError(f"required length must be positive, got {required!r}")
    if actual <= 0:
        return 0.0
    if actual > required:
        return 100.0 * max(0.0, 1.0 - (actual / required - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (required / actual - 1.0) / 2.0)


def distinct_n(tokens: list[str], n: int) -> float:
    """Unique n-grams / all n-grams (0.0 when the text has fewer than n tokens)."""
    total = len(tokens) - n + 1
    if total <= 0:
        return 0.0
    return len({tuple(tokens[i : i + n]) for i in range(total)}) / total


def repetition_metrics(text: str) -> dict:
    """Repeated-4-gram share (high = looping) and distinct-1/2/4 (low = looping)."""
    text = text or ""
    tokens = word_tokens(text)
    return {
        "repeated_4gram_share": repeated_ngram_share(text, 4),
        "distinct_1": distinct_n(tokens, 1),
        "distinct_2": distinct_n(tokens, 2),
        "distinct_4": distinct_n(tokens, 4),
    }


def section_repetition(text: str) -> list[dict]:
    """`repetition_metrics` of each section, in order (does quality decay with length?)."""
    return [repetition_metrics(section) for section in split_sections(text)]


def score_row(row: dict, word_rule: str = "official", quality: bool = True, run_dir=None) -> dict:
    """A new dict: `row` plus response_words, S_l, bucket, language, repetition,
    sections_repetition, judge (kept when the row already has one, else None) and, with `quality`,
    the quality panel (None where its language cannot be measured here; see longform.quality).
    `run_dir`, the run directory the response was written in, adds its sections and plan."""
    length = row.get("length")
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise ValueError(f"row 'length' must be a positive integer, got {length!r}")
    response = row.get("response") or ""
    words = count_words(response, word_rule)
    return {
        **row,
        "response_words": words,
        "S_l": length_score(length, words),
        "bucket": bucket_of(length),
        "language": row.get("language") or detect_language(row.get("prompt") or ""),
        "repetition": repetition_metrics(response),
        "sections_repetition": section_repetition(response),
        "judge": row.get("judge"),
        "quality": _quality(row, run_dir) if quality else row.get("quality"),
    }


def _quality(row: dict, run_dir) -> dict | None:
    from ..quality.documents import measure_row  # the panel loads an embedding model: only when asked

    if not (row.get("response") or "").strip():
        return None
    language = row.get("language") or detect_language(row.get("prompt") or "")
    return measure_row({**row, "language": language}, run_dir)
