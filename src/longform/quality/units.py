"""The units the quality panel measures: paragraphs, and parts of comparable length built from them.

A *part* is one paragraph as the writer made it, except that a paragraph over 1.6 × `PART_WORDS`
words is cut at sentence ends, and a fragment under a quarter of that joins its neighbour.
`PART_WORDS` is 80 for English and 120 for Chinese (LongBench-Write counts a Chinese character as
a word; 120 carry about what 80 English words do). Paragraphs are the units in which text is
written, spliced, restated and reordered: on the calibration set, measures on whole paragraphs
separated every corruption better than measures on fixed 80-word windows, which mix two
paragraphs' subjects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import count_words, split_sentences

PART_WORDS = {"en": 80, "zh": 120}
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S")
_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Paragraph:
    text: str
    section: int  # index of the section it belongs to (0 when the text has no sections)
    heading: bool  # a markdown heading line, not prose


@dataclass(frozen=True)
class Part:
    text: str
    index: int
    section: int
    start: int  # words before this part in the document
    words: int
    paragraphs: tuple[int, ...] = ()  # indices (among the prose paragraphs) of the paragraphs it holds

    def position(self, total: int) -> float:
        """The part's midpoint as a share of the document, 0..1."""
        return min(1.0, (self.start + self.words / 2) / max(1, total))


def paragraphs(text: str, sections: list[str] | None = None) -> list[Paragraph]:
    """Paragraphs in order; a heading line at the top of a block is a paragraph of its own.
    With `sections` (the document's sections' texts, in order), each paragraph knows its section."""
    blocks = [(s, i) for i, section in enumerate(sections or [text]) for s in _BREAK.split(section or "")]
    out: list[Paragraph] = []
    for block, section in blocks:
        lines = block.strip().splitlines()
        while lines and _HEADING.match(lines[0]):
            out.append(Paragraph(lines.pop(0).strip(), section, True))
        body = "\n".join(lines).strip()
        if body:
            out.append(Paragraph(body, section, False))
    return out


def prose(paras: list[Paragraph]) -> list[Paragraph]:
    return [p for p in paras if not p.heading]


def parts(paras: list[Paragraph], language: str) -> list[Part]:
    """Prose paragraphs as parts (long ones cut, fragments merged), never across sections."""
    size = PART_WORDS.get(language, PART_WORDS["en"])
    pieces = [(piece, p.section, i) for i, p in enumerate(prose(paras)) for piece in _split_long(p.text, size)]
    groups: list[tuple[list[str], int, list[int]]] = []
    for piece, section, index in pieces:
        if groups and groups[-1][1] == section and _words(groups[-1][0]) < size / 4:
            groups[-1][0].append(piece)  # a fragment before this piece joins it
            groups[-1][2].append(index)
        else:
            groups.append(([piece], section, [index]))
    if len(groups) > 1 and groups[-1][1] == groups[-2][1] and _words(groups[-1][0]) < size / 4:
        texts, _, indices = groups.pop()  # a fragment at the end joins the part before it
        groups[-1][0].extend(texts)
        groups[-1][2].extend(indices)
    out: list[Part] = []
    start = 0
    for texts, section, indices in groups:
        text = "\n\n".join(texts)
        out.append(Part(text, len(out), section, start, count_words(text), tuple(sorted(set(indices)))))
        start += out[-1].words
    return out


def _words(pieces: list[str]) -> int:
    return sum(count_words(p) for p in pieces)


def _split_long(paragraph: str, size: int) -> list[str]:
    """A paragraph over 1.6 parts long cut at sentence ends into pieces of about `size` words."""
    if count_words(paragraph) <= size * 1.6:
        return [paragraph]
    pieces, current = [], ""
    for sentence in split_sentences(paragraph):
        if current and count_words(current) + count_words(sentence) > size:
            pieces.append(current.strip())
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current.strip())
    return pieces
