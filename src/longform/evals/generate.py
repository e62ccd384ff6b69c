"""Responses for benchmark items, checkpointed in out_dir/predictions.jsonl.

Two systems: "single" asks the model once with the prompt as the only user
message (what LongBench-Write measures for plain chat models); "agentwrite"
plans and writes section by section, each item in out_dir/runs/<id>/.

Resumable at two levels: items already in predictions.jsonl are skipped, and an
agentwrite item killed mid-document continues from its last finished section.

An item that fails (a backend that gave up, a document the engine cannot go on
with) is logged in out_dir/errors.jsonl and the run goes on with the others: a
night's run should not end at its 9th item. It is not a prediction, so the next
run with the same --out tries it again. Three failures in a row are not about the
items (a server down, a bad option): the run stops with the last error.

Each process records the wall and CPU time it spent in out_dir/processes/ (clock.py).

Any number of processes may share one out_dir (claims.py): each item is written
by whichever process claims it first, and each process returns every row
finished in the folder when it ends, so the last one to end sees the whole run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..backends import LM, GenerationConfig
from ..errors import LongformError, UsageError
from ..io import JsonlLog
from ..pipeline.events import Callbacks
from ..pipeline.settings import WriteSettings
from ..pipeline.systems import SYSTEMS, make_writer
from ..text import count_words
from .claims import claim
from .clock import ProcessClock
from .data import EvalItem
from .predictions import append_prediction, read_predictions, repair

FAILURES_IN_A_ROW = 3


class EvalCallbacks:
    """Hooks for progress over items; every hook is a no-op by default. Hooks may
    be called from worker threads when items run concurrently."""

    def on_start(self, total: int, done: int) -> None:
        """`total` items, of which `done` were finished by an earlier run."""

    def on_item_start(self, item: EvalItem) -> None: ...

    def on_item_words(self, item: EvalItem, words: int) -> None:
        """Words of `item` written so far (agentwrite: after each section)."""

    def on_item_done(self, item: EvalItem, row: dict) -> None: ...

    def on_item_failed(self, item: EvalItem, error: Exception) -> None:
        """`item` failed and was logged in errors.jsonl; the run goes on."""

    def on_item_elsewhere(self, item: EvalItem) -> None:
        """Another process sharing this out_dir is writing `item`; this run leaves it."""

    def on_end(self) -> None: ...


class _SectionWords(Callbacks):
    """Turns an AgentWrite run's section events into item progress."""

    def __init__(self, item: EvalItem, events: list[EvalCallbacks]):
        self.item, self.events, self.words = item, events, 0

    def on_section_end(self, record) -> None:
        self.words += record.words
        for cb in self.events:
            cb.on_item_words(self.item, self.words)


