"""How a run reports: public hooks for a progress bar, a log or a web page, and the
recorder that feeds them and the trace.

Subclass `Callbacks` and override what you need; every hook is a no-op by
default. A run takes a list of them and calls each in order. Inside a run, one
`RunRecorder` writes each model call to the trace and tells the callbacks; the
layouts report through it (`SectionReport`), never through callbacks of their own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .document import CallRecord

if TYPE_CHECKING:
    from .document import RunDir, RunMeta, SectionRecord
    from .plan import Plan, Section


class Callbacks:
    def on_run_start(self, meta: "RunMeta", resumed_sections: int) -> None: ...

    def on_plan(self, plan: "Plan") -> None: ...

    def on_plan_progress(self, attempt: int, pieces: int, seconds: float) -> None:
        """While an outline is generated: the attempt, the text pieces streamed so far (about one
        a token) and the seconds since the attempt began."""

    def on_section_start(self, section: "Section") -> None: ...

    def on_section_delta(self, section: "Section", text: str) -> None:
        """Text streamed while a section is generated (may be discarded: see reset)."""

    def on_section_reset(self, section: "Section", reason: str) -> None:
        """Streamed text of the section so far is void (retry or regeneration)."""

    def on_section_settled(self, section: "Section", text: str) -> None:
        """The section's text so far that is final: the finished record starts with it."""

    def on_section_end(self, record: "SectionRecord") -> None: ...

    def on_call(self, record: CallRecord) -> None: ...

    def on_run_end(self, document_path: str) -> None: ...


class Fanout(Callbacks):
    """Calls every hook on each of several callbacks objects."""

    def __init__(self, targets: list[Callbacks]):
        self.targets = list(targets)

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            targets = object.__getattribute__(self, "targets")
            return lambda *args, **kw: [getattr(t, name)(*args, **kw) for t in targets] and None
        return object.__getattribute__(self, name)


class SectionReport:
    """What a layout tells the run while it writes one section (`section` is None for the
    plan): each model call, streamed text, a void stream, a context roll. One object, so a
    layout needs no callbacks of its own and no lambdas to wire them."""

    def __init__(self, recorder: "RunRecorder", section: "Section | None"):
        self.recorder, self.section = recorder, section

    def call(self, stage: str, attempt: int, completion) -> None:
        self.recorder.call(stage, self.section.index if self.section else None, attempt, completion)

    def delta(self, text: str) -> None:
        if self.section is not None:
            self.recorder.events.on_section_delta(self.section, text)

    def plan_stream(self, attempt: int):
        """The on_delta sink of one plan attempt: each piece advances on_plan_progress."""
        started, pieces = time.perf_counter(), [0]

        def take(text: str) -> None:
            pieces[0] += 1
            self.recorder.events.on_plan_progress(attempt, pieces[0], time.perf_counter() - started)
        return take

    def reset(self, reason: str) -> None:
        if self.section is not None:
            self.recorder.events.on_section_reset(self.section, reason)

    def settled(self, text: str) -> None:
        if self.section is not None and text:
            self.recorder.events.on_section_settled(self.section, text)

    def replay(self, reason: str, text: str) -> None:
        """The streamed text is void: say why, then send the section as it now stands."""
        self.reset(reason)
        if text:
            self.delta(text)

    def roll(self, context) -> None:
        self.recorder.run_dir.save_context(context.to_dict())


class RunRecorder:
    """The one place a run's progress goes: the trace on disk (every call as a CallRecord)
    and the public callbacks. Layouts and the planner report through `section(...)`."""

    def __init__(self, run_dir: "RunDir", events: Callbacks):
        self.run_dir, self.events = run_dir, events

    def section(self, section: "Section | None") -> SectionReport:
        return SectionReport(self, section)

    def call(self, stage: str, section: int | None, attempt: int, c) -> None:
        record = CallRecord.of(stage, section, attempt, c)
        self.run_dir.add_call(record)
        self.events.on_call(record)
