"""Process time spent on a run folder: how many process-hours and core-hours a benchmark took.

A run may be written by several processes, one after another (resumed after a kill or at a session's end)
or side by side (--shard, a shared --out). Each process keeps one small file,
out_dir/processes/<started>-<pid>-<random>.json, with its wall seconds and the CPU seconds it used (user + system,
all its threads), rewritten after each finished item and every `beat` seconds, so a process killed with
SIGKILL loses at most one beat of its time. `process_time` sums the files.

Process-hours is what the README compares across engines (one item at a time per process before batched
decoding); core-hours is CPU time, which other jobs on the machine inflate far less than wall time does.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

from ..io import atomic_write_json, read_json

FOLDER = "processes"


class ProcessClock:
    """Records this process's time on `out_dir` while the `with` block runs (to its last beat if killed)."""

    def __init__(self, out_dir: str | Path, beat: float = 30.0, **facts):
        self.started = time.time()
        # one process may run several evals on one folder (a notebook): the suffix keeps them apart
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
        self.path = Path(out_dir) / FOLDER / name
        self.beat, self.facts, self.items = beat, facts, 0
        self._cpu0 = _cpu_seconds()
        self._wall0 = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # items finish in worker threads; the beat has its own
        self._thread = threading.Thread(target=self._beat, name="process-clock", daemon=True)

    def __enter__(self) -> ProcessClock:
        self.save()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.save()

    def item_done(self) -> None:
        with self._lock:
            self.items += 1
        self.save()

    def save(self) -> None:
        with self._lock:
            atomic_write_json(self.path, {
                "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started)),
                "wall_seconds": round(time.monotonic() - self._wall0, 1),
                "cpu_seconds": round(_cpu_seconds() - self._cpu0, 1),
                "items_finished": self.items, **self.facts})

    def _beat(self) -> None:
        while not self._stop.wait(self.beat):
            self.save()


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def process_time(out_dir: str | Path) -> dict | None:
    """{"processes", "wall_seconds", "cpu_seconds", "process_hours", "core_hours", "items_finished"} over
    every process that worked on `out_dir`, or None when none recorded its time (a folder written before
    this clock existed)."""
    files = sorted((Path(out_dir) / FOLDER).glob("*.json"))
    records = [r for r in (_record(f) for f in files) if r is not None]
    if not records:
        return None
    wall, cpu = (sum(r[k] for r in records) for k in ("wall_seconds", "cpu_seconds"))
    return {"processes": len(records), "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "process_hours": round(wall / 3600, 3), "core_hours": round(cpu / 3600, 3),
            "items_finished": sum(int(r.get("items_finished", 0)) for r in records)}


def _record(path: Path) -> dict | None:
    try:
        row = read_json(path)
    except (OSError, ValueError):
        return None  # a torn or foreign file says nothing about time; the others still count
    ok = isinstance(row, dict) and all(isinstance(row.get(k), (int, float)) for k in ("wall_seconds", "cpu_seconds"))
    return row if ok else None
