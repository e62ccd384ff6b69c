"""Options shared by every command that talks to a model."""

from __future__ import annotations

import argparse
import sys

from ..backends import BACKENDS, LM, GenerationConfig, load_backend
from ..errors import UsageError
from .bounds import CONCURRENCY, RETRIES, real, whole


def add_backend_options(parser: argparse.ArgumentParser, several_servers: bool = False) -> None:
    group = parser.add_argument_group("model backend")
    group.add_argument("--backend", default="embedded",
                       help=f"one of {', '.join(BACKENDS)}: embedded, openai, openai:URL#MODEL, hf:PATH, mock:lorem")
    if several_servers:
        group.add_argument("--base-url", action="append",
                           help="OpenAI-compatible server; repeat it to spread documents over several (round-robin)")
    else:
        group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    group.add_argument("--model", help="model name to send to the server")
    group.add_argument("--api-key-env", default=None,
                       help="environment variable holding the backend server's API key (OPENAI_API_KEY)")
    group.add_argument("--concurrency", type=CONCURRENCY, default=None,
                       help="documents in flight at once: parallel requests to a server, or with the embedded "
                            "backend that many sequences decoded together on one model (continuous batching)")
    group.add_argument("--max-retries", type=RETRIES, default=5,
                       help="retries of a failed call, with backoff; each is printed (default 5)")
    group.add_argument("--timeout", type=real(1.0, 86_400.0), default=None, metavar="SECONDS",
                       help="openai backend: the deadline of one attempt, however slowly the reply trickles "
                            "in (default 600)")
    sampling = parser.add_argument_group("sampling (defaults depend on the backend)")
    sampling.add_argument("--temperature", type=real(0.0, 2.0), help="0: greedy; higher: more varied text")
    sampling.add_argument("--top-p", type=real(0.0, 1.0, low_open=True), help="nucleus sampling's share of probability")
    sampling.add_argument("--repetition-penalty", type=real(0.0, 10.0, low_open=True),
                          help="above 1 discourages tokens already in the text")


def add_layout_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("how sections are written")
    group.add_argument("--layout", choices=("auto", "continuous", "turns", "official"), default="auto",
                       help="continuous: the document as one growing reply (prefix-cache friendly, default where "
                            "the backend can continue a reply); turns: a chat turn per section; official: "
                            "LongWriter's prompt with all text so far (a baseline)")
    group.add_argument("--context", type=whole(512, 10_000_000), metavar="TOKENS",
                       help="working context window; the context rolls with a running summary beyond it "
                            "(default: the backend's; 4096 for embedded)")
    group.add_argument("--candidates", type=whole(1, 16), default=1, metavar="K",
                       help="continuous layout: sample K continuations of each passage at once and keep the most "
                            "on-task one (K times the tokens; decoded together with --concurrency K on embedded)")
    group.add_argument("--candidate-judge", choices=("panel", "lexical"), default="panel",
                       help="what picks the candidates: the quality panel's encoder (on topic, not restating; "
                            "needs longform[quality]) or request-word counts (default: %(default)s)")
    group.add_argument("--steer", action="store_true",
                       help="continuous layout: every ~200 words, a short user turn names the part being written "
                            "again, where the model writes (calls end at paragraph ends)")
    group.add_argument("--fresh-parts", action="store_true",
                       help="continuous layout: each part starts a fresh conversation holding the task, the whole "
                            "outline, a line saying which parts are written and which comes next, and the part's "
                            "heading (no earlier text), so the model reads the task, not pages of its own text")
    group.add_argument("--topic-guard", action="store_true",
                       help="continuous layout: a new paragraph that leaves the request or restates an earlier "
                            "part (by the quality panel's lines) is cut and written again with another seed, up to "
                            "3 times a section (needs longform[quality])")
    group.add_argument("--no-length-control", action="store_true",
                       help="keep the plan's budgets instead of rebalancing toward the target")


def write_settings_from_args(args: argparse.Namespace, **extra):
    from ..pipeline.runner import WriteSettings

    return WriteSettings(layout=args.layout, context_tokens=args.context, candidates=args.candidates,
                         candidate_judge=args.candidate_judge, steer=args.steer,
                         fresh_parts=args.fresh_parts, topic_guard=args.topic_guard,
                         control_length=not args.no_length_control, generation=generation_from_args(args), **extra)


def backends_from_args(args: argparse.Namespace) -> list[LM]:
    """One LM per --base-url (several when it was repeated), else the one --backend names."""
    urls = args.base_url if isinstance(args.base_url, list) else [args.base_url]
    if len(urls) > 1 and not args.backend.startswith("openai"):
        raise UsageError("several --base-url values need an openai backend")
    return [backend_from_args(args, url) for url in urls]


def backend_from_args(args: argparse.Namespace, base_url: str | None = None) -> LM:
    """Build the LM the options ask for; fail fast if a server is unreachable."""
    spec = args.backend
    options = {}
    if spec.startswith("openai"):
        url = base_url if base_url is not None else args.base_url
        options = {"base_url": url[0] if isinstance(url, list) else url, "model": args.model,
                   "api_key_env": args.api_key_env, "concurrency": args.concurrency}
        if getattr(args, "timeout", None):
            options["timeout"] = args.timeout
    elif spec.split("?")[0] == "embedded":
        # one model, N sequences batched (backends/batching.py): the documents in flight, times the
        # candidates each call may sample at once
        from ..pipeline.topic_guard import streams

        parallel = (getattr(args, "concurrency", None) or 1) * streams(getattr(args, "candidates", 1),
                                                                       getattr(args, "topic_guard", False))
        options = {"parallel": parallel} if parallel > 1 else {}
    lm = load_backend(spec, max_retries=args.max_retries, **options)
    lm.on_retry_line = lambda line: print(f"{lm.name}: {line}", file=sys.stderr, flush=True)
    check = getattr(lm.provider, "check", None)
    if check is not None:
        check()
    return lm


def generation_from_args(args: argparse.Namespace) -> GenerationConfig:
    return GenerationConfig(temperature=args.temperature, top_p=args.top_p,
                            repetition_penalty=args.repetition_penalty, seed=getattr(args, "seed", None))
