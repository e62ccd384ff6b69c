"""Any OpenAI-compatible `/v1/chat/completions` server: vLLM, llama.cpp, Ollama, OpenAI.

Speaks plain HTTP through httpx, streaming by default so long sections arrive as
they are written. Rate limits (429), server errors (5xx), timeouts and dropped
connections raise `TransientError`, which the `LM` wrapper retries with backoff;
any other refusal is a `BackendError` with the server's own message. A failure
is never returned as text.

llama-cpp-python's server cuts a running stream whenever another request arrives
(`--interrupt_requests`, on by default): run it with `--interrupt_requests False`
or use `concurrency=1`, or concurrent calls keep cutting each other off. Its
streaming also slows down without bound when a model emits bytes that never form
UTF-8 (a small model writing Chinese): there, `?stream=false` is much faster
(the embedded backend avoids this with its own decoder, see decoding.py).

Completions mode (`?template=embedded`, a .gguf file, a model folder or a Jinja
file): we render the model's chat template ourselves and call `/v1/completions`
with the text. The server can then continue an assistant reply, so the engine
uses its continuous layout (each prompt extends the last, which a server's prefix
cache serves almost entirely), and `min_tokens` is sent, which llama.cpp's and
vLLM's servers honour. Use it with local servers whose model you know.
"""

from __future__ import annotations

import codecs
import json
import os
import time

import httpx

from ..errors import BackendError, UsageError
from ..text import LONE_SURROGATE
from .base import Completion, DeltaSink, GenerationConfig, Messages, TransientError, estimate_tokens
from .chat_template import load_chat_template

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIProvider:
    name = "openai"
    supports_prefill = False  # not part of the OpenAI API; servers differ

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 600.0,
        concurrency: int = 8,
        stream: bool = True,
        context_window: int | None = None,
        template: str | None = None,
    ):
        base_url = base_url or os.environ.get("LONGFORM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise UsageError("the openai backend needs --base-url (or LONGFORM_BASE_URL)")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url {base_url!r} must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.model = model or os.environ.get("LONGFORM_MODEL")  # None: the server's only model (check)
        self.name = f"openai:{self.base_url}#{self.model or 'default'}"
        self.stream, self.timeout = stream, float(timeout)
        self.context_window = context_window
        self.max_concurrency = concurrency
        self.chat_template = load_chat_template(str(template)) if template else None
        self.supports_prefill = self.chat_template is not None
        key = os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=concurrency),
        )

    def count_tokens(self, messages: Messages) -> int:
        return estimate_tokens(messages)

    def check(self) -> None:
        """Fail fast with a clear message when the server cannot be reached."""
        try:
            reply = self.client.get(f"{self.base_url}/models", timeout=10.0)
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot reach {self.base_url}: {exc.__class__.__name__}: {exc}") from None
        self._pick_model(_model_ids(reply))

    def _pick_model(self, served: list[str] | None) -> None:
        """Without --model, the server's only model, or an error naming those it serves, before any
        run directory exists. A named model is not checked against the list: llama.cpp's server,
        for one, answers to any name."""
        if not served:
            return
        if self.model is None:
            if len(served) > 1:
                raise UsageError(f"{self.base_url} serves {len(served)} models ({', '.join(served[:5])}"
                                 f"{', …' if len(served) > 5 else ''}): choose one with --model")
            self.model = served[0]
            self.name = f"openai:{self.base_url}#{self.model}"

    def _payload(self, messages: Messages, config: GenerationConfig) -> dict:
        body = {"model": self.model or "default", "max_tokens": config.max_tokens, "stream": self.stream}
        stop = list(config.stop)
        if self.chat_template:
            body["prompt"], template_stop = self.chat_template.render(messages)
            stop += template_stop
            body["min_tokens"] = config.min_tokens
        else:
            body["messages"] = messages
        optional = {"temperature": config.temperature, "top_p": config.top_p, "seed": config.seed,
                    "repetition_penalty": config.repetition_penalty, "stop": stop or None,
                    "min_tokens": body.pop("min_tokens", None)}
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None) -> Completion:
        started = time.perf_counter()
        url = f"{self.base_url}/{'completions' if self.chat_template else 'chat/completions'}"
        try:
            deadline = started + self.timeout
            if self.stream:
                completion = self._streamed(url, self._payload(messages, config), on_delta, deadline)
            else:
                with self.client.stream("POST", url, json=self._payload(messages, config)) as response:
                    if response.status_code >= 400:
                        response.read()
                        _raise_for_status(response)
                    raw = b"".join(self._by(deadline, response.iter_bytes()))
                completion = _from_body(_json_bytes(raw))
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientError(f"{exc.__class__.__name__}: {exc}") from exc
        if not completion.prompt_tokens:
            completion.prompt_tokens = estimate_tokens(messages)
        completion.seconds = time.perf_counter() - started
        return completion

    def _by(self, deadline: float, chunks):
        """`chunks` until `deadline`: httpx's timeout is per read, so a server that trickles a
        byte at a time would otherwise hold an attempt for ever."""
        for chunk in chunks:
            if time.perf_counter() > deadline:
                raise TransientError(f"no whole reply within the {self.timeout:g} s deadline of an attempt")
            yield chunk

    def _streamed(self, url: str, payload: dict, on_delta: DeltaSink | None, deadline: float) -> Completion:
        parts: list[str] = []
        reason, usage, chunks = None, {}, 0
        with self.client.stream("POST", url, json=payload) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_status(response)
            for line in _lines(self._by(deadline, response.iter_bytes())):
                event = _sse_data(line)
                if event is None:
                    continue
                if "error" in event:
                    raise TransientError(f"server error in stream: {event['error']}")
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    text = _choice_text(choice, "delta")
                    text = checked_text(text) if text is not None else ""  # before any consumer sees it
                    if text:
                        parts.append(text)
                        chunks += 1
                        if on_delta:
                            on_delta(text)
                    reason = choice.get("finish_reason") or reason
        if reason is None:
            raise TransientError("stream ended without a finish reason (connection cut?)")
        return _completion("".join(parts), reason, usage, fallback_tokens=chunks)


