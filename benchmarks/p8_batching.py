"""P8: many calls and many documents on one model. With N = 1, 2, 4, 8 in flight on the embedded backend
(continuous batching, backends/batching.py), and each N measured in a fresh process (two llama.cpp
thread teams in one process can slow each other 3x here, which would blur the ratios):

- bare: the bare batched decode loop (p8_batch_ceiling.py), N sequences, ÷ one sequence: the ceiling;
- calls: N concurrent `LM.complete` calls, aggregate output tok/s while all N decode, ÷ one call on
  today's serial path: the engine on the ceiling's workload (same prompt length, same new tokens);
- documents: N AgentWrite documents at once, output tokens over the wall clock from the first start
  to the last end, ÷ one document on the serial path: prompts read between sections, plans and
  summaries included;
- hf: N concurrent calls on the hf backend (the same model, de-quantized by transformers), ÷ one.

    python benchmarks/p8_batching.py [--words 250] [--streams 1 2 4 8] [--threads 2] [--skip-hf]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TOPICS = ["lighthouses", "tides", "harbours", "gulls", "ferries", "quays", "sea fog", "rope making"]


CALL_TOKENS = 128
CALL_SETTINGS: dict = {}


def _messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Write a long story about the lighthouse on {TOPICS[i % len(TOPICS)]}."}]


def steady_rate(lm, streams: int, tokens: int) -> float:
    """Aggregate tok/s of `streams` concurrent calls, counted while every one of them is decoding
    (from the last first token to the first last token), so prompt reading is left out as in the bare loop."""
    from longform.backends import GenerationConfig

    stamps: list[list[float]] = [[] for _ in range(streams)]

    def one(i: int) -> None:
        config = GenerationConfig(max_tokens=tokens, min_tokens=tokens, seed=i, **CALL_SETTINGS)
        lm.complete(_messages(i), config, on_delta=lambda _text, mine=stamps[i]: mine.append(time.perf_counter()))

    _in_threads(one, streams)
    start, end = max(s[0] for s in stamps), min(s[-1] for s in stamps)
    if end <= start:  # the calls never all decoded at once (toy sizes): the whole span instead
        start, end = min(s[0] for s in stamps), max(s[-1] for s in stamps)
    return sum(start <= t <= end for s in stamps for t in s) / max(end - start, 1e-9)


def calls_rate(streams: int, threads: int, parallel: bool, tokens: int) -> float:
    from longform import load_backend

    lm = load_backend(f"embedded?threads={threads}" + (f"&parallel={max(2, streams)}" if parallel else ""))
    steady_rate(lm, streams, 16)  # warm up: first decodes in a fresh context are slower
    return steady_rate(lm, streams, tokens)


def bare_rate(streams: int, threads: int, tokens: int) -> float:
    from llama_cpp import Llama

    import p8_batch_ceiling
    from longform import load_backend
    from longform.backends.model_file import embedded_model_path

    prompt = load_backend("embedded?threads=1").provider._prompt(_messages(0))[0]  # the calls' prompt length
    llm = Llama(model_path=str(embedded_model_path()), n_ctx=512, verbose=False, n_threads=threads)
    p8_batch_ceiling.run(llm, prompt, streams, 16, threads)
    return p8_batch_ceiling.run(llm, prompt, streams, tokens, threads)[1]


def hf_rate(streams: int, threads: int, tokens: int) -> float:
    import torch

    from longform import load_backend
    from longform.backends.model_file import embedded_model_path

    torch.set_num_threads(threads)
    path = embedded_model_path()
    lm = load_backend(f"hf:{path.parent}", gguf_file=path.name, batch_size=max(2, streams))
    steady_rate(lm, streams, 8)
    return steady_rate(lm, streams, max(8, tokens // 2))


def document_rate(streams: int, words: int, threads: int, parallel: bool) -> float:
    """Aggregate output tok/s of `streams` AgentWrite runs at once (parallel: the batched backend)."""
    from longform import AgentWrite, WriteSettings, load_backend

    spec = f"embedded?threads={threads}" + (f"&parallel={streams}" if parallel and streams > 1 else "")
    lm = load_backend(spec)
    tokens = [0] * streams
    with tempfile.TemporaryDirectory() as folder:
        def one(i: int) -> None:
            settings = WriteSettings(target_words=words, seed=i)
            result = AgentWrite(lm, settings).run(f"Write a {words}-word article about {TOPICS[i % len(TOPICS)]}.",
                                                  Path(folder) / str(i))
            tokens[i] = result.usage.completion_tokens

        started = time.perf_counter()
        _in_threads(one, streams)
        seconds = time.perf_counter() - started
    return sum(tokens) / seconds


def _in_threads(work, count: int) -> None:
    workers = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


MEASURES = {"bare": lambda a, n: bare_rate(n, a.threads, a.tokens),
            "calls": lambda a, n: calls_rate(n, a.threads, n > 1, a.tokens),
            "serial-calls": lambda a, n: calls_rate(n, a.threads, False, a.tokens),
            "documents": lambda a, n: document_rate(n, a.words, a.threads, parallel=True),
            "hf": lambda a, n: hf_rate(n, a.threads, a.tokens)}


def apart(measure: str, streams: int, args) -> float:
    """One measurement in a fresh process: no other model, context or thread team around it."""
    command = [sys.executable, __file__, "--one", measure, str(streams), "--words", str(args.words),
               "--threads", str(args.threads), "--tokens", str(args.tokens)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"P8 {measure} with {streams}: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=2, metavar=("MEASURE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--words", type=int, default=250, help="words per document")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=CALL_TOKENS, help="new tokens per call (bare loop and calls)")
    parser.add_argument("--skip-hf", action="store_true")
    parser.add_argument("--skip-documents", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(MEASURES[args.one[0]](args, int(args.one[1])))
        return
    measures = ["bare", "calls"] + ([] if args.skip_documents else ["documents"]) + ([] if args.skip_hf else ["hf"])
    base = {"bare": apart("bare", 1, args), "calls": apart("serial-calls", 1, args), "hf": None}
    if "documents" in measures:
        base["documents"] = apart("documents", 1, args)  # N = 1: the serial path
    rates = {m: {} for m in measures}
    for n in args.streams:
        for m in measures:
            rates[m][n] = apart(m, n, args)
            print(f"  {m:9s} N={n}: {rates[m][n]:.1f} tok/s", file=sys.stderr, flush=True)
    base["hf"] = rates["hf"].get(1) if "hf" in rates else None
    print(f"embedded SmolLM2-135M, {args.threads} threads; calls {args.tokens} tokens; documents {args.words} words")
    print("N  " + "  ".join(f"{m + ' tok/s':>14s} {'÷ one':>6s}" for m in measures) + "  calls ÷ bare")
    ratio = lambda m, n: rates[m][n] / base[m]  # noqa: E731
    for n in args.streams:
        cells = "  ".join(f"{rates[m][n]:14.1f} {ratio(m, n):6.2f}" for m in measures)
        print(f"{n:<2d} {cells}  {ratio('calls', n) / ratio('bare', n):12.2f}")
    last = args.streams[-1]
    print(json.dumps({"benchmark": "P8", "streams": last, "ratio": round(ratio("calls", last), 3),
                      **{f"{m}_ratio": round(ratio(m, last), 3) for m in measures},
                      "calls_vs_bare": round(ratio("calls", last) / ratio("bare", last), 3)}))


if __name__ == "__main__":
    main()
