"""Candidate search (pipeline/candidates.py): the lexical judge on real passages of the embedded
model's demo document, and the continuous layout keeping the most on-task of K continuations."""

from __future__ import annotations

import json
import random
import re

import pytest

from helpers.engine import is_plan_call, mock_lm, read
from longform import AgentWrite, WriteSettings
from longform.backends.mock import lorem_words
from longform.pipeline.candidates import judge
from longform.pipeline.terms import key_terms, stem

INSTRUCTION = ("Write a 3,000-word article about the history of lighthouses: how they were built, who kept them, "
               "and why many still stand today.")
# Two passages the embedded model wrote for that request (runs/demo, section 1 and section 4)
ON_TASK = ("The history of lighthouses is a story that began with the humble beginnings of these magnificent "
           "structures. The first towers were built of stone on rocky headlands. Keepers climbed the stairs "
           "every night to light the lamp.")
DRIFTED = ("Building a life cycle that is built into your lives. It's not building anything new, but it does have "
           "to do with what we're getting at here. You and me can't be happy without our families because they "
           "provide us with everything.")


def test_stems_match_a_word_and_its_plural_and_stopwords_are_not_terms():
    assert stem("lighthouses") == stem("lighthouse") and stem("keepers") == stem("keeper")
    terms = key_terms(INSTRUCTION)
    assert {stem("lighthouses"), stem("history"), stem("built")} <= terms
    assert not {"about", "many", "they", "write", "article"} & terms
    assert "灯塔" in key_terms("写一篇关于灯塔历史的文章")


def test_the_judge_prefers_the_passage_that_stays_on_task():
    focus = key_terms(INSTRUCTION)
    on, off = judge(ON_TASK, focus, ""), judge(DRIFTED, focus, "")
    assert on.focus >= 2 / 3 > off.focus and on.score > off.score  # "keepers" is no term of "kept": 2 of 3


def test_restating_and_talk_about_the_writing_lower_the_score():
    focus = key_terms(INSTRUCTION)
    fresh = judge(ON_TASK, focus, "")
    echoed = judge(ON_TASK, focus, "Earlier. " + ON_TASK)
    meta = judge(ON_TASK + " In this section we will write 400 words.", focus, "")
    assert echoed.echo > 0.8 and echoed.fresh == 0 and echoed.score < fresh.score
    restated = judge("Lighthouses have a long history, and the towers were built of stone on the headlands.",
                     focus, ON_TASK)
    new = judge("Lighthouses later burned whale oil, then paraffin, and from 1860 electric arc lamps.", focus, ON_TASK)
    assert restated.focus == new.focus == 1.0 and new.fresh > restated.fresh and new.score > restated.score
    assert restated.repeat > new.repeat
    assert meta.meta and meta.score < fresh.score


