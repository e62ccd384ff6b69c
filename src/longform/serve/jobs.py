"""Jobs: one long document each, kept as a run directory so nothing is lost.

A job is `ROOT/<id>/job.json` (the request and its status) beside `ROOT/<id>/run/`, the
AgentWrite run directory (plan, sections, document.md, trace). Jobs wait in a queue and run on
a pool of `concurrency` workers. Each job keeps an in-memory list of events (plan, section
start/text/end, done, failed, cancelled) that stream readers follow from any position. When
the server starts, jobs left queued or running by an earlier process are queued again and
resume from their last finished section.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..io import atomic_write_json, read_json
from ..pipeline.document import RunDir, join_sections, tidy
from ..pipeline.events import Callbacks
from ..pipeline.runner import WriteSettings
from ..pipeline.systems import make_writer
from ..text import count_words

SYSTEMS = ("agentwrite", "single")
FINISHED = ("done", "failed", "cancelled")
JOB_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,80}")
LIVE_TOKENS = 160  # a streamed job's longest call: about a paragraph, ≈10 s on the embedded model


class JobCancelled(Exception):
    """Raised from inside a run to stop it; the run directory stays resumable."""


@dataclass
class JobRequest:
    instruction: str
    target_words: int
    system: str = "agentwrite"
    seed: int = 0
    temperature: float | None = None  # None: the server's own settings
    top_p: float | None = None
    live: bool = False  # streamed: written in short calls, so finished paragraphs go out as they come


@dataclass
class Job:
    id: str
    request: JobRequest
    folder: Path
    status: str = "queued"  # queued | running | done | failed | cancelled
    created: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    usage: dict = field(default_factory=dict)
    owner: str = ""  # the name of the API key that asked for it ("" without keys)
    words: int = 0  # written so far (finished sections): what the page's runs list shows
    events: list = field(default_factory=list, repr=False)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    cancel_reason: str | None = field(default=None, repr=False)
    changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def run_dir(self) -> Path:
        return self.folder / "run"

    def emit(self, kind: str, **data) -> None:
        with self.changed:
            self.events.append({"event": kind, **data})
            self.changed.notify_all()

    def wait_events(self, start: int, timeout: float = 15.0) -> list[dict]:
        """Events from `start` on; blocks up to `timeout` while there are none and the job runs."""
        with self.changed:
            if len(self.events) <= start and self.status not in FINISHED:
                self.changed.wait(timeout)
            return self.events[start:]

    def record(self) -> dict:
        return {"id": self.id, "status": self.status, "created": self.created, "finished": self.finished,
                "error": self.error, "usage": self.usage, "owner": self.owner, "words": self.words,
                "request": asdict(self.request)}

    def save(self) -> None:
        atomic_write_json(self.folder / "job.json", self.record())

    def settle(self, status: str, error: str | None = None) -> None:
        """Move to `status`, on disk first: whoever sees the new status in memory finds it
        in job.json too (the other order let a reader see "cancelled" beside a saved "running")."""
        finished = time.time()
        atomic_write_json(self.folder / "job.json",
                          {**self.record(), "status": status, "error": error, "finished": finished})
        self.status, self.error, self.finished = status, error, finished

    def snapshot(self) -> dict:
        """What a page needs to draw a job at any moment: status, plan, finished sections."""
        run = RunDir(self.run_dir)
        plan = run.load_plan() if run.exists() else None
        sections = run.load_sections() if run.exists() else []
        return {**self.record(), "plan": [asdict(s) for s in plan.sections] if plan else None,
                "sections": [{"index": s.index, "words": s.words, "text": s.text} for s in sections],
                "words": sum(s.words for s in sections)}

    def document(self) -> str:
        path = self.run_dir / "document.md"
        return path.read_text(encoding="utf-8").rstrip("\n") if path.exists() else ""


class _JobEvents(Callbacks):
    """AgentWrite's hooks → job events; also where a cancel request stops the run."""

    def __init__(self, job: Job):
        self.job, self.sections, self.settled = job, 0, ""

    def _check(self) -> None:
        if self.job.cancel.is_set():
            raise JobCancelled()

    def on_run_start(self, meta, resumed_sections: int) -> None:
        self.sections = resumed_sections
        self.job.words = sum(s.words for s in RunDir(self.job.run_dir).load_sections())  # a resumed job's

    def on_plan(self, plan) -> None:
        self.job.emit("plan", sections=[{"index": s.index, "point": s.point, "words": s.words}
                                        for s in plan.sections])

    def on_section_start(self, section) -> None:
        self._check()
        self.job.emit("section_start", index=section.index)

    def on_section_delta(self, section, text: str) -> None:
        self._check()
        self.job.emit("delta", index=section.index, text=text)

    def on_section_reset(self, section, reason: str) -> None:
        self.job.emit("reset", index=section.index, reason=reason)

    def _lead(self) -> str:
        return "\n\n" if self.sections > 0 else ""  # sections are joined by a blank line

    def on_section_settled(self, section, text: str) -> None:
        """The newly final part of the section, as an event a stream can send at once."""
        text = tidy(text)
        if len(text) > len(self.settled) and text.startswith(self.settled):
            piece = (self._lead() if not self.settled else "") + text[len(self.settled):]
            self.settled = text
            self.job.emit("settled", index=section.index, text=piece)

    def on_section_end(self, record) -> None:
        # `text` is exactly what document.md gains; `rest` is the part no settled event sent
        text = join_sections([record])
        lead = self._lead() if text else ""
        sent = self.settled if text.startswith(self.settled) else ""
        rest = (lead if not sent else "") + text[len(sent):]
        self.sections += 1
        self.settled = ""
        self.job.words += record.words
        self.job.emit("section", index=record.index, words=record.words, text=lead + text, rest=rest)


