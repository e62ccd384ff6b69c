"""Plans for long texts: a few chapters first, then the sections of each chapter.

A 20,000-word request needs ~57 sections. Asked for a 57-point outline, the 135M model writes
a dozen lines or an essay, so the plan fell back to its general angles ("Causes, mechanisms and
consequences", …) cycled six times. Asked for six to eight chapters it answers as it does for
the demo's eight points; asked for the sections of one chapter, it names some from that
chapter's own subject among chatter. So from CHAPTERED_FROM sections on, the plan stage asks for
chapters (the usual outline call, so its re-asks, fallback and coverage of the request's named
parts apply), then one short call per chapter for its sections. A chapter whose sections the
model cannot list gets its own angles ("Causes and consequences of the Pax Romana") rather than
the whole piece's. The plan stays flat: a section's point is its own heading, and the chapters
are kept in the plan's notes and raw text.

Measured on the Ruler's 20,000-word Roman Empire request (README): on topic 0.35 -> 0.37, last
tenth / first 0.70 -> 1.07, P2 0.41 -> 0.18, but restated 0.07 -> 0.20, as the 135M model writes
much the same text under a failed chapter's angles.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .. import prompts
from ..backends import LM, GenerationConfig
from .cleaning import section_heading
from .plan import Plan, Section, distribute_budget, parse_plan
from .planner import ask_outline, grounded, make_plan, suggested_sections
from .terms import is_narrative, key_terms

if TYPE_CHECKING:
    from .events import SectionReport

SECTIONS_PER_CHAPTER = 8  # the outline length the 135M model lists reliably (the demo's plan)
# sections (about 6,000 words): below this one outline call lists them all, at most twice the demo's
# eight points, and there are at least three chapters to ask for
CHAPTERED_FROM = 2 * SECTIONS_PER_CHAPTER + 1
CHAPTER_ATTEMPTS = 2
# model points a chapter's list must hold to be used, the rest its own angles: the 135M model's
# lists hold two or three good lines among chatter ("A bridge that connects two worlds", "A small
# window to the outside world", then "The three chapters in one section are: …")
MIN_OWN_POINTS = 2
MAX_HEADING_WORDS, MAX_WORD_CHARS = 14, 20  # longer is a sentence, or words run together
# "(1978)", "(108 BC - 50 CE)": dates a small model invents for a heading; they steer nothing
_ASIDE = re.compile(r"\s*\([^()]*\d[^()]*\)")
# what a chapter's own list often opens or closes with: the piece's frame, not a section of the chapter
_FRAME = re.compile(r"^\W*(introduction|conclusions?|summary|overview|final thoughts|references"
                    r"|引言|结语|总结|概述)\W*$", re.IGNORECASE)


def chaptered(target_words: int) -> bool:
    return suggested_sections(target_words) >= CHAPTERED_FROM


def make_chaptered_plan(lm: LM, instruction: str, target_words: int, lang: str, config: GenerationConfig,
                        attempts: int = 4, report: "SectionReport | None" = None) -> Plan:
    """About suggested_sections(target_words) sections, SECTIONS_PER_CHAPTER to a chapter."""
    n = suggested_sections(target_words)
    chapters = make_plan(lm, instruction, target_words, lang, config, attempts, report,
                         sections=math.ceil(n / SECTIONS_PER_CHAPTER))
    for chapter in chapters.sections:
        chapter.point = _ASIDE.sub("", chapter.point).strip() or chapter.point
    # make_plan's sections always have budgets (finalize_plan, fallback_plan)
    counts = distribute_budget([c.words for c in chapters.sections], max(n, len(chapters.sections)))
    sections: list[Section] = []
    notes = [f"chapters ({chapters.source}): " + "; ".join(c.point for c in chapters.sections), *chapters.notes]
    raws = [chapters.raw]
    narrative = is_narrative(instruction)  # a story's chapters are told in events (fallback_plan.j2)
    for chapter, count in zip(chapters.sections, counts):
        attempt = attempts + CHAPTER_ATTEMPTS * (chapter.index - 1) + 1  # its own seeds and report numbers
        points, raw = _chapter_points(lm, instruction, chapter, count, len(chapters.sections), lang, config,
                                      attempt, report, seen={s.point.lower() for s in sections}, narrative=narrative)
        raws.append(raw)
        if points is None:
            notes.append(f"chapter {chapter.index}: its sections were not listed; used its own angles")
            points = _angles(chapter.point, count, lang, narrative)
        budgets = distribute_budget([1.0] * len(points), chapter.words)
        sections += [Section(len(sections) + i, p, b) for i, (p, b) in enumerate(zip(points, budgets), 1)]
    return Plan(sections, target_words, raw="\n---\n".join(r for r in raws if r), source="chapters", notes=notes)


def _chapter_points(lm, instruction: str, chapter: Section, count: int, chapters: int, lang: str,
                    config: GenerationConfig, first_attempt: int, report,
                    seen: set[str], narrative: bool = False) -> tuple[list[str] | None, str]:
    """The chapter's `count` section points, from the model and topped up with its own angles
    (None when no attempt gave MIN_OWN_POINTS), and the texts the model wrote. Frame points,
    points that are no heading or add nothing to the chapter's title, and points an earlier
    chapter has are dropped; extra points are cut."""
    if count == 1:
        return [chapter.point], ""
    request = prompts.render("plan_chapter", lang=lang, instruction=instruction, chapters=chapters,
                             index=chapter.index, point=chapter.point, sections=count)
    texts = []
    for attempt in range(first_attempt, first_attempt + CHAPTER_ATTEMPTS):
        text = ask_outline(lm, request, lang, config, attempt, report, retry=attempt - first_attempt + 1)
        texts.append(text)
        kept, _ = grounded(parse_plan(text), f"{instruction} {chapter.point}")
        known, points = set(key_terms(f"{instruction} {chapter.point}")), []
        for point in (_without_chapter(_ASIDE.sub("", s.point).strip(), chapter.point) for s in kept):
            if not _FRAME.match(point) and point.lower() not in seen and _heading_like(point) \
                    and _adds_something(point, known):
                points.append(point)
                known |= key_terms(point)
        if len(points) >= MIN_OWN_POINTS:
            return _filled(points[:count], count, chapter.point, lang, narrative), "\n".join(texts)
    return None, "\n".join(texts)


def _angles(chapter: str, count: int, lang: str, narrative: bool = False) -> list[str]:
    """`count` points on general angles of the chapter ("Causes and consequences of the Pax Romana"),
    or, in a story, on the steps of its events ("The Night I Left My Father: the turning point")."""
    title = section_heading(chapter).strip().removeprefix("## ")  # asides already gone
    first, _, rest = title.partition(" ")
    if first in ("The", "A", "An") and rest:  # "Causes and consequences of the Pax Romana"
        title = f"{first.lower()} {rest}"
    angles = prompts.render("fallback_plan", count=count, language=lang, chapter=title,
                            narrative=narrative).splitlines()
    return [a[:1].upper() + a[1:] for a in angles]


def _filled(points: list[str], count: int, chapter: str, lang: str, narrative: bool) -> list[str]:
    """`points` topped up to `count` with the chapter's own angles."""
    return points + _angles(chapter, count, lang, narrative)[: count - len(points)]


