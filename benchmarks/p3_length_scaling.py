"""P3: seconds per output token of a 16,000-word document ÷ of a 2,000-word one.

A layout whose context keeps growing slows down as the document gets longer
(decode cost grows with the context); the rolled, cached continuous layout
should not. Goal: ≤ 1.3.

    python benchmarks/p3_length_scaling.py [--short 2000] [--long 16000] [--threads N] [--plain]
"""

from __future__ import annotations

from _common import embedded, layout_settings, parser, report, write_document


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--short", type=int, default=2000)
    p.add_argument("--long", type=int, default=16000)
    args = p.parse_args()
    lm = embedded(args)
    per_token, rows, result = {}, [], {}
    for words in (args.short, args.long):
        run, totals, wall = write_document(lm, words, seed=args.seed, **layout_settings(args))
        out = totals["completion_tokens"]
        per_token[words] = wall / out
        rows += [(f"{words:,} words asked: written / tokens", f"{run.words:,} / {out:,}"),
                 (f"{words:,} words: seconds / ms per token", f"{wall:.0f} / {1000 * wall / out:.1f}")]
        result[str(words)] = {"words": run.words, "tokens": out, "seconds": round(wall, 1)}
    ratio = per_token[args.long] / per_token[args.short]
    rows.append(("P3 ratio (goal <= 1.3)", f"{ratio:.3f}"))
    report("P3 cost per token, long vs short document", rows,
           {"ratio": round(ratio, 4), "goal": 1.3, "met": ratio <= 1.3, "plain": args.plain, **result})


if __name__ == "__main__":
    main()
