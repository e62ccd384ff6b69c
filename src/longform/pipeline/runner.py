"""AgentWrite, end to end: plan, write every section in order, save as you go.

    writer = AgentWrite(load_backend("embedded"))
    result = writer.run("Write a 3,000-word story about a lighthouse", "runs/lighthouse")

`run(..., resume=True)` picks a killed run up from its directory: the plan,
finished sections and context rolls are read back, and generation continues
with the next section. Seeds are derived from the run seed and the section
index, so a resumed run writes what an uninterrupted one would have written.

Three layouts of what each call sees:

- `continuous` (default where the backend can continue a reply): the document is
  one growing reply, each call extends the last prompt, the context rolls with a
  running summary when it outgrows the window (continuous.py, rolling.py);
- `turns` (servers that cannot continue a reply): one user/assistant turn per
  section, the oldest turns dropped when the window is full (context.py, write.py);
- `official`: LongWriter's layout, every call a new prompt with all the text so
  far; kept as the baseline the benchmarks compare with.

With `control_length` (default) every section's budget is its share of what the
document still needs (length.py), so the run lands on the requested total.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..backends import LM, GenerationConfig
from ..errors import UsageError
from ..lengths import target_words_from_instruction
from ..text import count_words, detect_language, repeated_ngram_share
from .context import fit_window, full_conversation, official_conversation
from .continuous import ContinuousWriter, Hooks
from .document import CallRecord, RunDir, RunMeta, SectionRecord, join_sections
from .events import Callbacks, Fanout
from .length import LengthPolicy, TokenRate, rebalance
from .plan import Plan, Section
from .planner import make_plan
from .rolling import RollingContext
from .write import SectionSettings, extend_section, section_heading, write_section

DEFAULT_TARGET_WORDS = 2000
LAYOUTS = ("auto", "continuous", "turns", "official")


@dataclass
class WriteSettings:
    target_words: int | None = None  # None: read from the instruction, else the default
    seed: int = 0
    plan_attempts: int = 4
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    section: SectionSettings = field(default_factory=SectionSettings)
    layout: str = "auto"  # see the module docstring; auto = continuous where the backend allows
    context_tokens: int | None = None  # working window; None: the backend's (lm.working_window)
    control_length: bool = True
    length: LengthPolicy = field(default_factory=LengthPolicy)


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


def raw_text(done: list[SectionRecord]) -> str:
    """The document as the continuous layout's prompts hold it: sections exactly as
    generated. `join_sections` tidies whitespace for document.md, but a prompt that
    differs from the generated text by one newline misses the prefix cache there."""
    return "\n\n".join(record.text for record in done)


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
        layout = self._layout()
        if layout == "continuous":
            self._continuous_setup(run_dir, meta, plan, done)
        for index in range(len(done) + 1, len(plan.sections) + 1):
            section = plan.sections[index - 1]
            budget = self._budget(plan, done, index, meta)
            self.events.on_section_start(section)
            write = {"continuous": self._continuous_section, "turns": self._turns_section,
                     "official": self._official_section}[layout]
            record = write(run_dir, meta, plan, done, section, budget)
            run_dir.save_section(record)
            self.events.on_section_end(record)
            done.append(record)
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

    def _layout(self) -> str:
        layout = self.settings.layout
        if layout not in LAYOUTS:
            raise UsageError(f"unknown layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
        if layout == "auto":
            return "continuous" if self.lm.supports_prefill else "turns"
        if layout == "continuous" and not self.lm.supports_prefill:
            raise UsageError(f"the continuous layout needs a backend that continues a reply; {self.lm.name} "
                             "does not (use --layout turns)")
        return layout

    def _budget(self, plan: Plan, done: list[SectionRecord], index: int, meta: RunMeta) -> int:
        section = plan.sections[index - 1]
        if not self.settings.control_length:
            return section.words
        written = count_words(join_sections(done), meta.word_rule)
        return rebalance([s.words for s in plan.sections], index, written, meta.target_words)

    def _window(self) -> int:
        window = self.settings.context_tokens or self.lm.working_window
        if window is None:
            return 1 << 30  # no known limit: never roll
        if self.lm.context_window is not None:
            window = min(window, self.lm.context_window)
        return window

    def _record_section(self, meta: RunMeta, section: Section, budget: int, text: str, completions, notes,
                        repeat_share: float = 0.0) -> SectionRecord:
        return SectionRecord(
            index=section.index, point=section.point, budget=budget, text=text,
            words=count_words(text, meta.word_rule), calls=len(completions),
            finish_reason=completions[-1].finish_reason if completions else "stop",
            seconds=round(sum(c.seconds for c in completions), 3),
            repeat_share=round(repeat_share or repeated_ngram_share(text), 4), notes=notes,
            completion_tokens=sum(c.completion_tokens for c in completions))

    # continuous layout ----------------------------------------------------
    def _continuous_setup(self, run_dir: RunDir, meta: RunMeta, plan: Plan, done: list[SectionRecord]) -> None:
        settings = self.settings.section.for_language(meta.language)
        saved = RollingContext.rolls_from(run_dir.load_context())
        context = RollingContext(meta.instruction, plan, meta.language, saved).restored(
            len(done), raw_text(done))
        rate = TokenRate(settings.tokens_per_word)
        for record in done:  # a resumed run knows the rate an uninterrupted one would have
            rate.add(record.completion_tokens, record.generated_words)
        self._writer = ContinuousWriter(self.lm, context, self.settings.generation, rate, self._window(),
                                        self.settings.length, meta.word_rule)

    def _continuous_section(self, run_dir: RunDir, meta: RunMeta, plan: Plan, done: list[SectionRecord],
                            section: Section, budget: int) -> SectionRecord:
        hooks = Hooks(
            on_call=lambda stage, index, attempt, c: self._record(run_dir, stage, index, attempt, c),
            on_roll=lambda context: run_dir.save_context(context.to_dict()),
            on_delta=lambda text: self.events.on_section_delta(section, text),
            on_reset=lambda reason: self.events.on_section_reset(section, reason),
        )
        heading = section_heading(section.point) if len(plan.sections) > 1 else ""
        seed = meta.seed * 100_003 + section.index * 1_000
        final = self.settings.control_length and section.index == len(plan.sections)
        draft = self._writer.write(section.index, budget, heading, raw_text(done), seed, hooks, final)
        record = self._record_section(meta, section, budget, draft.text, draft.completions, draft.notes)
        record.generated_words = draft.generated_words
        # learnt per finished section only, so a resumed run sizes its calls as an uninterrupted one
        self._writer.rate.add(record.completion_tokens, record.generated_words)
        return record

    # turns and official layouts -------------------------------------------
    def _turns_section(self, run_dir: RunDir, meta: RunMeta, plan: Plan, done: list[SectionRecord],
                       section: Section, budget: int) -> SectionRecord:
        messages = full_conversation(meta.instruction, plan, done, meta.language)
        settings = self.settings.section.for_language(meta.language)
        messages, dropped = fit_window(messages, self.lm.count_tokens, self._prompt_budget(settings, budget))
        heading = section_heading(section.point) if len(plan.sections) > 1 else ""
        best, drafts = self._write(run_dir, meta, settings, section, budget, messages, join_sections(done), heading)
        completions = [d.completion for d in drafts]
        text = best.text
        if self.settings.control_length:  # short of budget: ask for more in follow-up turns
            def traced(attempt, completion):
                completions.append(completion)
                self._record(run_dir, "section", section.index, len(drafts) + attempt + 1, completion)

            config = self.settings.generation.merged(seed=meta.seed * 100_003 + section.index * 1_000)
            text = extend_section(self.lm, messages, text, budget, config, settings, meta.language,
                                  self.settings.length.max_calls - 1, traced)
            if text != best.text:  # a stream shows the section as it now stands
                self.events.on_section_reset(section, "continued to reach its length")
                self.events.on_section_delta(section, text)
        notes = [f"dropped {dropped} earlier parts from the context"] if dropped else []
        return self._record_section(meta, section, budget, text, completions, notes,
                                    best.repeat_share if text == best.text else 0.0)

    def _official_section(self, run_dir: RunDir, meta: RunMeta, plan: Plan, done: list[SectionRecord],
                          section: Section, budget: int) -> SectionRecord:
        settings = self.settings.section.for_language(meta.language)
        messages = official_conversation(meta.instruction, plan, done, section.index, meta.language,
                                         self.lm.count_tokens, self._prompt_budget(settings, budget))
        settings = dataclasses.replace(settings, attempts=1)  # the official scripts take the first draft
        best, drafts = self._write(run_dir, meta, settings, section, budget, messages, join_sections(done), "")
        return self._record_section(meta, section, budget, best.text, [d.completion for d in drafts], [],
                                    best.repeat_share)

    def _write(self, run_dir: RunDir, meta: RunMeta, settings: SectionSettings, section, budget: int, messages,
               earlier: str, heading: str):
        """Drafts of one section, each call traced and streamed to the callbacks.
        A one-section piece (an email, a short post) gets no heading."""
        config = self.settings.generation.merged(seed=meta.seed * 100_003 + section.index * 1_000)
        return write_section(
            self.lm, messages, budget, earlier, config, settings,
            heading=heading,
            on_attempt=lambda d: self._record(run_dir, "section", section.index, d.attempt, d.completion),
            on_delta=lambda text: self.events.on_section_delta(section, text),
            on_reset=lambda reason: self.events.on_section_reset(section, reason),
        )

    def _prompt_budget(self, settings: SectionSettings, section_words: int) -> int | None:
        window = self.settings.context_tokens or self.lm.context_window
        return None if window is None else window - settings.max_tokens(section_words) - 16

    def _record(self, run_dir: RunDir, stage: str, section: int | None, attempt: int, c) -> None:
        record = CallRecord(stage, section, attempt, c.prompt_tokens, c.cached_tokens,
                            c.completion_tokens, round(c.seconds, 3), c.finish_reason, c.attempts - 1)
        run_dir.add_call(record)
        self.events.on_call(record)
