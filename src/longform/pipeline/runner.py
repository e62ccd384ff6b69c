"""AgentWrite, end to end: plan, write every section in order, save as you go.

    writer = AgentWrite(load_backend("embedded"))
    result = writer.run("Write a 3,000-word story about a lighthouse", "runs/lighthouse")

`run(..., resume=True)` picks a killed run up from its directory: the plan and
finished sections are read back, and generation continues with the next
section. Seeds are derived from the run seed and the section index, so a
resumed run writes what an uninterrupted one would have written.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..backends import LM, GenerationConfig
from ..errors import UsageError
from ..lengths import target_words_from_instruction
from ..text import count_words, detect_language
from .context import fit_window, full_conversation
from .document import CallRecord, RunDir, RunMeta, SectionRecord, join_sections
from .events import Callbacks, Fanout
from .plan import Plan
from .planner import make_plan
from .write import SectionSettings, section_heading, write_section

DEFAULT_TARGET_WORDS = 2000


@dataclass
class WriteSettings:
    target_words: int | None = None  # None: read from the instruction, else the default
    seed: int = 0
    plan_attempts: int = 4
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    section: SectionSettings = field(default_factory=SectionSettings)


@dataclass
class RunResult:
    path: Path  # the run directory
    document: Path
    plan: Plan
    sections: list[SectionRecord]
    words: int
    seconds: float

    @property
    def text(self) -> str:
        return join_sections(self.sections)


class AgentWrite:
    def __init__(self, lm: LM, settings: WriteSettings | None = None, callbacks: list[Callbacks] | None = None):
        self.lm = lm
        self.settings = settings or WriteSettings()
        self.events = Fanout(callbacks or [])

    def run(self, instruction: str | None, out_dir: str | Path, resume: bool = False) -> RunResult:
        started = time.perf_counter()
        run_dir = RunDir(out_dir)
        meta = self._open(run_dir, instruction, resume)
        done = run_dir.load_sections() if resume else []
        self.events.on_run_start(meta, len(done))
        plan = (run_dir.load_plan() if resume else None) or self._plan(run_dir, meta)
        for index in range(len(done) + 1, len(plan.sections) + 1):
            done.append(self._section(run_dir, meta, plan, done, index))
            run_dir.write_document(done)
        meta.status = "done"
        run_dir.save_meta(meta)
        path = run_dir.write_document(done)
        self.events.on_run_end(str(path))
        words = count_words(join_sections(done), meta.word_rule)
        return RunResult(run_dir.path, path, plan, done, words, time.perf_counter() - started)

    # stages -------------------------------------------------------------
    def _open(self, run_dir: RunDir, instruction: str | None, resume: bool) -> RunMeta:
        if resume and run_dir.exists():
            meta = run_dir.load_meta()
            if instruction and instruction.strip() != meta.instruction:
                raise UsageError(f"{run_dir.path}: holds a run of a different instruction; use another --out")
            run_dir.load_trace()
            return meta
        if run_dir.exists():
            raise UsageError(f"{run_dir.path}: already holds a run; pass --resume or choose another --out")
        if not instruction or not instruction.strip():
            raise UsageError("the instruction is empty")
        meta = self._new_meta(instruction.strip())
        run_dir.save_meta(meta)
        return meta

    def _new_meta(self, instruction: str) -> RunMeta:
        s = self.settings
        target = s.target_words or target_words_from_instruction(instruction) or DEFAULT_TARGET_WORDS
        return RunMeta(
            instruction=instruction,
            target_words=target,
            language=detect_language(instruction),
            backend=self.lm.name,
            seed=s.seed,
            word_rule=s.section.word_rule,
            settings={"generation": asdict(s.generation), "section": asdict(s.section)},
        )

    def _plan(self, run_dir: RunDir, meta: RunMeta) -> Plan:
        def record(attempt, completion):
            self._record(run_dir, "plan", None, attempt, completion)

        config = self.settings.generation.merged(max_tokens=1024, seed=meta.seed)
        plan = make_plan(self.lm, meta.instruction, meta.target_words, meta.language, config,
                         self.settings.plan_attempts, on_call=record)
        run_dir.save_plan(plan)
        self.events.on_plan(plan)
        return plan

    def _section(self, run_dir: RunDir, meta: RunMeta, plan: Plan, done: list[SectionRecord], index: int):
        section = plan.sections[index - 1]
        self.events.on_section_start(section)
        messages = full_conversation(meta.instruction, plan, done, meta.language)
        settings = self.settings.section.for_language(meta.language)
        messages, dropped = fit_window(messages, self.lm.count_tokens, self._prompt_budget(settings, section.words))
        best, drafts = self._write(run_dir, meta, settings, section, messages, join_sections(done),
                                   len(plan.sections))
        record = SectionRecord(
            index=index, point=section.point, budget=section.words, text=best.text,
            words=count_words(best.text, meta.word_rule), calls=len(drafts),
            finish_reason=best.completion.finish_reason,
            seconds=round(sum(d.completion.seconds for d in drafts), 3),
            repeat_share=round(best.repeat_share, 4),
            notes=[f"dropped {dropped} earlier parts from the context"] if dropped else [],
        )
        run_dir.save_section(record)
        self.events.on_section_end(record)
        return record

    def _write(self, run_dir: RunDir, meta: RunMeta, settings: SectionSettings, section, messages, earlier: str,
               sections: int):
        """Drafts of one section, each call traced and streamed to the callbacks.
        A one-section piece (an email, a short post) gets no heading."""
        config = self.settings.generation.merged(seed=meta.seed * 100_003 + section.index * 1_000)
        return write_section(
            self.lm, messages, section.words, earlier, config, settings,
            heading=section_heading(section.point) if sections > 1 else "",
            on_attempt=lambda d: self._record(run_dir, "section", section.index, d.attempt, d.completion),
            on_delta=lambda text: self.events.on_section_delta(section, text),
            on_reset=lambda reason: self.events.on_section_reset(section, reason),
        )

    def _prompt_budget(self, settings: SectionSettings, section_words: int) -> int | None:
        window = self.lm.context_window
        return None if window is None else window - settings.max_tokens(section_words) - 16

    def _record(self, run_dir: RunDir, stage: str, section: int | None, attempt: int, c) -> None:
        record = CallRecord(stage, section, attempt, c.prompt_tokens, c.cached_tokens,
                            c.completion_tokens, round(c.seconds, 3), c.finish_reason, c.attempts - 1)
        run_dir.add_call(record)
        self.events.on_call(record)
