"""The OpenAI-compatible face: /v1/models and /v1/chat/completions.

`model` names the writing system: "longform" (AgentWrite: plan, then section by section, with
length control) or "longform:single" (the backend asked once). The last user message is the
instruction; the target comes from `max_words` (or `target_words`) in the request body (the
openai SDK sends it with `extra_body`), else from the instruction ("a 5,000-word essay"), else
the server's default. Every request is a job, so its run directory stays on disk.

Streaming sends each finished section as one `chat.completion.chunk`: a section can be
regenerated while it is written (loop guard, length control), so only finished text is sent,
and the chunks joined are exactly the document.
"""

from __future__ import annotations

import json
import time

from ..lengths import target_words_from_instruction
from .jobs import FINISHED, Job, JobRequest

MODELS = {"longform": "agentwrite", "longform:single": "single"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def body(self) -> dict:
        kind = "authentication_error" if self.status == 401 else "invalid_request_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def models_list(created: int) -> dict:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "longform"}
                                       for name in MODELS]}


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def job_request(body: dict, default_words: int, max_words: int) -> tuple[str, JobRequest]:
    """(model, request) from a chat-completions body, or an ApiError naming the field."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "'model' is required (one of: " + ", ".join(MODELS) + ")", param="model")
    if model not in MODELS:
        raise ApiError(404, f"the model {model!r} does not exist; served: {', '.join(MODELS)}", "model_not_found",
                       "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of messages", param="messages")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    instruction = _text(users[-1].get("content")).strip() if users else ""
    if not instruction:
        raise ApiError(400, "no user message with text: the last user message is the instruction", param="messages")
    target = _target(body, instruction, default_words, max_words)
    seed = body.get("seed") if isinstance(body.get("seed"), int) else 0
    return model, JobRequest(instruction, target, MODELS[model], seed)


def _target(body: dict, instruction: str, default_words: int, max_words: int) -> int:
    for key in ("max_words", "target_words"):
        if key in body and body[key] is not None:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= max_words:
                raise ApiError(400, f"'{key}' must be a whole number from 1 to {max_words}", param=key)
            return value
    found = target_words_from_instruction(instruction)
    return min(found, max_words) if found else default_words


def completion_body(job: Job, model: str) -> dict:
    return {"id": f"chatcmpl-{job.id}", "object": "chat.completion", "created": int(job.created), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": job.document()},
                         "finish_reason": "stop"}],
            "usage": job.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _chunk(job: Job, model: str, delta: dict, finish: str | None = None) -> str:
    body = {"id": f"chatcmpl-{job.id}", "object": "chat.completion.chunk", "created": int(job.created),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def stream_chunks(job: Job, model: str, include_usage: bool, wait):
    """SSE lines for a job: the role, a chunk per finished section, the finish, [DONE].
    `wait(job, start)` returns the job's events from `start` (it may block, in a thread)."""
    yield _chunk(job, model, {"role": "assistant", "content": ""})
    seen = 0
    while True:
        events = await wait(job, seen)
        seen += len(events)
        for event in events:
            if event["event"] == "section" and event["text"]:
                yield _chunk(job, model, {"content": event["text"]})
            elif event["event"] in FINISHED:
                if event["event"] != "done":
                    error = {"message": f"the job {event['event']}: {event.get('error') or ''}".strip(": ")}
                    yield f"data: {json.dumps({'error': error})}\n\n"
                else:
                    yield _chunk(job, model, {}, "stop")
                    if include_usage:
                        usage = {"id": f"chatcmpl-{job.id}", "object": "chat.completion.chunk", "choices": [],
                                 "created": int(job.created), "model": model, "usage": job.usage}
                        yield f"data: {json.dumps(usage)}\n\n"
                yield "data: [DONE]\n\n"
                return


def now() -> int:
    return int(time.time())
