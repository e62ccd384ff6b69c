"""AgentWrite end to end with the mock backend: artifacts, prefix-cache layout,
events, resume after SIGKILL, errors, loop guard, plan fallback, retries and
context-window handling."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longform.backends import load_backend
from longform.backends.mock import MockProvider
from longform.errors import UsageError
from longform.pipeline.events import Callbacks
from longform.pipeline.runner import AgentWrite, WriteSettings
from longform.text import count_words, repeated_ngram_share

INSTRUCTION = "Write a 3000-word story about a lighthouse keeper who finds a message in a bottle"
LOOP = "The lantern swings over the dark harbor tonight. " * 40


def mock_lm(spec: str = "mock:lorem", **attrs):
    lm = load_backend(spec)
    lm.backoff_base = 0.001  # injected failures are retried at once
    for name, value in attrs.items():
        setattr(lm.provider, name, value)
    return lm


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def section_files(run: Path) -> list[str]:
    folder = run / "sections"
    return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []


def is_plan_call(messages) -> bool:
    return messages[-1] == {"role": "assistant", "content": "1."}


def last_user(messages) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def without_prefill(messages):
    return messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages


class Recorder(Callbacks):
    """Records every event; rebuilds each section's streamed text, honouring resets."""

    def __init__(self):
        self.events: list[tuple] = []
        self.streams: dict[int, str] = {}
        self.resets: list[tuple[int, str]] = []

    def on_run_start(self, meta, resumed_sections):
        self.events.append(("run_start", resumed_sections))

    def on_plan(self, plan):
        self.events.append(("plan", len(plan.sections)))

    def on_section_start(self, section):
        self.events.append(("section_start", section.index))
        self.streams[section.index] = ""

    def on_section_delta(self, section, text):
        self.streams[section.index] += text

    def on_section_reset(self, section, reason):
        self.resets.append((section.index, reason))
        self.streams[section.index] = ""

    def on_section_end(self, record):
        self.events.append(("section_end", record.index))

    def on_call(self, record):
        self.events.append(("call", record.stage, record.section, record.attempt))

    def on_run_end(self, document_path):
        self.events.append(("run_end", document_path))


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
    assert len(recorder.resets) == 1
    index, reason = recorder.resets[0]
    assert index == 1 and reason.startswith("retrying after")
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


# ------------------------------------------------------------------ resume after SIGKILL


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "longform", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


def write_args(out: Path, backend: str = "mock:lorem") -> list[str]:
    return ["write", INSTRUCTION, "--backend", backend, "--out", str(out), "--seed", "7", "--quiet"]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted run, same seed, no delay."""
    root = tmp_path_factory.mktemp("reference")
    done = cli(*write_args(root / "ref"), cwd=root)
    assert done.returncode == 0, done.stderr
    return root / "ref"


def kill_when(args: list[str], cwd: Path, ready, timeout: float = 60) -> None:
    """Start the CLI, wait until `ready()` holds, then SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-m", "longform", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"finished before the kill point: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def assert_same_run(run: Path, reference: Path) -> None:
    meta = read(run / "run.json")
    assert meta["status"] == "done"
    plan, ref_plan = read(run / "plan.json"), read(reference / "plan.json")
    assert plan["sections"] == ref_plan["sections"]
    n = len(plan["sections"])
    assert section_files(run) == section_files(reference) == [f"{i:03d}.json" for i in range(1, n + 1)]
    for name in section_files(reference):
        mine, theirs = read(run / "sections" / name), read(reference / "sections" / name)
        assert mine["text"] == theirs["text"], name
        assert mine["index"] == theirs["index"]
    document = (run / "document.md").read_text(encoding="utf-8")
    assert document == (reference / "document.md").read_text(encoding="utf-8")
    for section in plan["sections"]:  # each heading once: nothing duplicated, nothing missing
        heading = read(run / "sections" / f"{section['index']:03d}.json")["text"].splitlines()[0]
        assert document.count(heading + "\n") == 1
    trace = read(run / "trace.json")
    assert trace["totals"]["calls"] == len(trace["calls"])
    assert {c["section"] for c in trace["calls"] if c["stage"] == "section"} == set(range(1, n + 1))


