"""Shared pieces of the performance benchmarks: one embedded model, a raw
llama-cpp-python decode loop as the baseline, and a result printer.

Every benchmark measures a ratio inside one process (the machines are noisy;
absolute seconds mean little), prints a table and one JSON line, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from longform.backends import LM
from longform.backends.embedded import DEFAULTS, EmbeddedProvider

INSTRUCTION = ("Write a {words}-word history of lighthouses: how they were built, who kept them, "
               "and why many still stand.")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    p.add_argument("--model-path", help="another GGUF file (default: the embedded SmolLM2-135M)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plain", action="store_true",
                   help="measure the plain AgentWrite layout instead (official prompts, no length control): "
                        "the baseline the goals are set against")
    return p


def layout_settings(args) -> dict:
    """WriteSettings fields for the layout `args` asks for: longform's own, or `--plain`."""
    return {"layout": "official", "control_length": False} if args.plain else {}


def embedded(args) -> LM:
    provider = EmbeddedProvider(model_path=args.model_path, threads=args.threads)
    return LM(provider)


def raw_decode(provider: EmbeddedProvider, prompt: str, tokens: int, seed: int = 0,
               from_first_token: bool = False) -> float:
    """Seconds llama-cpp-python alone takes to decode `tokens` tokens after `prompt`,
    with the embedded backend's sampling settings and end-of-text ignored (so the
    count is exact). The prompt's prefill is not timed; with `from_first_token`
    the clock starts after the first token (then `tokens - 1` were timed)."""
    llm = provider.llm
    llm.reset()  # so the prompt is tokenized whole, not after cached history
    ids, _stop = provider._prompt([{"role": "user", "content": prompt}])
    tokens = min(tokens, provider.context_window - len(ids) - 1)
    llm.reset()
    llm.set_seed(seed)
    llm.eval(ids)
    started = time.perf_counter()
    produced = 0
    for _ in llm.generate([], temp=DEFAULTS.temperature, top_p=DEFAULTS.top_p,
                          repeat_penalty=DEFAULTS.repetition_penalty, reset=False):
        produced += 1
        if produced == 1 and from_first_token:
            started = time.perf_counter()
        if produced >= tokens:
            break
    seconds = time.perf_counter() - started
    llm.reset()
    return seconds


def write_document(lm: LM, words: int, layout: str = "auto", seed: int = 0, **settings):
    """Run AgentWrite on the benchmark instruction; returns (result, trace totals, wall seconds)."""
    from longform.pipeline.runner import AgentWrite, WriteSettings

    out = Path(tempfile.mkdtemp(prefix="longform-bench-")) / "run"
    started = time.perf_counter()
    result = AgentWrite(lm, WriteSettings(target_words=words, seed=seed, layout=layout, **settings)).run(
        INSTRUCTION.format(words=f"{words:,}"), out)
    wall = time.perf_counter() - started
    totals = json.loads((out / "trace.json").read_text())["totals"]
    return result, totals, wall


def document_tokens(lm: LM, text: str) -> int:
    return len(lm.provider.llm.tokenize(text.encode(), add_bos=False, special=False))


def report(name: str, rows: list[tuple[str, object]], result: dict) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{name}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(json.dumps({"benchmark": name, **result}))
    sys.stdout.flush()
