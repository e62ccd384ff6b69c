"""Run directories: every artifact of a run, saved the moment it exists.

    run.json          what was asked (instruction, target, backend, seed) and status
    plan.json         the parsed, repaired plan
    sections/NNN.json one file per finished section, written atomically
    trace.json        one record per model call, with token counts and timings
    context.json      continuous layout: each context roll with the model's running summary
    document.md       the sections so far, joined; complete when status is "done"

A run killed at any moment loses at most the section in flight; `RunDir`
reloads the rest for `--resume`.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..backends.base import Usage
from ..errors import UsageError
from ..io import atomic_write_json, atomic_write_text, read_run_file
from ..typecheck import build
from .plan import Plan


@dataclass
class RunMeta:
    instruction: str
    target_words: int
    language: str
    backend: str
    seed: int
    word_rule: str = "official"
    status: str = "running"  # running | done
    created: float = field(default_factory=time.time)
    settings: dict = field(default_factory=dict)


@dataclass
class SectionRecord:
    index: int
    point: str
    budget: int
    text: str
    words: int
    calls: int = 1  # model calls spent on this section (regenerations included)
    finish_reason: str = "stop"
    seconds: float = 0.0
    repeat_share: float = 0.0
    notes: list[str] = field(default_factory=list)
    completion_tokens: int = 0  # over every call of this section
    generated_words: int = 0  # words those calls wrote, before loops and overruns were cut


@dataclass
class CallRecord:
    stage: str  # plan | section | summary
    section: int | None
    attempt: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str
    retries: int = 0  # transport retries inside this call (429/5xx/dropped stream)
    retry_errors: list = dataclasses.field(default_factory=list)  # what each failed attempt died of
    retry_seconds: float = 0.0  # already in `seconds`: the failed attempts and the waits after them
    lost: bool = False  # finished, but for a section (or plan) a kill made the resumed run do again

    @classmethod
    def of(cls, stage: str, section: int | None, attempt: int, c) -> "CallRecord":
        """The trace's record of one finished backend call (a `Completion`); its seconds count
        the failed attempts and the backoff too, so the trace adds up to the wall time."""
        return cls(stage, section, attempt, c.prompt_tokens, c.cached_tokens, c.completion_tokens,
                   round(c.seconds + c.retry_seconds, 3), c.finish_reason, c.attempts - 1,
                   list(c.retry_errors), round(c.retry_seconds, 3))


_read = read_run_file


def _load(cls, file: Path, data=None):
    return build(cls, _read(file) if data is None else data, str(file))


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.sections_dir = self.path / "sections"
        self.calls: list[CallRecord] = []

    # run.json -----------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / "run.json").exists()

    def save_meta(self, meta: RunMeta) -> None:
        atomic_write_json(self.path / "run.json", asdict(meta))

    def load_meta(self) -> RunMeta:
        try:
            return _load(RunMeta, self.path / "run.json")
        except FileNotFoundError:
            raise UsageError(f"{self.path}: no run to resume (run.json missing)") from None

    # plan.json ----------------------------------------------------------
    def save_plan(self, plan: Plan) -> None:
        atomic_write_json(self.path / "plan.json", plan.to_dict())

    def load_plan(self) -> Plan | None:
        file = self.path / "plan.json"
        return Plan.load(_read(file), str(file)) if file.exists() else None

    # sections -----------------------------------------------------------
    def save_section(self, record: SectionRecord) -> None:
        atomic_write_json(self.sections_dir / f"{record.index:03d}.json", asdict(record))

    def load_sections(self) -> list[SectionRecord]:
        """Finished sections 1..k in order; stops at the first gap."""
        records: list[SectionRecord] = []
        while (file := self.sections_dir / f"{len(records) + 1:03d}.json").exists():
            records.append(_load(SectionRecord, file))
        return records

    # trace.json ---------------------------------------------------------
    def load_trace(self) -> None:
        file = self.path / "trace.json"
        if file.exists():
            calls = _read(file)
            if not isinstance(calls, dict) or not isinstance(calls.get("calls"), list):
                raise UsageError(f"{file}: damaged run file (no list of calls)")
            self.calls = [_load(CallRecord, file, c) for c in calls["calls"]]

    def mark_lost(self, sections_done: int, plan_saved: bool) -> None:
        """On resume: calls whose work never reached a saved file (a section after the last saved
        one, a plan that was not saved) are marked lost, so the totals say what the kill cost."""
        changed = False
        for call in self.calls:
            lost = (call.stage == "plan" and not plan_saved) or (  # summaries are numbered by roll: kept
                call.stage == "section" and call.section is not None and call.section > sections_done)
            if lost and not call.lost:
                call.lost, changed = True, True
        if changed:
            atomic_write_json(self.path / "trace.json", trace_summary(self.calls))

    def add_call(self, record: CallRecord) -> None:
        self.calls.append(record)
        atomic_write_json(self.path / "trace.json", trace_summary(self.calls))

    # tokens.json: the backend's tokenization state at the last two section boundaries -------
    def save_tokens(self, sections_done: int, runs: list | None) -> None:
        """Saved before the section it follows, so a kill between the two still finds the state
        of the boundary it resumes from (`sections_done` - 1) beside the new one."""
        if runs is None:
            return
        states = self._token_states()
        states = {k: v for k, v in states.items() if int(k) == sections_done - 1}
        atomic_write_json(self.path / "tokens.json", {"states": {**states, str(sections_done): runs}})

    def load_tokens(self, sections_done: int) -> list | None:
        return self._token_states().get(str(sections_done))

    def _token_states(self) -> dict:
        file = self.path / "tokens.json"
        data = _read(file) if file.exists() else {"states": {}}
        states = data.get("states") if isinstance(data, dict) else None
        ok = isinstance(states, dict) and all(
            k.isdigit() and isinstance(v, list) and all(isinstance(run, dict) and isinstance(run.get("tokens"), list)
                                                        for run in v) for k, v in states.items())
        if not ok:
            raise UsageError(f"{file}: damaged run file (expected token runs by section count)")
        return states

    # context.json: the continuous layout's rolls (summaries) -------------
    def save_context(self, data: dict) -> None:
        atomic_write_json(self.path / "context.json", data)

    def load_context(self) -> dict:
        file = self.path / "context.json"
        from .rolling import Roll

        data = _read(file) if file.exists() else {}
        if not isinstance(data, dict) or not isinstance(data.get("rolls", []), list):
            raise UsageError(f"{file}: damaged run file (expected an object with a list of rolls)")
        for i, roll in enumerate(data.get("rolls", [])):
            build(Roll, roll, f"{file}: rolls[{i}]")
        return data

    # document.md ----------------------------------------------------------
    def write_document(self, sections: list[SectionRecord]) -> Path:
        path = self.path / "document.md"
        atomic_write_text(path, join_sections(sections) + "\n")
        return path


def join_sections(sections: list[SectionRecord]) -> str:
    """The document text: sections separated by a blank line, runs of blank lines
    collapsed (the saved section text stays as generated, for the prefix cache)."""
    return tidy("\n\n".join(s.text.strip() for s in sections if s.text.strip()))


def tidy(text: str) -> str:
    """Section text as the document shows it: stripped, runs of blank lines collapsed, no
    paragraph opening with a space (a model's first token is often " The")."""
    return re.sub(r"\n\n[ \t]+", "\n\n", re.sub(r"\n{3,}", "\n\n", text.strip()))


def usage_of(calls: list[CallRecord]) -> Usage:
    """What a run cost, over every call of every process that worked on it (a resumed run's
    earlier calls included): the numbers a caller reports, so nobody re-reads trace.json."""
    return Usage(len(calls), sum(c.prompt_tokens for c in calls), sum(c.cached_tokens for c in calls),
                 sum(c.completion_tokens for c in calls), round(sum(c.seconds for c in calls), 3),
                 sum(c.retries for c in calls))


def trace_summary(calls: list[CallRecord]) -> dict:
    """The trace file's content: every call plus totals used by reports and benchmarks."""
    out = sum(c.completion_tokens for c in calls)
    prompt = sum(c.prompt_tokens for c in calls)
    cached = sum(c.cached_tokens for c in calls)
    seconds = sum(c.seconds for c in calls)
    totals = {
        "calls": len(calls),
        "retries": sum(c.retries for c in calls),
        "prompt_tokens": prompt,
        "cached_tokens": cached,
        "prefill_tokens": prompt - cached,
        "completion_tokens": out,  # every finished call: the work done, resumes' lost calls included
        "seconds": round(seconds, 3),
        "output_tokens_per_second": round(out / seconds, 2) if seconds else None,
        "prefill_per_output_token": round((prompt - cached) / out, 3) if out else None,
    }
    lost = sum(c.completion_tokens for c in calls if c.lost)
    if lost:  # only a resumed run that redid finished work has it
        totals["lost_completion_tokens"] = lost
    return {"totals": totals, "calls": [_call_dict(c) for c in calls]}


def _call_dict(call: CallRecord) -> dict:
    """A call as the trace keeps it; the retry fields only where there were retries."""
    data = asdict(call)
    if not call.retries:
        data.pop("retry_errors"), data.pop("retry_seconds")
    if not call.lost:
        data.pop("lost")
    return data
