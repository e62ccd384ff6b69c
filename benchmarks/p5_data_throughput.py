"""P5: output tok/s of `longform data build` ÷ the same server's saturated tok/s under plain requests.

Starts a real `llama-cpp-python[server]` on 127.0.0.1, then measures:
  A. plain: N concurrent chat requests asking for long text (the most the server
     gives a simple client),
  B. build: `data build` of M instructions with --concurrency N against it.
The ratio B ÷ A says how much of the server's throughput the engine keeps while
planning, continuing, checking and writing files. Goal: ≥ 0.8.

By default the build talks to the server in completions mode (`?template=embedded`:
the chat template is rendered client-side, so the engine continues one growing
reply and the server's cache keeps each prompt's start); `--template none` uses
the chat API and the turns layout instead, for comparison.

    python benchmarks/p5_data_throughput.py [--concurrency 4] [--instructions 8] [--words 400] [--threads N]
        [--template embedded|none] [--server-args "--cache True"]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import report  # noqa: E402
from helpers.servers import llama_server  # noqa: E402
from longform.backends import GenerationConfig, load_backend  # noqa: E402
from longform.data.build import BuildSettings, build  # noqa: E402
from longform.data.instructions import LengthRule, load_instructions  # noqa: E402

TOPICS = ["rivers", "mountains", "harbors", "deserts", "forests", "islands", "cities", "glaciers",
          "bridges", "markets", "libraries", "railways"]


def plain(url: str, concurrency: int, requests: int, max_tokens: int) -> tuple[int, float]:
    lm = load_backend(f"openai:{url}#smollm2", concurrency=concurrency)
    prompts = [[{"role": "user", "content": f"Write a long, detailed essay about {TOPICS[i % len(TOPICS)]}."}]
               for i in range(requests)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(lambda m: lm.complete(m, GenerationConfig(max_tokens=max_tokens, seed=1)), prompts))
    return sum(c.completion_tokens for c in done), time.perf_counter() - started


def data_build(url: str, concurrency: int, count: int, words: int, template: str) -> tuple[int, float, dict]:
    folder = Path(tempfile.mkdtemp(prefix="longform-p5-"))
    rows = [{"instruction": f"Write a {words}-word article about {TOPICS[i % len(TOPICS)]}", "id": f"p5-{i}"}
            for i in range(count)]
    (folder / "i.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = load_instructions(folder / "i.jsonl", LengthRule(str(words)))
    lm = load_backend(f"openai:{url}#smollm2", concurrency=concurrency,
                      template=None if template == "none" else template)
    started = time.perf_counter()
    stats = build(items, [lm], folder / "out", BuildSettings(concurrency=concurrency))
    return lm.usage.completion_tokens, time.perf_counter() - started, stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--instructions", type=int, default=8)
    p.add_argument("--words", type=int, default=400)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--template", default="embedded", help="chat template for completions mode, or none")
    p.add_argument("--server-args", default="", help='extra llama_cpp.server options, e.g. "--cache True"')
    args = p.parse_args()
    with llama_server(threads=args.threads, n_ctx=4096, extra_args=tuple(args.server_args.split())) as url:
        a_tokens, a_seconds = plain(url, args.concurrency, args.instructions, max_tokens=round(args.words * 1.4))
        b_tokens, b_seconds, stats = data_build(url, args.concurrency, args.instructions, args.words,
                                                 args.template)
    a_rate, b_rate = a_tokens / a_seconds, b_tokens / b_seconds
    ratio = b_rate / a_rate
    report("P5 data build vs plain concurrent requests", [
        ("plain: tokens / seconds / tok/s", f"{a_tokens:,} / {a_seconds:.0f} / {a_rate:.1f}"),
        ("build: tokens / seconds / tok/s", f"{b_tokens:,} / {b_seconds:.0f} / {b_rate:.1f}"),
        ("build: mode", "chat API, turns layout" if args.template == "none" else "completions, continuous layout"),
        ("build: kept / filtered / failed", f"{stats['kept']} / {stats['filtered']} / {stats['failed']}"),
        ("P5 ratio (goal >= 0.8)", f"{ratio:.3f}"),
    ], {"ratio": round(ratio, 4), "goal": 0.8, "met": ratio >= 0.8, "template": args.template,
        "plain_tps": a_rate, "build_tps": b_rate,
        "stats": {k: stats[k] for k in ("kept", "filtered", "failed", "reasons")}})


if __name__ == "__main__":
    main()
