"""What keeps a generated document out of the SFT data, with a reason for each.

Reasons, in the order they are checked:
  failed               the run ended in an error (backend down after its retries…)
  empty_section        a section holds no text beyond its heading
  length               words outside target × (1 ± tolerance)
  repetition           share of repeated 4-grams above the limit
  language             the answer's language differs from the instruction's
  quality              the quality panel's score is below `min_quality` (only when one is set; see longform.quality)
  duplicate_instruction  a near copy of an earlier instruction (decided before writing)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import count_words, detect_language, repeated_ngram_share, word_tokens

REASONS = ("failed", "empty_section", "length", "repetition", "language", "quality", "duplicate_instruction")


@dataclass
class FilterSettings:
    tolerance: float = 0.2  # accepted: target × (1 - t) ≤ words ≤ target × (1 + t)
    max_repetition: float = 0.2
    min_section_words: int = 5
    duplicate_similarity: float = 0.9  # Jaccard similarity of word sets
    min_quality: float | None = None  # reject documents whose quality_score (0-100) is below this


def document_reason(instruction: str, target: int, sections: list[str], s: FilterSettings,
                    word_rule: str = "official", quality: float | None = None) -> str | None:
    """Why this finished document is rejected, or None when it is kept. `quality` is its quality
    panel score, needed only when `s.min_quality` is set."""
    text = "\n\n".join(sections)
    if any(count_words(_body(section), word_rule) < s.min_section_words for section in sections) or not sections:
        return "empty_section"
    words = count_words(text, word_rule)
    if not target * (1 - s.tolerance) <= words <= target * (1 + s.tolerance):
        return "length"
    if repeated_ngram_share(text) > s.max_repetition:
        return "repetition"
    if detect_language(text) != detect_language(instruction):
        return "language"
    if s.min_quality is not None and quality is not None and quality < s.min_quality:
        return "quality"
    return None


def _body(section: str) -> str:
    """A section without its markdown heading line."""
    return re.sub(r"^\s*#{1,6} [^\n]*\n?", "", section, count=1)


def near_duplicates(texts: list[str], similarity: float) -> dict[int, int]:
    """{index: index of the earlier instruction it nearly copies}.

    Word sets are compared by Jaccard similarity; candidates are found through
    shared rare words first, so thousands of instructions stay fast."""
    sets = [frozenset(word_tokens(t)) for t in texts]
    seen_by_word: dict[str, list[int]] = {}
    copies: dict[int, int] = {}
    for i, words in enumerate(sets):
        candidates = {j for w in words for j in seen_by_word.get(w, ())}
        for j in sorted(candidates):
            union = len(words | sets[j])
            if union and len(words & sets[j]) / union >= similarity:
                copies[i] = j
                break
        if i not in copies:
            for w in words:
                seen_by_word.setdefault(w, []).append(i)
    return copies
