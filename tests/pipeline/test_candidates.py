"""Candidate search (pipeline/candidates.py): the lexical judge on real passages of the embedded
model's demo document, and the continuous layout keeping the most on-task of K continuations."""

from __future__ import annotations

import json
import random

from helpers.engine import is_plan_call, mock_lm, read
from longform import AgentWrite, WriteSettings
from longform.backends.mock import lorem_words
from longform.pipeline.candidates import judge, key_terms, stem

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


def test_the_continuous_layout_keeps_the_on_task_candidate(tmp_path):
    lm = mock_lm(responder=_responder)
    result = AgentWrite(lm, WriteSettings(target_words=300, candidates=3, layout="continuous")).run(
        INSTRUCTION, tmp_path / "run")
    assert result.words >= 280
    sections = [read(p) for p in sorted((tmp_path / "run" / "sections").glob("*.json"))]
    notes = [n for s in sections for n in s["notes"] if "kept candidate" in n]
    assert notes
    for note in notes:  # "call 1: kept candidate 3 of 3 (score 0.53; others 0.00, 0.00)"
        kept, others = note.split("score ")[1].rstrip(")").split("; others ")
        assert float(kept) > max(float(x) for x in others.split(", ")), note
    body = "\n".join(s["text"] for s in sections)
    assert "lorem" not in body.lower() and "lighthouse keepers" in body
    stages = [c["stage"] for c in read(tmp_path / "run" / "trace.json")["calls"]]
    assert stages.count("candidate") == 2 * stages.count("section")  # the search's cost is in the trace


def test_one_candidate_is_the_plain_layout(tmp_path):
    lm = mock_lm()
    AgentWrite(lm, WriteSettings(target_words=300, layout="continuous")).run(INSTRUCTION, tmp_path / "run")
    stages = [c["stage"] for c in read(tmp_path / "run" / "trace.json")["calls"]]
    assert "candidate" not in stages and json.dumps(stages)

