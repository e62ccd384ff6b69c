"""`longform data`: build long-output SFT data, look at it, export it.

    longform data build --instructions prompts.jsonl --out data/run1 --backend openai \\
        --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1 --model M --concurrency 64
    longform data stats data/run1/sft.jsonl
    longform data export data/run1 --to hf data/run1-hf

A killed build continues where it stopped when the same command is run again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from .common import add_backend_options, add_layout_options, backends_from_args, write_settings_from_args


def register(commands) -> None:
    p = commands.add_parser("data", help="build, inspect and export long-output SFT data",
                            description="AgentWrite over many instructions, filtered, as SFT data.")
    sub = p.add_subparsers(dest="data_command", required=True, parser_class=type(p))

    b = sub.add_parser("build", help="write a document per instruction; sft.jsonl of the good ones")
    b.add_argument("--instructions", required=True,
                   help="JSONL, CSV or text file (one per line), a saved `datasets` folder, or hf:NAME[:SPLIT]")
    b.add_argument("--out", type=Path, required=True, help="build directory; rerun with it to resume")
    b.add_argument("--limit", type=int, help="only the first N instructions")
    b.add_argument("--default-words", default="3000",
                   help="target of rows that state none: N, or LO-HI for a fixed pick per instruction")
    b.add_argument("--tolerance", type=float, default=0.2, help="keep documents within target × (1 ± this)")
    b.add_argument("--max-repetition", type=float, default=0.2, help="reject above this repeated-4-gram share")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--quiet", action="store_true", help="no progress")
    add_layout_options(b)
    add_backend_options(b, several_servers=True)
    b.set_defaults(handler=cmd_build)

    st = sub.add_parser("stats", help="lengths, languages and filter reasons of an sft.jsonl")
    st.add_argument("file", type=Path, help="sft.jsonl (a build's stats.json beside it adds filter reasons)")
    st.add_argument("--plot", type=Path, help="histogram PNG (default: length_hist.png beside the file)")
    st.set_defaults(handler=cmd_stats)

    ex = sub.add_parser("export", help="save a build as a `datasets` dataset")
    ex.add_argument("build_dir", type=Path, help="the --out of a build")
    ex.add_argument("--to", choices=("hf",), required=True, help="hf: a datasets folder (load_from_disk)")
    ex.add_argument("target", type=Path, help="folder to create")
    ex.set_defaults(handler=cmd_export)


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
    items = load_instructions(args.instructions, LengthRule(args.default_words), args.limit)
    settings = BuildSettings(
        write=write_settings_from_args(args), concurrency=args.concurrency or 4, seed=args.seed,
        filters=FilterSettings(tolerance=args.tolerance, max_repetition=args.max_repetition))
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
