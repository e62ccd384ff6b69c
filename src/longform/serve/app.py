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

With an API key set, every /v1 request needs `Authorization: Bearer KEY` (401 otherwise).
Bodies over `max_body` bytes get 413, a full queue 429, other bad requests 400/404, always in
OpenAI's error shape.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse

from .jobs import FINISHED, Job, JobManager
from .openai import MODELS, ApiError, completion_body, job_request, models_list, now, stream_chunks

WEB = Path(__file__).parent / "web"


@dataclass
class ServeSettings:
    api_key: str | None = None
    default_words: int = 2000
    max_words: int = 50_000
    max_body: int = 1_000_000  # bytes
    max_queue: int = 256  # jobs waiting beyond the running ones


def create_app(manager: JobManager, settings: ServeSettings | None = None) -> FastAPI:
    s = settings or ServeSettings()
    app = FastAPI(title="longform", docs_url=None, redoc_url=None)
    started = now()

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.url.path.startswith("/v1/"):
            try:
                _check_auth(request, s.api_key)
                _check_length(request, s.max_body)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
        return await call_next(request)

    async def body_of(request: Request) -> dict:
        raw = await request.body()
        if len(raw) > s.max_body:  # a chunked body sends no length up front
            raise ApiError(413, f"request body over {s.max_body} bytes", "body_too_large")
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError(400, f"the body is not valid JSON ({exc})", "invalid_json") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", "invalid_json")
        return body

    def submit(request) -> Job:
        if manager.queued() >= s.max_queue:
            raise ApiError(429, f"the queue is full ({s.max_queue} jobs waiting); try again later", "queue_full")
        return manager.create(request)

    def job_or_404(job_id: str) -> Job:
        job = manager.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r}", "job_not_found")
        return job

    async def wait(job: Job, start: int) -> list[dict]:
        return await anyio.to_thread.run_sync(job.wait_events, start, 5.0)

    @app.get("/v1/models")
    async def models():
        return models_list(started)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await body_of(request)
        model, job_req = job_request(body, s.default_words, s.max_words)
        job = submit(job_req)
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(stream_chunks(job, model, usage, wait), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        while job.status not in FINISHED:
            await wait(job, len(job.events))
        if job.status != "done":
            raise ApiError(500 if job.status == "failed" else 409, f"the job {job.status}: {job.error or ''}",
                           f"job_{job.status}")
        return completion_body(job, model)

    @app.post("/v1/jobs", status_code=201)
    async def create_job(request: Request):
        body = await body_of(request)
        instruction = body.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise ApiError(400, "'instruction' must be non-empty text", param="instruction")
        chat_body = {"model": body.get("model") or "longform", "seed": body.get("seed"),
                     "messages": [{"role": "user", "content": instruction}],
                     "max_words": body.get("target_words") or body.get("max_words")}
        _, job_req = job_request(chat_body, s.default_words, s.max_words)
        return submit(job_req).record()

    @app.get("/v1/jobs")
    async def list_jobs():
        return {"object": "list", "data": [j.record() for j in manager.list()],
                "running": manager.running(), "queued": manager.queued()}

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str):
        return job_or_404(job_id).snapshot()

    @app.get("/v1/jobs/{job_id}/events")
    async def job_events(job_id: str, start: int = 0):
        job = job_or_404(job_id)

        async def lines():
            seen = start
            yield f"event: snapshot\ndata: {json.dumps(job.snapshot(), ensure_ascii=False)}\n\n"
            while True:
                events = await wait(job, seen)
                for event in events:
                    yield f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
                seen += len(events)
                if job.status in FINISHED and seen >= len(job.events):
                    return

        return StreamingResponse(lines(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post("/v1/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str):
        job_or_404(job_id)
        return manager.cancel(job_id).record()

    @app.get("/v1/jobs/{job_id}/document")
    async def document(job_id: str):
        job = job_or_404(job_id)
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

    app.state.manager, app.state.models = manager, list(MODELS)
    return app


def _check_auth(request: Request, key: str | None) -> None:
    if key is None:
        return
    given = request.headers.get("authorization", "")
    token = given[7:].strip() if given.lower().startswith("bearer ") else ""
    if not token or not hmac.compare_digest(token.encode(), key.encode()):
        raise ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", "invalid_api_key")


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise ApiError(413, f"request body over {limit} bytes", "body_too_large")
