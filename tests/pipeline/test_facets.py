"""The parts a request names, and plans rewritten to cover them (pipeline/facets.py)."""

from __future__ import annotations

import pytest

from longform.backends import LM, GenerationConfig
from longform.backends.mock import MockProvider
from longform.pipeline.facets import cover_facets, request_facets
from longform.pipeline.plan import Section
from longform.pipeline.planner import fallback_plan, make_plan

DEMO = ("Write a 3,000-word article about the history of lighthouses: how they were built, who kept them, "
        "and why many still stand today.")
# the 135M model's accepted outline for the demo request (make demo, 2026-12-02)
DEMO_PLAN = ["The Early Days: How Lighthouses Begin", "Building a Lifecycle: From Construction to Maintenance",
             "Preservation and Revitalization: A Growing Concern for Lighthouse Preservation",
             "Building Families: How to Build Lighthouses", "Modern Lighthouse: Sustainable Design and Preservation",
             "History: How Building a Lifecycle has Never Ended",
             "Building Today: What Lighthouses Don't Need to Do Now", "The Long-Term Future of Lighthouse Preservation"]


@pytest.mark.parametrize("instruction, facets", [
    (DEMO, ["How lighthouses were built", "Who kept lighthouses", "Why many lighthouses still stand today"]),
    ("Write an essay on climate policy, including carbon taxes, subsidies for renewables and the role of cities.",
     ["Carbon taxes", "Subsidies for renewables and the role of cities"]),
    ("写一篇3000字的文章，介绍茶的历史：起源、传播和今天的茶文化。", ["起源", "传播", "今天的茶文化"]),
    ("Write a 2000-word story about a dragon.", []),  # no list
    ("Write a blog post: My trip to Japan. Include details.", []),  # one item is a title, not parts
    ("Topics: a, b", []),  # no content terms
    ("Write an essay about tea: at least 2,000 words, a formal tone, three sections.", []),  # requirements
    ("写一篇关于茶的文章：不少于2000字，语气正式。", []),
    ("介绍汉字：起源、字形演变、书法。", ["起源", "字形演变", "书法"]),  # 字 alone is no requirement
    ("Write a story about a knight: 1) the quest begins, 2) the dragon's cave, 3) the long road home.",
     ["The quest begins", "The dragon's cave", "The long road home"]),  # enumerators go
    ("Please provide information about root canal treatment, including its purpose, procedure and risks.",
     ["Treatment's purpose", "Procedure and risks"]),  # a singular subject's possessive ("treatment'" before)
])
def test_request_facets(instruction, facets):
    assert request_facets(instruction) == facets


def sections(points):
    return [Section(i, p, 375) for i, p in enumerate(points, 1)]


def test_uncovered_parts_replace_the_points_that_add_least():
    plan = sections(DEMO_PLAN)
    notes = cover_facets(plan, DEMO)
    points = [s.point for s in plan]
    assert "Who kept lighthouses" in points and "Why many lighthouses still stand today" in points
    # "built" was covered by the Building points (an irregular stem); the family point went first
    assert "Building Families: How to Build Lighthouses" not in points
    assert points[0] == DEMO_PLAN[0] and points[1] == DEMO_PLAN[1]
    assert len(notes) == 2 and all("gave way to a part the request names" in n for n in notes)


def test_a_covering_point_is_kept_and_a_covered_plan_is_unchanged():
    points = ["How lighthouses were built", "Who kept lighthouses", "Why many lighthouses still stand today"]
    plan = sections(points)
    assert cover_facets(plan, DEMO) == [] and [s.point for s in plan] == points


def test_points_off_the_request_go_first():
    plan = sections(["Lighthouse towers of stone", "Cooking pasta at home", "Lighthouse lamps and lenses",
                     "Keepers of the light, who kept them burning", "A trip to the zoo"])
    cover_facets(plan, DEMO)
    assert [s.point for s in plan] == ["Lighthouse towers of stone", "How lighthouses were built",
                                       "Lighthouse lamps and lenses", "Keepers of the light, who kept them burning",
                                       "Why many lighthouses still stand today"]


def test_fallback_plan_keeps_its_introduction_and_conclusion():
    plan = fallback_plan(DEMO, 3000)
    points = [s.point for s in plan.sections]
    assert points[0].startswith("Introduction") and points[-1].startswith("Conclusion")
    assert points[1:4] == ["How lighthouses were built", "Who kept lighthouses",
                           "Why many lighthouses still stand today"]
    assert sum(s.words for s in plan.sections) == 3000


def test_model_plan_is_made_to_cover_the_request():
    outline = "\n".join(f"{i}. {p} - 375 words" for i, p in enumerate(DEMO_PLAN, 1))
    lm = LM(MockProvider(responder=lambda messages, config: outline[len("1."):]))  # the reply starts after "1."
    plan = make_plan(lm, DEMO, 3000, "en", GenerationConfig(seed=0))
    assert plan.source == "model"
    assert "Who kept lighthouses" in [s.point for s in plan.sections]
    assert any("gave way" in note for note in plan.notes)
