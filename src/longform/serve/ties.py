"""Jobs tied to the clients that asked for them.

A chat-completions request is a job that lives as long as someone waits for it. Each waiting
request holds the job (`hold`/`release`); when the last one lets go before the job ends (a client
timed out or hung up), the job is cancelled after a short grace, so the SDK's own retry, which
comes within a second or two, still finds it running. Its run directory stays, and the job says
why it stopped (`error: "client went away"`).

A retried request joins the job it started instead of starting another. The request's key is
its `Idempotency-Key` header when it sends one, else its body (the same JSON from the same API
key). A key joins a job that is queued or running, or that finished less than `window` seconds
ago; a job cancelled because its client went away is queued again and resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

from .jobs import FINISHED, Job, JobManager, JobRequest

CLIENT_GONE = "client went away"


class Ties:
    def __init__(self, manager: JobManager, window: float = 120.0, grace: float = 5.0):
        self.manager, self.window, self.grace = manager, window, grace
        self.keys: dict[str, str] = {}  # request key → job id
        self.holders: dict[str, int] = {}  # job id → requests waiting on it
        self.lock = threading.Lock()

    @staticmethod
    def key(owner: str, idempotency_key: str | None, body: dict) -> str:
        if idempotency_key:
            return f"{owner}|idem|{idempotency_key}"
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return f"{owner}|body|{hashlib.sha256(canonical.encode('utf-8', 'replace')).hexdigest()}"

    def job_for(self, key: str, request: JobRequest, submit) -> Job:
        """The job this request key already has, else a new one from `submit(request)`."""
        with self.lock:
            job = self.manager.get(self.keys.get(key, ""))
            if job is not None and self._joinable(job):
                if job.status == "cancelled" and job.error == CLIENT_GONE:
                    self.manager.requeue(job)
                self._hold(job)
                return job
            job = submit(request)
            self.keys[key] = job.id
            self._hold(job)
            return job

    def _joinable(self, job: Job) -> bool:
        if job.status not in FINISHED:
            return True
        if job.status == "cancelled" and job.error == CLIENT_GONE:
            return True
        return job.status == "done" and time.time() - (job.finished or 0) < self.window

    def _hold(self, job: Job) -> None:
        self.holders[job.id] = self.holders.get(job.id, 0) + 1

    def release(self, job: Job) -> None:
        """One waiting request is gone; with no other, the job is cancelled after the grace."""
        with self.lock:
            left = self.holders.get(job.id, 1) - 1
            self.holders[job.id] = max(0, left)
        if left <= 0 and job.status not in FINISHED:
            timer = threading.Timer(self.grace, self._cancel_if_alone, args=(job,))
            timer.daemon = True
            timer.start()

    def _cancel_if_alone(self, job: Job) -> None:
        with self.lock:
            if self.holders.get(job.id, 0) > 0 or job.status in FINISHED:
                return
            self.manager.cancel(job.id, reason=CLIENT_GONE)
