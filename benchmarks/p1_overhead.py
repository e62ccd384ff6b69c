"""P1: `longform write` wall time ÷ raw llama-cpp-python decode time for as many tokens.

The whole AgentWrite run (plan, sections, continuations, summaries, cuts, file
writes) against a bare decode loop producing the document's token count from
the instruction, on the same model object. Goal: ≤ 1.15 at ≈8k output tokens
(a 6,000-word request). Note the raw loop's context grows to 8k, where decode is
slower; the writer's rolled context stays under its working window.

    python benchmarks/p1_overhead.py [--words 6000] [--threads N] [--plain]
"""

from __future__ import annotations

from _common import INSTRUCTION, document_tokens, embedded, layout_settings, parser, raw_decode, report, write_document


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=6000)
    args = p.parse_args()
    lm = embedded(args)
    run, totals, wall = write_document(lm, args.words, seed=args.seed, **layout_settings(args))
    tokens = document_tokens(lm, run.text)
    raw = raw_decode(lm.provider, INSTRUCTION.format(words=f"{args.words:,}"), tokens, seed=args.seed)
    ratio = wall / raw
    report("P1 longform write vs raw decode", [
        ("document words / tokens", f"{run.words:,} / {tokens:,}"),
        ("all output tokens (plan, summaries, cut text)", f"{totals['completion_tokens']:,}"),
        ("longform wall seconds", f"{wall:.1f}"),
        ("raw decode seconds", f"{raw:.1f}"),
        ("P1 ratio (goal <= 1.15)", f"{ratio:.3f}"),
    ], {"ratio": round(ratio, 4), "goal": 1.15, "met": ratio <= 1.15, "plain": args.plain, "words": run.words,
        "document_tokens": tokens, "longform_seconds": round(wall, 1), "raw_seconds": round(raw, 1)})


if __name__ == "__main__":
    main()
