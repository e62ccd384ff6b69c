"""The panel's judge for candidate search: pick continuations by what the quality panel measures.

The lexical judge (candidates.py) counts the request's words. A 135M model learns to keep those
words and lose the thread, and a paraphrase of an earlier paragraph keeps them too: with it, Q2's
restated share rose from 0.07 to 0.40. This judge uses the panel's own encoder
(quality/encoders.py: all-MiniLM-L6-v2 for English, content characters and bigrams for Chinese)
and the panel's own lines for a part that has left the request (OFF_TOPIC_FLOOR) and for a
paraphrase of an earlier part (RESTATED_AT). A candidate scores

    topic + 0.5 · point − 3 · max(0, restate − (RESTATED_AT − 0.1)) − echo − 2 · meta

topic: its similarity to the instruction; point: to the section's plan point, when that point is
about the request; restate: its highest similarity to an earlier part of the document, the last
part left out (the paragraph it continues legitimately shares its subject); echo: its word
trigrams already in the text (copying); meta: the share of its sentences that talk about the
writing, by the panel's own test (quality/lexical.py).

A candidate *fails* when it restates (restate ≥ RESTATED_AT), leaves the request (topic below
the floor) or talks about the writing; the layout then samples another round.

Selecting with the grader's encoder makes the panel's topicality and restating partly
self-fulfilling: Q2 therefore also reports what the judge does not see (the lexical measures,
the quality score's other grades) and quotes the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quality import lexical, units
from ..quality.encoders import encoder_for
from ..quality.panel import OFF_TOPIC_FLOOR, RESTATED_AT
from ..text import overlap_with

RESTATE_MARGIN = 0.1  # similarity below the panel's restating line at which the penalty starts


@dataclass
class Rated:
    text: str
    topic: float
    point: float
    restate: float
    echo: float
    meta: float
    restated_at: float
    floor: float

    @property
    def score(self) -> float:
        over = max(0.0, self.restate - (self.restated_at - RESTATE_MARGIN))
        return self.topic + 0.5 * self.point - 3 * over - self.echo - 2 * self.meta

    @property
    def failed(self) -> bool:
        return self.meta > 0 or self.restate >= self.restated_at or self.topic < self.floor

    def describe(self) -> str:
        return f"{self.score:.2f} (topic {self.topic:.2f}, restate {self.restate:.2f})"


class PanelJudge:
    """Rates candidates for one document. With MiniLM, earlier parts' vectors are kept, so each
    call encodes only the candidates and the parts written since the last call."""

    name = "panel"

    def __init__(self, instruction: str, language: str):
        self.language = language if language in RESTATED_AT else "en"
        self.encoder = encoder_for(self.language)
        # a character-gram encoder builds its vocabulary per call: its vectors compare only within one call
        self.cacheable = self.encoder.name == "all-MiniLM-L6-v2"
        self._cache: dict[str, np.ndarray] = {}
        self.instruction, self.point = instruction, ""

    def for_section(self, point: str, about_request: bool) -> None:
        self.point = point if about_request else ""

    def closeness(self, texts: list[str], earlier: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(topic, point, restate) of each text, as in the formula above; the topic guard
        (topic_guard.py) needs only these, not the lexical grades."""
        older = [p.text for p in units.parts(units.paragraphs(earlier), self.language)][:-1]
        fixed = [self.instruction] + ([self.point] if self.point else [])
        known, held, vectors = self._encode(fixed, older, texts)
        topic = vectors @ known[0]
        point = vectors @ known[1] if self.point else np.zeros(len(texts))
        restate = (vectors @ held.T).max(axis=1) if len(held) else np.zeros(len(texts))
        return topic, point, restate

    def rate(self, texts: list[str], earlier: str) -> list[Rated]:
        topic, point, restate = self.closeness(texts, earlier)
        return [Rated(t, float(topic[i]), float(point[i]), float(restate[i]),
                      overlap_with(t, earlier, 3) if earlier else 0.0, lexical.meta_share([t], self.language)[0],
                      RESTATED_AT[self.language], OFF_TOPIC_FLOOR[self.language]) for i, t in enumerate(texts)]

    def _encode(self, fixed: list[str], older: list[str], texts: list[str]):
        """Vectors of the instruction and point, of the earlier parts and of the candidates."""
        if not self.cacheable:
            everything = self.encoder.vectors(fixed + older + texts)
            return everything[: len(fixed)], everything[len(fixed) : len(fixed) + len(older)], \
                everything[len(fixed) + len(older) :]
        new = [t for t in dict.fromkeys(fixed + older) if t not in self._cache]
        if new:
            self._cache.update(zip(new, self.encoder.vectors(new)))
        known = np.stack([self._cache[t] for t in fixed])
        held = np.stack([self._cache[t] for t in older]) if older else np.zeros((0, known.shape[1]), np.float32)
        # candidates are encoded together but not cached: all but one are thrown away
        return known, held, self.encoder.vectors(texts)
