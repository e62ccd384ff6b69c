"""P4: embedded backend tok/s ÷ raw llama-cpp-python tok/s, same GGUF and settings.

Both decode exactly N tokens after the same prompt with the same sampling
settings; the backend adds what it always runs (the n-gram loop guard, prose
guard, streaming, token accounting). Runs alternate A/B several times and the
median ratio is reported. Goal: ≥ 0.9.

    python benchmarks/p4_backend_speed.py [--tokens 512] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import statistics
import time

from _common import embedded, parser, raw_decode, report
from longform.backends import GenerationConfig

PROMPT = "Write a long, detailed essay about the history of tea in China, Japan and Britain."


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    lm = embedded(args)
    messages = [{"role": "user", "content": PROMPT}]
    ratios, ours, raws = [], [], []
    for r in range(args.repeats):
        raw_tps = (args.tokens - 1) / raw_decode(lm.provider, PROMPT, args.tokens, seed=args.seed + r,
                                                 from_first_token=True)
        ours_tps = _backend_tps(lm, messages, args.tokens, args.seed + r)
        ours.append(ours_tps)
        raws.append(raw_tps)
        ratios.append(ours_tps / raw_tps)
    ratio = statistics.median(ratios)
    report("P4 embedded backend vs raw llama-cpp-python decode", [
        ("tokens per run", args.tokens),
        ("backend tok/s (median)", f"{statistics.median(ours):.1f}"),
        ("raw tok/s (median)", f"{statistics.median(raws):.1f}"),
        ("ratios", ", ".join(f"{x:.3f}" for x in ratios)),
        ("P4 ratio (goal >= 0.9)", f"{ratio:.3f}"),
    ], {"ratio": round(ratio, 4), "goal": 0.9, "met": ratio >= 0.9, "backend_tps": statistics.median(ours),
        "raw_tps": statistics.median(raws), "ratios": ratios})


def _backend_tps(lm, messages, tokens: int, seed: int) -> float:
    """Decode speed through the backend, clocked from its first streamed token
    (the prompt's prefill is outside the clock, as in the raw loop)."""
    lm.provider.llm.reset()
    first: list[float] = []
    config = GenerationConfig(max_tokens=tokens, min_tokens=tokens, seed=seed, prose=True)
    c = lm.complete(messages, config, on_delta=lambda _t: first or first.append(time.perf_counter()))
    ended = time.perf_counter()
    return (c.completion_tokens - 1) / (ended - first[0])


if __name__ == "__main__":
    main()
