"""`longform data build`: AgentWrite over many instructions at once, kept clean and resumable.

    OUT/docs/<id>/          one AgentWrite run directory per instruction (section-level resume)
    OUT/docs/<id>/result.json  the document's verdict once finished: kept, filtered (with reason) or failed
    OUT/sft.jsonl           {"messages": [user, assistant]} per kept document, in instruction order
    OUT/meta.jsonl          per kept document: id, target, words, sections, backend, seconds, repetition
    OUT/rejected.jsonl      per filtered or failed document: id and reason (never its text in sft.jsonl)
    OUT/stats.json          counts, reasons, words, tokens, languages

The three JSONL files and stats.json are rebuilt from the result files (atomically,
in instruction order) every few seconds and at the end, so a build killed at
any moment and rerun ends with each document exactly once, and with the same
bytes as an uninterrupted run with the same seed. A failed document (backend
down after its retries) is tried again by the next run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from ..backends import LM
from ..errors import BackendError, UsageError
from ..io import atomic_write_json, atomic_write_text, read_run_file
from ..pipeline.events import Callbacks
from ..pipeline.runner import WriteSettings
from ..pipeline.systems import AgentWriteSystem
from ..text import count_words, detect_language, repeated_ngram_share
from .filters import FilterSettings, document_reason, near_duplicates
from .instructions import Instruction

FINAL = ("kept", "filtered")


@dataclass
class BuildSettings:
    write: WriteSettings = field(default_factory=WriteSettings)
    filters: FilterSettings = field(default_factory=FilterSettings)
    concurrency: int = 4
    seed: int = 0
    flush_seconds: float = 5.0


class BuildCallbacks:
    """Progress hooks; called from worker threads. Every hook is a no-op by default."""

    def on_start(self, total: int, done: int) -> None: ...

    def on_doc_words(self, item: Instruction, words: int) -> None: ...

    def on_doc_done(self, item: Instruction, result: dict) -> None: ...

    def on_end(self, stats: dict) -> None: ...


def build(items: list[Instruction], lms: list[LM], out_dir: str | Path, settings: BuildSettings | None = None,
          callbacks: list[BuildCallbacks] | None = None) -> dict:
    """Write, filter and export every instruction; returns the stats."""
    if not lms:
        raise UsageError("no backend to build with")
    s = settings or BuildSettings()
    if s.concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {s.concurrency}")
    return _Build(items, lms, Path(out_dir), s, callbacks or []).run()


class _Build:
    def __init__(self, items, lms, out: Path, s: BuildSettings, callbacks):
        self.items, self.lms, self.out, self.s, self.callbacks = items, lms, out, s, callbacks
        self._lock = threading.Lock()
        self._flushed = 0.0

    def run(self) -> dict:
        (self.out / "docs").mkdir(parents=True, exist_ok=True)
        self._mark_duplicates()
        pending = [(i, item) for i, item in enumerate(self.items) if self._result(item).get("status") not in FINAL]
        for cb in self.callbacks:
            cb.on_start(len(self.items), len(self.items) - len(pending))
        workers = max(1, min(self.s.concurrency, len(pending)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="build") as pool:
            futures = [pool.submit(self._document, index, item) for index, item in pending]
            for future in as_completed(futures):
                future.result()  # a bug in our code stops the build; backend trouble is a "failed" result
                self._flush()
        stats = self._flush(force=True)
        for cb in self.callbacks:
            cb.on_end(stats)
        return stats

    # one document ---------------------------------------------------------
    def _document(self, index: int, item: Instruction) -> None:
        lm = self.lms[index % len(self.lms)]  # round-robin over endpoints
        seed = self.s.seed * 1_000_003 + int(hashlib.sha256(item.id.encode()).hexdigest()[:6], 16)
        words = _Words(item, self.callbacks)
        started = time.perf_counter()
        try:
            run = AgentWriteSystem(lm, self.s.write).write(item.text, self._doc_dir(item), seed=seed, resume=True,
                                                           target_words=item.target_words, callbacks=[words])
        except (BackendError, UsageError) as exc:
            result = self._base(item, lm) | {"status": "failed", "reason": "failed", "error": str(exc)}
        else:
            result = self._finished(item, lm, run, time.perf_counter() - started)
        atomic_write_json(self._doc_dir(item) / "result.json", result)
        for cb in self.callbacks:
            cb.on_doc_done(item, result)

    def _finished(self, item: Instruction, lm: LM, run, seconds: float) -> dict:
        sections = [record.text for record in run.sections]
        text = run.text
        quality = self._quality(item, run) if self.s.filters.min_quality is not None else None
        reason = document_reason(item.text, item.target_words, sections, self.s.filters,
                                 self.s.write.section.word_rule, quality)
        return self._base(item, lm) | {
            "status": "kept" if reason is None else "filtered", "reason": reason,
            "words": count_words(text, self.s.write.section.word_rule), "sections": len(sections),
            "seconds": round(run.usage.seconds if run.usage.calls else seconds, 3),
            "completion_tokens": run.usage.completion_tokens,
            "repetition": round(repeated_ngram_share(text), 4), "language": detect_language(text),
            "quality_score": quality, "response": text,
        }

    @staticmethod
    def _quality(item: Instruction, run) -> float:
        """The quality panel's score of a finished document, measured against its plan."""
        from ..quality import measure

        texts = [record.text for record in run.sections]
        return measure(run.text, item.text, sections=texts, points=[r.point for r in run.sections])["quality_score"]

    def _base(self, item: Instruction, lm: LM) -> dict:
        return {"id": item.id, "instruction": item.text, "target_words": item.target_words,
                "target_source": item.target_source, "backend": lm.name}

    def _mark_duplicates(self) -> None:
        copies = near_duplicates([item.text for item in self.items], self.s.filters.duplicate_similarity)
        for index, original in copies.items():
            item = self.items[index]
            if self._result(item).get("status") not in FINAL:
                result = {"id": item.id, "instruction": item.text, "target_words": item.target_words,
                          "target_source": item.target_source, "status": "filtered",
                          "reason": "duplicate_instruction", "duplicate_of": self.items[original].id}
                self._doc_dir(item).mkdir(parents=True, exist_ok=True)
                atomic_write_json(self._doc_dir(item) / "result.json", result)

    def _doc_dir(self, item: Instruction) -> Path:
        return self.out / "docs" / item.id

    def _result(self, item: Instruction) -> dict:
        file = self._doc_dir(item) / "result.json"
        if not file.exists():
            return {}
        result = read_run_file(file)
        if not isinstance(result, dict) or not isinstance(result.get("status"), str):
            raise UsageError(f"{file}: damaged run file (expected an object with a status); delete it to redo "
                             "that document")
        return result

    # exports ---------------------------------------------------------------
    def _flush(self, force: bool = False) -> dict | None:
        with self._lock:
            if not force and time.monotonic() - self._flushed < self.s.flush_seconds:
                return None
            self._flushed = time.monotonic()
            results = [r for r in (self._result(item) for item in self.items) if r]
            return write_exports(self.out, results, len(self.items))