def _responder(messages, config):
    """Plans as the mock writes them; passages on task only for seeds that are multiples of three."""
    if is_plan_call(messages):
        return " Early towers\n2. Keepers\n3. Why they stand"
    words, rng = max(20, int(config.max_tokens * 0.75) - 5), random.Random(config.seed)
    if config.seed % 3 == 0:
        return " ".join(f"The lighthouse keepers built tower {rng.randrange(10**6)} on the {lorem_words(1, rng)} "
                        f"rocks." for _ in range(words // 10 + 1))
    return lorem_words(words, rng)


@pytest.mark.parametrize("judge_name", ["lexical", "panel"])
def test_the_continuous_layout_keeps_the_on_task_candidate(tmp_path, judge_name):
    lm = mock_lm(responder=_responder)
    settings = WriteSettings(target_words=300, candidates=3, layout="continuous", candidate_judge=judge_name)
    result = AgentWrite(lm, settings).run(INSTRUCTION, tmp_path / "run")
    assert result.words >= 280
    sections = [read(p) for p in sorted((tmp_path / "run" / "sections").glob("*.json"))]
    notes = [n for s in sections for n in s["notes"] if "kept candidate" in n]
    assert notes
    for note in notes:  # "call 1: kept candidate 3 of 3 (score 0.53 (topic …); others 0.00 (…), 0.00 (…))"
        scores = [float(x) for x in re.findall(r"(?:score |others |, )(-?\d+\.\d+)", note)]
        assert len(scores) >= 3 and scores[0] > max(scores[1:]), note
    body = "\n".join(s["text"] for s in sections)
    assert "lorem" not in body.lower() and "lighthouse keepers" in body
    stages = [c["stage"] for c in read(tmp_path / "run" / "trace.json")["calls"]]
    # the search's cost is in the trace: K - 1 losers a call, 2K - 1 after a round that failed the judge
    assert stages.count("candidate") >= 2 * stages.count("section")
    assert stages.count("candidate") <= 5 * stages.count("section")


def test_one_candidate_is_the_plain_layout(tmp_path):
    lm = mock_lm()
    AgentWrite(lm, WriteSettings(target_words=300, layout="continuous")).run(INSTRUCTION, tmp_path / "run")
    stages = [c["stage"] for c in read(tmp_path / "run" / "trace.json")["calls"]]
    assert "candidate" not in stages and json.dumps(stages)



# --- the panel's judge (candidate_panel.py), with the real MiniLM encoder -----------------------------
EARLY = ("The first lighthouses were fires lit on hilltops and towers along the coast of the Mediterranean. "
         "The Pharos of Alexandria, built around 280 BC, stood over a hundred metres tall and guided ships into "
         "the harbour for centuries until earthquakes brought it down.")
NEIGHBOUR = ("Keepers lived in small cottages beside the towers with their families. Every evening they trimmed "
             "the wicks, polished the lenses and climbed the stairs again at midnight to wind the clockwork that "
             "turned the light, whatever the weather outside.")
PARAPHRASE = ("The earliest lighthouses were hilltop fires and coastal towers around the Mediterranean Sea. "
              "Alexandria's Pharos, raised about 280 BC and more than a hundred metres high, led ships into port "
              "for hundreds of years before earthquakes destroyed it.")
NEW = ("In 1822 Augustin Fresnel designed a lens of concentric glass prisms that bent the lamp's light into a "
       "single beam. A Fresnel lens could be seen twenty miles out to sea, and within decades lighthouse boards "
       "in France, Britain and America fitted them to their towers.")


def test_the_panel_judge_prefers_new_material_to_a_paraphrase_of_an_earlier_paragraph():
    from longform.pipeline.candidate_panel import PanelJudge

    judge_ = PanelJudge(INSTRUCTION, "en")
    judge_.for_section("How lighthouses were built", about_request=True)
    restated, new, drifted = judge_.rate([PARAPHRASE, NEW, DRIFTED], EARLY + "\n\n" + NEIGHBOUR)
    assert restated.restate > 0.8 > new.restate  # the paraphrase is caught, the new passage is not
    assert restated.failed and not new.failed
    assert new.score > restated.score and new.score > drifted.score
    assert drifted.topic < new.topic and drifted.failed  # below the panel's off-topic floor


def test_the_panel_judge_leaves_out_the_paragraph_a_candidate_continues():
    from longform.pipeline.candidate_panel import PanelJudge

    judge_ = PanelJudge(INSTRUCTION, "en")
    (alone,) = judge_.rate([PARAPHRASE], NEIGHBOUR + "\n\n" + EARLY)  # EARLY is the last part: a neighbour
    assert alone.restate < 0.8 and not alone.failed
    meta = judge_.rate([NEW + " In this section we will write 400 words."], "")[0]
    assert meta.meta > 0 and meta.failed and meta.score < judge_.rate([NEW], "")[0].score


def test_the_panel_judge_compares_chinese_within_one_encoding():
    from longform.pipeline.candidate_panel import PanelJudge

    judge_ = PanelJudge("写一篇关于灯塔历史的文章，讲灯塔怎样建成、谁来看守。", "zh")
    earlier = ("最早的灯塔是海岸山顶上点燃的火堆。亚历山大灯塔高一百多米，为船只引路了许多世纪，后来毁于地震。" * 2
               + "\n\n" + "看守人和家人住在灯塔旁边的小屋里，每天晚上修剪灯芯、擦亮透镜，半夜还要上楼上发条。" * 2)
    on, off = judge_.rate(["灯塔的透镜后来换成了菲涅耳透镜，灯塔的光能照到二十海里以外，看守灯塔的人也少了。",
                           "今天我们去超市买了苹果和牛奶，然后回家做饭，晚上看了一部电影。"], earlier)
    assert on.topic > off.topic and on.score > off.score


def test_a_round_that_fails_the_judge_is_sampled_again(tmp_path):
    """Candidates 1-3 of every call drift (lorem), 4-6 stay on task: each call needs a second round,
    and the kept passage comes from it."""
    def responder(messages, config):
        if is_plan_call(messages):
            return " Early towers\n2. Keepers\n3. Why they stand"
        words, rng = max(20, int(config.max_tokens * 0.75) - 5), random.Random(config.seed)
        if config.seed // 104729 >= 3:  # seed = call seed + 104729 · candidate (call seeds stay under 104729)
            return " ".join(f"The lighthouse keepers built tower {rng.randrange(10**6)}." for _ in range(words // 6))
        return lorem_words(words, rng)

    lm = mock_lm(responder=responder)
    settings = WriteSettings(target_words=900, candidates=3, layout="continuous", candidate_judge="lexical")
    AgentWrite(lm, settings).run(INSTRUCTION, tmp_path / "run")
    sections = [read(p) for p in sorted((tmp_path / "run" / "sections").glob("*.json"))]
    notes = [n for s in sections for n in s["notes"] if "kept candidate" in n]
    assert notes and all("of 6" in n and "1 more round(s)" in n for n in notes), notes
    assert "lorem" not in "\n".join(s["text"] for s in sections).lower()
    stages = [c["stage"] for c in read(tmp_path / "run" / "trace.json")["calls"]]
    assert stages.count("candidate") == 5 * stages.count("section")
