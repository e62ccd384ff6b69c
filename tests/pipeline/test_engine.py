"""AgentWrite end to end with the mock backend: artifacts, prefix-cache layout,
events, errors, retries, context-window handling and layouts (resume in
test_engine_resume.py; loop guard and plan fallback in test_engine_guards.py)."""

from __future__ import annotations

import pytest

from helpers.engine import (
    INSTRUCTION,
    Recorder,
    is_plan_call,
    mock_lm,
    read,
    section_files,
    without_prefill,
)
from longform.backends import load_backend
from longform.errors import UsageError
from longform.pipeline.events import Callbacks
from longform.pipeline.runner import AgentWrite, WriteSettings
from longform.text import count_words


@pytest.fixture(scope="module")
def basic_run(tmp_path_factory):
    """One uninterrupted 3000-word run, shared by the read-only checks below."""
    out = tmp_path_factory.mktemp("basic") / "run"
    lm = mock_lm()
    recorder = Recorder()
    result = AgentWrite(lm, WriteSettings(seed=7), [recorder]).run(INSTRUCTION, out)
    return out, lm, recorder, result

# ------------------------------------------------------------------ end to end


def test_artifacts(basic_run):
    out, _, _, result = basic_run
    meta = read(out / "run.json")
    assert meta["status"] == "done"
    assert meta["instruction"] == INSTRUCTION and meta["target_words"] == 3000
    assert meta["backend"] == "mock" and meta["seed"] == 7 and meta["language"] == "en"

    plan = read(out / "plan.json")
    n = len(plan["sections"])
    assert n >= 2 and plan["source"] == "model"
    assert sum(s["words"] for s in plan["sections"]) == 3000
    assert section_files(out) == [f"{i:03d}.json" for i in range(1, n + 1)]
    sections = [read(out / "sections" / f"{i:03d}.json") for i in range(1, n + 1)]
    for i, (record, point) in enumerate(zip(sections, plan["sections"]), 1):
        assert record["index"] == i
        assert record["point"] == point["point"]
        assert record["words"] == count_words(record["text"])
        assert record["text"].startswith("## ")  # the prefilled heading is part of the section
        assert record["calls"] >= 1 and record["finish_reason"] == "stop"
    assert sections[0]["budget"] == plan["sections"][0]["words"]  # later budgets absorb earlier misses

    document = (out / "document.md").read_text(encoding="utf-8")
    assert document == "\n\n".join(r["text"].strip() for r in sections) + "\n"
    assert document.rstrip("\n") == result.text
    assert result.document == out / "document.md" and result.path == out
    assert len(result.sections) == n

    # the length controller lands the document on the target
    total = count_words(document)
    assert total == result.words
    assert abs(total - 3000) <= 0.05 * 3000
    for record in sections:
        assert abs(record["words"] - record["budget"]) <= 0.1 * record["budget"]


def test_trace(basic_run):
    out, lm, _, result = basic_run
    trace = read(out / "trace.json")
    calls, totals = trace["calls"], trace["totals"]
    n = len(result.plan.sections)
    assert len(calls) == len(lm.provider.calls) >= n + 1  # one plan call, then each section's calls
    assert calls[0]["stage"] == "plan" and {c["stage"] for c in calls[1:]} == {"section"}
    sections = [c["section"] for c in calls[1:]]
    assert sections == sorted(sections) and set(sections) == set(range(1, n + 1))
    assert [sections.count(i) for i in range(1, n + 1)] == [r.calls for r in result.sections]
    assert totals["calls"] == len(calls)
    assert totals["retries"] == sum(c["retries"] for c in calls) == 0
    for key in ("prompt_tokens", "cached_tokens", "completion_tokens"):
        assert totals[key] == sum(c[key] for c in calls)
    assert totals["prefill_tokens"] == totals["prompt_tokens"] - totals["cached_tokens"]
    assert totals["seconds"] == pytest.approx(sum(c["seconds"] for c in calls), abs=0.01)
    assert totals["completion_tokens"] == lm.usage.completion_tokens
    # prompt tokens as the backend counted them
    for record, messages in zip(calls, lm.provider.calls):
        assert record["prompt_tokens"] == lm.count_tokens(messages)


def test_every_call_extends_the_previous_one(basic_run):
    """Continuous layout: one growing reply, so each prompt is the previous prompt
    plus the text written since (and the next heading)."""
    _, lm, _, result = basic_run
    plan_call, *section_calls = lm.provider.calls
    assert is_plan_call(plan_call)
    assert section_calls[0][0] == plan_call[0]  # same system prompt as the plan call
    for previous, current in zip(section_calls, section_calls[1:]):
        assert len(current) == 3 and current[:2] == previous[:2]  # system · task: never rewritten
        assert current[2]["role"] == "assistant"
        assert current[2]["content"].startswith(previous[2]["content"])
    # the last call's reply holds every finished section but the last, word for word
    assert section_calls[-1][2]["content"].startswith(result.text[: len(result.text) - len(result.sections[-1].text)])
    for messages in section_calls:
        assert messages[-1]["role"] == "assistant" and messages[-1]["content"].startswith("## ")


