"""LongWriter's own layout: every call a fresh prompt holding all the text so far.

The baseline the benchmarks measure against: one draft per section, as the
official scripts take it. When the text outgrows the window its oldest
paragraphs are left out (the original scripts had no answer).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ... import prompts
from ...backends.base import Messages
from ..document import SectionRecord, join_sections
from ..plan import Plan, Section
from .base import RunState, SectionLayout, record_section, spoken_length, write_drafts


class OfficialLayout(SectionLayout):
    name = "official"

    def write(self, state: RunState, section: Section, budget: int, final: bool) -> SectionRecord:
        meta = state.meta
        messages = official_conversation(meta.instruction, state.plan, state.done, section.index, meta.language,
                                         state.lm.count_tokens, state.prompt_budget(budget))
        settings = dataclasses.replace(state.section_settings, attempts=1)  # the official scripts take the first draft
        best, drafts = write_drafts(state, section, budget, messages, settings, "")
        return record_section(state, section, budget, best.text, [d.completion for d in drafts], [],
                              best.repeat_share)


def official_conversation(instruction: str, plan: Plan, done: list[SectionRecord], index: int, lang: str,
                          count_tokens: Callable[[Messages], int], budget: int | None) -> Messages:
    """The prompt for section `index`: task, numbered plan with word counts, the text so far."""
    section = plan.sections[index - 1]
    paragraphs = [p for p in join_sections(done).split("\n\n") if p.strip()]

    def build(first: int) -> Messages:
        text = "\n\n".join(paragraphs[first:])
        request = prompts.render("official_step", lang=lang, instruction=instruction,
                                 plan=plan.as_numbered_text(with_words=True), text=text,
                                 index=index, point=section.point, words=spoken_length(section.words))
        return [{"role": "system", "content": prompts.render("system", lang=lang)},
                {"role": "user", "content": request}]

    first = 0
    messages = build(first)
    while budget is not None and first < len(paragraphs) and count_tokens(messages) > budget:
        first += max(1, len(paragraphs) // 8)
        messages = build(first)
    return messages
