"""AgentWrite resumes a killed run (SIGKILL between sections, during planning,
in process) and writes what an uninterrupted run would have written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.engine import (
    INSTRUCTION,
    Recorder,
    mock_lm,
    read,
    section_files,
)
from longform.pipeline.runner import AgentWrite, WriteSettings

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


def test_a_resumed_run_counts_the_work_a_kill_lost_apart(tmp_path):
    """D20: the calls of sections a kill made the resumed run write again are kept in the trace,
    marked lost; the totals count all work done and, apart, what was lost, so the work that
    reached the document equals an uninterrupted run's."""
    full = AgentWrite(mock_lm(), WriteSettings(seed=5)).run(INSTRUCTION, tmp_path / "full")
    out = tmp_path / "part"
    AgentWrite(mock_lm(), WriteSettings(seed=5)).run(INSTRUCTION, out)
    for i in range(3, len(full.sections) + 1):  # as if killed after section 2, the later calls finished
        (out / "sections" / f"{i:03d}.json").unlink()
    AgentWrite(mock_lm(), WriteSettings(seed=5)).run(INSTRUCTION, out, resume=True)
    trace, reference = read(out / "trace.json"), read(tmp_path / "full" / "trace.json")
    lost = [c for c in trace["calls"] if c.get("lost")]
    assert lost and {c["section"] for c in lost} == set(range(3, len(full.sections) + 1))
    totals = trace["totals"]
    assert totals["lost_completion_tokens"] == sum(c["completion_tokens"] for c in lost) > 0
    assert totals["completion_tokens"] - totals["lost_completion_tokens"] == reference["totals"]["completion_tokens"]
    assert "lost_completion_tokens" not in reference["totals"]


def test_resume_removes_temporaries_a_kill_left_behind(tmp_path):
    """D18: a SIGKILL between an atomic write and its rename leaves ".NAME.XXXX.tmp"; resuming
    deletes them and keeps everything else."""
    out = tmp_path / "run"
    AgentWrite(mock_lm(), WriteSettings(seed=2)).run(INSTRUCTION, out)
    stale = [out / ".document.md.k3j2.tmp", out / "sections" / ".002.json.x9z1.tmp"]
    for path in stale:
        path.write_text("half")
    kept = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p not in stale}
    AgentWrite(mock_lm(), WriteSettings(seed=2)).run(None, out, resume=True)
    assert not any(p.exists() for p in stale)
    assert {p: p.read_bytes() for p in kept} == kept


@pytest.mark.slow
def test_embedded_run_killed_after_section_1_resumes_byte_identical(tmp_path):
    """D5: a fresh process re-tokenized the text the killed one had generated, splitting some words
    differently from the model's own tokens, and wrote a different section 2. tokens.json hands the
    killed process's token runs to the resumed one."""
    pytest.importorskip("llama_cpp")
    args = ["--backend", "embedded", "--seed", "3", "--quiet", "--words", "700"]
    instruction = "Write a 700-word essay about the history of tea."
    ref, out = tmp_path / "ref", tmp_path / "out"
    done = cli("write", instruction, "--out", str(ref), *args, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert len(section_files(ref)) >= 2, "the test needs a second section to resume into"
    kill_when(["write", instruction, "--out", str(out), *args], tmp_path,
              lambda: (out / "sections" / "001.json").exists(), timeout=600)
    assert section_files(out) == ["001.json"]
    resumed = cli("write", instruction, "--out", str(out), *args, "--resume", cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(out, ref)