def test_events(basic_run):
    out, _, recorder, result = basic_run
    kinds = [e[0] for e in recorder.events]
    assert recorder.events[0] == ("run_start", 0)
    assert recorder.events[-1] == ("run_end", str(out / "document.md"))
    assert kinds.count("call") == len(read(out / "trace.json")["calls"])
    expected = [("call", "plan", None, 1), ("plan", len(result.sections))]
    for record in result.sections:
        expected += [("section_start", record.index)]
        expected += [("call", "section", record.index, k) for k in range(1, record.calls + 1)]
        expected += [("section_end", record.index)]
    assert recorder.events[1:-1] == expected
    for record in result.sections:  # streamed text, heading prefill included, is the section
        assert recorder.streams[record.index] == record.text


def test_events_after_a_retried_section_call(tmp_path):
    lm = mock_lm()

    class FailOnce(Recorder):
        def on_plan(self, plan):
            super().on_plan(plan)
            lm.provider.fails_left = 1  # the first section call fails once

    recorder = FailOnce()
    result = AgentWrite(lm, WriteSettings(target_words=800), [recorder]).run("An essay on tea", tmp_path / "r")
    # the retry is the first section's one reset (later sections may be trimmed to length)
    first = [reason for index, reason in recorder.resets if index == 1]
    assert len(first) == 1 and first[0].startswith("retrying after")
    assert recorder.resets[0][0] == 1
    for record in result.sections:
        assert recorder.streams[record.index] == record.text
    trace = read(tmp_path / "r" / "trace.json")
    assert trace["calls"][1]["retries"] == 1 and trace["totals"]["retries"] == 1


def test_deterministic_and_seeded(tmp_path):
    a = AgentWrite(mock_lm(), WriteSettings(seed=3)).run(INSTRUCTION, tmp_path / "a")
    b = AgentWrite(mock_lm(), WriteSettings(seed=3)).run(INSTRUCTION, tmp_path / "b")
    c = AgentWrite(mock_lm(), WriteSettings(seed=4)).run(INSTRUCTION, tmp_path / "c")
    assert a.text == b.text
    assert a.text != c.text


