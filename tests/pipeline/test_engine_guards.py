"""AgentWrite's guards against a small model: loops and empty or short drafts
are redrawn, and unusable plans are retried or fall back."""

from __future__ import annotations

import pytest

from helpers.engine import (
    INSTRUCTION,
    LOOP,
    Recorder,
    is_plan_call,
    last_user,
    mock_lm,
    read,
)
from longform.backends.mock import MockProvider
from longform.pipeline.runner import AgentWrite, WriteSettings
from longform.text import repeated_ngram_share

# ------------------------------------------------------------------ loop guard


def lorem_responder(override):
    """Lorem answers, except where `override(messages, n)` returns text; n counts
    calls with the same final request."""
    base = MockProvider()
    seen: dict[str, int] = {}

    def respond(messages, config):
        key = last_user(messages)
        seen[key] = seen.get(key, 0) + 1
        special = override(messages, seen[key])
        return special if special is not None else base.generate(messages, config).text

    return respond


def test_loop_is_regenerated(tmp_path):
    def loop_once(messages, n):
        return LOOP if "part 2 of" in last_user(messages) and n == 1 else None

    lm = mock_lm(responder=lorem_responder(loop_once))
    recorder = Recorder()
    settings = WriteSettings(target_words=1200, layout="turns")
    result = AgentWrite(lm, settings, [recorder]).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls == 2
    assert "lantern swings" not in record.text
    assert record.repeat_share < 0.25
    assert repeated_ngram_share(record.text) < 0.25
    assert all(s.calls == 1 for s in result.sections if s.index != 2)
    calls = read(tmp_path / "r" / "trace.json")["calls"]
    assert [c["attempt"] for c in calls if c["section"] == 2] == [1, 2]
    assert (2, "regenerating") in recorder.resets
    assert recorder.streams[2] == record.text
    # the next section's conversation holds the kept draft, not the loop
    part3 = next(m for m in lm.provider.calls if "part 3 of" in last_user(m))
    assert all("lantern swings" not in m["content"] for m in part3)
    assert record.text in [m["content"] for m in part3]


def test_empty_draft_after_the_heading_is_regenerated(tmp_path):
    def nothing_once(messages, n):
        return "" if "part 2 of" in last_user(messages) and n == 1 else None

    lm = mock_lm(responder=lorem_responder(nothing_once))
    settings = WriteSettings(target_words=1200, layout="turns")
    result = AgentWrite(lm, settings, []).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls == 2
    assert record.words > 50  # the second draft's prose, not just the heading


def test_draft_that_stops_far_short_is_redrawn(tmp_path):
    def short_once(messages, n):
        if "part 2 of" in last_user(messages) and n == 1:
            return "The harbor was quiet at dawn, and the boats waited for the tide."
        return None

    lm = mock_lm(responder=lorem_responder(short_once))
    settings = WriteSettings(target_words=1200, layout="turns")
    result = AgentWrite(lm, settings, []).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls == 2
    assert record.words >= record.budget * 0.5


def test_loop_in_every_draft_keeps_the_best(tmp_path):
    def always_loop(messages, n):
        if "part 2 of" in last_user(messages):
            return LOOP if n < 3 else "Short but clean text about the harbor at dawn. " + LOOP[:200]
        return None

    lm = mock_lm(responder=lorem_responder(always_loop))
    settings = WriteSettings(target_words=1200, layout="turns")
    result = AgentWrite(lm, settings).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls >= 3  # settings.section.attempts drafts, then follow-ups to reach the budget
    assert record.text.startswith("## ") and "Short but clean" in record.text  # the least repetitive draft
    assert len(result.sections) == len(result.plan.sections)


def test_restart_of_earlier_text_is_regenerated(tmp_path):
    def copy_part_one(messages, n):
        if "part 3 of" in last_user(messages) and n == 1:
            return messages[2]["content"].split("\n\n", 1)[1]  # the body of part 1, again
        return None

    lm = mock_lm(responder=lorem_responder(copy_part_one))
    settings = WriteSettings(target_words=1500, layout="turns")
    result = AgentWrite(lm, settings).run("A story about a harbor", tmp_path / "r")
    assert result.sections[2].calls == 2
    body_one = result.sections[0].text.split("\n\n", 1)[1]
    assert body_one not in result.sections[2].text


