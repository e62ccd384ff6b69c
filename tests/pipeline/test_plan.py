"""Plan parsing, target lengths, budget repair, usability and fallback plans."""

from __future__ import annotations

import re

import pytest

from longform.pipeline.plan import (
    Plan,
    Section,
    finalize_plan,
    parse_plan,
    plan_is_usable,
    target_words_from_instruction,
)
from longform.pipeline.planner import fallback_plan

# (plan text, expected budgets, expected points or None when only budgets are checked)
PLANS = {
    "dot numbering with dash counts": (
        "1. Introduce the history of tea - 300 words\n2. Describe how tea is grown - 500 words\n"
        "3. Explain brewing methods - 400 words",
        [300, 500, 400],
        ["Introduce the history of tea", "Describe how tea is grown", "Explain brewing methods"],
    ),
    "mixed numbering styles": (
        "1. Opening - 300 words\n2) The storm (about 300-400 words)\n(3) Aftermath ~500 words\n"
        "Step 4: Rebuilding the town, 1,200 words.",
        [300, 350, 500, 1200],
        ["Opening", "The storm", "Aftermath", "Rebuilding the town"],
    ),
    "paragraph dash main point one line": (
        "Paragraph 1 - Main Point: Introduce the concept of remote work - Word Count: 400 words\n"
        "Paragraph 2 - Main Point: Discuss productivity research - Word Count: 600 words",
        [400, 600],
        ["Introduce the concept of remote work", "Discuss productivity research"],
    ),
    "paragraph with count on the next line": (
        "Paragraph 1 - Main Point: Introduce the topic of climate change\nWord Count: 400 words\n\n"
        "Paragraph 2 - Main Point: Describe the causes\nWord Count: 500 words\n\n"
        "Paragraph 3 - Main Point: Conclude with a call to action.\nWord Count: 300",
        [400, 500, 300],
        ["Introduce the topic of climate change", "Describe the causes", "Conclude with a call to action"],
    ),
    "section and word-number paragraphs": (
        "Section 1: The setting, 400 words\nSection 2: The conflict, 600 words\n"
        "Paragraph Three - The resolution - 300 words",
        [400, 600, 300],
        ["The setting", "The conflict", "The resolution"],
    ),
    "roman numerals": (
        "I. Origins of jazz - 200 words\nII. The swing era - 300 words\nIII. Bebop - 250 words\n"
        "IV. Jazz today (250 words)",
        [200, 300, 250, 250],
        ["Origins of jazz", "The swing era", "Bebop", "Jazz today"],
    ),
    "part with roman numerals": (
        "Part I: The beginning - 300 words\nPart II: The middle - 400 words\nPart III: The end - 300 words",
        [300, 400, 300],
        ["The beginning", "The middle", "The end"],
    ),
    "markdown numbered headings": (
        "## 1. Introduction (300 words)\n## 2. The early years (500 words)\n## 3. Conclusion (200 words)",
        [300, 500, 200],
        ["Introduction", "The early years", "Conclusion"],
    ),
    "markdown headings with bullets beneath": (
        "## Introduction - 300 words\n- hook the reader\n- state the thesis\n\n"
        "## Main argument - 900 words\n- evidence",
        [300, 900],
        ["Introduction: hook the reader; state the thesis", "Main argument: evidence"],
    ),
    "bold main point bullets": (
        "- **Main Point:** Introduce the hero's village. **Word Count:** 300 words\n"
        "- **Main Point:** The hero leaves home. **Word Count:** 400 words\n* ...",
        [300, 400],
        ["Introduce the hero's village", "The hero leaves home"],
    ),
    "bold numbered with preamble": (
        "Sure! Here's a detailed plan for your 2000-word essay:\n\n"
        "**Paragraph 1 - Main Point:** Introduce AI ethics. **Word Count:** 400 words\n"
        "**Paragraph 2 - Main Point:** Bias in algorithms. **Word Count:** 600 words",
        [400, 600],
        ["Introduce AI ethics", "Bias in algorithms"],
    ),
    "round bullets under an outline heading": (
        "Outline:\n• Opening scene at the market (250 words)\n• The chase through the alleys (500 words)\n"
        "• Escape by boat (250 words)",
        [250, 500, 250],
        ["Opening scene at the market", "The chase through the alleys", "Escape by boat"],
    ),
    "range formats": (
        "- Introduction: 300-400 words\n- Body: 300 to 500 words\n- Conclusion: ~200 words\n"
        "- Epilogue: 100–200 words",
        [350, 400, 200, 150],
        ["Introduction", "Body", "Conclusion", "Epilogue"],
    ),
    "en and em dashes": (
        "1. Intro – 300–400 words\n2. Body — 1,200 words",
        [350, 1200],
        ["Intro", "Body"],
    ),
    "chinese parts with parentheses": (
        "第一部分：引言（约500字）\n第二部分：历史背景，800字\n第三部分：结论 字数：300",
        [500, 800, 300],
        ["引言", "历史背景", "结论"],
    ),
    "chinese list commas with a missing count": (
        "一、介绍茶的起源 500字\n二、茶的种类 - 600字\n三、总结",
        [500, 600, None],
        ["介绍茶的起源", "茶的种类", "总结"],
    ),
    "chinese preamble and chatter": (
        "好的，以下是提纲：\n1、引言 约500字\n2、发展历程 500字左右\n3、未来展望（800字）\n希望对你有帮助！",
        [500, 500, 800],
        ["引言", "发展历程", "未来展望"],
    ),
    "chinese longwriter format": (
        "第1段 - 主要内容：介绍背景 - 字数要求：300字\n第2段 - 主要内容：讲述经过 - 字数要求：500字",
        [300, 500],
        ["介绍背景", "讲述经过"],
    ),
    "chinese numerals in counts": (
        "1. 序章 - 一千字\n2. 相遇 - 两千五百字",
        [1000, 2500],
        ["序章", "相遇"],
    ),
    "missing counts everywhere": (
        "1. Introduction to volcanoes\n2. How eruptions happen\n3. Famous eruptions",
        [None, None, None],
        None,
    ),
    "blank lines and ellipsis lines": (
        "1. First point - 200 words\n\n\n2. Second point - 300 words\n...\n…\netc.\n\n3. Third point - 500 words",
        [200, 300, 500],
        ["First point", "Second point", "Third point"],
    ),
    "preamble and closing chatter": (
        "Here is the plan:\n1. Intro - 300 words\n2. Body - 500 words\n3. End - 200 words\n\n"
        "I hope this helps! Let me know if you need changes.",
        [300, 500, 200],
        ["Intro", "Body", "End"],
    ),
    "closing summary sentence after a gap": (
        "1. Intro - 300 words\n2. Body - 500 words\n3. End - 200 words\n\n"
        "The essay will flow naturally from one idea to the next.",
        [300, 500, 200],
        ["Intro", "Body", "End"],
    ),
    "total line is not a section": (
        "# Essay Plan\n1. Intro - 300 words\n2. Body\n3. Conclusion - 200 words\nTotal: 800 words",
        [300, None, 200],
        ["Intro", "Body", "Conclusion"],
    ),
    "duplicates keep the first": (
        "1. Introduction - 300 words\n2. introduction - 500 words\n3. The journey - 400 words\n"
        "4. The Journey - 100 words",
        [300, 400],
        ["Introduction", "The journey"],
    ),
    "tiny model loop of one line": (
        "1. Introduction\n2. Introduction\n3. Introduction\n4. Introduction",
        [None],
        ["Introduction"],
    ),
    "nested main point and word count bullets": (
        "1. Introduction\n   - Main Point: Present the topic.\n   - Word Count: 300 words\n"
        "2. Body\n   - Main Point: Give evidence.\n   - Word Count: 700 words",
        [300, 700],
        ["Introduction: Present the topic", "Body: Give evidence"],
    ),
    "indented numbered sub-points": (
        "1. Introduction (300 words)\n   1. Hook\n   2. Thesis\n2. Body (800 words)\n   1. First argument\n"
        "3. Conclusion (200 words)",
        [300, 800, 200],
        ["Introduction: Hook; Thesis", "Body: First argument", "Conclusion"],
    ),
    "decimal sub-numbering sums counts": (
        "1. Background\n1.1 Early history (200 words)\n1.2 Modern era (300 words)\n2. Analysis (500 words)",
        [500, 500],
        ["Background: Early history; Modern era", "Analysis"],
    ),
    "no numbering at all": (
        "The story opens in a small fishing village at dawn.\nThe hero finds a mysterious map.\n"
        "Ok.\nThe journey across the sea begins.",
        [None, None, None],
        ["The story opens in a small fishing village at dawn", "The hero finds a mysterious map",
         "The journey across the sea begins"],
    ),
    "unnumbered lines with counts and details": (
        "Here is my plan:\nIntroduction (300 words)\n- hook\n- thesis\nBody (500 words)\n- evidence",
        [300, 500],
        ["Introduction: hook; thesis", "Body: evidence"],
    ),
    "headings over unmarked budget lines": (
        "## Introduction\nHook the reader with a story (300 words)\n## Body\nPresent the evidence (800 words)",
        [300, 800],
        ["Introduction: Hook the reader with a story", "Body: Present the evidence"],
    ),
    "unnumbered main point blocks": (
        "Main Point: Introduce the topic\nWord Count: 300 words\n\n"
        "Main Point: Describe the causes of the war\nWord Count: 500 words",
        [300, 500],
        ["Introduce the topic", "Describe the causes of the war"],
    ),
    "alternating point and count bullets": (
        "- Main Point: Introduce the detective\n- Word Count: 300 words\n"
        "- Main Point: The first clue\n- Word Count: 500 words",
        [300, 500],
        ["Introduce the detective", "The first clue"],
    ),
    "numbered count lines before their points": (
        "Paragraph 1 - Word Count: 300\nMain Point: Arrival in the city\n"
        "Paragraph 2 - Word Count: 500\nMain Point: The first job",
        [300, 500],
        ["Arrival in the city", "The first job"],
    ),
    "parenthesised number list": (
        "(1) The dawn raid - 250 words\n(2) The long march - 250 words",
        [250, 250],
        ["The dawn raid", "The long march"],
    ),
    "words that look like chatter keep": (
        "1. Overview of the market - 300 words\n2. Total war and its consequences - 400 words\n"
        "3. Note-taking strategies - 300 words",
        [300, 400, 300],
        ["Overview of the market", "Total war and its consequences", "Note-taking strategies"],
    ),
    "words inside the point are not the count": (
        "1. The 3 words that define the motto (300 words)\n2. Why 1999 mattered - 400 words",
        [300, 400],
        ["The 3 words that define the motto", "Why 1999 mattered"],
    ),
    "count before the point": (
        "Paragraph 1: Word Count: 300\nMain Point: Introduce the characters",
        [300],
        ["Introduce the characters"],
    ),
    "mock backend format": (
        "1. Section about the river harbor lantern orchard. - 400 words\n"
        "2. Section about the cedar meadow signal copper. - 1600 words",
        [400, 1600],
        ["Section about the river harbor lantern orchard", "Section about the cedar meadow signal copper"],
    ),
    "reasoning block and code fence": (
        "<think>The user wants three parts, maybe 1. Foo - 99 words</think>\n"
        "```\n1. Alpha part - 100 words\n2. Beta part - 200 words\n```",
        [100, 200],
        ["Alpha part", "Beta part"],
    ),
    "k counts and word count without unit": (
        "1. Long middle - 1.5k words\n2. Short end - Word count: 500",
        [1500, 500],
        ["Long middle", "Short end"],
    ),
}


