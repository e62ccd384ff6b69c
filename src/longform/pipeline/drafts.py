"""Drafts of one section in one call each, for the layouts that write a section per call
(turns, official): generate, clean, guard against loops, keep the best.

Small models drift into loops and restart the story in every section, so each
draft is checked: the share of repeated 4-grams inside it, and its overlap with
the text already written. A bad draft is regenerated with a new seed and a
little more temperature; the best of the drafts is kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..backends import LM, GenerationConfig
from ..backends.base import Completion, Messages
from ..text import count_words, overlap_with, repeated_ngram_share, trim_to_sentence, trim_to_words
from .cleaning import about_task, clean_section, drop_meta_paragraphs

if TYPE_CHECKING:
    from .events import SectionReport


@dataclass
class SectionSettings:
    tokens_per_word: float = 1.2  # SmolLM2's tokenizer: ≈1.1-1.3 per English word
    tokens_per_cjk: float = 2.4  # …and ≈2 per Chinese character (byte-level BPE)
    headroom: float = 1.2  # max_tokens = budget × tokens_per_word × headroom
    max_over: float = 1.15  # a guard on every draft, length control or not: past budget × max_over it is cut
    max_repeat_share: float = 0.25  # repeated 4-grams within a draft
    max_overlap: float = 0.4  # 4-grams shared with the text so far
    min_share: float = 0.5  # a draft the model ended below budget × min_share is redrawn
    attempts: int = 3
    word_rule: str = "official"

    def for_language(self, language: str) -> "SectionSettings":
        """These settings with the token rate of `language` ("zh" counts characters)."""
        return dataclasses.replace(self, tokens_per_word=self.tokens_per_cjk) if language == "zh" else self

    def max_tokens(self, budget: int) -> int:
        """The token limit of one draft of a `budget`-word section."""
        return max(64, int(budget * self.tokens_per_word * self.headroom))


@dataclass
class Draft:
    text: str
    completion: Completion
    attempt: int
    repeat_share: float
    overlap: float
    empty: bool = False  # nothing written beyond the heading
    short: float = 0.0  # budget × min_share ÷ words (at most 2) when the model stopped early, else 0

    def badness(self, s: SectionSettings) -> float:
        """Above 1 means redraw: looping, copying earlier text, or stopping far short."""
        return max(self.repeat_share / s.max_repeat_share, self.overlap / s.max_overlap, self.short)


def _finish(text: str, completion: Completion, budget: int, s: SectionSettings, prefilled: bool) -> str:
    """Cut a draft to shape. Only the tail changes after a prefilled heading, so
    the text stays token-identical to what the model generated and the next
    call's prompt still extends this one (prefix cache)."""
    text = text.rstrip() if prefilled else clean_section(text)
    text = drop_meta_paragraphs(text) if about_task(text) else text
    if completion.finish_reason == "length":
        text = trim_to_sentence(text)
    if count_words(text, s.word_rule) > budget * s.max_over:
        text = trim_to_words(text, int(budget * s.max_over), s.word_rule)
    return text


class _Stream:
    """What a streaming consumer is told: the heading at the start of every
    attempt, and a reset whenever text it already received becomes void."""

    def __init__(self, heading: str, report: "SectionReport | None"):
        self.heading, self.report = heading, report

    def begin(self, attempt: int) -> None:
        if attempt > 1:
            self.reset("regenerating")
        self._heading()

    def retry(self, _attempt: int, error: Exception) -> None:
        self.reset(f"retrying after: {error}")
        self._heading()

    def reset(self, reason: str) -> None:
        if self.report:
            self.report.reset(reason)

    def _heading(self) -> None:
        if self.heading and self.report:
            self.report.delta(self.heading)


def _attempt_config(config: GenerationConfig, attempt: int, max_tokens: int) -> GenerationConfig:
    """A new seed per attempt and a little more temperature after a bad draft."""
    temperature = None if attempt == 1 else min(1.2, (config.temperature or 0.7) + 0.15 * (attempt - 1))
    return config.merged(max_tokens=max_tokens, seed=(config.seed or 0) + 7919 * attempt,
                         temperature=temperature, prose=True)


def _draft(text: str, body: str, completion: Completion, attempt: int, earlier: str, budget: int,
           s: SectionSettings) -> Draft:
    words = count_words(body, s.word_rule)
    stopped_short = completion.finish_reason == "stop" and words < budget * s.min_share
    return Draft(text, completion, attempt, repeated_ngram_share(text), overlap_with(text, earlier),
                 empty=not body.strip(),
                 # capped: a short clean draft still beats a long loop when choosing the best
                 short=min(2.0, budget * s.min_share / max(words, 1)) if stopped_short else 0.0)


def write_section(
    lm: LM,
    messages: Messages,
    budget: int,
    earlier_text: str,
    config: GenerationConfig,
    settings: SectionSettings,
    heading: str = "",
    report: "SectionReport | None" = None,
) -> tuple[Draft, list[Draft]]:
    """Generate up to `settings.attempts` drafts; return the chosen one and all drafts.

    `heading`, when the backend supports prefill, opens the reply and is part of
    the section text. `report` is told about every call (for the trace) and
    receives the streamed text of the current attempt, with a reset when that
    text is void (a retried call or a new draft).
    """
    max_tokens = settings.max_tokens(budget)
    heading = heading if lm.supports_prefill else ""
    prefill = [{"role": "assistant", "content": heading}] if heading else []
    stream = _Stream(heading, report)
    drafts: list[Draft] = []
    for attempt in range(1, settings.attempts + 1):
        stream.begin(attempt)
        call = _attempt_config(config, attempt, max_tokens)
        completion = lm.complete(messages + prefill, call, on_delta=report.delta if report else None,
                                 on_retry=stream.retry)
        body = _finish(completion.text, completion, budget, settings, bool(heading))
        text = heading + body
        draft = _draft(text, body, completion, attempt, earlier_text, budget, settings)
        drafts.append(draft)
        if report:
            report.call("section", attempt, completion)
        if not draft.empty and draft.badness(settings) <= 1.0:
            break
    usable = [d for d in drafts if not d.empty] or drafts
    return min(usable, key=lambda d: d.badness(settings)), drafts
