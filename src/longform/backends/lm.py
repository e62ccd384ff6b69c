"""`LM`: the wrapper that gives every provider retries, concurrency and usage totals.

Engines and evaluations talk to an `LM`, never to a provider directly, so the
policies below apply the same way to llama.cpp, a remote server or a mock.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..errors import BackendError
from .base import Completion, DeltaSink, GenerationConfig, Messages, Provider, TransientError, Usage

log = logging.getLogger(__name__)


class LM:
    """Retries transient failures with exponential backoff and jitter; bounds concurrency."""

    def __init__(
        self,
        provider: Provider,
        *,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        defaults: GenerationConfig | None = None,
    ):
        self.provider = provider
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.defaults = defaults or GenerationConfig()
        self.usage = Usage()
        self.on_retry_line = None  # told one line per retry (attempt, reason, wait); the CLI prints it
        self._slots = threading.BoundedSemaphore(max(1, provider.max_concurrency))
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def supports_prefill(self) -> bool:
        return bool(getattr(self.provider, "supports_prefill", False))

    @property
    def context_window(self) -> int | None:
        return self.provider.context_window

    @property
    def working_window(self) -> int | None:
        """Tokens a long document's context should stay under: the window, or less
        where a backend decodes much slower with a full one (CPU llama.cpp)."""
        preferred = getattr(self.provider, "working_window", None)
        window = self.context_window
        return min(preferred, window) if preferred and window else (preferred or window)

    def count_tokens(self, messages: Messages) -> int:
        return self.provider.count_tokens(messages)

    def token_state(self) -> list | None:
        """The provider's tokenization state, for an exact resume (embedded only; else None)."""
        runs = getattr(self.provider, "token_runs", None)
        return runs() if runs else None

    def restore_token_state(self, state: list) -> None:
        remember = getattr(self.provider, "remember_token_runs", None)
        if remember:
            remember(state)

    def room_for(self, messages: Messages, wanted: int) -> int:
        """`wanted` new tokens, capped by what the window leaves beside `messages`
        (16 tokens spare, and never under 16: a full window is the backend's error to report)."""
        if not self.context_window:
            return wanted
        return max(16, min(wanted, self.context_window - self.count_tokens(messages) - 16))

    def complete(
        self,
        messages: Messages,
        config: GenerationConfig | None = None,
        on_delta: DeltaSink | None = None,
        on_retry=None,
    ) -> Completion:
        """One conversation → one completion, retried on transient errors.

        `on_retry(attempt, error)` is told before each retry so a streaming
        consumer can discard the partial text it already received.
        """
        config = config or self.defaults
        attempt, errors, first = 0, [], time.perf_counter()
        while True:
            attempt += 1
            try:
                with self._slots:
                    started = time.perf_counter()
                    result = self.provider.generate(messages, config, on_delta)
                if not result.seconds:
                    result.seconds = time.perf_counter() - started
                result.attempts, result.retry_errors = attempt, errors
                result.retry_seconds = started - first
                with self._lock:
                    self.usage.add(result)
                return result
            except TransientError as exc:
                errors.append(str(exc)[:300])
                if attempt > self.max_retries:
                    raise BackendError(
                        f"{self.name}: gave up after {attempt} attempts: {exc}"
                    ) from exc
                if on_retry is not None:
                    on_retry(attempt, exc)
                wait = max(self._delay(attempt), min(exc.retry_after or 0, self.backoff_max))
                line = f"retry {attempt}/{self.max_retries} in {wait:.1f} s: {str(exc)[:200]}"
                log.warning("%s: %s", self.name, line)
                if self.on_retry_line is not None:
                    self.on_retry_line(line)
                time.sleep(wait)

    def chat(self, batch: list[Messages], config: GenerationConfig | None = None) -> list[Completion]:
        """Many conversations → completions in the same order, run concurrently
        up to the provider's limit (natively batched where the provider can)."""
        config = config or self.defaults
        native = getattr(self.provider, "generate_batch", None)
        if native is not None and len(batch) > 1:
            results = native(batch, config)
            with self._lock:
                for r in results:
                    self.usage.add(r)
            return results
        if len(batch) == 1 or self.provider.max_concurrency <= 1:
            return [self.complete(m, config) for m in batch]
        with ThreadPoolExecutor(max_workers=self.provider.max_concurrency) as pool:
            return list(pool.map(lambda m: self.complete(m, config), batch))

    def _delay(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)
