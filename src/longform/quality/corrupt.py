"""Controlled corruptions of a good text: the failures of long generated documents, made on purpose.

Each takes a text's paragraphs and returns corrupted paragraphs; randomness comes from the `rng`
passed in, so a calibration run is repeatable. `donor` paragraphs come from a text on another
subject (in the same language); `restated` holds paraphrases of one paragraph; `meta` holds
sentences that talk about the writing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..text import count_words, split_sentences

KINDS = ("shuffle", "restate", "splice", "meta", "truncate", "half", "debris")
_DEBRIS_LINES = ("**", "1.", "- ", "Word count: 350", "Section 3:", "* Notes", "第三部分：", "---", "2)")


@dataclass
class Material:
    """What the corruptions draw on besides the text itself."""

    restate_index: int = 0
    restated: list[str] = field(default_factory=list)  # three paraphrases of paragraph restate_index
    donor: list[str] = field(default_factory=list)  # paragraphs of a text on another subject
    off_topic: list[str] = field(default_factory=list)  # unrelated paragraphs
    meta: list[str] = field(default_factory=list)  # meta-talk sentences


def corrupt(kind: str, paragraphs: list[str], m: Material, rng: random.Random) -> list[str]:
    return {"shuffle": _shuffle, "restate": _restate, "splice": _splice, "meta": _meta, "truncate": _truncate,
            "half": _half, "debris": _debris}[kind](list(paragraphs), m, rng)


def _shuffle(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """Paragraphs in a random order that moves at least half of them."""
    order = list(range(len(ps)))
    for _ in range(100):
        rng.shuffle(order)
        if sum(i != j for i, j in enumerate(order)) >= len(ps) / 2:
            break
    return [ps[i] for i in order]


def _spread_slots(start: int, end: int, count: int, rng: random.Random) -> list[int]:
    """`count` insertion points between start and end, apart from each other where room allows."""
    span = max(1, end - start)
    return sorted(start + min(span, int(span * (k + rng.random() * 0.8 + 0.1) / count)) for k in range(count))


def _restate(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """The paraphrases of one paragraph inserted after it, spread over the rest of the text."""
    slots = _spread_slots(m.restate_index + 2, len(ps), len(m.restated), rng)
    for offset, (slot, text) in enumerate(zip(slots, m.restated)):
        ps.insert(min(len(ps), slot + offset), text)
    return ps


def _splice(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """Two paragraphs on other subjects (one from the donor text, one unrelated) spliced in."""
    alien = [rng.choice(m.donor), rng.choice(m.off_topic)]
    for slot, text in zip(sorted(rng.sample(range(1, len(ps)), 2), reverse=True), alien):
        ps.insert(slot, text)
    return ps


def _meta(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """Three meta-talk sentences at the start or end of paragraphs after the first."""
    for sentence in rng.sample(m.meta, 3):
        i = rng.randrange(1, len(ps))
        ps[i] = f"{sentence} {ps[i]}" if rng.random() < 0.5 else f"{ps[i]} {sentence}"
    return ps


def _truncate(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """The text cut inside a sentence somewhere in its last 40 %."""
    total = sum(count_words(p) for p in ps)
    cut_at = int(total * (0.6 + rng.random() * 0.35))
    out, done = [], 0
    for p in ps:
        if done + count_words(p) <= cut_at:
            out.append(p)
            done += count_words(p)
            continue
        out.append(_cut_inside_sentence(p, rng))
        break
    return out


def _cut_inside_sentence(paragraph: str, rng: random.Random) -> str:
    """The paragraph up to a point inside one of its sentences: some way in, not at its end."""
    sentences = split_sentences(paragraph)
    keep = rng.randrange(len(sentences))
    sentence = sentences[keep].rstrip()
    cjk = count_words(sentence) > len(sentence.split()) * 2  # Chinese: cut between characters
    pieces = list(sentence) if cjk else sentence.split()
    cut = rng.randint(max(1, len(pieces) // 4), max(1, len(pieces) - 2))
    head = "".join(pieces[:cut]) if cjk else " ".join(pieces[:cut])
    return ("".join(sentences[:keep]) + head.rstrip(",;:，；：、")).strip()


def _half(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """The second half (by words) replaced by as many words of the donor text, from its middle on."""
    total = sum(count_words(p) for p in ps)
    kept, done = [], 0
    for p in ps:
        if done >= total / 2:
            break
        kept.append(p)
        done += count_words(p)
    donor_start = len(m.donor) // 3
    for p in m.donor[donor_start:] + m.donor[:donor_start]:
        if done >= total:
            break
        kept.append(p)
        done += count_words(p)
    return kept


def _debris(ps: list[str], m: Material, rng: random.Random) -> list[str]:
    """Three lines of list debris and stray labels inside paragraphs."""
    for line in rng.sample(_DEBRIS_LINES, 3):
        i = rng.randrange(1, len(ps))
        ps[i] = f"{line}\n{ps[i]}" if rng.random() < 0.5 else f"{ps[i]}\n{line}"
    return ps
