"""P7: `longform serve` under many clients: documents per second with 50 concurrent openai-SDK
clients ÷ with one client asking in turn, against the same server, plus latency percentiles.

The backend is the mock with a fixed delay per model call (a stand-in for a model server's
latency, so the figure measures the server's queue, workers and streaming, not a model).
Every response is checked: complete, within 15% of the 300 words asked.

    python benchmarks/p7_serve_concurrency.py [--clients 50] [--workers 8] [--delay 0.05] [--sequential 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import report  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--workers", type=int, default=8, help="documents the server writes at once")
    p.add_argument("--delay", type=float, default=0.05, help="seconds per mock model call")
    p.add_argument("--sequential", type=int, default=10, help="documents asked one after another (baseline)")
    args = p.parse_args()

    from helpers.servers import client, running
    from longform.text import count_words

    with tempfile.TemporaryDirectory() as tmp, \
            running(Path(tmp) / "jobs", f"mock:lorem?delay={args.delay}", workers=args.workers) as (url, _):
        sdk = client(url)

        def one(i: int) -> tuple[int, float]:
            started = time.perf_counter()
            reply = sdk.chat.completions.create(
                model="longform", messages=[{"role": "user", "content": f"Write a 300-word note, number {i}."}])
            return count_words(reply.choices[0].message.content), time.perf_counter() - started

        started = time.perf_counter()
        alone = [one(i) for i in range(args.sequential)]
        sequential_rate = args.sequential / (time.perf_counter() - started)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            crowd = list(pool.map(one, range(args.clients)))
        wall = time.perf_counter() - started
    complete = sum(255 <= words <= 345 for words, _ in alone + crowd)
    latencies = sorted(t for _, t in crowd)
    rate = args.clients / wall
    result = {"clients": args.clients, "workers": args.workers, "delay": args.delay,
              "sequential_docs_per_s": round(sequential_rate, 2), "concurrent_docs_per_s": round(rate, 2),
              "ratio": round(rate / sequential_rate, 2), "p50_s": round(latencies[len(latencies) // 2], 2),
              "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2), "max_s": round(latencies[-1], 2),
              "complete": complete, "requests": len(alone) + len(crowd)}
    report("P7 serve concurrency", [
        ("one client, documents/s", result["sequential_docs_per_s"]),
        (f"{args.clients} clients, documents/s", result["concurrent_docs_per_s"]),
        ("ratio", result["ratio"]),
        ("latency p50 / p95 / max (s)", f"{result['p50_s']} / {result['p95_s']} / {result['max_s']}"),
        ("complete responses", f"{complete} of {result['requests']}"),
    ], result)
    return 0 if complete == result["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
