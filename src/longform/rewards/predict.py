"""Predicting a target word range for prompts that state no length (LongWriter-Zero asks a
strong model; here any backend), with every answer cached in a JSON file so a prompt is
asked about once across runs, epochs and processes."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

from ..backends import GenerationConfig
from ..errors import UsageError
from ..io import atomic_write_json
from ..prompts import render
from ..text import detect_language

_RANGE = re.compile(r"(\d[\d,]*)\s*(?:-|–|—|~|to|至|到)\s*(\d[\d,]*)")
_SINGLE = re.compile(r"\d[\d,]*")
LIMITS = (20, 100_000)  # a prediction outside these is not believed


def parse_range(text: str) -> tuple[int, int] | None:
    """The first "LOW-HIGH" (or a single number n, read as n..n) in a model's reply."""
    match = _RANGE.search(text)
    if match:
        low, high = sorted(int(g.replace(",", "")) for g in match.groups())
    elif match := _SINGLE.search(text):
        low = high = int(match.group(0).replace(",", ""))
    else:
        return None
    return (low, high) if LIMITS[0] <= low <= high <= LIMITS[1] else None


class LengthPredictor:
    """`predict(instruction) -> (low, high) | None` through `backend` (a spec such as
    "embedded" or "openai:http://host/v1?model=m"), remembered in `cache`."""

    def __init__(self, backend: str, cache: str | Path | None = None, attempts: int = 3):
        self.backend, self.cache_path, self.attempts = backend, Path(cache) if cache else None, attempts
        self._lm = None
        self._saved: dict[str, list[int]] | None = None
        self._lock = threading.Lock()

    def __getstate__(self):  # the backend and lock are opened again where it is unpickled
        return {**self.__dict__, "_lm": None, "_lock": None, "_saved": None}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _cache(self) -> dict[str, list[int]]:
        if self._saved is None:
            self._saved = {}
            if self.cache_path and self.cache_path.exists():
                try:
                    self._saved = json.loads(self.cache_path.read_text(encoding="utf-8"))
                except ValueError:
                    raise UsageError(f"{self.cache_path}: not a length cache (JSON); delete it to predict "
                                     "again") from None
        return self._saved

    def predict(self, instruction: str) -> tuple[int, int] | None:
        key = hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:24]
        with self._lock:
            saved = self._cache().get(key)
        if saved:
            return saved[0], saved[1]
        found = self._ask(instruction)
        if found:
            with self._lock:
                self._cache()[key] = list(found)
                if self.cache_path:
                    atomic_write_json(self.cache_path, self._saved)
        return found

    def _ask(self, instruction: str) -> tuple[int, int] | None:
        if self._lm is None:
            from ..backends import load_backend

            self._lm = load_backend(self.backend)
        messages = [{"role": "user", "content": render("length_predict", instruction=instruction,
                                                       lang=detect_language(instruction))}]
        for attempt in range(self.attempts):
            reply = self._lm.complete(messages, GenerationConfig(max_tokens=24, temperature=0.3, seed=attempt))
            found = parse_range(reply.text)
            if found:
                return found
        return None
