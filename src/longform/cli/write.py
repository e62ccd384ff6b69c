"""`longform write`: one instruction in, one long document out."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from ..errors import UsageError
from ..io import read_user_text
from .bounds import SEED, WORDS, out_dir
from .common import add_backend_options, add_layout_options, backend_from_args, write_settings_from_args


def register(commands) -> None:
    p = commands.add_parser("write", help="write a long document with AgentWrite",
                            description="Plan, then write section by section; every step is saved to --out.")
    p.add_argument("instruction", nargs="?", help="what to write (or use --file)")
    p.add_argument("--file", type=Path, help="read the instruction from this text file")
    p.add_argument("--words", type=WORDS, help="target length in words (default: read from the instruction)")
    p.add_argument("--out", type=out_dir, help="run directory (default: runs/<slug>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    p.add_argument("--seed", type=SEED, default=0, help="fixes every sampled token: the same seed, the same text")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_layout_options(p)
    add_backend_options(p)
    p.set_defaults(handler=run)


def read_instruction(args: argparse.Namespace) -> str | None:
    if args.file is not None:
        if args.instruction:
            raise UsageError("give the instruction or --file, not both")
        text = read_user_text(args.file, "instruction file")
        if not text.strip():
            raise UsageError(f"instruction file {args.file} is empty")
        return text.strip()
    if args.instruction is not None and not args.instruction.strip():
        raise UsageError("the instruction is empty")
    return args.instruction


def default_out(instruction: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", instruction.lower())[:40].strip("-") or "run"
    return Path("runs") / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(args: argparse.Namespace) -> int:
    from ..pipeline.runner import AgentWrite
    from .progress import LogLines, ProgressBar

    instruction = read_instruction(args)
    if instruction is None and not (args.resume and args.out):
        raise UsageError("no instruction: pass it as an argument or with --file")
    if args.words is not None and args.words <= 0:
        raise UsageError(f"--words must be positive, got {args.words}")
    out = args.out or default_out(instruction)
    settings = write_settings_from_args(args, target_words=args.words, seed=args.seed)
    lm = backend_from_args(args)
    callbacks = [] if args.quiet else [ProgressBar() if sys.stderr.isatty() else LogLines()]
    result = AgentWrite(lm, settings, callbacks).run(instruction, out, resume=args.resume)
    total = lm.usage
    if not args.quiet:
        _quality_line(result.path)
    print(f"wrote {result.words:,} words in {len(result.sections)} sections "
          f"({result.seconds:.0f} s, {total.completion_tokens:,} tokens)", file=sys.stderr)
    print(result.document)
    return 0


def _quality_line(run_dir: Path) -> None:
    """One line of the quality panel for the written document, where the panel can run here."""
    from ..pipeline.document import RunDir
    from ..quality.documents import available, measure_run

    if not available(RunDir(run_dir).load_meta().language):
        print("quality panel: not installed (pip install 'longform[quality]'; then `longform eval decay` on the run)",
              file=sys.stderr)
        return
    p = measure_run(run_dir)
    print(f"quality panel (a proxy): {p['quality_score']:.0f}/100; on topic {p['on_topic'] or 0:.2f}, decay "
          f"{p['decay'] or 0:.2f}, restated {p['restated_share'] or 0:.0%} of parts, meta-talk "
          f"{p['meta_share']:.0%} of sentences (`longform eval decay {run_dir} --out DIR` draws it)", file=sys.stderr)
