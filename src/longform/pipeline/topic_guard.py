"""The topic guard: a new paragraph that has left the request, or says again what an earlier part
said, is cut off where it starts, and the section writes on from there with another seed.

Reading Q2's documents showed where the engine's last tenth goes: a 500-word personal story ends
asking the reader to edit it, a thesis on telecom assurance ends in "Part 1: SEN2037 is a software
application…", an essay on educational games turns into a story about a restaurant. Measured by
the quality panel's encoder (quality/encoders.py), 27 % of the engine's paragraphs in the last
third of a document lie below the panel's off-topic line (similarity 0.2 to the instruction),
against 17 % in the first third and 1 % of the labelled good texts' paragraphs (93 paragraphs of
25 words or more).

The lines are the panel's own (OFF_TOPIC_FLOOR, RESTATED_AT, as the candidate judge uses them), so
a run with the guard is partly graded by what chose its text: Q2 reports the measures the guard
does not see too, and the text is quoted. Cutting the end of the text costs no recompute (the
next prompt is a prefix of what the KV cache holds), only the decoding of what was cut, and a
section cuts at most MAX_CUTS times, so a model that cannot stay on the subject still finishes.

After a cut, the paragraph is written again as REPAIR_CANDIDATES candidates at once, one paragraph
each (a batching backend decodes them together), and the panel judge's best is kept
(candidate_panel.py): resampling one continuation, a third of Q2's sections used up their cuts
and kept what came next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..quality.panel import OFF_TOPIC_FLOOR, RESTATED_AT
from ..text import count_words
from .candidate_panel import PanelJudge

MAX_CUTS = 3  # per section: after these, the text is kept as written
REPAIR_CANDIDATES = 3  # paragraphs sampled at once after a cut (decoded together), the panel judge's best kept
MIN_WORDS = {"en": 25, "zh": 60}  # a shorter paragraph (a line, a list item) says too little to judge


@dataclass(frozen=True)
class Cut:
    at: int  # offset in the new text where the cut paragraph starts
    why: str


class TopicGuard:
    """Judges one document's new paragraphs against its instruction and its earlier parts."""

    def __init__(self, instruction: str, language: str):
        self.judge = PanelJudge(instruction, language)

    def first_bad(self, new: str, earlier: str) -> Cut | None:
        """Where in `new` (text a call just wrote after `earlier`) the first paragraph starts that
        leaves the request or restates an earlier part; None when every paragraph may stay."""
        spans = judged(new, self.judge.language)
        if not spans:
            return None
        topic, _, restate = self.judge.closeness([text for _, text in spans], earlier)
        floor, restated_at = OFF_TOPIC_FLOOR[self.judge.language], RESTATED_AT[self.judge.language]
        for (start, _), on, again in zip(spans, topic, restate):
            if on < floor:
                return Cut(start, f"left the request (similarity {on:.3f} < {floor})")
            if again >= restated_at:
                return Cut(start, f"restated an earlier part (similarity {again:.2f})")
        return None


def streams(candidates: int, guarded: bool) -> int:
    """How many sequences one document may decode at once: its candidates, or the guard's repair
    candidates; a batching backend wants this many slots per document in flight."""
    return max(candidates, REPAIR_CANDIDATES if guarded else 1)


def judged(text: str, language: str) -> list[tuple[int, str]]:
    """The passages of `text` the guard judges, with their offsets: each prose paragraph (no heading)
    of at least MIN_WORDS, and each run of shorter ones that reaches MIN_WORDS together (list items,
    dialogue lines: 9 % of Q2's words stood in short paragraphs, among them outlines the model wrote
    out as text). Q3 (benchmarks/q3_paragraph_lines.py) calibrates on the same passages."""
    least = MIN_WORDS.get(language, MIN_WORDS["en"])
    out, run = [], []  # run: the short paragraphs since the last judged passage or heading
    for start, p in paragraphs(text):
        if p.lstrip().startswith("#"):
            run = []
        elif count_words(p) >= least:
            out.append((start, p))
            run = []
        else:
            run.append((start, p))
            if count_words(" ".join(q for _, q in run)) >= least:
                first, (last, tail) = run[0][0], run[-1]
                out.append((first, text[first:last + len(tail)]))
                run = []
    return out


def paragraphs(text: str) -> list[tuple[int, str]]:
    """(start offset, text) of each paragraph of `text`, blank-line separated, the last one
    whether or not it is finished."""
    out, start = [], 0
    for match in re.finditer(r"\n\s*\n", text):
        if text[start:match.start()].strip():
            out.append((start, text[start:match.start()]))
        start = match.end()
    if text[start:].strip():
        out.append((start, text[start:]))
    return out
