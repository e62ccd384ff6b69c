"""Layouts: what each model call sees while a document is written, one strategy per module.

- `continuous` (default where the backend can continue a reply): the document is one
  growing reply; each call extends the last prompt, and the context rolls with a
  running summary when it outgrows the window;
- `turns` (servers that cannot continue a reply): one user/assistant turn per section,
  the oldest turns dropped when the window is full;
- `official`: LongWriter's layout, every call a new prompt with all the text so far;
  kept as the baseline the benchmarks compare with.

A new layout is one new module with a `SectionLayout` subclass, registered below.
"""

from __future__ import annotations

from ...backends import LM
from ...errors import UsageError
from .base import RunState, SectionLayout, record_section
from .continuous import ContinuousLayout
from .official import OfficialLayout
from .turns import TurnsLayout

REGISTRY: dict[str, type[SectionLayout]] = {
    layout.name: layout for layout in (ContinuousLayout, TurnsLayout, OfficialLayout)
}
LAYOUTS = ("auto", *REGISTRY)


def choose(name: str, lm: LM) -> SectionLayout:
    """The layout called `name` for this backend; `auto` is continuous where the backend
    can continue a reply, else turns."""
    if name not in LAYOUTS:
        raise UsageError(f"unknown layout {name!r}: choose one of {', '.join(LAYOUTS)}")
    if name == "auto":
        name = "continuous" if lm.supports_prefill else "turns"
    if name == "continuous" and not lm.supports_prefill:
        raise UsageError(f"the continuous layout needs a backend that continues a reply; {lm.name} "
                         "does not (use --layout turns)")
    return REGISTRY[name]()


__all__ = ["LAYOUTS", "REGISTRY", "RunState", "SectionLayout", "choose", "record_section"]
