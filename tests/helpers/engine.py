"""Shared pieces of the AgentWrite engine tests: a mock LM, readers of a run
directory, message predicates and an event recorder."""

from __future__ import annotations

import json
from pathlib import Path

from longform.backends import load_backend
from longform.pipeline.events import Callbacks

INSTRUCTION = "Write a 3000-word story about a lighthouse keeper who finds a message in a bottle"
LOOP = "The lantern swings over the dark harbor tonight. " * 40


def mock_lm(spec: str = "mock:lorem", **attrs):
    lm = load_backend(spec)
    lm.backoff_base = 0.001  # injected failures are retried at once
    for name, value in attrs.items():
        setattr(lm.provider, name, value)
    return lm


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def section_files(run: Path) -> list[str]:
    folder = run / "sections"
    return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []


def is_plan_call(messages) -> bool:
    return messages[-1] == {"role": "assistant", "content": "1."}


def last_user(messages) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def without_prefill(messages):
    return messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages


class Recorder(Callbacks):
    """Records every event; rebuilds each section's streamed text, honouring resets."""

    def __init__(self):
        self.events: list[tuple] = []
        self.streams: dict[int, str] = {}
        self.resets: list[tuple[int, str]] = []

    def on_run_start(self, meta, resumed_sections):
        self.events.append(("run_start", resumed_sections))

    def on_plan(self, plan):
        self.events.append(("plan", len(plan.sections)))

    def on_section_start(self, section):
        self.events.append(("section_start", section.index))
        self.streams[section.index] = ""

    def on_section_delta(self, section, text):
        self.streams[section.index] += text

    def on_section_reset(self, section, reason):
        self.resets.append((section.index, reason))
        self.streams[section.index] = ""

    def on_section_end(self, record):
        self.events.append(("section_end", record.index))

    def on_call(self, record):
        self.events.append(("call", record.stage, record.section, record.attempt))

    def on_run_end(self, document_path):
        self.events.append(("run_end", document_path))
