"""The plan stage: ask the model for an outline, parse it, re-ask, or fall back.

A small model often answers the outline request with chatter or a single line.
We re-ask with a stricter prompt up to `attempts` times and then use a
deterministic plan derived from the instruction, so a run never stalls here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import prompts
from ..backends import LM, GenerationConfig
from ..text import detect_language
from .cleaning import META
from .facets import cover_facets
from .plan import (
    MAX_SECTIONS,
    Plan,
    Section,
    distribute_budget,
    finalize_plan,
    parse_plan,
    plan_is_usable,
)
from .terms import is_narrative, key_terms

if TYPE_CHECKING:
    from .events import SectionReport

# Sections of 200-1,000 words, as AgentWrite asks; ~350 is what a small model
# writes in one reply without padding or looping.
WORDS_PER_SECTION = 350


MAX_POINT_WORDS = 30


def example_points(lang: str, sections: int) -> set[str]:
    """Points of the example lines in our own plan prompts: a small model
    sometimes copies them, and a copy is not a plan."""
    texts = (prompts.render("plan", lang=lang, instruction="", sections=sections, target_words=0),
             prompts.render("plan_headings", lang=lang, instruction="", sections=sections))
    lines = [line for text in texts for line in text.splitlines() if line[:1].isdigit()]
    return {s.point.lower() for line in lines for s in parse_plan(line)}


def suggested_sections(target_words: int) -> int:
    return max(1, min(MAX_SECTIONS, round(target_words / WORDS_PER_SECTION)))


def make_plan(
    lm: LM,
    instruction: str,
    target_words: int,
    lang: str,
    config: GenerationConfig,
    attempts: int = 4,
    report: "SectionReport | None" = None,
    short: bool = False,
    sections: int | None = None,
) -> Plan:
    """A plan for `instruction` from the model, re-asked up to `attempts` times, else the
    fallback plan; every call is told to `report` (as stage "plan").

    With `short`, a text of one section's length gets no outline call at all: a 135M model
    asked to outline 100 words answers with chatter ("Here's a written outline for the blog
    post…", "Use the markdown bullet points…") that became the text's headings, and a text
    that short reads better as one piece. `sections` asks for that many points instead of
    one per WORDS_PER_SECTION words (chapters.py asks for chapters)."""
    n = sections or suggested_sections(target_words)
    if short and n == 1:
        plan = fallback_plan(instruction, target_words)
        plan.source, plan.notes = "short", [f"one section: {target_words} words need no outline"]
        return plan
    # Two phrasings, alternated: each fails differently on a small model.
    requests = [prompts.render("plan", lang=lang, instruction=instruction, sections=n, target_words=target_words),
                prompts.render("plan_headings", lang=lang, instruction=instruction, sections=n)]
    rejected: list[str] = []
    for attempt in range(1, attempts + 1):
        text = ask_outline(lm, requests[(attempt - 1) % 2], lang, config, attempt, report)
        sections, notes = _model_sections(text, target_words, example_points(lang, n))
        sections, dropped = grounded(sections, instruction)
        notes += [f"dropped a point about the writing, not the subject: {d!r}" for d in dropped]
        notes += cover_facets(sections, instruction)
        if _acceptable(sections, target_words, n):
            plan = finalize_plan(sections, target_words, raw=text)
            plan.notes = [f"accepted on attempt {attempt}", *notes, *plan.notes]
            return plan
        rejected.append(text)
    plan = fallback_plan(instruction, target_words)
    plan.notes.append(f"model plan unusable after {attempts} attempts; used the fallback plan")
    plan.raw = "\n---\n".join(rejected)
    return plan


def ask_outline(lm: LM, request: str, lang: str, config: GenerationConfig, attempt: int,
                report: "SectionReport | None", retry: int | None = None) -> str:
    """One outline call, reported as stage "plan"; its reply starts "1." where the backend lets
    us write the reply's start (that makes even a 135M model write a list, not an essay). Each
    attempt is a fresh conversation, hotter than the last: shown its failed outline, a small
    model copies it again. `attempt` numbers the call (its seed, its report), `retry` (default:
    `attempt`) says how many tries of this request came before, plus one."""
    retry = retry or attempt
    prefill = [{"role": "assistant", "content": "1."}] if lm.supports_prefill else []
    messages = [{"role": "system", "content": prompts.render("system", lang=lang)},
                {"role": "user", "content": request}, *prefill]
    temperature = None if retry == 1 else min(1.1, (config.temperature or 0.7) + 0.2 * (retry - 1))
    # n-gram blocking would forbid the list's own repeated pattern ("- 300 words\n")
    call = config.merged(seed=(config.seed or 0) + attempt, temperature=temperature, no_repeat_ngram=0)
    completion = lm.complete(messages, call, report.plan_stream(attempt) if report else None)
    if report:
        report.call("plan", attempt, completion)
    return (prefill[0]["content"] if prefill else "") + completion.text


# A point that talks about the writing ("Briefly describe this part", "Here are the numbered outlines")
TASK_TALK = re.compile(r"\b(outlines?|describe|mention|paragraphs?|sentences?|numbered|incomplete|the (original )?text"
                       r"|this (part|section))\b|(提纲|段落|本部分)", re.IGNORECASE)
# A point that is the model's chatter about the outline or the format, never a subject, even when it
# names one ("Here's a written outline for the blog post on …", "In this section, you will have to
# cover …", "Use the markdown bullet points", "Writing a story based on these requirements, one per line")
CHATTER = re.compile(r"^\s*(here'?s|here is|here are|sure\b|certainly\b)|\b(outlines?|(the|your) task|(these|the) "
                     r"requirements|(one )?per line|markdown|bullet points?|point \d|you will have to|word count"
                     r"|in this (part|section))\b|(提纲|写作要求|每行)", re.IGNORECASE)
# "Describe how tea reached Europe" is a fine point but a poor heading: the instruction verb goes
LEAD_VERB = re.compile(r"^\s*(briefly\s+)?(describe|explain|discuss|mention|cover|write about|talk about)\s+(?=\w)",
                       re.IGNORECASE)


def grounded(sections: list[Section], instruction: str) -> tuple[list[Section], list[str]]:
    """The sections minus chatter, and minus points that talk about the writing and share no term
    with the request; a point that opens with an instruction verb loses it."""
    terms = key_terms(instruction)
    keep, dropped = [], []
    for section in sections:
        talk = TASK_TALK.search(section.point) or META.search(section.point)
        if CHATTER.search(section.point) or (talk and not key_terms(section.point) & terms):
            dropped.append(section)
            continue
        point = LEAD_VERB.sub("", section.point)
        section.point = point[:1].upper() + point[1:] if point else section.point
        keep.append(section)
    for i, section in enumerate(keep, 1):
        section.index = i
    return keep, [s.point for s in dropped]


def _acceptable(sections: list[Section], target_words: int, asked: int) -> bool:
    """Usable, between half and twice the sections asked for (a 200-word text
    split 26 ways is a model rambling, not a plan), and points that are headings,
    not paragraphs of prose."""
    return (plan_is_usable(sections, target_words)
            and (asked + 1) // 2 <= len(sections) <= max(2 * asked, asked + 2)
            and all(len(s.point.split()) <= MAX_POINT_WORDS for s in sections))


def _model_sections(text: str, target_words: int, examples: set[str]) -> tuple[list[Section], list[str]]:
    """Parsed sections minus copies of the prompt's examples; word counts that
    are wildly off the target (a small model's guesses) are dropped so the budget
    is split evenly instead of in proportion to noise."""
    # startswith: the parser may join an echoed example with the line after it
    sections = [s for s in parse_plan(text) if not s.point.lower().startswith(tuple(examples))]
    for i, section in enumerate(sections, 1):
        section.index = i
    given = [s.words for s in sections if s.words]
    if given and not target_words / 2 <= sum(given) * len(sections) / len(given) <= target_words * 2:
        for section in sections:
            section.words = None
        return sections, ["ignored the model's word counts (far from the target)"]
    return sections, []


def fallback_plan(instruction: str, target_words: int) -> Plan:
    """A deterministic plan of about WORDS_PER_SECTION-word sections in the
    instruction's language (wording in prompts/fallback_plan.j2)."""
    if target_words < 1:
        raise ValueError("target_words must be at least 1")
    count = suggested_sections(target_words)
    points = prompts.render("fallback_plan", count=count, language=detect_language(instruction),
                            narrative=is_narrative(instruction)).splitlines()
    budgets = distribute_budget([1.0] * count, target_words)
    sections = [Section(i, p, b) for i, (p, b) in enumerate(zip(points, budgets), 1)]
    note = f"fallback plan: {count} section{'s' if count > 1 else ''} of about {target_words // count} words"
    # the parts the request names replace general body angles; the introduction and conclusion stay
    covered = cover_facets(sections, instruction, fixed=frozenset({0, count - 1})) if count >= 3 else []
    return Plan(sections, target_words, raw="", source="fallback", notes=[note, *covered])
