"""What every layout shares: the interface, the run state it writes from, and the helpers
that the layouts would otherwise each write again (the window rule, per-section seeds,
headings, turning what was written into a SectionRecord).

A layout decides what each model call sees. It is asked two things:

    layout.resume(state)                          # rebuild its own state for a resumed run
    layout.write(state, section, budget, final)   # -> SectionRecord

and never saves anything itself: the runner commits each record, and every call and
streamed text goes through `state.report(section)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...backends import LM
from ...text import count_words, repeated_ngram_share
from ..cleaning import section_heading
from ..document import RunDir, RunMeta, SectionRecord, join_sections
from ..drafts import SectionSettings, write_section
from ..events import RunRecorder, SectionReport
from ..length import LengthController
from ..plan import Plan, Section
from ..settings import WriteSettings

NO_LIMIT = 1 << 30  # a backend that names no window: never roll, never drop


@dataclass
class RunState:
    """Everything a layout may read about the run in progress."""

    lm: LM
    settings: WriteSettings
    meta: RunMeta
    plan: Plan
    done: list[SectionRecord]  # finished sections, in order
    run_dir: RunDir
    recorder: RunRecorder

    @property
    def section_settings(self) -> SectionSettings:
        return self.settings.section.for_language(self.meta.language)

    @property
    def length(self) -> LengthController:
        return LengthController(self.settings.length, self.meta.word_rule, self.settings.control_length)

    def report(self, section: Section | None) -> SectionReport:
        return self.recorder.section(section)

    def seed(self, section: Section) -> int:
        """Each section's seed follows from the run seed and its index alone, so a resumed
        run writes what an uninterrupted one would have written."""
        return self.meta.seed * 100_003 + section.index * 1_000

    def heading(self, section: Section) -> str:
        """A one-section piece (an email, a short post) gets no heading."""
        return section_heading(section.point, self.meta.instruction) if len(self.plan.sections) > 1 else ""

    def window(self) -> int:
        """The working window: the settings' or the backend's, never past the real one."""
        window = self.settings.context_tokens or self.lm.working_window
        if window is None:
            return NO_LIMIT
        if self.lm.context_window is not None:
            window = min(window, self.lm.context_window)
        return window

    def prompt_budget(self, section_words: int) -> int | None:
        """Tokens a one-call-per-section prompt may take, leaving room for the reply."""
        window = self.settings.context_tokens or self.lm.context_window
        return None if window is None else window - self.section_settings.max_tokens(section_words) - 16

    def raw_text(self) -> str:
        """The document as a continuing prompt holds it: sections exactly as generated.
        `join_sections` tidies whitespace for document.md, but a prompt that differs
        from the generated text by one newline misses the prefix cache there."""
        return "\n\n".join(record.text for record in self.done)


class SectionLayout:
    """One way of laying out what each call sees; subclasses are registered in layouts/."""

    name = ""

    def resume(self, state: RunState) -> None:
        """Rebuild what the layout keeps between sections (nothing, by default)."""

    def write(self, state: RunState, section: Section, budget: int, final: bool) -> SectionRecord:
        raise NotImplementedError


def record_section(state: RunState, section: Section, budget: int, text: str, completions, notes,
                   repeat_share: float = 0.0) -> SectionRecord:
    """The record of a finished section, its numbers summed over every call it took."""
    return SectionRecord(
        index=section.index, point=section.point, budget=budget, text=text,
        words=count_words(text, state.meta.word_rule), calls=len(completions),
        finish_reason=completions[-1].finish_reason if completions else "stop",
        seconds=round(sum(c.seconds for c in completions), 3),
        repeat_share=round(repeat_share or repeated_ngram_share(text), 4), notes=notes,
        completion_tokens=sum(c.completion_tokens for c in completions))


def spoken_length(words: int) -> int:
    """A budget as a person would say it (416 → 400): small models copy odd numbers into the text."""
    step = 50 if words >= 100 else 10
    return max(step, round(words / step) * step)


def write_drafts(state: RunState, section: Section, budget: int, messages, settings: SectionSettings,
                 heading: str):
    """Drafts of one section in one call each (drafts.write_section), reported as the run's."""
    config = state.settings.generation.merged(seed=state.seed(section))
    return write_section(state.lm, messages, budget, join_sections(state.done), config, settings,
                         heading=heading, report=state.report(section))