@pytest.mark.parametrize("trial", range(3))
def test_resume_after_sigkill_between_sections(tmp_path, reference_run, trial):
    n = len(read(reference_run / "plan.json")["sections"])
    k = random.Random(2024).sample(range(1, n), 3)[trial]  # three distinct kill points, 1 ≤ k < n
    out = tmp_path / "run"
    kill_when(write_args(out, "mock:lorem?delay=0.25"), tmp_path, lambda: len(section_files(out)) >= k)
    written = len(section_files(out))
    assert 1 <= written < n, f"killed too late: {written} of {n} sections"
    assert read(out / "run.json")["status"] == "running"
    created = read(out / "run.json")["created"]

    resumed = cli(*write_args(out), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == str(out / "document.md")
    assert_same_run(out, reference_run)
    assert read(out / "run.json")["created"] == created  # the same run, continued
    trace = read(out / "trace.json")
    assert sum(c["stage"] == "plan" for c in trace["calls"]) >= 1  # the killed process's calls are kept


def test_resume_after_sigkill_during_planning(tmp_path, reference_run):
    out = tmp_path / "run"
    kill_when(write_args(out, "mock:lorem?delay=0.5"), tmp_path, lambda: (out / "run.json").exists())
    assert not (out / "plan.json").exists()
    assert section_files(out) == []
    resumed = cli(*write_args(out), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(out, reference_run)


def test_resume_of_a_finished_run_makes_no_calls(tmp_path):
    out = tmp_path / "run"
    first = AgentWrite(mock_lm(), WriteSettings(seed=2)).run(INSTRUCTION, out)
    document = (out / "document.md").read_text(encoding="utf-8")
    sections = {name: (out / "sections" / name).read_bytes() for name in section_files(out)}
    lm = mock_lm()
    recorder = Recorder()
    again = AgentWrite(lm, WriteSettings(seed=2), [recorder]).run(None, out, resume=True)
    assert lm.provider.calls == [] and lm.usage.calls == 0
    assert again.text == first.text
    assert (out / "document.md").read_text(encoding="utf-8") == document
    assert {name: (out / "sections" / name).read_bytes() for name in section_files(out)} == sections
    assert recorder.events[0] == ("run_start", len(first.sections))
    assert [e for e in recorder.events if e[0] in ("call", "section_start", "plan")] == []
    # the same instruction may be repeated on resume
    AgentWrite(mock_lm(), WriteSettings(seed=2)).run(INSTRUCTION, out, resume=True)


def test_resume_in_process_matches_uninterrupted(tmp_path):
    """Kill simulated in process: delete the later sections of a finished run."""
    full = AgentWrite(mock_lm(), WriteSettings(seed=5)).run(INSTRUCTION, tmp_path / "full")
    out = tmp_path / "part"
    AgentWrite(mock_lm(), WriteSettings(seed=5)).run(INSTRUCTION, out)
    n = len(full.sections)
    for i in range(3, n + 1):
        (out / "sections" / f"{i:03d}.json").unlink()
    lm = mock_lm()
    resumed = AgentWrite(lm, WriteSettings(seed=5)).run(INSTRUCTION, out, resume=True)
    # no plan call, only the missing sections' calls
    assert len(lm.provider.calls) == sum(s.calls for s in full.sections[2:])
    assert resumed.text == full.text


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
    result = AgentWrite(lm, WriteSettings(target_words=1200, layout="turns"), [recorder]).run("A story about a harbor", tmp_path / "r")
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
    result = AgentWrite(lm, WriteSettings(target_words=1200, layout="turns"), []).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls == 2
    assert record.words > 50  # the second draft's prose, not just the heading


def test_draft_that_stops_far_short_is_redrawn(tmp_path):
    def short_once(messages, n):
        if "part 2 of" in last_user(messages) and n == 1:
            return "The harbor was quiet at dawn, and the boats waited for the tide."
        return None

    lm = mock_lm(responder=lorem_responder(short_once))
    result = AgentWrite(lm, WriteSettings(target_words=1200, layout="turns"), []).run("A story about a harbor", tmp_path / "r")
    record = result.sections[1]
    assert record.calls == 2
    assert record.words >= record.budget * 0.5


def test_loop_in_every_draft_keeps_the_best(tmp_path):
    def always_loop(messages, n):
        if "part 2 of" in last_user(messages):
            return LOOP if n < 3 else "Short but clean text about the harbor at dawn. " + LOOP[:200]
        return None

    lm = mock_lm(responder=lorem_responder(always_loop))
    result = AgentWrite(lm, WriteSettings(target_words=1200, layout="turns")).run("A story about a harbor", tmp_path / "r")
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
    result = AgentWrite(lm, WriteSettings(target_words=1500, layout="turns")).run("A story about a harbor", tmp_path / "r")
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
    result = AgentWrite(lm, WriteSettings(target_words=200, plan_attempts=2)).run(INSTRUCTION, tmp_path / "r")
    assert result.plan.source == "fallback"
    assert len(result.plan.sections) == 1
    assert not result.sections[0].text.startswith("## ")  # a one-section piece has no heading


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
