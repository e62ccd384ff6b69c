"""Progress while planning (issue 26): the line used to sit at `0/500 words` for minutes while
plan attempts ran. Now each attempt streams its progress, and log lines name each attempt."""

from __future__ import annotations

import io

from helpers.engine import mock_lm
from longform.cli.progress import LogLines, ProgressBar
from longform.pipeline.events import Callbacks
from longform.pipeline.runner import AgentWrite, WriteSettings


class PlanWatcher(Callbacks):
    def __init__(self):
        self.progress = []

    def on_plan_progress(self, attempt, pieces, seconds):
        self.progress.append((attempt, pieces, seconds))


def test_plan_attempts_report_their_progress_as_they_stream(tmp_path):
    watcher = PlanWatcher()
    AgentWrite(mock_lm(), WriteSettings(target_words=1500), [watcher]).run("Write about tea.", tmp_path / "r")
    assert watcher.progress and watcher.progress[0][0] == 1
    pieces = [p for a, p, _ in watcher.progress if a == 1]
    assert pieces == list(range(1, len(pieces) + 1)) and len(pieces) >= 2  # the mock streams 16 words a piece


def test_log_lines_name_each_plan_attempt_and_the_bar_shows_it(tmp_path):
    stream = io.StringIO()
    AgentWrite(mock_lm(), WriteSettings(target_words=1500), [LogLines(stream)]).run("Write about tea.", tmp_path / "r")
    lines = stream.getvalue().splitlines()
    assert any(line.startswith("plan attempt 1: ") and "tok/s" in line for line in lines), lines
    bar = ProgressBar()
    bar.task = bar.progress.add_task("write", total=1500, stage="planning")
    bar.on_plan_progress(2, 120, 3.0)
    assert bar.progress.tasks[0].fields["stage"] == "planning (attempt 2, ~120 tokens, 40 tok/s)"


def test_verbose_logs_through_python_logging_and_the_default_stays_quiet(tmp_path):
    import subprocess
    import sys

    def run(*flags):
        out = tmp_path / f"run{len(flags)}"
        return subprocess.run([sys.executable, "-m", "longform", *flags, "write", "Write a 900-word essay about tea.",
                               "--backend", "mock:lorem", "--quiet", "--out", str(out)],
                              capture_output=True, text=True, timeout=120).stderr.splitlines()

    quiet, verbose = run(), run("-v")
    assert not any(" INFO longform." in line for line in quiet)
    assert any(" INFO longform.pipeline.runner: " in line and "plan of" in line for line in verbose)
    assert any("section 1 done" in line for line in verbose)
    assert any(" INFO longform.backends: backend mock ready" in line for line in run("--log-level", "info", "-v"))


def test_library_users_capture_the_records(tmp_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="longform"):
        AgentWrite(mock_lm(), WriteSettings(target_words=900)).run("Write about tea.", tmp_path / "r")
    assert any(r.name == "longform.pipeline.runner" and "section 1 done" in r.getMessage() for r in caplog.records)