# ------------------------------------------------------------------ plan fallback


@pytest.mark.parametrize("attempts", [1, 3])
def test_unusable_plan_falls_back(tmp_path, attempts):
    def chatter(messages, n):
        return " Sure! I would be happy to help you write this story." if is_plan_call(messages) else None

    lm = mock_lm(responder=lorem_responder(chatter))
    result = AgentWrite(lm, WriteSettings(plan_attempts=attempts)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.source == "fallback"
    assert any("fallback" in note for note in result.plan.notes)
    assert read(tmp_path / "r" / "plan.json")["source"] == "fallback"
    calls = read(tmp_path / "r" / "trace.json")["calls"]
    assert [c["attempt"] for c in calls if c["stage"] == "plan"] == list(range(1, attempts + 1))
    assert sum(s.words for s in result.plan.sections) == 3000
    assert len(result.sections) == len(result.plan.sections) >= 2
    assert read(tmp_path / "r" / "run.json")["status"] == "done"
    assert abs(result.words - 3000) <= 300


@pytest.mark.parametrize("echo", [
    " What this part covers - 300 words\nOutput only the numbered outline, nothing else.",
    " What this part covers - 300 words",
])
def test_plan_that_copies_the_prompt_example_is_rejected(tmp_path, echo):
    def copy_example(messages, n):
        return echo if is_plan_call(messages) else None

    lm = mock_lm(responder=lorem_responder(copy_example))
    result = AgentWrite(lm, WriteSettings(target_words=800, plan_attempts=2)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.source == "fallback"
    assert all("what this part covers" not in s.point.lower() for s in result.plan.sections)


def test_plan_with_far_too_many_sections_is_rejected(tmp_path):
    def rambling(messages, n):
        if is_plan_call(messages):
            return " " + "\n".join(f"{i}. A point about harbors number {i}" for i in range(1, 27))
        return None

    lm = mock_lm(responder=lorem_responder(rambling))
    result = AgentWrite(lm, WriteSettings(target_words=900, plan_attempts=2)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.source == "fallback"
    assert len(result.plan.sections) == 3  # the fallback's 3 sections of ~300 words, not the model's 26


def test_a_short_request_gets_one_section_and_no_outline_call(tmp_path):
    """Under one section's length (~525 words) no outline is asked for: a 135M model's outline of
    a 100-word text was chatter that became its headings. LongWriter's own layout still plans."""
    plan_calls = []

    def counting(messages, n):
        if is_plan_call(messages):
            plan_calls.append(messages)
            return " Here's a written outline for the post\n2. Use the markdown bullet points\n3. Origins"
        return None

    lm = mock_lm(responder=lorem_responder(counting))
    result = AgentWrite(lm, WriteSettings(target_words=200)).run(INSTRUCTION, tmp_path / "r")
    assert not plan_calls and result.plan.source == "short" and len(result.plan.sections) == 1
    assert not result.sections[0].text.startswith("## ")  # a one-section piece has no heading
    assert 170 <= result.words <= 240
    official = AgentWrite(lm, WriteSettings(target_words=200, layout="official", plan_attempts=1))
    assert official.run(INSTRUCTION, tmp_path / "o").plan.source != "short" and plan_calls


def test_plan_accepted_on_second_attempt(tmp_path):
    plan_calls = []

    def chatter_once(messages, n):
        if is_plan_call(messages):
            plan_calls.append(messages)
            return " Sure! Happy to help." if len(plan_calls) == 1 else None
        return None

    lm = mock_lm(responder=lorem_responder(chatter_once))
    result = AgentWrite(lm, WriteSettings(plan_attempts=3)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.source == "model"
    assert any("attempt 2" in note for note in result.plan.notes)
    assert len(plan_calls) == 2 and plan_calls[0][1] != plan_calls[1][1]  # re-asked in the other phrasing