@pytest.mark.parametrize("text, budgets, points", PLANS.values(), ids=PLANS.keys())
def test_parse_plan(text, budgets, points):
    sections = parse_plan(text)
    assert [s.words for s in sections] == budgets
    assert [s.index for s in sections] == list(range(1, len(budgets) + 1))
    if points is not None:
        assert [s.point for s in sections] == points


@pytest.mark.parametrize(
    "text",
    ["", "\n\n  \n", "I cannot help with that.", "...\n…\netc.", "Plan:\nOutline\n## Writing Plan",
     "抱歉，我无法完成。"],
)
def test_parse_plan_finds_nothing(text):
    assert parse_plan(text) == []


def test_refusal_gives_an_unusable_plan():
    assert not plan_is_usable(parse_plan("I cannot help with that."), 2000)


@pytest.mark.parametrize(
    "instruction, expected",
    [
        ("Write a 5,000-word essay on the history of Rome", 5000),
        ("Please write 3000 words about cats", 3000),
        ("A 10000-word short story set on Mars", 10000),
        ("写一篇3000字的文章，介绍长城", 3000),
        ("写一篇关于春天的散文，不少于2000字", 2000),
        ("请写一篇一万字的小说", 10000),
        ("写一篇两千五百字的报告", 2500),
        ("写一篇1.5万字的论文", 15000),
        ("写一篇文章，字数要求：3000", 3000),
        ("Write an essay of at least 800 words", 800),
        ("Write between 2000 and 3000 words on jazz", 2500),
        ("Write a 2,000-3,000 word report", 2500),
        ("A blog post of 1.5k words, please", 1500),
        ("Write two thousand words about the sea", 2000),
        ("The essay should have a word count of 1200", 1200),
        ("Write an essay in 1999 style with the top 10 tips", None),
        ("Describe the events of 1999 in detail", None),
        ("Write a story about a crossroads: 十字路口", None),
        ("讲一个发生在十字路口的故事", None),
        ("Write a 300-page novel outline", None),
        ("", None),
    ],
)
def test_target_words_from_instruction(instruction, expected):
    assert target_words_from_instruction(instruction) == expected


