"""Chaptered plans (pipeline/chapters.py): a long request is planned as chapters, then the
sections of each chapter, each from its own outline call."""

from __future__ import annotations

import random
import re

from helpers.engine import is_plan_call, last_user, mock_lm, read
from longform.backends import GenerationConfig
from longform.backends.mock import lorem_words
from longform.pipeline.chapters import CHAPTERED_FROM, SECTIONS_PER_CHAPTER, chaptered, make_chaptered_plan
from longform.pipeline.planner import WORDS_PER_SECTION, suggested_sections
from longform.pipeline.runner import AgentWrite, WriteSettings

INSTRUCTION = "Write a 20000-word history of the Roman Empire"
CHAPTERS = ["The founding of Rome", "The Republic", "Augustus and the Principate", "The Pax Romana",
            "The crisis of the third century", "Constantine and Christianity", "The fall of the West",
            "The legacy of Rome"]
GARBLED = "Roman Colosseum buildingBuildingRomanColosseoThecolosseomoldle Rio de JaneirobuildingBrazil"
ASPECTS = ["leaders", "battles", "trade", "religion", "daily life", "roads", "laws", "art", "coins", "cities"]


def chapter_outline(messages) -> str | None:
    """The section list of the chapter a call asks about, or None for another call."""
    found = re.search(r'Chapter (\d+) is "([^"]+)"\. List (\d+) section', last_user(messages))
    if not found:
        return None
    index, point, count = int(found[1]), found[2], int(found[3])
    if index == 3:  # this chapter's lists are chatter: it must get its own angles
        return " Here is the outline you asked for.\nThanks!"
    # a frame point and the chapter's title in new words come first: neither is a section
    lines = ["Introduction", f"History of {point} (1978)", f"{point}: {ASPECTS[0]}"]
    lines += [f"{a.capitalize()} in {point}" for a in ASPECTS[1:count]]
    if index == 5:  # how the 135M model's lists degrade: neither line is a heading
        lines[3:3] = [GARBLED, "Building Rome's Colosseum, Building Rome's Colosseum"]
    return "".join(f" {line}\n" if i == 0 else f"{i + 1}. {line}\n" for i, line in enumerate(lines))


def respond(messages, config):
    if is_plan_call(messages):
        listed = chapter_outline(messages)
        if listed is not None:
            return listed
        asked = int(re.search(r"(?:into|List) (\d+) (?:parts|section)", last_user(messages))[1])
        return "".join(f" {c}\n" if i == 0 else f"{i + 1}. {c}\n" for i, c in enumerate(CHAPTERS[:asked]))
    rng = random.Random(repr(messages) + str(config.seed))
    return "\n\n".join(lorem_words(rng.randint(40, 70), rng) for _ in range(5))


def test_long_requests_are_chaptered_and_short_ones_are_not():
    assert chaptered(CHAPTERED_FROM * WORDS_PER_SECTION)
    assert not chaptered((CHAPTERED_FROM - 1) * WORDS_PER_SECTION)
    assert not chaptered(3000)


def test_each_chapter_gets_sections_of_its_own(tmp_path):
    lm = mock_lm(responder=respond)
    plan = make_chaptered_plan(lm, INSTRUCTION, 20000, "en", GenerationConfig(max_tokens=1024, seed=0))
    n = suggested_sections(20000)
    assert abs(len(plan.sections) - n) <= 1 and plan.source == "chapters"
    assert sum(s.words for s in plan.sections) == 20000
    assert [s.index for s in plan.sections] == list(range(1, len(plan.sections) + 1))
    points = [s.point for s in plan.sections]
    assert "Introduction" not in points  # a chapter's own frame is not a section
    assert not any(p.startswith("History of") for p in points)  # nor its title again
    assert len(set(points)) == len(points)
    assert GARBLED not in points and not any("Colosseum" in p for p in points)
    # chapters in order, each with about SECTIONS_PER_CHAPTER sections named from it
    for chapter in (c for i, c in enumerate(CHAPTERS, 1) if i != 3):
        own = [p for p in points if p.endswith(f" in {chapter}")]
        assert SECTIONS_PER_CHAPTER - 2 <= len(own) <= SECTIONS_PER_CHAPTER
    # "The founding of Rome: leaders" is the section "Leaders"; a later chapter's "Leaders" is not new
    assert points.count("Leaders") == 1 and points.index("Leaders") < points.index(f"Battles in {CHAPTERS[0]}")
    # the chapter that answered with chatter has its own angles, not the piece's general ones
    third = [p for p in points if CHAPTERS[2] in p]
    assert len(third) >= 6 and not any(p.startswith(f"{CHAPTERS[2]}: ") for p in third)
    assert f"Causes and consequences of {CHAPTERS[2]}" in third
    assert any("chapter 3" in note for note in plan.notes)
    assert not any(p.startswith("Part ") for p in points)
    calls = [m for m in lm.provider.calls if is_plan_call(m)]
    assert len(calls) == 1 + 7 + 2  # the chapters, one call per chapter, a re-ask for the chatter


def test_a_long_run_writes_under_the_chaptered_plan(tmp_path):
    lm = mock_lm(responder=respond)
    settings = WriteSettings(target_words=6000, seed=1, fresh_parts=True)
    result = AgentWrite(lm, settings).run(INSTRUCTION.replace("20000", "6000"), tmp_path / "r")
    plan = read(tmp_path / "r" / "plan.json")
    assert plan["source"] == "chapters" and len(plan["sections"]) == suggested_sections(6000)
    assert plan["notes"][0].startswith("chapters (model): The founding of Rome; The Republic; Augustus")
    assert abs(result.words - 6000) <= 0.05 * 6000
    assert "## Leaders\n" in result.text  # a section's own heading, not its chapter's


def test_a_story_chapter_without_a_list_gets_the_steps_of_its_events():
    from longform.pipeline.chapters import _angles

    story = _angles("The Night I Left My Father", 4, "en", narrative=True)
    assert story[0] == "The Night I Left My Father: how it begins" and len(set(story)) == 4
    essay = _angles("The Golden Age of Augustus", 4, "en")
    assert "Causes and consequences of the Golden Age of Augustus" in essay