def write_exports(out: Path, results: list[dict], total: int) -> dict:
    """sft.jsonl, meta.jsonl, rejected.jsonl and stats.json from the result records."""
    kept = [r for r in results if r.get("status") == "kept"]
    rejected = [r for r in results if r.get("status") in ("filtered", "failed")]
    sft = [{"messages": [{"role": "user", "content": r["instruction"]},
                         {"role": "assistant", "content": r["response"]}]} for r in kept]
    meta_keys = ("id", "target_words", "target_source", "words", "sections", "backend", "seconds",
                 "completion_tokens", "repetition", "language")
    atomic_write_text(out / "sft.jsonl", _jsonl(sft))
    atomic_write_text(out / "meta.jsonl", _jsonl([{k: r.get(k) for k in meta_keys} for r in kept]))
    atomic_write_text(out / "rejected.jsonl", _jsonl(
        [{k: r.get(k) for k in ("id", "status", "reason", "error", "duplicate_of", "words", "target_words")
          if r.get(k) is not None} for r in rejected]))
    stats = build_stats(results, total)
    atomic_write_json(out / "stats.json", stats)
    return stats


def build_stats(results: list[dict], total: int) -> dict:
    reasons: dict[str, int] = {}
    for r in results:
        if r.get("reason"):
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    kept = [r for r in results if r.get("status") == "kept"]
    languages: dict[str, int] = {}
    for r in kept:
        languages[r.get("language", "?")] = languages.get(r.get("language", "?"), 0) + 1
    written = [r for r in results if "completion_tokens" in r]
    seconds = sum(r.get("seconds", 0) for r in written)
    tokens = sum(r.get("completion_tokens", 0) for r in written)
    return {"instructions": total, "finished": sum(r.get("status") in FINAL for r in results),
            "kept": len(kept), "filtered": sum(r.get("status") == "filtered" for r in results),
            "failed": sum(r.get("status") == "failed" for r in results), "reasons": reasons,
            "languages": languages, "kept_words": sum(r.get("words", 0) for r in kept),
            "words": sorted(r.get("words", 0) for r in kept), "completion_tokens": tokens,
            "document_seconds": round(seconds, 1)}


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


class _Words(Callbacks):
    """Section events of one document → words-so-far progress."""

    def __init__(self, item: Instruction, callbacks: list[BuildCallbacks]):
        self.item, self.callbacks, self.words = item, callbacks, 0

    def on_section_end(self, record) -> None:
        self.words += record.words
        for cb in self.callbacks:
            cb.on_doc_words(self.item, self.words)