def _sections(*words):
    return [Section(i, f"Point number {i}", w) for i, w in enumerate(words, 1)]


@pytest.mark.parametrize(
    "words, target, budgets, notes",
    [
        ((300, 500, 1200), 2000, [300, 500, 1200], []),
        ((800, 800, 1600), 2000, [500, 500, 1000], ["rescaled from 3200 to 2000 words"]),
        ((None, None, None), 2000, [666, 667, 667], ["filled 3 missing counts"]),
        ((500, None, None, 500), 2000, [500, 500, 500, 500], ["filled 2 missing counts"]),
        ((1000, 1000, None), 2000, [666, 667, 667],
         ["filled 1 missing count", "rescaled from 3000 to 2000 words"]),
        ((1, 1, 1), 10, [3, 3, 4], ["rescaled from 3 to 10 words"]),
        ((5000, 1, 1), 10, [8, 1, 1], ["rescaled from 5002 to 10 words"]),
        ((None,), 5000, [5000], ["filled 1 missing count", "1 section over 1200 words"]),
    ],
)
def test_finalize_plan(words, target, budgets, notes):
    plan = finalize_plan(_sections(*words), target, raw="raw text")
    assert [s.words for s in plan.sections] == budgets
    assert sum(s.words for s in plan.sections) == target
    assert plan.notes == notes
    assert plan.raw == "raw text" and plan.source == "model"


