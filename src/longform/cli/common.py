"""Options shared by every command that talks to a model."""

from __future__ import annotations

import argparse

from ..backends import BACKENDS, LM, GenerationConfig, load_backend


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model backend")
    group.add_argument("--backend", default="embedded",
                       help=f"one of {', '.join(BACKENDS)}: embedded, openai, openai:URL#MODEL, hf:PATH, mock:lorem")
    group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    group.add_argument("--model", help="model name to send to the server")
    group.add_argument("--api-key-env", default=None, help="environment variable holding the API key (OPENAI_API_KEY)")
    group.add_argument("--concurrency", type=int, default=None, help="parallel requests to the server")
    group.add_argument("--max-retries", type=int, default=5, help="retries of a failed call (with backoff)")
    sampling = parser.add_argument_group("sampling (defaults depend on the backend)")
    sampling.add_argument("--temperature", type=float)
    sampling.add_argument("--top-p", type=float)
    sampling.add_argument("--repetition-penalty", type=float)


def backend_from_args(args: argparse.Namespace) -> LM:
    """Build the LM the options ask for; fail fast if a server is unreachable."""
    spec = args.backend
    options = {}
    if spec.startswith("openai"):
        options = {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
                   "concurrency": args.concurrency}
    lm = load_backend(spec, max_retries=args.max_retries, **options)
    check = getattr(lm.provider, "check", None)
    if check is not None:
        check()
    return lm


def generation_from_args(args: argparse.Namespace) -> GenerationConfig:
    return GenerationConfig(temperature=args.temperature, top_p=args.top_p,
                            repetition_penalty=args.repetition_penalty, seed=getattr(args, "seed", None))
