"""Pure helpers of the section writer and the prompt layout."""

import pytest

from longform.pipeline.cleaning import clean_section, drop_meta_paragraphs, section_heading
from longform.pipeline.layouts.base import spoken_length


@pytest.mark.parametrize("text, kept", [
    ("Para one.\n\nHere is a copy-paste version of the text:\n\nPara two.", "Para one.\n\nPara two."),
    ("Para one.\n\nThis part will tell you about the harbor.\n\nEnd.", "Para one.\n\nEnd."),
    ("In this section, we look back.\n\nThe tide rose.", "The tide rose."),
    ("The keeper climbed.\n\nIt is about 400 words long, as asked.", "The keeper climbed."),
    # the embedded golden run's opening, before this pattern: "The 400-word essay will be a poignant tribute…"
    ("The 400-word essay will be a poignant tribute to the keepers.\n\nThe lamp burned.", "The lamp burned."),
    ("潮水上涨。\n\n以下是第二部分的内容：\n\n灯塔亮了。", "潮水上涨。\n\n灯塔亮了。"),
    # what the quality panel counts as meta-talk goes too (cleaning.about_task)
    ("Lit.\n\nThis is another part of the article on how keepers work.\n\nEnd.", "Lit.\n\nEnd."),
    ('She said: "I will keep writing to you."\n\nEnd.', 'She said: "I will keep writing to you."\n\nEnd.'),
])
def test_meta_paragraphs_are_dropped(text, kept):
    assert drop_meta_paragraphs(text) == kept


def test_in_a_long_paragraph_only_the_sentences_about_the_task_go():
    story = " ".join(f"The keeper lit lamp number {i} at dusk." for i in range(12))
    text = f"Before.\n\n{story} This section is about the harbor. {story}\n\nAfter."
    assert drop_meta_paragraphs(text) == f"Before.\n\n{story} {story}\n\nAfter."
    zh = "灯塔亮了。" * 30 + "本部分介绍港口。" + "潮水上涨。" * 30
    assert drop_meta_paragraphs(zh) == "灯塔亮了。" * 30 + "潮水上涨。" * 30


def test_ordinary_prose_is_untouched():
    text = ("The lighthouse stood for a century.\n\nIts keepers wrote letters home every week, and a "
            "3,000-word letter of 1902 survives.")
    assert drop_meta_paragraphs(text) == text


@pytest.mark.parametrize("text, cleaned", [
    ("Sure! Here is part 2:\n\nThe harbor woke.", "The harbor woke."),
    ("**Part 3**\nThe harbor woke.", "The harbor woke."),
    ("好的，以下是第二部分：\n潮水上涨。", "潮水上涨。"),
    ("The harbor woke.", "The harbor woke."),
    # labels the 135M model put before a part that started a fresh conversation
    ("Original:\nThe earliest days of lighthouses", "The earliest days of lighthouses"),
    ("Original Part 1\nIn the early days", "In the early days"),
    ("Original text: The historical building", "The historical building"),
    ("Original ideas were rare in the harbor.", "Original ideas were rare in the harbor."),
])
def test_chatter_and_bare_labels_are_stripped_from_the_start(text, cleaned):
    assert clean_section(text) == cleaned


@pytest.mark.parametrize("point, heading", [
    ("The Early Days of Tea: From the 18th century on", "## The Early Days of Tea\n\n"),
    ("Part 2: Trade routes", "## Trade routes\n\n"),
    ("Part 4: causes, mechanisms and consequences", "## Causes, mechanisms and consequences\n\n"),  # fallback plan
    ("The building process - 300 words", "## The building process\n\n"),
    ("Overview.", "## Overview\n\n"),
    ("第一部分：背景介绍", "## 背景介绍\n\n"),
])
def test_section_heading(point, heading):
    assert section_heading(point) == heading


@pytest.mark.parametrize("words, spoken", [(416, 400), (375, 400), (1250, 1250), (90, 90), (7, 10), (30, 30)])
def test_spoken_length_rounds_odd_budgets(words, spoken):
    assert spoken_length(words) == spoken


def test_chinese_sections_get_the_token_rate_of_characters():
    from longform.pipeline.drafts import SectionSettings

    s = SectionSettings()
    assert s.for_language("en") is s
    assert s.for_language("zh").max_tokens(200) == int(200 * s.tokens_per_cjk * s.headroom)
    assert s.for_language("zh").max_tokens(200) > s.max_tokens(200)


LIGHTHOUSES = ("Write a 3,000-word article about the history of lighthouses: how they were built, who kept them, "
               "and why many still stand today.")


@pytest.mark.parametrize("point, heading", [
    # plan points the embedded model wrote for the demo request: only the description names the subject
    ("Building Families: How to Build Lighthouses", "## How to Build Lighthouses\n\n"),
    ("Preservation and Revitalization: A Growing Concern for Lighthouse Preservation",
     "## A Growing Concern for Lighthouse Preservation\n\n"),
    ("The Early Days: How Lighthouses Begin", "## How Lighthouses Begin\n\n"),
    ("The Lighthouse Keepers: Life on the rock", "## The Lighthouse Keepers\n\n"),  # the title has it: kept
    ("Building a Lifecycle: From Construction to Maintenance", "## Building a Lifecycle\n\n"),  # neither has it
])
def test_a_heading_keeps_the_half_of_the_point_that_names_the_subject(point, heading):
    assert section_heading(point, LIGHTHOUSES) == heading
