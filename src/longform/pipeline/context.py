"""What each call sees, laid out so that every prompt extends the previous one.

The conversation grows by two messages per section:

    system · user(task + outline + "write part 1") · assistant(part 1)
           · user("now write part 2")              · assistant(part 2) · …

Earlier messages never change, so a backend with a prefix cache (llama.cpp,
vLLM) only has to read the newest request and reply. When the conversation no
longer fits the context window, the oldest written parts are dropped several at
a time (not one per call) so the cache is rebuilt rarely.
"""

from __future__ import annotations

from typing import Callable

from .. import prompts
from ..backends.base import Messages
from ..errors import UsageError
from .document import SectionRecord, join_sections
from .plan import Plan


def spoken_length(words: int) -> int:
    """A budget as a person would say it (416 → 400): small models copy odd numbers into the text."""
    step = 50 if words >= 100 else 10
    return max(step, round(words / step) * step)


def section_request(instruction: str, plan: Plan, index: int, lang: str) -> str:
    section = plan.sections[index - 1]
    words = spoken_length(section.words)
    if index == 1:
        return prompts.render(
            "section_first",
            lang=lang,
            instruction=instruction,
            plan=plan.as_numbered_text(with_words=False),  # small models echo counts
            point=section.point,
            words=words,
        )
    return prompts.render(
        "section_next", lang=lang, index=index, total=len(plan.sections), point=section.point, words=words
    )


def full_conversation(instruction: str, plan: Plan, done: list[SectionRecord], lang: str) -> Messages:
    """The whole history plus the request for the next section."""
    messages: Messages = [{"role": "system", "content": prompts.render("system", lang=lang)}]
    for record in done:
        messages.append({"role": "user", "content": section_request(instruction, plan, record.index, lang)})
        messages.append({"role": "assistant", "content": record.text})
    next_index = len(done) + 1
    messages.append({"role": "user", "content": section_request(instruction, plan, next_index, lang)})
    return messages


def fit_window(
    messages: Messages, count_tokens: Callable[[Messages], int], budget: int | None, drop_step: int = 2
) -> tuple[Messages, int]:
    """Drop the oldest written parts (after the first request) until `messages`
    fit in `budget` tokens. Returns the messages and how many parts were dropped.

    Parts are dropped `drop_step` at a time so the kept prefix stays stable for
    several calls. The first user message (task + outline) is always kept.
    """
    if budget is None or count_tokens(messages) <= budget:
        return messages, 0
    head, turns, tail = messages[:2], messages[2:-1], messages[2:][-1:]  # no tail in a 2-message conversation
    dropped = 0
    while turns and count_tokens(head + turns + tail) > budget:
        # turns is assistant, user, assistant, user, …: drop whole (assistant, user) pairs
        cut = min(len(turns), 2 * drop_step)
        # count written parts, not pairs: the last one has no user turn after it
        dropped += sum(m["role"] == "assistant" for m in turns[:cut])
        turns = turns[cut:]
    kept = head + turns + tail
    if count_tokens(kept) > budget:
        raise UsageError(f"the task and outline alone do not fit the context window ({count_tokens(kept)} "
                         f"tokens, {budget} left after room for the reply); use a model with a larger window")
    return kept, dropped


def official_conversation(instruction: str, plan: Plan, done: list[SectionRecord], index: int, lang: str,
                          count_tokens: Callable[[Messages], int], budget: int | None) -> Messages:
    """LongWriter's layout: one fresh prompt per section holding all the text so far.

    The baseline the benchmarks measure against. When the text outgrows the
    window its oldest paragraphs are left out (the original scripts had no answer).
    """
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