@pytest.mark.parametrize("target", [7, 100, 999, 2000, 3001, 10007, 54321])
@pytest.mark.parametrize("words", [(300, None, 450, None, 1200), (17, 4000, 3), (None,) * 7, (1,) * 7])
def test_finalize_plan_sums_exactly(words, target):
    plan = finalize_plan(_sections(*words), target)
    budgets = [s.words for s in plan.sections]
    assert sum(budgets) == target
    assert min(budgets) >= 1
    assert [s.index for s in plan.sections] == list(range(1, len(words) + 1))


def test_finalize_plan_keeps_points_and_does_not_mutate_input():
    sections = _sections(100, None)
    plan = finalize_plan(sections, 1000)
    assert [s.point for s in plan.sections] == ["Point number 1", "Point number 2"]
    assert sections[1].words is None


@pytest.mark.parametrize("sections, target", [([], 2000), (_sections(100, 100, 100), 2)])
def test_finalize_plan_rejects_impossible_plans(sections, target):
    with pytest.raises(ValueError):
        finalize_plan(sections, target)


def test_finalized_plan_round_trips_through_dict():
    plan = finalize_plan(parse_plan("1. Alpha part - 100 words\n2. Beta part"), 1000)
    assert Plan.from_dict(plan.to_dict()) == plan
    assert plan.as_numbered_text() == "1. Alpha part (100 words)\n2. Beta part (900 words)"


@pytest.mark.parametrize(
    "sections, target, usable",
    [
        ([], 1000, False),
        (_sections(2000), 2000, False),
        (_sections(1000), 1000, True),
        (_sections(*([100] * 61)), 6100, False),
        (_sections(*([100] * 60)), 6000, True),
        (_sections(100, 100, 100), 2, False),
        ([Section(1, "Intro", 500), Section(2, "End", 500)], 1000, False),
        ([Section(1, "引言", 500), Section(2, "结论", 500)], 1000, False),
        ([Section(1, "Intro", 500), Section(2, "The long road", 500)], 1000, True),
        ([Section(1, "引言", 500), Section(2, "历史背景", 500)], 1000, True),
    ],
)
def test_plan_is_usable(sections, target, usable):
    assert plan_is_usable(sections, target) is usable


