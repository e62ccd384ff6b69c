"""Progress of a data build: documents done/total, words, tokens/s, ETA."""

from __future__ import annotations

import sys
import threading
import time

from ..data.build import BuildCallbacks


def build_progress(quiet: bool, lms) -> list[BuildCallbacks]:
    return [] if quiet else [BuildLines(lms)]


class BuildLines(BuildCallbacks):
    """One line per finished document (on a terminal too: many documents finish at once)."""

    def __init__(self, lms, stream=None):
        self.lms, self.stream = lms, stream or sys.stderr
        self.total = self.done = self.words = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def on_start(self, total, done):
        self.total, self.done = total, done
        self._first = done
        print(f"{total} instructions" + (f", {done} already done" if done else ""), file=self.stream, flush=True)

    def on_doc_done(self, item, result):
        with self._lock:
            self.done += 1
            self.words += result.get("words", 0)
            elapsed = time.monotonic() - self.started
            tokens = sum(lm.usage.completion_tokens for lm in self.lms)
            rate = tokens / elapsed if elapsed else 0.0
            finished_now = self.done - self._first
            eta = elapsed / finished_now * (self.total - self.done) if finished_now else 0.0
            verdict = result["status"] + (f" ({result['reason']})" if result.get("reason") else "")
            print(f"[{self.done}/{self.total}] {item.id}: {verdict}, {result.get('words', 0):,} words; "
                  f"{self.words:,} words so far, {rate:.0f} tok/s, ETA {eta / 60:.0f} min",
                  file=self.stream, flush=True)
