"""The write stage for one section: generate, clean, guard against loops, trim.

Small models drift into loops and restart the story in every section, so each
draft is checked: the share of repeated 4-grams inside it, and its overlap with
the text already written. A bad draft is regenerated with a new seed and a
little more temperature; the best of the drafts is kept.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..backends import LM, GenerationConfig
from ..backends.base import Completion, Messages
from ..text import count_words, overlap_with, repeated_ngram_share, split_sentences, trim_to_sentence, trim_to_words

_CHATTER = re.compile(
    r"^\s*(sure|certainly|of course|here is|here's|okay|ok|great|好的|当然|以下是|下面是)\b.*?[:：!！.。]?\s*$",
    re.IGNORECASE,
)
_META = re.compile(
    r"^\s*(here is|here's|below is)\b|\b(copy-paste|this (part|section|essay|article|outline|text) (will|is|follows)"
    r"|in this (part|section)\b|part \d+ of\b|\d+ (words|sentences)\b|as an ai\b)"
    r"|(以下是|这一部分将|本部分|\d+\s*字)",
    re.IGNORECASE,
)
_TITLE_SPLIT = re.compile(r"\s*[:：]\s*|\s+[-–—]\s+")
# "Part 2", "**Section 3:**", "第二部分": a bare label, not content
_PART_LABEL = re.compile(
    r"^\s*(\**\s*)?(part|section|paragraph|第)\s*[\d一二三四五六七八九十]+\s*(部分)?\s*\**\s*[:：.]?\s*\**\s*$",
    re.IGNORECASE,
)


@dataclass
class SectionSettings:
    tokens_per_word: float = 1.2  # SmolLM2's tokenizer: ≈1.1-1.3 per English word
    tokens_per_cjk: float = 2.4  # …and ≈2 per Chinese character (byte-level BPE)
    headroom: float = 1.2  # max_tokens = budget × tokens_per_word × headroom
    max_over: float = 1.15  # drafts longer than budget × max_over are cut at a sentence
    max_repeat_share: float = 0.25  # repeated 4-grams within a draft
    max_overlap: float = 0.4  # 4-grams shared with the text so far
    min_share: float = 0.5  # a draft the model ended below budget × min_share is redrawn

    def for_language(self, language: str) -> "SectionSettings":
        """These settings with the token rate of `language` ("zh" counts characters)."""
        return dataclasses.replace(self, tokens_per_word=self.tokens_per_cjk) if language == "zh" else self

    def max_tokens(self, budget: int) -> int:
        """The token limit of one draft of a `budget`-word section."""
        return max(64, int(budget * self.tokens_per_word * self.headroom))
    attempts: int = 3
    word_rule: str = "official"


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


# A paragraph about the task is usually one or two short lines ("Here is part 2:");
# in a longer one only the sentences that talk about the task go, since a small
# model often writes a whole section as one paragraph with such a sentence in it.
META_PARAGRAPH_WORDS = 40


def drop_meta_paragraphs(text: str) -> str:
    """Remove what the model says about its task instead of writing it ("Here is
    a copy of the text:", "In this part we will…", "about 400 words"): the whole
    paragraph when it is short, else only the sentences that say it. Small models
    drift into this at the end of a long reply. Text without any comes back as is."""
    parts = re.split(r"(\n\s*\n)", text) + [""]
    # kept paragraphs keep their own separators: the text before the first dropped
    # paragraph stays byte-identical, and so does its prefix-cache entry
    kept = [_without_meta(p) + sep for p, sep in zip(parts[::2], parts[1::2])]
    if "".join(kept) == text:
        return text
    return "".join(k for k in kept if k.strip()).strip("\n")


def _without_meta(paragraph: str) -> str:
    if not _META.search(paragraph):
        return paragraph
    if count_words(paragraph) <= META_PARAGRAPH_WORDS:
        return ""
    return "".join(s for s in split_sentences(paragraph) if not _META.search(s))


def clean_section(text: str) -> str:
    """Strip assistant chatter ("Sure, here is part 2:") and bare part labels
    from the start of a draft; they are not part of the document."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or _CHATTER.match(lines[0]) or _PART_LABEL.match(lines[0])):
        lines.pop(0)
    return "\n".join(lines).strip()


def _finish(text: str, completion: Completion, budget: int, s: SectionSettings, prefilled: bool) -> str:
    """Cut a draft to shape. Only the tail changes after a prefilled heading, so
    the text stays token-identical to what the model generated and the next
    call's prompt still extends this one (prefix cache)."""
    text = text.rstrip() if prefilled else clean_section(text)
    text = drop_meta_paragraphs(text) if _META.search(text) else text
    if completion.finish_reason == "length":
        text = trim_to_sentence(text)
    if count_words(text, s.word_rule) > budget * s.max_over:
        text = trim_to_words(text, int(budget * s.max_over), s.word_rule)
    return text


def section_heading(point: str) -> str:
    """A markdown heading from the plan line; starting the reply with it anchors
    a small model on this section's subject instead of restarting the piece.
    "Title: long description" keeps just the title."""
    parts = _TITLE_SPLIT.split(point.strip(), maxsplit=1)
    title = parts[0]
    if _PART_LABEL.match(title) and len(parts) > 1:  # "Part 2: Trade" → "Trade"
        title = parts[1]
    elif len(title.split()) < 2 and len(title) < 4:  # "Intro: …" → the whole point
        title = point.strip()
    return f"## {title.rstrip('.:：。')}\n\n"


class _Stream:
    """What a streaming consumer is told: the heading at the start of every
    attempt, and a reset whenever text it already received becomes void."""

    def __init__(self, heading: str, on_delta, on_reset):
        self.heading, self.on_delta, self.on_reset = heading, on_delta, on_reset

    def begin(self, attempt: int) -> None:
        if attempt > 1:
            self.reset("regenerating")
        if self.heading and self.on_delta:
            self.on_delta(self.heading)

    def retry(self, _attempt: int, error: Exception) -> None:
        self.reset(f"retrying after: {error}")
        if self.heading and self.on_delta:
            self.on_delta(self.heading)

    def reset(self, reason: str) -> None:
        if self.on_reset:
            self.on_reset(reason)


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
    on_attempt=None,
    on_delta=None,
    on_reset=None,
) -> tuple[Draft, list[Draft]]:
    """Generate up to `settings.attempts` drafts; return the chosen one and all drafts.

    `heading`, when the backend supports prefill, opens the reply and is part of
    the section text. `on_attempt(draft)` is told about every call (for the
    trace); `on_delta` receives streamed text of the current attempt and
    `on_reset(reason)` says when that text is void (a retried call or a new draft).
    """
    max_tokens = settings.max_tokens(budget)
    heading = heading if lm.supports_prefill else ""
    prefill = [{"role": "assistant", "content": heading}] if heading else []
    stream = _Stream(heading, on_delta, on_reset)
    drafts: list[Draft] = []
    for attempt in range(1, settings.attempts + 1):
        stream.begin(attempt)
        call = _attempt_config(config, attempt, max_tokens)
        completion = lm.complete(messages + prefill, call, on_delta=on_delta, on_retry=stream.retry)
        body = _finish(completion.text, completion, budget, settings, bool(heading))
        text = heading + body
        draft = _draft(text, body, completion, attempt, earlier_text, budget, settings)
        drafts.append(draft)
        if on_attempt:
            on_attempt(draft)
        if not draft.empty and draft.badness(settings) <= 1.0:
            break
    usable = [d for d in drafts if not d.empty] or drafts
    return min(usable, key=lambda d: d.badness(settings)), drafts