def _sse_data(line: str) -> dict | None:
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise TransientError(f"malformed stream event: {data[:120]!r}") from None


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    detail = response.text[:300].replace("\n", " ")
    message = f"HTTP {response.status_code} from {response.request.url}: {detail}"
    if response.status_code in RETRY_STATUS:
        raise TransientError(message, retry_after=_retry_after(response))
    raise BackendError(message)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None  # absent, or an HTTP date: our own backoff applies


def _lines(chunks):
    """Text lines of a byte stream; invalid UTF-8 becomes U+FFFD, which checked_text refuses."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    for chunk in chunks:
        buffer += decoder.decode(chunk)
        *lines, buffer = buffer.split("\n")
        yield from (line.rstrip("\r") for line in lines)
    buffer += decoder.decode(b"", final=True)
    if buffer:
        yield buffer


def _json_bytes(raw: bytes) -> dict:
    # A 200 that is not a JSON object comes from a truncating proxy or a broken
    # server; it must end as an error (retried, then BackendError), not a crash.
    try:
        body = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise TransientError(f"the reply was not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise TransientError(f"response is not a JSON object: {raw[:120]!r}")
    return body


def _from_body(body: dict) -> Completion:
    choice = (body.get("choices") or [{}])[0]
    text = _choice_text(choice, "message")
    if text is None:
        raise TransientError(f"response without message content: {str(body)[:200]}")
    return _completion(text, choice.get("finish_reason") or "stop", body.get("usage") or {}, 0)


def _choice_text(choice: dict, key: str) -> str | None:
    """A choice's text: chat puts it under message/delta, completions under text."""
    if "text" in choice:
        return choice["text"]
    return (choice.get(key) or {}).get("content")


def _model_ids(reply) -> list[str] | None:
    """The ids of GET /models, or None where the server has no such list (404, not JSON)."""
    try:
        data = reply.json().get("data") if reply.status_code == 200 else None
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


def checked_text(text) -> str:
    """A reply's text, or a TransientError (a failed attempt: retried, then a BackendError) when
    the server sent something no document may hold: not text, a lone surrogate escape ("\\ud800",
    which crashes the first write), or U+FFFD (what invalid UTF-8 bytes became on the way)."""
    if not isinstance(text, str):
        raise TransientError(f"the reply's content is not text: {str(text)[:80]!r}")
    if LONE_SURROGATE.search(text):
        raise TransientError("the reply holds a lone surrogate escape (not valid Unicode)")
    if "\ufffd" in text:
        raise TransientError("the reply was not valid UTF-8 (U+FFFD in its text)")
    return text


def _completion(text: str, reason: str, usage: dict, fallback_tokens: int) -> Completion:
    text = checked_text(text)
    details = usage.get("prompt_tokens_details") or {}
    return Completion(
        text=text,
        finish_reason=reason,
        prompt_tokens=usage.get("prompt_tokens") or 0,
        cached_tokens=details.get("cached_tokens") or 0,
        completion_tokens=usage.get("completion_tokens") or fallback_tokens,
    )
