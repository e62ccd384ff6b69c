"""P8: documents in flight on one model. Aggregate output tok/s of AgentWrite with N = 1, 2, 4, 8
documents written at once on the embedded backend (continuous batching, backends/batching.py),
divided by one document on today's serial path; and the same N on the bare batched loop
(p8_batch_ceiling.py) as the ceiling. One process, one run.

    python benchmarks/p8_batching.py [--words 250] [--streams 1 2 4 8] [--threads 2]

Output tokens are the documents' own (their usage: plan, sections, summaries); time is the
wall clock from the first start to the last end.
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


def engine_rate(streams: int, words: int, threads: int, parallel: bool) -> float:
    """Aggregate output tok/s of `streams` AgentWrite runs at once (parallel: the batched backend)."""
    from longform import AgentWrite, WriteSettings, load_backend

    spec = f"embedded?threads={threads}" + (f"&parallel={streams}" if parallel else "")
    lm = load_backend(spec)
    tokens = [0] * streams
    with tempfile.TemporaryDirectory() as folder:
        def one(i: int) -> None:
            settings = WriteSettings(target_words=words, seed=i)
            result = AgentWrite(lm, settings).run(f"Write a {words}-word article about {TOPICS[i % len(TOPICS)]}.",
                                                  Path(folder) / str(i))
            tokens[i] = result.usage.completion_tokens

        started = time.perf_counter()
        workers = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - started
    return sum(tokens) / seconds


def engine_rate_apart(streams: int, words: int, threads: int, parallel: bool) -> float:
    """`engine_rate` in a fresh process: no model, context or thread of another measurement around."""
    command = [sys.executable, __file__, "--one", str(streams), "--words", str(words), "--threads", str(threads)]
    done = subprocess.run(command + ([] if parallel else ["--serial"]), capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one measurement, its rate on stdout
    parser.add_argument("--serial", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--words", type=int, default=250, help="words per document")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ceiling-tokens", type=int, default=128)
    args = parser.parse_args()
    if args.one:
        print(engine_rate(args.one, args.words, args.threads, parallel=not args.serial))
        return
    from llama_cpp import Llama

    import p8_batch_ceiling
    from longform.backends.model_file import embedded_model_path

    single = engine_rate_apart(1, args.words, args.threads, parallel=False)
    llm = Llama(model_path=str(embedded_model_path()), n_ctx=512, verbose=False, n_threads=args.threads)
    prompt = llm.tokenize(b"The lighthouse keeper climbed the stairs at dusk. " * 60, add_bos=True)[:256]
    bare_single = p8_batch_ceiling.run(llm, prompt, 1, args.ceiling_tokens, args.threads)[1]
    rows = []
    for n in args.streams:
        engine = single if n == 1 else engine_rate_apart(n, args.words, args.threads, parallel=True)
        bare = p8_batch_ceiling.run(llm, prompt, n, args.ceiling_tokens, args.threads)[1]
        rows.append((n, engine, engine / single, bare / bare_single))
    print(f"AgentWrite on the embedded model, {args.words}-word documents, {args.threads} threads "
          f"(N = 1: today's serial path)")
    print("documents  engine tok/s  engine ÷ one  bare loop ÷ one  engine ratio ÷ bare ratio")
    for n, engine, ratio, bare in rows:
        print(f"{n:9d}  {engine:12.1f}  {ratio:11.2f}  {bare:15.2f}  {ratio / bare:25.2f}")
    n, _, ratio, bare = rows[-1]
    print(json.dumps({"benchmark": "P8", "documents": n, "ratio": round(ratio, 3), "bare_ratio": round(bare, 3),
                      "engine_tok_s": {str(r[0]): round(r[1], 1) for r in rows}}))


if __name__ == "__main__":
    main()
