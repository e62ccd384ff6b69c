"""A chat-completions request body read into what a job needs, every field checked.

The fields and what they do here:
- `model`: "longform" (AgentWrite) or "longform:single" (the backend asked once).
- `messages`: the last user message is the task. System (and developer) messages and earlier
  turns are not dropped: they come before it in the instruction, earlier turns as "User: …" and
  "Assistant: …" lines.
- `max_words` / `target_words` (sent with the SDK's `extra_body`), else a length in the
  instruction ("a 5,000-word essay"), else the server's default: the document's length.
- `max_tokens` / `max_completion_tokens`: a hard cap. The target is lowered to the words that fit
  at the model's rate (1.3 tokens a word, 2.4 a Chinese character), the text is cut to whole
  sentences within it, and `finish_reason` is "length" whenever the cap shortened the document.
- `n`: that many documents, each its own job with seed `seed + i` (not with `stream`).
- `stop`: up to four strings; the document ends before the first one found.
- `temperature`, `top_p`, `seed`: the job's sampling.
- `stream`, `stream_options.include_usage`: as in OpenAI's API.
Anything malformed is an ApiError naming the field (400).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..lengths import target_words_from_instruction
from ..text import count_words, detect_language, trim_to_words
from .jobs import JobRequest
from .openai import MODELS, ApiError, unknown_model

TOKENS_PER_WORD = {"en": 1.3, "zh": 2.4}  # SmolLM2's measured rates; other tokenizers are close
MAX_CHOICES = 8
MAX_STOPS = 4


@dataclass
class ChatCall:
    model: str
    request: JobRequest
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    stop: tuple[str, ...] = ()
    word_cap: int | None = None  # from max_tokens
    capped: bool = False  # the cap lowered the target: the document ends for length

    def requests(self) -> list[JobRequest]:
        """One job request per choice, each with its own seed."""
        return [dataclasses.replace(self.request, seed=self.request.seed + i, live=self.stream) for i in range(self.n)]

    def finish(self, text: str) -> tuple[str, str]:
        """The text a client gets and its finish_reason, after `stop` and the token cap."""
        reason = "length" if self.capped else "stop"
        cut = min((i for i in (text.find(s) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            text, reason = text[:cut], "stop"
        if self.word_cap is not None and count_words(text) > self.word_cap:
            text, reason = cap_words(text, self.word_cap), "length"
        return text, reason


def cap_words(text: str, cap: int) -> str:
    """Whole sentences within `cap` words; a first sentence longer than that is cut by words."""
    kept = trim_to_words(text, cap)
    if count_words(kept) <= cap:
        return kept
    return " ".join(kept.split()[:cap])


def parse_chat(body: dict, default_words: int, max_words: int) -> ChatCall:
    model = _model(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of messages", param="messages")
    instruction = _instruction(messages)
    target = _target(body, instruction, default_words, max_words)
    n = _integer(body, "n", 1, MAX_CHOICES) or 1
    stream = _boolean(body, "stream")
    if stream and n > 1:
        raise ApiError(400, "'n' above 1 cannot be streamed: ask for the choices without 'stream'", param="n")
    word_cap = _word_cap(body, instruction)
    request = JobRequest(instruction, min(target, word_cap or target), MODELS[model],
                         _integer(body, "seed", 0, 2**63 - 1) or 0,
                         _number(body, "temperature", 0.0, 2.0), _number(body, "top_p", 1e-6, 1.0))
    return ChatCall(model, request, n, stream, _include_usage(body), _stops(body), word_cap,
                    capped=word_cap is not None and word_cap < target)


def _model(body: dict) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "'model' is required (one of: " + ", ".join(MODELS) + ")", param="model")
    if model not in MODELS:
        raise unknown_model(model, param="model")
    return model


def text_of(content, where: str) -> str:
    """The text of a message's content: a string, or a list of parts whose text parts count."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ApiError(400, f"'{where}.content' must be text or a list of content parts", param=f"{where}.content")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            raise ApiError(400, f"'{where}.content[{i}]' must be an object", param=f"{where}.content")
        if part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                raise ApiError(400, f"'{where}.content[{i}].text' must be text", param=f"{where}.content")
            texts.append(part["text"])
    return "".join(texts)


def _instruction(messages: list) -> str:
    turns = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ApiError(400, f"'{where}' must be an object with a 'role'", param="messages")
        turns.append((message["role"], text_of(message.get("content"), where).strip()))
    users = [i for i, (role, text) in enumerate(turns) if role == "user" and text]
    if not users:
        raise ApiError(400, "no user message with text: the last user message is the instruction", param="messages")
    last = users[-1]
    system = [text for role, text in turns if role in ("system", "developer") and text]
    earlier = [f"{role.title()}: {text}" for role, text in turns[:last] if role in ("user", "assistant") and text]
    return "\n\n".join([*system, *(["\n".join(earlier)] if earlier else []), turns[last][1]])


def _target(body: dict, instruction: str, default_words: int, max_words: int) -> int:
    for key in ("max_words", "target_words"):
        if body.get(key) is not None:
            return _integer(body, key, 1, max_words)
    found = target_words_from_instruction(instruction)
    return min(found, max_words) if found else default_words


def _word_cap(body: dict, instruction: str) -> int | None:
    tokens = [_integer(body, key, 1, 10**7) for key in ("max_tokens", "max_completion_tokens")]
    tokens = [t for t in tokens if t is not None]
    if not tokens:
        return None
    rate = TOKENS_PER_WORD.get(detect_language(instruction), TOKENS_PER_WORD["en"])
    return max(1, int(min(tokens) / rate))


def _integer(body: dict, key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"'{key}' must be a whole number from {low} to {high}", param=key)
    return value


def _number(body: dict, key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ApiError(400, f"'{key}' must be a number from {low:g} to {high:g}", param=key)
    return float(value)


def _boolean(body: dict, key: str) -> bool:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be true or false", param=key)
    return bool(value)


def _include_usage(body: dict) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object", param="stream_options")
    return _boolean(options, "include_usage")


def _stops(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > MAX_STOPS or not all(isinstance(s, str) and s for s in stops):
        raise ApiError(400, f"'stop' must be text or a list of up to {MAX_STOPS} non-empty strings", param="stop")
    return tuple(stops)
