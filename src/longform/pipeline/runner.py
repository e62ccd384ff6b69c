"""AgentWrite, end to end: open the run, plan, pick the layout, write every section in
order, commit each as it is finished.

    writer = AgentWrite(load_backend("embedded"))
    result = writer.run("Write a 3,000-word story about a lighthouse", "runs/lighthouse")

`run(..., resume=True)` picks a killed run up from its directory: the plan,
finished sections and context rolls are read back, and generation continues
with the next section. Seeds are derived from the run seed and the section
index, so a resumed run writes what an uninterrupted one would have written.

What each call sees is the layout's business (pipeline/layouts/). With
`control_length` (default) every section's budget is its share of what the
document still needs (length.py), so the run lands on the requested total.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..backends import LM, Usage
from ..errors import BackendError, UsageError
from ..io import remove_stale_temporaries
from ..lengths import target_words_from_instruction
from ..text import count_words, detect_language
from .chapters import chaptered, make_chaptered_plan
from .document import RunDir, RunMeta, SectionRecord, join_sections, usage_of
from .events import Callbacks, Fanout, RunRecorder
from .layouts import LAYOUTS, RunState, choose
from .plan import Plan
from .planner import make_plan, suggested_sections
from .settings import DEFAULT_TARGET_WORDS, WriteSettings

log = logging.getLogger(__name__)

WINDOW_FRAMING = 120  # tokens of system prompt, chat markup and the outline's own framing
WINDOW_ROOM = 640  # the least room to keep recent text and write in (measured: 800 tokens failed a 9-section plan)

__all__ = ["AgentWrite", "DEFAULT_TARGET_WORDS", "LAYOUTS", "RunResult", "WriteSettings"]


@dataclass
class RunResult:
    """What a writer returns (AgentWrite, or a single call: see systems.py)."""

    path: Path | None  # the run directory (None: a single call asked to keep nothing on disk)
    document: Path | None
    plan: Plan
    sections: list[SectionRecord]
    words: int
    seconds: float  # wall time of this process
    usage: Usage = field(default_factory=Usage)
    text: str = ""  # the document as written to document.md, less its final newline


class AgentWrite:
    def __init__(self, lm: LM, settings: WriteSettings | None = None, callbacks: list[Callbacks] | None = None):
        self.lm = lm
        self.settings = settings or WriteSettings()
        self.events = Fanout(callbacks or [])

    def run(self, instruction: str | None, out_dir: str | Path, resume: bool = False) -> RunResult:
        started = time.perf_counter()
        run_dir = RunDir(out_dir)
        recorder = RunRecorder(run_dir, self.events)
        meta = self._open(run_dir, instruction, resume)
        done = run_dir.load_sections() if resume else []
        saved_plan = run_dir.load_plan() if resume else None
        if resume:
            run_dir.load_context()  # every saved file is read (and any damage named) before progress starts
            run_dir.mark_lost(len(done), saved_plan is not None)
            tokens = run_dir.load_tokens(len(done))
            if tokens is not None and saved_plan is not None:  # tokenize the next prompt as the killed
                # process would have (embedded); without a saved plan, planning starts afresh as it did
                self.lm.restore_token_state(tokens)
        self.events.on_run_start(meta, len(done))
        layout = choose(self.settings.layout, self.lm)
        plan = saved_plan or self._plan(recorder, meta, layout.name)
        state = RunState(self.lm, self.settings, meta, plan, done, run_dir, recorder)
        layout.resume(state)
        for section in plan.sections[len(done):]:
            budget = state.length.budget(plan, done, section.index, meta.target_words)
            self.events.on_section_start(section)
            final = self.settings.control_length and section.index == len(plan.sections)
            self._commit(run_dir, done, layout.write(state, section, budget, final))
        if not count_words(join_sections(done), meta.word_rule):
            # an empty document is never "done": the run stays resumable and the caller hears why
            raise BackendError(f"{self.lm.name} wrote no text in any of the {len(done)} sections; "
                               f"the run in {run_dir.path} is not marked done")
        meta.status = "done"
        run_dir.save_meta(meta)
        path = run_dir.write_document(done)
        self.events.on_run_end(str(path))
        text = join_sections(done)
        return RunResult(run_dir.path, path, plan, done, count_words(text, meta.word_rule),
                         time.perf_counter() - started, usage_of(run_dir.calls), text)

    def _commit(self, run_dir: RunDir, done: list[SectionRecord], record: SectionRecord) -> None:
        """A finished section is on disk before anything else happens: a kill after this
        line loses nothing of it."""
        log.info("%s: section %d done, %d words (budget %d, %d calls, %.1f s)", run_dir.path, record.index,
                 record.words, record.budget, record.calls, record.seconds)
        run_dir.save_tokens(len(done) + 1, self.lm.token_state())
        run_dir.save_section(record)
        self.events.on_section_end(record)
        done.append(record)
        run_dir.write_document(done)

    def _open(self, run_dir: RunDir, instruction: str | None, resume: bool) -> RunMeta:
        if resume and run_dir.exists():
            meta = run_dir.load_meta()
            if instruction and instruction.strip() != meta.instruction:
                raise UsageError(f"{run_dir.path}: holds a run of a different instruction; use another --out")
            self._check_resumed_target(meta)
            run_dir.load_trace()
            remove_stale_temporaries(run_dir.path)  # a kill between a write and its rename
            return meta
        if run_dir.exists():
            raise UsageError(f"{run_dir.path}: already holds a run; resume it (--resume, or resume=True "
                             "from Python) or choose another output folder")
        if not instruction or not instruction.strip():
            raise UsageError("the instruction is empty")
        meta = self._new_meta(instruction.strip())
        self._check_window(meta)
        run_dir.save_meta(meta)
        return meta

    def _check_window(self, meta: RunMeta) -> None:
        """A --context too small for the task fails now, not after minutes of planning. An
        estimate: the instruction, the prompt's framing, about 14 tokens per outline line and room
        to write a passage must all fit."""
        window = self.settings.context_tokens
        if window is None:
            return
        task = self.lm.count_tokens([{"role": "user", "content": meta.instruction}])
        need = task + WINDOW_FRAMING + 14 * suggested_sections(meta.target_words) + WINDOW_ROOM
        if window < need:
            raise UsageError(f"--context {window} is too small for this task: its instruction, a "
                             f"{suggested_sections(meta.target_words)}-section outline and room to write need "
                             f"about {need} tokens")

    def _check_resumed_target(self, meta: RunMeta) -> None:
        wanted = self.settings.target_words
        if wanted is not None and wanted != meta.target_words:
            raise UsageError(f"--words {wanted:,}: the run being resumed writes {meta.target_words:,} words, and a "
                             "plan cannot change its length halfway; start a new --out for another length")

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

    def _plan(self, recorder: RunRecorder, meta: RunMeta, layout: str) -> Plan:
        config = self.settings.generation.merged(max_tokens=1024, seed=meta.seed)
        # LongWriter's own layout always plans, in one outline call: it is the baseline, kept as the paper runs it
        report, attempts = recorder.section(None), self.settings.plan_attempts
        if layout != "official" and chaptered(meta.target_words):
            plan = make_chaptered_plan(self.lm, meta.instruction, meta.target_words, meta.language, config,
                                       attempts, report)
        else:
            plan = make_plan(self.lm, meta.instruction, meta.target_words, meta.language, config, attempts,
                             report=report, short=layout != "official")
        log.info("%s: plan of %d sections (%s)", recorder.run_dir.path, len(plan.sections), plan.source)
        recorder.run_dir.save_tokens(0, self.lm.token_state())
        recorder.run_dir.save_plan(plan)
        self.events.on_plan(plan)
        return plan
