"""The turns layout, for servers that cannot continue a reply: one user/assistant turn
per section, laid out so that every prompt extends the previous one.

    system · user(task + outline + "write part 1") · assistant(part 1)
           · user("now write part 2")              · assistant(part 2) · …

Earlier messages never change, so a backend with a prefix cache (llama.cpp,
vLLM) only has to read the newest request and reply. When the conversation no
longer fits the context window, the oldest written parts are dropped several at
a time (not one per call) so the cache is rebuilt rarely. With length control a
section short of its budget is asked for more in follow-up turns.
"""

from __future__ import annotations

from typing import Callable

from ... import prompts
from ...backends.base import Messages
from ...errors import UsageError
from ...text import count_words, find_loop, trim_to_sentence
from ..cleaning import clean_section
from ..document import SectionRecord
from ..plan import Plan, Section
from .base import RunState, SectionLayout, record_section, spoken_length, write_drafts


class TurnsLayout(SectionLayout):
    name = "turns"

    def write(self, state: RunState, section: Section, budget: int, final: bool) -> SectionRecord:
        meta = state.meta
        messages = full_conversation(meta.instruction, state.plan, state.done, meta.language)
        messages, dropped = fit_window(messages, state.lm.count_tokens, state.prompt_budget(budget))
        best, drafts = write_drafts(state, section, budget, messages, state.section_settings,
                                    state.heading(section))
        completions = [d.completion for d in drafts]
        text = best.text
        if state.settings.control_length:
            # the final section is held to `low` × budget here, like the others: holding it to
            # the whole budget costs follow-up turns, and comes with the quality work (issue 23)
            text = self._extend(state, section, messages, text, budget, completions)
            if text != best.text:  # a stream shows the section as it now stands
                state.report(section).replay("continued to reach its length", text)
        notes = [f"dropped {dropped} earlier parts from the context"] if dropped else []
        return record_section(state, section, budget, text, completions, notes,
                              best.repeat_share if text == best.text else 0.0)

    def _extend(self, state: RunState, section: Section, messages: Messages, text: str, budget: int,
                completions: list) -> str:
        """While the length controller finds `text` short of its budget, ask for more in a
        follow-up turn and append the answer; then cut it as the controller says. A
        follow-up that adds nothing, or only repeats, ends it."""
        settings, report, length = state.section_settings, state.report(section), state.length
        config = state.settings.generation.merged(seed=state.seed(section))
        first = len(completions)
        for attempt in range(length.policy.max_calls - 1):
            missing = length.missing(text, budget)
            if not missing:
                break
            request = prompts.render("section_more", lang=state.meta.language, words=max(50, round(missing, -1)))
            follow = messages + [{"role": "assistant", "content": text}, {"role": "user", "content": request}]
            call = config.merged(max_tokens=settings.max_tokens(missing),
                                 seed=(config.seed or 0) + 104_729 * (attempt + 1))
            completion = state.lm.complete(follow, call)
            completions.append(completion)
            report.call("section", first + attempt + 1, completion)
            more = clean_section(completion.text)
            loop = find_loop(more, text)
            more = more[:loop] if loop is not None else more
            if count_words(more, settings.word_rule) < 3:
                break
            text = text.rstrip() + "\n\n" + trim_to_sentence(more)
        return length.fit(text, budget)


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
