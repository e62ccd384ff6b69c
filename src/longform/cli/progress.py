"""A rich progress bar that follows a run through its callbacks."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..pipeline.events import Callbacks


class ProgressBar(Callbacks):
    """Words written against the target, section k of n, elapsed time and ETA.

    The bar advances in words, so the ETA reflects how fast text is arriving,
    including streamed text of the section in flight.
    """

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]}"), BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} words"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        self.task = None
        self.done_words = 0
        self.streamed = 0
        self.sections = 0

    def on_run_start(self, meta, resumed_sections):
        self.progress.start()
        self.task = self.progress.add_task("write", total=meta.target_words, stage="planning")
        if resumed_sections:
            self.console.print(f"resuming after {resumed_sections} finished sections")

    def on_plan_progress(self, attempt, pieces, seconds):
        rate = f", {pieces / seconds:.0f} tok/s" if seconds > 0.5 else ""
        self._update(stage=f"planning (attempt {attempt}, ~{pieces} tokens{rate})")

    def on_plan(self, plan):
        self.sections = len(plan.sections)
        note = " (fallback plan)" if plan.source == "fallback" else ""
        self.console.print(f"plan: {self.sections} sections, {plan.target_words:,} words{note}")

    def on_section_start(self, section):
        self.streamed = 0
        self._update(stage=f"section {section.index}/{self.sections or '?'}")

    def on_section_delta(self, section, text):
        self.streamed += len(text.split())
        self._update()

    def on_section_reset(self, section, reason):
        self.streamed = 0
        self._update()

    def on_section_end(self, record):
        self.done_words += record.words
        self.streamed = 0
        self._update()

    def on_run_end(self, document_path):
        self._update(stage="done")
        self.progress.stop()

    def _update(self, **fields):
        if self.task is not None:
            self.progress.update(self.task, completed=self.done_words + self.streamed, **fields)


class LogLines(Callbacks):
    """One line per event, for logs and pipes where a live bar would be noise."""

    def __init__(self, stream=None):
        import sys

        self.stream = stream or sys.stderr
        self.total = 0
        self.words = 0

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_run_start(self, meta, resumed_sections):
        self._say(f"target {meta.target_words:,} words; resumed sections: {resumed_sections}")

    def on_call(self, record):
        if record.stage == "plan":  # planning can take minutes on a CPU: say it is under way
            rate = record.completion_tokens / record.seconds if record.seconds else 0
            self._say(f"plan attempt {record.attempt}: {record.completion_tokens} tokens ({rate:.0f} tok/s)")

    def on_plan(self, plan):
        self.total = len(plan.sections)
        self._say(f"plan: {self.total} sections ({plan.source})")

    def on_section_end(self, record):
        self.words += record.words
        self._say(f"section {record.index}/{self.total}: {record.words} words "
                  f"(budget {record.budget}, {record.calls} call(s), {record.seconds:.1f} s)")