def _without_chapter(point: str, chapter: str) -> str:
    """"Colosseum: Building the Colosseum" under the chapter "Colossus of Rome: Building the
    Colosseum" is "Building the Colosseum": a heading keeps the title before a colon, and every
    section of the chapter would be headed with the chapter's name."""
    title, colon, rest = point.partition(":")
    if colon and rest.strip() and key_terms(title) <= key_terms(chapter):
        return rest.strip()[:1].upper() + rest.strip()[1:]
    return point


def _heading_like(point: str) -> bool:
    """A short line with no word run together and no content word twice: the 135M model's
    section lists degrade into "Building Rome's Colosseum, Building Rome's Colosseum" and
    "…buildingBuildingRio de JaneiroBuildingBrazil…"."""
    words = point.split()
    if len(words) > MAX_HEADING_WORDS or any(len(w) > MAX_WORD_CHARS for w in words):
        return False
    stems = [stem for w in words for stem in key_terms(w)]
    return len(stems) == len(set(stems))


def _adds_something(point: str, known: set[str]) -> bool:
    """Whether a point names a term that the request, its chapter and the points before it do not:
    the 135M model lists its chapter's title again in new words ("History of Rome's Rise and
    Decline" under "The Age of Empire: Rome's Rise and Decline")."""
    return bool(key_terms(point) - known)
