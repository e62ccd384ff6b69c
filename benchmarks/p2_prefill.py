"""P2: prompt tokens the backend really computes (prefill) ÷ output tokens, per layout.

The continuous layout makes every prompt extend the previous one, so llama.cpp's
prefix cache serves nearly all of it. The official LongWriter layout re-sends the
text written so far in a new prompt for every section: its *sent* prompt tokens
are ≈4-5× the output (what a server without a prefix cache computes); its
*computed* figure is what llama.cpp's single-slot cache still saves. Goal for
the continuous layout: ≤ 0.2.

    python benchmarks/p2_prefill.py [--words 3000] [--layouts continuous,official] [--threads N]
"""

from __future__ import annotations

from _common import embedded, parser, report, write_document


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=3000)
    p.add_argument("--layouts", default="continuous,official")
    args = p.parse_args()
    lm = embedded(args)
    rows, result = [], {}
    for layout in args.layouts.split(","):
        run, totals, wall = write_document(lm, args.words, layout=layout, seed=args.seed)
        out = totals["completion_tokens"]
        computed, sent = totals["prefill_tokens"] / out, totals["prompt_tokens"] / out
        rows += [(f"{layout}: words / output tokens", f"{run.words:,} / {out:,}"),
                 (f"{layout}: prefill computed / output", f"{computed:.3f}"),
                 (f"{layout}: prompt sent / output", f"{sent:.3f}"),
                 (f"{layout}: wall seconds", f"{wall:.0f}")]
        result[layout] = {"words": run.words, "output_tokens": out, "prefill_per_output": round(computed, 4),
                          "sent_per_output": round(sent, 4), "seconds": round(wall, 1)}
    main_layout = next(iter(result))
    ratio = result[main_layout]["prefill_per_output"]
    rows.append((f"P2 ratio, {main_layout} (goal <= 0.2)", f"{ratio:.3f}"))
    report("P2 prefill per output token", rows, {"ratio": ratio, "goal": 0.2, "met": ratio <= 0.2, **result})


if __name__ == "__main__":
    main()
