"""The topic guard (pipeline/topic_guard.py): paragraphs that leave the request or restate an earlier part
are cut, the section writes on, and a model that cannot stay on the subject still finishes."""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("sentence_transformers")

from longform.backends import load_backend  # noqa: E402
from longform.backends.mock import MockProvider, lorem_words  # noqa: E402
from longform.pipeline.runner import AgentWrite, WriteSettings  # noqa: E402
from longform.pipeline.topic_guard import (  # noqa: E402
    MAX_CUTS,
    REPAIR_CANDIDATES,
    TopicGuard,
    judged,
    paragraphs,
)
from longform.text import count_words  # noqa: E402

TASK = "Write a 300-word story about an old lighthouse keeper in a small harbor town."
ON = [
    "Every evening at dusk, old Tomas climbed the hundred and twelve steps of the lighthouse, wound the clockwork "
    "and trimmed the wick, while the fishing boats of the harbor town turned for home below him.",
    "The keeper had tended the light for forty winters. He knew each skipper by the sound of their engine, and when "
    "fog rolled over the harbor he rang the bell by hand until his shoulders ached.",
    "One November storm the lamp's great lens cracked. Tomas sat up all night in the lantern room with a spare "
    "kerosene lamp, shielding the flame with his coat so that the ships could still find the harbor mouth.",
    "In the morning the harbor master rowed out with bread and a letter: the lighthouse would be automated in the "
    "spring, and the town no longer needed a keeper to live on the rock.",
    "Tomas read the letter twice, then folded it into his logbook beside forty years of tides, storms and the names "
    "of every boat he had guided past the reef into the small harbor.",
    "When spring came, the children of the harbor town walked him down the steps for the last time. They promised to "
    "look up at the beam each night, and to remember the old keeper who had kept it burning.",
    "He took a room above the chandler's shop on the quay, where from his window he could still watch the lighthouse "
    "flash across the water, three long beams and a pause, exactly as he had kept it.",
    "On clear nights the young fishermen would knock on his door to ask about the old channel and the reef, and Tomas "
    "would draw the harbor for them on the back of a tide table, marking every rock.",
    "Years later the town painted his name on the lighthouse door. The keeper's lamp, cracked lens and all, still "
    "stands in the harbor museum, where visitors read his logbook one careful page at a time.",
]
STRAY = ("To change a spreadsheet formula so it copies across columns, select the cell, press F4 to anchor the "
         "reference, and then drag the fill handle; pivot tables and VLOOKUP work the same way in every version.")


def test_paragraphs_keep_their_offsets():
    text = "First one.\n\nSecond one,\nsame paragraph.\n\n\n  Third, unfinished"
    spans = paragraphs(text)
    assert [t for _, t in spans] == ["First one.", "Second one,\nsame paragraph.", "  Third, unfinished"]
    assert all(text[start:start + len(t)] == t for start, t in spans)


def test_on_topic_paragraphs_pass_and_a_stray_one_is_found():
    guard = TopicGuard(TASK, "en")
    assert guard.first_bad(" " + ON[1] + "\n\n" + ON[2], ON[0]) is None
    new = " " + ON[1] + "\n\n" + STRAY + "\n\n" + ON[2]
    cut = guard.first_bad(new, ON[0])
    assert cut is not None and new[cut.at:].startswith(STRAY) and "left the request" in cut.why


def test_a_paraphrase_of_an_earlier_part_is_found():
    guard = TopicGuard(TASK, "en")
    earlier = "\n\n".join(ON[:4])
    again = ("Each evening as dusk fell, the old keeper Tomas went up the lighthouse's hundred and twelve stairs, "
             "wound its clockwork and trimmed its wick, as the harbor town's fishing boats headed home beneath him.")
    cut = guard.first_bad(" " + again, earlier)
    assert cut is not None and cut.at == 0 and "restated" in cut.why


def test_short_lines_and_headings_are_not_judged():
    guard = TopicGuard(TASK, "en")
    assert guard.first_bad("## Pivot tables and VLOOKUP\n\nSee the spreadsheet.", ON[0]) is None


