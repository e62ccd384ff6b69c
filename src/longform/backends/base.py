"""The one interface every model backend implements.

A provider turns one conversation into one `Completion` (optionally streaming
text deltas as they arrive). Retries, concurrency limits and usage totals are not
the provider's job: they live once in `longform.backends.lm.LM`, which wraps any
provider. Providers that can batch natively (transformers) also override
`generate_batch`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

Message = dict  # {"role": "system"|"user"|"assistant", "content": str}
Messages = list[Message]
DeltaSink = Callable[[str], None]


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings. `None` means: use the backend's own default."""

    max_tokens: int = 1024
    temperature: float | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Forbid repeating any n-gram of tokens already in the context (0 or 1 = off).
    # Honoured by the embedded and hf backends; servers ignore it.
    no_repeat_ngram: int | None = None
    # Paragraphs only: no list markers or headings at line starts (embedded backend).
    prose: bool | None = None
    # End-of-text is forbidden until this many new tokens exist: the length
    # controller's way to keep a model writing (embedded, hf and mock honour it;
    # servers ignore it and the controller continues the text instead).
    min_tokens: int | None = None

    def merged(self, **overrides) -> "GenerationConfig":
        """A copy with the given fields replaced (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class Completion:
    """One model answer with what it cost."""

    text: str
    finish_reason: str = "stop"  # "stop" | "length" | backend-specific
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from the prefix cache
    completion_tokens: int = 0
    seconds: float = 0.0
    attempts: int = 1  # filled in by the LM wrapper
    retry_errors: list = field(default_factory=list)  # why each failed attempt failed (LM wrapper)
    retry_seconds: float = 0.0  # time the failed attempts and the waits between them took

    @property
    def prefill_tokens(self) -> int:
        """Prompt tokens the backend actually had to compute."""
        return max(0, self.prompt_tokens - self.cached_tokens)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Usage:
    """Running totals over every call an `LM` made."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    by_reason: dict = field(default_factory=dict)

    def add(self, c: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += c.prompt_tokens
        self.cached_tokens += c.cached_tokens
        self.completion_tokens += c.completion_tokens
        self.seconds += c.seconds
        self.retries += c.attempts - 1
        self.by_reason[c.finish_reason] = self.by_reason.get(c.finish_reason, 0) + 1


class TransientError(Exception):
    """A failure worth retrying: rate limit, 5xx, timeout, dropped connection.

    `retry_after` (seconds) is the server's own hint, e.g. a 429's Retry-After."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class Provider(Protocol):
    """What a backend module implements.

    `name` identifies the backend in traces; `context_window` is in tokens (None
    when unknown); `max_concurrency` is how many calls may run at once.

    Prefill: a provider with `supports_prefill = True` treats a conversation that
    ends with an assistant message as the start of the reply and continues it;
    `Completion.text` is then only the new text. Callers check the flag first.
    """

    name: str
    supports_prefill: bool
    context_window: int | None
    max_concurrency: int

    def generate(
        self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None
    ) -> Completion: ...

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens this conversation would take (an estimate is fine)."""
        ...


def estimate_tokens(messages: Messages) -> int:
    """A tokenizer-free estimate: about 4 characters a token, plus framing."""
    return sum(len(m.get("content", "")) // 4 + 4 for m in messages)
