"""Hooks that let a progress bar, a log or a web page follow a run.

Subclass `Callbacks` and override what you need; every hook is a no-op by
default. A run takes a list of them and calls each in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .document import CallRecord, RunMeta, SectionRecord
    from .plan import Plan, Section


class Callbacks:
    def on_run_start(self, meta: "RunMeta", resumed_sections: int) -> None: ...

    def on_plan(self, plan: "Plan") -> None: ...

    def on_section_start(self, section: "Section") -> None: ...

    def on_section_delta(self, section: "Section", text: str) -> None:
        """Text streamed while a section is generated (may be discarded: see reset)."""

    def on_section_reset(self, section: "Section", reason: str) -> None:
        """Streamed text of the section so far is void (retry or regeneration)."""

    def on_section_end(self, record: "SectionRecord") -> None: ...

    def on_call(self, record: "CallRecord") -> None: ...

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