def extend_section(lm: LM, messages: Messages, text: str, budget: int, config: GenerationConfig,
                   settings: SectionSettings, lang: str, calls: int, on_call=None) -> str:
    """The turns layout's length control for backends that cannot continue a
    reply: while `text` is short of its budget, ask for more in a follow-up turn
    and append the answer. At most `calls` follow-ups; a follow-up that adds
    nothing, or only repeats, ends it."""
    from .. import prompts
    from ..text import find_loop

    for attempt in range(calls):
        missing = budget - count_words(text, settings.word_rule)
        if missing < budget * 0.07:
            break
        request = prompts.render("section_more", lang=lang, words=max(50, round(missing, -1)))
        follow = messages + [{"role": "assistant", "content": text}, {"role": "user", "content": request}]
        call = config.merged(max_tokens=settings.max_tokens(missing), seed=(config.seed or 0) + 104_729 * (attempt + 1))
        completion = lm.complete(follow, call)
        if on_call:
            on_call(attempt, completion)
        more = clean_section(completion.text)
        loop = find_loop(more, text)
        more = more[:loop] if loop is not None else more
        if count_words(more, settings.word_rule) < 3:
            break
        text = text.rstrip() + "\n\n" + trim_to_sentence(more)
    if count_words(text, settings.word_rule) > budget * settings.max_over:
        text = trim_to_words(text, int(budget * settings.max_over), settings.word_rule)
    return text