class JobManager:
    def __init__(self, root: str | Path, lm, settings=None, concurrency: int = 2, keep_finished: int = 500):
        self.root, self.lm, self.settings = Path(root), lm, settings
        self.keep_finished = keep_finished
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="job")
        self.stopping = False
        self.recovered = self._recover()
        self._evict()

    def _recover(self) -> int:
        count = 0
        for path in sorted(self.root.glob("*/job.json"), key=lambda p: p.stat().st_mtime):
            job = _load_job(path)
            if job is None:
                continue
            self.jobs[job.id] = job
            if job.status in FINISHED:
                job.emit(job.status)
            else:  # left queued or running by an earlier server: go on from the last section
                job.status = "queued"
                self.pool.submit(self._run, job)
                count += 1
        return count

    def create(self, request: JobRequest, owner: str = "") -> Job:
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
        job = Job(job_id, request, self.root / job_id, owner=owner)
        job.folder.mkdir(parents=True)
        job.save()
        with self.lock:
            self.jobs[job.id] = job
        self.pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, from memory or, once evicted, from its job.json."""
        job = self.jobs.get(job_id)
        if job is None and JOB_ID.fullmatch(job_id or "") and (self.root / job_id / "job.json").exists():
            job = _load_job(self.root / job_id / "job.json")
            if job is not None:
                job.emit(job.status)
        return job

    def _evict(self) -> None:
        """Keep at most `keep_finished` finished jobs in memory (the oldest go; they stay on disk)."""
        with self.lock:
            finished = sorted((j for j in self.jobs.values() if j.status in FINISHED), key=lambda j: j.finished or 0)
            for job in finished[:max(0, len(finished) - self.keep_finished)]:
                del self.jobs[job.id]

    def list(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str, reason: str | None = None) -> Job | None:
        job = self.jobs.get(job_id)
        if job is not None and job.status not in FINISHED:
            job.cancel_reason = reason
            job.cancel.set()
            if job.status == "queued":
                self._finish(job, "cancelled", error=reason)
        return job

    def requeue(self, job: Job) -> None:
        """A cancelled job queued again: it resumes from its last finished section."""
        if job.status != "cancelled":
            return
        job.cancel.clear()
        job.cancel_reason = None
        job.settle("queued")
        job.emit("queued")
        self.pool.submit(self._run, job)

    def queued(self) -> int:
        return sum(j.status == "queued" for j in self.jobs.values())

    def running(self) -> int:
        return sum(j.status == "running" for j in self.jobs.values())

    def shutdown(self) -> None:
        """Stop the running jobs at their next step and leave them (and the waiting ones) queued
        on disk, so the next server resumes them: a stop is not a cancel."""
        self.stopping = True
        for job in self.jobs.values():
            job.cancel.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Job) -> None:
        if job.cancel.is_set() or job.status in FINISHED or self.stopping:
            return
        job.status = "running"
        job.save()
        job.emit("running")
        try:
            text, usage = self._write(job)
        except JobCancelled:
            if self.stopping:  # the server is going down: the job waits for the next one
                job.status = "queued"
                job.save()
            else:
                self._finish(job, "cancelled", error=job.cancel_reason)
        except Exception as exc:  # noqa: BLE001 - any failure is the job's, reported to its readers
            self._finish(job, "failed", error=f"{exc.__class__.__name__}: {exc}")
        else:
            job.usage = usage
            self._finish(job, "done", words=count_words(text), document=text)

    def _finish(self, job: Job, status: str, error: str | None = None, **data) -> None:
        job.settle(status, error)
        job.emit(status, **({"error": error} if error else {}), **data)
        self._evict()

    def _write(self, job: Job) -> tuple[str, dict]:
        """The job's document, through the writer its system names; the single call may run
        to twice the target in tokens (its length is the model's business)."""
        request = job.request
        settings = self.settings or WriteSettings()
        settings = dataclasses.replace(settings, generation=settings.generation.merged(
            temperature=request.temperature, top_p=request.top_p),
            live_tokens=LIVE_TOKENS if request.live else settings.live_tokens)
        writer = make_writer(request.system, self.lm, settings,
                             max_tokens=round(request.target_words * 2))
        result = writer.write(request.instruction, job.run_dir, target_words=request.target_words,
                              seed=request.seed, callbacks=[_JobEvents(job)], resume=True)
        return result.text, _usage(result.usage.prompt_tokens, result.usage.completion_tokens)


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": int(prompt), "completion_tokens": int(completion),
            "total_tokens": int(prompt) + int(completion)}


def _load_job(path: Path) -> Job | None:
    """The job saved at `path`; a damaged file (torn, not UTF-8, wrong keys) is moved aside with
    a warning, so one bad job never keeps the server from starting."""
    try:
        data = read_json(path)
        if data.get("status") not in (*FINISHED, "queued", "running"):
            raise ValueError(f"unknown status {data.get('status')!r}")
        return Job(str(data["id"]), JobRequest(**data["request"]), path.parent, data["status"],
                   float(data["created"]), data.get("finished"), data.get("error"), data.get("usage") or {},
                   str(data.get("owner") or ""), int(data.get("words") or 0))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        aside = path.with_name(f"job.json.damaged-{int(time.time())}")
        path.replace(aside)
        print(f"warning: {path}: damaged job file ({exc.__class__.__name__}: {exc}); moved to {aside.name}",
              file=sys.stderr)
        return None
