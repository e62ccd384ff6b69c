"""Candidate search: sample several continuations of a passage and keep the one that stays on task.

A 135M model drifts: a passage that starts on lighthouses ends on "building your life cycle".
Sampling k continuations and keeping the best moves the document toward the request at the cost
of k calls (decoded together on a batching backend). Two judges rate the candidates: the
panel's (candidate_panel.py: the quality panel's encoder and lines) and the lexical one here, which
needs no embedding model at write time and stays independent of the panel that grades the result:

- focus: the share of the passage's sentences that use a key term of the request or of the
  section's plan point (content words, crudely stemmed; character bigrams for Chinese);
- echo: the share of its word trigrams already in the text so far (copying);
- fresh: the share of its key terms not yet used in the text so far, half weighted: a paraphrase
  of an earlier passage reuses its terms, new material brings some (without it the search
  favoured passages that restate the request's own words: restated share 0.07 -> 0.57 in Q2);
- repeat: how much of its key terms one earlier paragraph already holds, beyond half (a
  paraphrase of that paragraph holds most of them);
- meta: talk about the writing itself (cleaning.about_task) costs a whole point.

A judge's rating has a `score` and says whether the candidate `failed` (the layout then samples
another round).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import UsageError
from ..text import overlap_with, split_sentences
from .cleaning import about_task
from .terms import key_terms

LOOKBACK = 6000  # characters of earlier text the lexical judge compares with

@dataclass
class Judged:
    text: str
    focus: float
    echo: float
    fresh: float
    repeat: float
    meta: bool

    @property
    def score(self) -> float:
        return self.focus + 0.5 * self.fresh - self.echo - max(0.0, self.repeat - 0.5) - (1.0 if self.meta else 0.0)

    @property
    def failed(self) -> bool:
        return self.meta or self.focus == 0

    def describe(self) -> str:
        return f"{self.score:.2f}"


def judge(text: str, focus_terms: frozenset[str], earlier: str) -> Judged:
    sentences = [s for s in split_sentences(text) if s.strip()]
    on_task = sum(1 for s in sentences if key_terms(s) & focus_terms)
    focus = on_task / len(sentences) if sentences else 0.0
    terms = key_terms(text)
    fresh = len(terms - key_terms(earlier)) / len(terms) if terms else 0.0
    held = [key_terms(p) for p in earlier.split("\n\n") if p.strip()]
    repeat = max((len(terms & h) / len(terms) for h in held), default=0.0) if terms else 0.0
    echo = overlap_with(text, earlier, 3) if earlier else 0.0
    return Judged(text, focus, echo, fresh, repeat, about_task(text))


class LexicalJudge:
    """The judge above for one document: the request's terms, and the plan point's when it is about the request."""

    name = "lexical"

    def __init__(self, instruction: str, language: str = "en"):
        self.instruction_terms = key_terms(instruction)
        self.focus = self.instruction_terms

    def for_section(self, point: str, about_request: bool) -> None:
        self.focus = self.instruction_terms | (key_terms(point) if about_request else frozenset())

    def rate(self, texts: list[str], earlier: str) -> list[Judged]:
        earlier = earlier[-LOOKBACK:]
        return [judge(t, self.focus, earlier) for t in texts]


JUDGES = ("panel", "lexical")


def make_judge(name: str, instruction: str, language: str):
    if name == "lexical":
        return LexicalJudge(instruction, language)
    if name == "panel":
        from .candidate_panel import PanelJudge  # loads the embedding model: only when asked for

        return PanelJudge(instruction, language)
    raise UsageError(f"unknown candidate judge {name!r}: choose one of {', '.join(JUDGES)}")


def best_of(calls: list, rate, text_of) -> tuple[int, list, list]:
    """Run the zero-argument `calls` at once (threads: a batching backend decodes them together) and
    rate `text_of(result)` of each with `rate(texts)`; returns the best one's index, the results and
    the ratings."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(lambda call: call(), calls))
    rated = rate([text_of(r) for r in results])
    best = max(range(len(results)), key=lambda i: (rated[i].score, -i))
    return best, results, rated
