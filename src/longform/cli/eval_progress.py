"""Progress over benchmark items: a rich bar on a terminal, one line per item elsewhere."""

from __future__ import annotations

import sys
import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..evals.generate import EvalCallbacks


def item_progress(quiet: bool) -> list[EvalCallbacks]:
    if quiet:
        return []
    return [ItemBar() if sys.stderr.isatty() else ItemLines()]


class ItemBar(EvalCallbacks):
    """Items done of total, words written (finished items plus those in flight), ETA by items."""

    def __init__(self, console: Console | None = None, label: str = "generate"):
        self.progress = Progress(
            TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("items"),
            TextColumn("{task.fields[words]:,} words"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console or Console(stderr=True), transient=False)
        self.task = None
        self.finished_words = 0
        self.in_flight: dict[int, int] = {}  # item id → words so far (agentwrite reports per section)
        self._lock = threading.Lock()  # hooks arrive from worker threads

    def on_start(self, total, done):
        self.progress.start()
        self.task = self.progress.add_task("items", total=total, completed=done, words=0)
        if done:
            self.progress.console.print(f"resuming: {done} of {total} items already done")

    def on_item_words(self, item, words):
        with self._lock:
            self.in_flight[item.id] = words
            self._refresh()

    def on_item_done(self, item, row):
        with self._lock:
            self.in_flight.pop(item.id, None)
            self.finished_words += row["response_words"]
            self._refresh(advance=1)

    def on_item_failed(self, item, error):
        with self._lock:  # the item is over for this run: the bar moves on, the line says why
            self.in_flight.pop(item.id, None)
            self.progress.console.print(failure_line(item, error))
            self._refresh(advance=1)

    def on_item_elsewhere(self, item):
        with self._lock:
            self.progress.console.print(elsewhere_line(item))
            self._refresh(advance=1)

    def on_end(self):
        self.progress.stop()

    def _refresh(self, advance: int = 0):
        words = self.finished_words + sum(self.in_flight.values())
        self.progress.update(self.task, advance=advance, words=words)


class ItemLines(EvalCallbacks):
    """One line per finished item, for logs and pipes."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.total = self.done = 0
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_start(self, total, done):
        self.total, self.done = total, done
        self._say(f"{total} items" + (f", {done} already done" if done else ""))

    def on_item_done(self, item, row):
        with self._lock:
            self.done += 1
            self._say(f"item {item.id} ({self.done}/{self.total}): {row['response_words']:,} words "
                      f"for {item.length:,} asked, {row['seconds']:.1f} s")

    def on_item_failed(self, item, error):
        with self._lock:
            self._say(failure_line(item, error))

    def on_item_elsewhere(self, item):
        with self._lock:
            self._say(elsewhere_line(item))


def failure_line(item, error) -> str:
    return f"item {item.id} failed ({error}); logged in errors.jsonl, retried by the next run"


def elsewhere_line(item) -> str:
    return f"item {item.id}: another process sharing --out is writing it; left to that process"


class JudgeLines:
    """`on_done` for judge_rows: a line per judged row, or a bar on a terminal."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.done = total, quiet, 0
        self.tty = sys.stderr.isatty()

    def __call__(self, index: int, row: dict) -> None:
        self.done += 1
        if self.quiet:
            return
        judge = row.get("judge") or {}
        verdict = "unscored" if judge.get("S_q") is None else f"S_q {judge['S_q']:.1f}"
        end = "\r" if self.tty and self.done < self.total else "\n"
        # padded: "\r" overwrites, and a shorter line would leave the tail of the last one
        print(f"judged {self.done}/{self.total}: {verdict}".ljust(32), end=end, file=sys.stderr, flush=True)