def generate(items: list[EvalItem], system: str, lm: LM, out_dir: str | Path, *, concurrency: int = 1,
             seed: int = 0, single_max_tokens: int | None = None, word_rule: str = "official",
             callbacks: Iterable[EvalCallbacks] | None = None,
             generation: GenerationConfig | None = None, settings=None) -> list[dict]:
    """`settings` (a pipeline.runner.WriteSettings) configures the agentwrite system:
    layout, context, length control; its target and word rule are set per item."""
    if system not in SYSTEMS:
        raise UsageError(f"unknown system {system!r}: choose one of {', '.join(SYSTEMS)}")
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}")
    if single_max_tokens is not None and single_max_tokens < 1:
        raise UsageError(f"single_max_tokens must be at least 1, got {single_max_tokens}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "predictions.jsonl"
    done = finished_rows(path, items, system)
    events = list(callbacks or [])
    pending = [item for item in items if item.id not in done]
    for cb in events:
        cb.on_start(len(items), len(items) - len(pending))
    writer = _ItemWriter(lm, system, out, seed, single_max_tokens, word_rule, generation or GenerationConfig(),
                         settings)
    failures = _Failures(out / "errors.jsonl")

    def one(item: EvalItem) -> dict | None:
        with claim(out, item.id) as mine:
            if not mine:
                for cb in events:
                    cb.on_item_elsewhere(item)
                return None
            # Finished by another process since this run read the file: not written twice.
            if (row := finished_rows(path, [item], system).get(item.id)) is not None:
                for cb in events:
                    cb.on_item_done(item, row)
                return row
            return write(item)

    def write(item: EvalItem) -> dict | None:
        for cb in events:
            cb.on_item_start(item)
        try:
            row = writer.run(item, events)
        except LongformError as exc:
            failures.add(item, exc)  # re-raises the third in a row
            for cb in events:
                cb.on_item_failed(item, exc)
            return None
        failures.passed()
        append_prediction(path, row)  # the checkpoint: durable before the item counts as done
        clock.item_done()
        for cb in events:
            cb.on_item_done(item, row)
        return row

    # One llama.cpp context serves one call at a time: more workers would only interleave runs.
    workers = min(concurrency, max(1, getattr(lm.provider, "max_concurrency", 1)), max(1, len(pending)))
    # the run's process- and core-hours; a run with nothing left to write spent none
    clock = ProcessClock(out, system=system, workers=workers) if pending else contextlib.nullcontext()
    with clock:
        if workers == 1:
            for item in pending:
                if (row := one(item)) is not None:
                    done[item.id] = row
        else:
            _run_pool(one, pending, workers, done)
    for cb in events:
        cb.on_end()
    done.update(finished_rows(path, items, system))  # and rows other processes finished meanwhile
    return [done[item.id] for item in items if item.id in done]  # failed or still in flight elsewhere: missing


def _run_pool(one, pending: list[EvalItem], workers: int, done: dict[int, dict]) -> None:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
        futures = {pool.submit(one, item): item for item in pending}
        try:
            for future in as_completed(futures):
                if (row := future.result()) is not None:
                    done[futures[future].id] = row
        except BaseException:
            # Stop queued items; those in flight finish and are saved before the error surfaces.
            for future in futures:
                future.cancel()
            raise


def finished_rows(path: Path, items: list[EvalItem], system: str) -> dict[int, dict]:
    """Rows of an earlier run of these items, by id, after removing a torn last line.

    Refuses a file written for other prompts or another system: mixing them would
    produce a report that describes neither run.
    """
    if not path.exists():
        return {}
    repair(path)
    by_id = {item.id: item for item in items}
    rows: dict[int, dict] = {}
    for number, row in enumerate(read_predictions(path, on_torn=None), start=1):
        item_id = row.get("id")
        if not isinstance(item_id, int):
            raise UsageError(f"{path}: row {number} has no 'id'; not written by `longform eval`, use another --out")
        if row.get("system") != system:
            raise UsageError(f"{path}: holds {row.get('system')!r} predictions, not {system!r}; use another --out")
        item = by_id.get(item_id)
        if item is None:
            continue  # an item outside this --subset/--limit: kept in the file, not in this run
        if row["prompt"] != item.prompt:
            raise UsageError(f"{path}: row {number} (id {item_id}) has a different prompt than the data; "
                             "use another --out")
        rows.setdefault(item_id, row)
    return rows


class _Failures:
    """Failed items, logged one JSON line each as they happen (errors.jsonl)."""

    def __init__(self, path: Path):
        self.log, self.in_a_row = JsonlLog(path), 0
        self._lock = threading.Lock()  # items may fail in worker threads

    def add(self, item: EvalItem, error: LongformError) -> None:
        self.log.append({"id": item.id, "length": item.length, "error": f"{error.__class__.__name__}: {error}",
                         "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
        with self._lock:
            self.in_a_row += 1
            if self.in_a_row >= FAILURES_IN_A_ROW:
                raise error

    def passed(self) -> None:
        with self._lock:
            self.in_a_row = 0


class _ItemWriter:
    """Produces one item's prediction row with the chosen system (pipeline.systems)."""

    def __init__(self, lm: LM, system: str, out: Path, seed: int, single_max_tokens: int | None,
                 word_rule: str, generation: GenerationConfig, settings=None):
        settings = dataclasses.replace(settings or WriteSettings(), generation=generation)
        self.writer = make_writer(system, lm, settings, max_tokens=single_max_tokens, word_rule=word_rule)
        self.system, self.out, self.seed, self.word_rule = system, out, seed, word_rule

    def run(self, item: EvalItem, events: list[EvalCallbacks]) -> dict:
        if self.system == "single":
            # Per-item seeds: reproducible, yet items do not share one random stream.
            result = self.writer.write(item.prompt, None, target_words=item.length, seed=self.seed * 100_003 + item.id)
        else:  # a document killed mid-way resumes from its last finished section
            result = self.writer.write(item.prompt, self.out / "runs" / str(item.id), target_words=item.length,
                                       seed=self.seed, callbacks=[_SectionWords(item, events)], resume=True)
        # usage spans every process that worked on this document, so tokens and
        # seconds stay right for a document resumed after a kill
        return {"id": item.id, "prompt": item.prompt, "type": item.type, "length": item.length,
                "language": item.language, "system": self.system, "response": result.text,
                "response_words": count_words(result.text, self.word_rule), "seconds": round(result.usage.seconds, 3),
                "completion_tokens": result.usage.completion_tokens}
