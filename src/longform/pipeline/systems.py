"""Writers: the one way the rest of the toolkit has a model write one answer.

    writer = make_writer("agentwrite", lm, settings)       # or "single"
    result = writer.write(instruction, out_dir, target_words=3000, seed=7, callbacks=[progress])
    result.text, result.words, result.usage.completion_tokens

Evals, `serve`, `data prefs` and `data references` all write through a `Writer`; the
per-answer inputs are arguments, the system's own settings are fixed when it is made.
Both systems report through the public `Callbacks` (a single call is a one-section
run: plan, section start, streamed text, section end) and return a `RunResult` with
its usage.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Protocol

from ..backends import LM, GenerationConfig
from ..errors import UsageError
from ..io import atomic_write_text
from ..text import count_words, detect_language, repeated_ngram_share
from .document import CallRecord, RunMeta, SectionRecord, usage_of
from .events import Callbacks, Fanout
from .plan import Plan, Section
from .runner import DEFAULT_TARGET_WORDS, AgentWrite, RunResult
from .settings import WriteSettings

SYSTEMS = ("single", "agentwrite")
# Servers rarely report their window; 8192 fits every current chat model's output limit
# while being far above the ≈2,000 words plain models stop at.
DEFAULT_SINGLE_MAX_TOKENS = 8192
WINDOW_MARGIN = 16  # tokens kept free beside the prompt (template framing the count may miss)


class Writer(Protocol):
    name: str

    def write(self, instruction: str, out_dir: str | Path | None, *, target_words: int | None = None,
              seed: int = 0, callbacks: list[Callbacks] | None = None, resume: bool = False) -> RunResult: ...


class AgentWriteSystem:
    """AgentWrite with fixed settings; target and seed per answer."""

    name = "agentwrite"

    def __init__(self, lm: LM, settings: WriteSettings | None = None):
        self.lm, self.settings = lm, settings or WriteSettings()

    def write(self, instruction, out_dir, *, target_words=None, seed=0, callbacks=None, resume=False) -> RunResult:
        if out_dir is None:
            raise UsageError("an AgentWrite run needs a run directory")
        settings = dataclasses.replace(self.settings, target_words=target_words or self.settings.target_words,
                                       seed=seed)
        return AgentWrite(self.lm, settings, callbacks).run(instruction, out_dir, resume=resume)


class SingleCall:
    """The prompt as the only user message, answered in one call: what LongBench-Write
    measures for plain chat models. The model decides the length; `max_tokens` only caps it."""

    name = "single"

    def __init__(self, lm: LM, generation: GenerationConfig | None = None, max_tokens: int | None = None,
                 word_rule: str = "official"):
        if max_tokens is not None and max_tokens < 1:
            raise UsageError(f"max_tokens must be at least 1, got {max_tokens}")
        self.lm, self.generation = lm, generation or GenerationConfig()
        self.max_tokens, self.word_rule = max_tokens, word_rule

    def max_tokens_for(self, messages) -> int:
        """The one rule: `max_tokens` (else 8192), capped by what the window leaves beside the
        prompt; with no cap given, all of that room."""
        wanted = self.max_tokens or DEFAULT_SINGLE_MAX_TOKENS
        window = self.lm.context_window
        if window is None:
            return wanted
        room = window - self.lm.count_tokens(messages) - WINDOW_MARGIN
        # A window the prompt fills is the backend's error to report, with its own numbers.
        return max(1, room if self.max_tokens is None else min(wanted, room))

    def write(self, instruction, out_dir, *, target_words=None, seed=0, callbacks=None, resume=False) -> RunResult:
        started = time.perf_counter()
        events = Fanout(callbacks or [])
        target = target_words or DEFAULT_TARGET_WORDS
        section = Section(1, "the whole answer", target)
        events.on_run_start(RunMeta(instruction, target, detect_language(instruction), self.lm.name, seed,
                                    self.word_rule), 0)
        plan = Plan([section], target, source="single call")
        events.on_plan(plan)
        events.on_section_start(section)
        messages = [{"role": "user", "content": instruction}]
        config = self.generation.merged(max_tokens=self.max_tokens_for(messages), seed=seed)
        completion = self.lm.complete(messages, config, on_delta=lambda text: events.on_section_delta(section, text))
        call = CallRecord.of("section", 1, 1, completion)
        events.on_call(call)
        text = completion.text.strip()
        record = SectionRecord(1, section.point, target, text, count_words(text, self.word_rule),
                               finish_reason=completion.finish_reason, seconds=call.seconds,
                               repeat_share=round(repeated_ngram_share(text), 4),
                               completion_tokens=completion.completion_tokens)
        events.on_section_end(record)
        document = None
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            document = Path(out_dir) / "document.md"
            atomic_write_text(document, text + "\n")
            events.on_run_end(str(document))
        return RunResult(None if out_dir is None else Path(out_dir), document, plan, [record],
                         record.words, time.perf_counter() - started, usage_of([call]), text)


def make_writer(system: str, lm: LM, settings: WriteSettings | None = None, *, max_tokens: int | None = None,
                word_rule: str | None = None) -> Writer:
    """The writer `system` names: "agentwrite" with `settings`, or "single" with their
    generation config, capped at `max_tokens`."""
    settings = settings or WriteSettings()
    rule = word_rule or settings.section.word_rule
    if system == "single":
        return SingleCall(lm, settings.generation, max_tokens, rule)
    if system == "agentwrite":
        section = dataclasses.replace(settings.section, word_rule=rule)
        return AgentWriteSystem(lm, dataclasses.replace(settings, section=section))
    raise UsageError(f"unknown system {system!r}: choose one of {', '.join(SYSTEMS)}")