@pytest.mark.parametrize(
    "instruction, target, count",
    [
        ("Write a 2000-word essay about bees", 2000, 6),
        ("Write a short note", 100, 1),
        ("Write an epic", 30000, 60),
        ("Write something", 525, 2),
        ("写一篇三千字的文章", 3000, 9),
    ],
)
def test_fallback_plan(instruction, target, count):
    plan = fallback_plan(instruction, target)
    assert plan.source == "fallback" and plan.raw == ""
    assert len(plan.sections) == count
    assert sum(s.words for s in plan.sections) == target
    assert len({s.point for s in plan.sections}) == count
    assert plan_is_usable(plan.sections, target)
    assert plan == fallback_plan(instruction, target)


def test_fallback_plan_language():
    english = fallback_plan("Write a 2000-word essay about bees", 2000)
    chinese = fallback_plan("写一篇关于蜜蜂的文章", 2000)
    assert english.sections[0].point.startswith("Introduction")
    assert english.sections[-1].point.startswith("Conclusion")
    assert chinese.sections[0].point.startswith("引言")
    assert chinese.sections[-1].point.startswith("结语")
    assert all(s.point.isascii() for s in english.sections)


def test_fallback_plan_rejects_zero_target():
    with pytest.raises(ValueError):
        fallback_plan("Write", 0)


def test_plan_points_about_the_writing_are_dropped_and_list_numbers_cut():
    from longform.pipeline.plan import parse_plan
    from longform.pipeline.planner import grounded

    text = ("1. The origins of tea: 1\n2. The original text is incomplete. Here are the numbered outlines\n"
            "3. Briefly describe this part\n4. Tea on the trade routes\n5. Describe how tea reached Europe")
    sections, dropped = grounded(parse_plan(text), "Write a 2,000-word history of tea and how it reached Europe.")
    assert [s.point for s in sections] == ["The origins of tea", "Tea on the trade routes",
                                          "How tea reached Europe"]  # on the subject: kept, verb gone
    assert [s.index for s in sections] == [1, 2, 3] and len(dropped) == 2


def test_chatter_points_go_even_when_they_name_the_subject():
    """Points the embedded model wrote for LongBench-Write rows (eval run of 2026-12-02)."""
    from longform.pipeline.plan import Section
    from longform.pipeline.planner import grounded

    chatter = ["Here's a written outline for the blog post on why Christmas Cactus are great",
               "In this section, you will have to cover all aspects of Christmas Cactus from their origins",
               "Use the markdown bullet points such as: This is point 2", "The task and what it is about", "Your Task",
               "Writing a story based on these requirements, one per line"]
    subjects = ["The adventure you're going to create with Max and Freak", "What you will need",
                "Origins of Christmas Cactus", "Explain why Christmas Cactus bloom in winter"]
    sections = [Section(i, p, 100) for i, p in enumerate(chatter + subjects, 1)]
    kept, dropped = grounded(sections, "Write a blog post about Christmas Cactus and a story about Freak the Mighty.")
    assert dropped == chatter
    assert [s.point for s in kept] == [*subjects[:3], "Why Christmas Cactus bloom in winter"]


@pytest.mark.parametrize("instruction, narrative", [
    ("A zombie virus breaks out in a small town. Write a 5000-word story about a group of survivors", True),
    ("Please help me write a 6000 word novel in the crossover genre.", True),
    ("Write a scene of a fight between two YouTubers", True),
    ("写一篇3000字的故事，讲一只猫的冒险", True),
    ("Write a 3000-word essay about the novel 1984", False),
    ("Write a review of the novel", False),
    ("Write a 3,000-word article about the history of lighthouses", False),
    ("写一篇关于《红楼梦》的读后感", False),
])
def test_a_story_is_told_by_events_when_the_plan_falls_back(instruction, narrative):
    from longform.pipeline.terms import is_narrative

    assert is_narrative(instruction) is narrative
    points = [s.point for s in fallback_plan(instruction, 3000).sections]
    essay_angle = "how it changed over time" if instruction.isascii() else "它如何随时间变化"
    assert any(essay_angle in p.lower() for p in points) is not narrative
    assert len(set(points)) == len(points)


def test_fallback_points_carry_no_part_labels():
    # "5. Part 4: causes…" in the outline beside "Now write part 5" had the model writing about its parts
    for instruction in ("Write a 6000-word essay about bees", "写一篇六千字的文章，介绍蜜蜂"):
        points = [s.point for s in fallback_plan(instruction, 4500).sections]
        assert not any(re.match(r"(part \d|第\d+部分)", p, re.I) for p in points), points
