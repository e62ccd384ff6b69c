"""What a run of AgentWrite can be told: the target, the seed, the layout and the
settings of its stages. One dataclass, so the CLI, evals, serve and data builds
configure a run the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends import GenerationConfig
from .drafts import SectionSettings
from .length import LengthPolicy

DEFAULT_TARGET_WORDS = 2000


@dataclass
class WriteSettings:
    target_words: int | None = None  # None: read from the instruction, else the default
    seed: int = 0
    plan_attempts: int = 4
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    section: SectionSettings = field(default_factory=SectionSettings)
    layout: str = "auto"  # see pipeline.layouts; auto = continuous where the backend allows
    context_tokens: int | None = None  # working window; None: the backend's (lm.working_window)
    control_length: bool = True
    candidates: int = 1  # continuous layout: passages sampled per call, the most on-task kept (candidates.py)
    candidate_judge: str = "panel"  # which judge picks them: panel (candidate_panel.py) or lexical
    live_tokens: int | None = None  # continuous layout: calls of at most this many tokens, each ending in
    # settled text (SectionReport.settled) a stream can send at once; None: a call per section
    steer: bool = False  # continuous layout: the part's plan point restated every ~200 words (rolling.py)
    fresh_parts: bool = False  # continuous layout: each part starts a fresh conversation (rolling.py, recap)
    topic_guard: bool = False  # continuous layout: cut and rewrite paragraphs that leave the request or restate
    # an earlier part, by the quality panel's lines (topic_guard.py; needs longform[quality])
    length: LengthPolicy = field(default_factory=LengthPolicy)