def test_words_setting_overrides_instruction(tmp_path):
    result = AgentWrite(mock_lm(), WriteSettings(target_words=1200)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.target_words == 1200
    assert sum(s.words for s in result.plan.sections) == 1200
    assert abs(result.words - 1200) <= 120


def test_chinese_instruction(tmp_path):
    result = AgentWrite(mock_lm()).run("写一篇3000字的关于灯塔看守人的小说", tmp_path / "r")
    assert read(tmp_path / "r" / "run.json")["language"] == "zh"
    assert result.plan.target_words == 3000
    assert len(result.sections) == len(result.plan.sections) >= 2
    assert abs(result.words - 3000) <= 0.05 * 3000  # counted by the benchmark rule (characters for 字)

# ------------------------------------------------------------------ errors


def test_existing_run_without_resume(tmp_path):
    out = tmp_path / "run"
    AgentWrite(mock_lm(), WriteSettings(target_words=600)).run("An essay on tea", out)
    before = (out / "run.json").read_bytes()
    with pytest.raises(UsageError, match="already holds a run"):
        AgentWrite(mock_lm()).run("An essay on tea", out)
    assert (out / "run.json").read_bytes() == before


def test_resume_with_another_instruction(tmp_path):
    out = tmp_path / "run"
    AgentWrite(mock_lm(), WriteSettings(target_words=600)).run("An essay on tea", out)
    lm = mock_lm()
    with pytest.raises(UsageError, match="different instruction"):
        AgentWrite(lm).run("An essay on coffee", out, resume=True)
    assert lm.provider.calls == []


@pytest.mark.parametrize("instruction", ["", "   \n\t", None])
def test_empty_instruction(tmp_path, instruction):
    lm = mock_lm()
    with pytest.raises(UsageError, match="empty"):
        AgentWrite(lm).run(instruction, tmp_path / "run")
    assert lm.provider.calls == []
    assert not (tmp_path / "run" / "run.json").exists()

# ------------------------------------------------------------------ transient failures


def test_transient_failures_are_retried(tmp_path):
    lm = mock_lm("mock:lorem?fail=2")
    result = AgentWrite(lm, WriteSettings(seed=7)).run(INSTRUCTION, tmp_path / "r")
    trace = read(tmp_path / "r" / "trace.json")
    assert trace["totals"]["retries"] == 2
    assert trace["calls"][0]["stage"] == "plan" and trace["calls"][0]["retries"] == 2
    assert read(tmp_path / "r" / "run.json")["status"] == "done"
    # a retried call leaves no trace in the text
    clean = AgentWrite(mock_lm(), WriteSettings(seed=7)).run(INSTRUCTION, tmp_path / "clean")
    assert result.text == clean.text


def test_permanent_failure_keeps_finished_work(tmp_path):
    from longform.errors import BackendError

    lm = load_backend("mock:lorem", max_retries=1)
    lm.backoff_base = 0.001

    class BreakAfterTwo(Callbacks):
        def on_section_end(self, record):
            if record.index == 2:
                lm.provider.fails_left = 10

    out = tmp_path / "r"
    with pytest.raises(BackendError):
        AgentWrite(lm, WriteSettings(seed=1), [BreakAfterTwo()]).run(INSTRUCTION, out)
    assert section_files(out) == ["001.json", "002.json"]
    assert read(out / "run.json")["status"] == "running"
    resumed = AgentWrite(mock_lm(), WriteSettings(seed=1)).run(None, out, resume=True)
    full = AgentWrite(mock_lm(), WriteSettings(seed=1)).run(INSTRUCTION, tmp_path / "full")
    assert resumed.text == full.text


# ------------------------------------------------------------------ context window


@pytest.mark.parametrize("window", [1000, 2500])
def test_small_context_window_drops_early_parts(tmp_path, window):
    lm = mock_lm(context_window=window)
    settings = WriteSettings(seed=7, layout="turns")
    result = AgentWrite(lm, settings).run(INSTRUCTION, tmp_path / "r")
    n = len(result.plan.sections)
    assert len(result.sections) == n and read(tmp_path / "r" / "run.json")["status"] == "done"

    section_calls = lm.provider.calls[1:]
    s = settings.section
    dropped = []
    for record, messages in zip(result.sections, section_calls):
        budget = window - int(record.budget * s.tokens_per_word * s.headroom) - 16
        assert lm.count_tokens(without_prefill(messages)) <= budget
        assert messages[1] == section_calls[0][1]  # the task and outline are always kept
        parts = sum(m["role"] == "assistant" for m in without_prefill(messages))
        assert parts + (int(record.notes[0].split()[1]) if record.notes else 0) == record.index - 1
        dropped.append(int(record.notes[0].split()[1]) if record.notes else 0)
    assert dropped[0] == 0 and dropped[-1] > 0
    assert dropped == sorted(dropped)
    assert any("dropped" in note for note in result.sections[-1].notes)
    assert result.sections[0].text not in [m["content"] for m in section_calls[-1]]
    # parts are dropped several at a time, so the prefix stays stable between drops
    stable = [i for i in range(1, n) if dropped[i] == dropped[i - 1] > 0]
    assert stable or window < 2000  # a tiny window keeps no written part at all
    for i in stable:
        previous = without_prefill(section_calls[i - 1])
        assert section_calls[i][: len(previous)] == previous


@pytest.mark.parametrize("layout", ["turns", "continuous"])
def test_tiny_context_window_is_a_clear_error(tmp_path, layout):
    lm = mock_lm(context_window=300)
    with pytest.raises(UsageError, match="window"):
        AgentWrite(lm, WriteSettings(seed=7, layout=layout)).run(INSTRUCTION, tmp_path / "r")


# ------------------------------------------------------------------ layouts


def test_continuous_layout_needs_a_backend_that_continues_replies(tmp_path):
    lm = mock_lm(supports_prefill=False)
    with pytest.raises(UsageError, match="continues a reply"):
        AgentWrite(lm, WriteSettings(layout="continuous")).run(INSTRUCTION, tmp_path / "r")
    auto = AgentWrite(mock_lm(supports_prefill=False), WriteSettings(target_words=900)).run(INSTRUCTION, tmp_path / "a")
    assert len(auto.sections) >= 2  # auto picks the turns layout


def test_official_layout_resends_all_text_in_one_fresh_prompt(tmp_path):
    lm = mock_lm()
    result = AgentWrite(lm, WriteSettings(target_words=1500, layout="official")).run(INSTRUCTION, tmp_path / "r")
    section_calls = lm.provider.calls[1:]
    assert len(section_calls) == len(result.sections)
    for k, messages in enumerate(section_calls):
        assert [m["role"] for m in messages] == ["system", "user"]
        for earlier in result.sections[:k]:  # every earlier section is inside the one prompt
            assert earlier.text.strip() in messages[1]["content"]
        assert f"step {k + 1}:" in messages[1]["content"]