def test_a_run_of_short_lines_is_judged_as_one_passage():
    lines = ["Chapter 11: That's me in the first act", "Chapter 12: And that is how it all starts",
             "Chapter 13: And that is how everything ends", "Chapter 14: The story of my life, what I want next",
             "FINISHED EXECUTION"]
    text = ON[0] + "\n\n" + "\n\n".join(lines)
    spans = judged(text, "en")
    assert len(spans) == 2 and spans[1][0] == text.index(lines[0])
    assert spans[1][1].startswith(lines[0]) and "Chapter 14" in spans[1][1]  # from its first line to where it is enough
    assert len(judged("## Heading\n\n" + "\n\n".join(lines[:2]) + "\n\n## Next\n\n" + lines[2], "en")) == 0


def _run(tmp_path, respond, guard=True):
    lm = load_backend("mock:lorem")
    lm.provider = MockProvider(responder=respond)
    settings = WriteSettings(target_words=300, topic_guard=guard)
    return AgentWrite(lm, settings).run(TASK, tmp_path / ("guarded" if guard else "plain"))


def test_a_stray_paragraph_is_cut_and_written_again(tmp_path):
    def respond(messages, config):
        calls.append(messages[-1]["content"])
        if len(calls) == 1:  # the model wanders after two good paragraphs
            return ON[0] + "\n\n" + ON[1] + "\n\n" + STRAY
        return " " + "\n\n".join(ON[2:])

    calls: list[str] = []
    result = _run(tmp_path, respond)
    assert STRAY not in result.text and ON[2] in result.text
    assert calls[1].endswith(ON[1] + "\n\n"), "the next call went on from the cut, at a paragraph start"
    assert any("left the request" in note for note in result.sections[0].notes)
    calls.clear()
    plain = _run(tmp_path, respond, guard=False)
    assert STRAY in plain.text  # without the guard it stays


def test_after_a_cut_the_paragraph_is_rewritten_as_candidates_and_the_best_kept(tmp_path):
    def respond(messages, config):
        if len(calls) == 0:  # the first call strays after two good paragraphs
            calls.append(config)
            return ON[0] + "\n\n" + ON[1] + "\n\n" + STRAY
        calls.append(config)
        if config.stop:  # a repair: one candidate in three is on the subject
            return " " + (ON[2] if config.seed % 3 == good else STRAY)
        return " " + "\n\n".join(ON[3:])

    calls: list = []
    good = None
    strayed = _run(tmp_path, respond)  # every candidate strays: a failed repair is cut like a paragraph
    repairs = [c for c in calls if c.stop]
    assert len(repairs) == MAX_CUTS * REPAIR_CANDIDATES and all(c.stop == ("\n\n",) for c in repairs)
    assert len({c.seed for c in repairs}) == len(repairs) and all(c.max_tokens <= 160 for c in repairs)
    assert sum("cut a paragraph" in n for n in strayed.sections[0].notes) == MAX_CUTS
    assert count_words(strayed.text) >= 0.93 * 300  # and the section still finishes
    for good in (c.seed % 3 for c in repairs[:REPAIR_CANDIDATES]):  # whichever candidate is the good one, it is kept
        calls.clear()
        result = _run(tmp_path / str(good), respond)
        assert ON[2] in result.text and STRAY not in result.text
        assert result.text.index(ON[1]) < result.text.index(ON[2]) < result.text.index(ON[3])
        assert any(f"of {REPAIR_CANDIDATES}" in n for n in result.sections[0].notes)


def test_a_model_that_always_strays_still_finishes(tmp_path):
    def respond(messages, config):
        calls.append(1)
        words = lorem_words(160, random.Random(len(calls))).split()  # never on topic, never a loop
        return (" " if messages[-1]["content"] else "") + " ".join(words[:80]) + "\n\n" + " ".join(words[80:])

    calls: list[int] = []
    result = _run(tmp_path, respond)
    cuts = [n for n in result.sections[0].notes if "left the request" in n]
    assert len(cuts) == MAX_CUTS
    assert count_words(result.text) >= 0.93 * 300


def test_the_command_line_turns_it_on(tmp_path):
    from longform.cli import main

    out = tmp_path / "cli"
    assert main(["write", TASK, "--out", str(out), "--backend", "mock:lorem", "--words", "300", "--topic-guard",
                 "--quiet"]) == 0
    notes = [n for f in sorted((out / "sections").glob("*.json")) for n in json.loads(f.read_text())["notes"]]
    assert any("left the request" in n for n in notes)  # lorem ipsum is off any request
