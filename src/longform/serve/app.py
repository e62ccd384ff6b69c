"""The FastAPI app: OpenAI-compatible endpoints, the jobs API and the web page.

    GET  /v1/models                      what is served
    POST /v1/chat/completions            a whole document, or streamed (stream: true)
    POST /v1/jobs                        {"instruction", "target_words"?, "model"?} → the job
    GET  /v1/jobs                        every job, newest first
    GET  /v1/jobs/{id}                   status, plan, finished sections, usage
    GET  /v1/jobs/{id}/events?start=N    server-sent events: plan, section_start, delta, reset, section, done...
    POST /v1/jobs/{id}/cancel            stop it (the run directory stays, resumable)
    GET  /v1/jobs/{id}/document          document.md
    GET  /                               the web page

With API keys set, every /v1 request (and /openapi.json) needs `Authorization: Bearer KEY`
(401 otherwise), and each key sees only its own jobs. Without a key, see guards.py for the Host
and body-type rules. Bodies over `max_body` bytes get 413, a full queue 429 with Retry-After,
other bad requests 400/404/405, always in OpenAI's error shape. A chat request's job is tied to
its client (ties.py): a client that goes away cancels it, a retried request joins it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException

from . import guards
from .chat import parse_chat
from .jobs import FINISHED, Job, JobManager
from .openai import MODELS, ApiError, completion_body, model_card, models_list, now, stream_chunks, unknown_model
from .ties import Ties

WEB = Path(__file__).parent / "web"
MAX_EVENT_START = 10**7


@dataclass
class ServeSettings:
    api_key: str | None = None  # one key, named "default"
    api_keys: dict[str, str] | None = None  # name → key; each key sees only its own jobs
    default_words: int = 2000
    max_words: int = 50_000
    max_body: int = 1_000_000  # bytes
    max_queue: int = 256  # jobs waiting beyond the running ones
    host: str = "127.0.0.1"  # the bound address: without a key, the only Host served…
    allowed_hosts: tuple[str, ...] = ()  # …besides these ("*": any)
    retry_window: float = 120.0  # seconds a retried request joins its finished job
    detach_grace: float = 5.0  # seconds a job waits for a client that went away to come back

    def keys(self) -> dict[str, str] | None:
        keys = dict(self.api_keys or {})
        if self.api_key:
            keys["default"] = self.api_key
        return guards.key_digests(keys) if keys else None


def create_app(manager: JobManager, settings: ServeSettings | None = None) -> FastAPI:
    s = settings or ServeSettings()
    app = FastAPI(title="longform", docs_url=None, redoc_url=None)
    keys = s.keys()
    hosts = None if keys else guards.allowed_hosts(s.host, s.allowed_hosts)
    ties = Ties(manager, s.retry_window, s.detach_grace)
    started = now()
    _errors(app)

    def check(request: Request) -> None:
        guards.check_host(request, hosts)
        if request.url.path.startswith("/v1/") or request.url.path == "/openapi.json":
            request.state.owner = guards.owner_of(request, keys)
            guards.check_length(request, s.max_body)
            if keys is None:
                guards.check_json_type(request)

    app.add_middleware(guards.Guard, check=check)

    def submit(request, owner: str) -> Job:
        if manager.queued() >= s.max_queue:
            raise ApiError(429, f"the queue is full ({s.max_queue} jobs waiting); try again later", "queue_full",
                           headers={"Retry-After": "30"})
        return manager.create(request, owner)

    def job_or_404(request: Request, job_id: str) -> Job:
        job = manager.get(job_id)
        if job is None or job.owner != request.state.owner:
            raise ApiError(404, f"no job {job_id!r}", "job_not_found")
        return job

    async def wait(job: Job, start: int) -> list[dict]:
        return await anyio.to_thread.run_sync(job.wait_events, start, 2.0, abandon_on_cancel=True)

    @app.get("/v1/models")
    async def models():
        return models_list(started)

    @app.get("/v1/models/{name:path}")
    async def model(name: str):
        if name not in MODELS:
            raise unknown_model(name)
        return model_card(name, started)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await guards.read_json_body(request, s.max_body)
        call = parse_chat(body, s.default_words, s.max_words)
        key = Ties.key(request.state.owner, request.headers.get("idempotency-key"), body)
        jobs: list[Job] = []
        try:
            for i, r in enumerate(call.requests()):
                jobs.append(ties.job_for(f"{key}#{i}", r, lambda r: submit(r, request.state.owner)))
        except ApiError:  # e.g. the queue filled up after the first choice
            for job in jobs:
                ties.release(job)
            raise
        if call.stream:
            return StreamingResponse(_held(ties, jobs[0], stream_chunks(jobs[0], call, wait)),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        try:
            for job in jobs:
                while job.status not in FINISHED:
                    if await request.is_disconnected():
                        return PlainTextResponse("", status_code=499)  # nobody reads it
                    await wait(job, len(job.events))
        finally:
            for job in jobs:
                ties.release(job)
        for job in jobs:
            if job.status != "done":
                raise ApiError(500 if job.status == "failed" else 409, f"the job {job.status}: {job.error or ''}",
                               f"job_{job.status}")
        return completion_body(jobs, call)

    @app.post("/v1/jobs", status_code=201)
    async def create_job(request: Request):
        body = await guards.read_json_body(request, s.max_body)
        instruction = body.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise ApiError(400, "'instruction' must be non-empty text", param="instruction")
        words = {k: body[k] for k in ("target_words", "max_words") if body.get(k) is not None}
        chat_body = {"model": body.get("model") or "longform", "seed": body.get("seed"),
                     "messages": [{"role": "user", "content": instruction}], **words}
        return submit(parse_chat(chat_body, s.default_words, s.max_words).request, request.state.owner).record()

    @app.get("/v1/jobs")
    async def list_jobs(request: Request):
        mine = [j for j in manager.list() if j.owner == request.state.owner]
        return {"object": "list", "data": [j.record() for j in mine],
                "running": sum(j.status == "running" for j in mine), "queued": sum(j.status == "queued" for j in mine)}

    @app.get("/v1/jobs/{job_id}")
    async def get_job(request: Request, job_id: str):
        return job_or_404(request, job_id).snapshot()

    @app.get("/v1/jobs/{job_id}/events")
    async def job_events(request: Request, job_id: str, start: str = "0"):
        job = job_or_404(request, job_id)
        if not start.isdigit() or int(start) > MAX_EVENT_START:
            raise ApiError(400, f"'start' must be a whole number from 0 to {MAX_EVENT_START}", param="start")
        return StreamingResponse(_event_lines(job, int(start), wait), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.post("/v1/jobs/{job_id}/cancel")
    async def cancel_job(request: Request, job_id: str):
        job_or_404(request, job_id)
        return manager.cancel(job_id).record()

    @app.get("/v1/jobs/{job_id}/document")
    async def document(request: Request, job_id: str):
        job = job_or_404(request, job_id)
        path = job.run_dir / "document.md"
        if not path.exists():
            raise ApiError(404, f"job {job_id} has no document yet", "no_document")
        return FileResponse(path, media_type="text/markdown; charset=utf-8", filename=f"{job_id}.md")

    @app.get("/")
    async def page():
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/app.js")
    async def script():
        return FileResponse(WEB / "app.js", media_type="text/javascript; charset=utf-8")

    @app.get("/healthz")
    async def health():
        return PlainTextResponse("ok")

    app.state.manager, app.state.models, app.state.ties = manager, list(MODELS), ties
    return app


def _errors(app: FastAPI) -> None:
    """Every error in OpenAI's shape, FastAPI's own (404, 405, 422) included."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        what = {404: "no such route", 405: f"{request.method} is not allowed here"}.get(exc.status_code, exc.detail)
        error = ApiError(exc.status_code, f"{what}: {request.url.path}", "not_found" if exc.status_code == 404
                         else "method_not_allowed" if exc.status_code == 405 else "http_error")
        return JSONResponse(error.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(ApiError(400, f"{where}: {first.get('msg', 'invalid')}").body(), status_code=400)


async def _held(ties: Ties, job: Job, lines):
    """`lines`, with the job released when the stream ends or its client disconnects."""
    try:
        async for line in lines:
            yield line
    finally:
        ties.release(job)


async def _event_lines(job: Job, start: int, wait):
    seen = start
    yield f"event: snapshot\ndata: {json.dumps(job.snapshot(), ensure_ascii=False)}\n\n"
    while True:
        events = await wait(job, seen)
        for event in events:
            yield f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
        seen += len(events)
        if not events:
            yield ": keep-alive\n\n"
        if job.status in FINISHED and seen >= len(job.events):
            return
