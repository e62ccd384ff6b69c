"""The OpenAI-compatible face: error bodies, /v1/models, and chat-completion responses.

`model` names the writing system: "longform" (AgentWrite: plan, then section by section, with
length control) or "longform:single" (the backend asked once). How a request body is read is
in chat.py. Every request is a job, so its run directory stays on disk.

Streaming sends text as soon as it is final, never a draft: a section can be regenerated or
cut while it is written (loop guard, meta-talk, length control). A streamed job writes in short
calls (LIVE_TOKENS), and after each one the section's whole paragraphs that no later step can
change are sent (`settled` events); the rest of a section goes when it ends. The chunks joined
are exactly the document (after `stop` and `max_tokens`). While nothing
is ready, an SSE comment (": keep-alive") goes out every KEEPALIVE seconds, so proxies and
clients with read timeouts keep the connection.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from .jobs import FINISHED, Job

if TYPE_CHECKING:
    from .chat import ChatCall

MODELS = {"longform": "agentwrite", "longform:single": "single"}
KEEPALIVE = 10.0  # seconds


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request_error", param: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        kind = "authentication_error" if self.status == 401 else "invalid_request_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def unknown_model(name: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"the model {name!r} does not exist; served: {', '.join(MODELS)}", "model_not_found", param)


def models_list(created: int) -> dict:
    return {"object": "list", "data": [model_card(name, created) for name in MODELS]}


def model_card(name: str, created: int) -> dict:
    return {"id": name, "object": "model", "created": created, "owned_by": "longform"}


def _usage_sum(jobs: list[Job]) -> dict:
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: sum(int((j.usage or {}).get(k, 0)) for j in jobs) for k in keys}


def completion_body(jobs: list[Job], call: "ChatCall") -> dict:
    choices = []
    for i, job in enumerate(jobs):
        text, reason = call.finish(job.document())
        choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": reason})
    return {"id": f"chatcmpl-{jobs[0].id}", "object": "chat.completion", "created": int(jobs[0].created),
            "model": call.model, "choices": choices, "usage": _usage_sum(jobs)}


def _chunk(job: Job, model: str, delta: dict, finish: str | None = None) -> str:
    body = {"id": f"chatcmpl-{job.id}", "object": "chat.completion.chunk", "created": int(job.created),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def stream_chunks(job: Job, call: "ChatCall", wait):
    """SSE lines for a job: the role, a chunk per finished section, keep-alives while none is
    ready, the finish, [DONE]. `wait(job, start)` returns the job's events from `start` (it may
    block, in a thread)."""
    yield _chunk(job, call.model, {"role": "assistant", "content": ""})
    seen, sent, quiet_since = 0, "", time.monotonic()
    while True:
        events = await wait(job, seen)
        seen += len(events)
        if time.monotonic() - quiet_since >= KEEPALIVE:  # drafts stream in, but no content is final yet
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        for event in events:
            # settled: text of a section that is final already; section: the rest of it
            piece = event.get("rest", event.get("text")) if event["event"] in ("settled", "section") else None
            if piece:
                text, reason = call.finish(sent + piece)
                if len(text) > len(sent):
                    yield _chunk(job, call.model, {"content": text[len(sent):]})
                    quiet_since = time.monotonic()
                if text != sent + piece:  # a stop string or the token cap ended it here
                    yield _chunk(job, call.model, {}, reason)
                    yield "data: [DONE]\n\n"
                    return
                sent = text
            elif event["event"] in FINISHED:
                for line in _ending(job, call, event, sent):
                    yield line
                return


def _ending(job: Job, call: "ChatCall", event: dict, sent: str) -> list[str]:
    if event["event"] != "done":
        error = {"message": f"the job {event['event']}: {event.get('error') or ''}".strip(": ")}
        return [f"data: {json.dumps({'error': error})}\n\n", "data: [DONE]\n\n"]
    lines = [_chunk(job, call.model, {}, call.finish(sent)[1])]
    if call.include_usage:
        usage = {"id": f"chatcmpl-{job.id}", "object": "chat.completion.chunk", "choices": [],
                 "created": int(job.created), "model": call.model, "usage": _usage_sum([job])}
        lines.append(f"data: {json.dumps(usage)}\n\n")
    return [*lines, "data: [DONE]\n\n"]


def now() -> int:
    return int(time.time())
