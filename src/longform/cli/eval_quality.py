"""The quality panel in `longform eval`: scoring rows with it, and `eval decay`.

    longform eval decay runs/demo --out runs/demo/decay              # one run directory
    longform eval decay evals/aw/predictions.jsonl --out evals/aw/decay [--ids 3,17]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError
from .bounds import out_dir


def add_quality_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-quality", dest="quality", action="store_false",
                   help="skip the quality panel (on topic, decay, restatement, meta-talk; see README)")


def register(sub) -> None:
    d = sub.add_parser("decay", help="quality by position for a run directory or a predictions file",
                       description="Draws the quality panel's measures by decile and writes per-section tables.")
    d.add_argument("source", type=Path, help="a run directory (with run.json) or a predictions.jsonl")
    d.add_argument("--out", type=out_dir, required=True, help="directory for decay.png, decay.md and decay.json")
    d.add_argument("--ids", help="only these prediction ids, comma-separated")
    d.add_argument("--title", default="", help="the plot's title")
    d.set_defaults(handler=cmd_decay)


def score_rows(args: argparse.Namespace, rows: list[dict], runs: Path | None) -> list[dict]:
    """`score_row` for every row, with the panel unless --no-quality; a row's run directory is
    `runs/<id>` when it exists. Says once when English rows cannot get a panel here."""
    from ..evals.scores import score_row
    from ..quality.documents import available

    quality = getattr(args, "quality", True)
    if quality and not available("en") and any(r.get("language", "en") != "zh" for r in rows):
        print("longform: the quality panel needs `pip install 'longform[quality]'` for English rows; "
              "they are reported without it", file=sys.stderr)
    out = []
    for i, row in enumerate(rows, start=1):
        run_dir = runs / str(row.get("id")) if runs is not None and "id" in row else None
        out.append(score_row(row, args.word_rule, quality=quality, run_dir=run_dir))
        if quality and not getattr(args, "quiet", False) and (i % 10 == 0 or i == len(rows)):
            print(f"quality panel: {i}/{len(rows)} rows", file=sys.stderr)
    return out


def cmd_decay(args: argparse.Namespace) -> int:
    from ..evals.decay import write_decay

    named = _panels(args.source, args.ids)
    if not named:
        raise UsageError(f"{args.source}: no document to measure")
    paths = write_decay(args.out, named, args.title)
    scores = ", ".join(f"{name} {panel['quality_score']:.1f}" for name, panel in named[:5])
    print(f"quality by position for {len(named)} document(s): {scores}{' ...' if len(named) > 5 else ''}",
          file=sys.stderr)
    print(next(p for p in paths if p.suffix == ".png"))
    return 0


def _panels(source: Path, ids: str | None) -> list[tuple[str, dict]]:
    from ..evals.predictions import read_predictions
    from ..quality.documents import measure_row, measure_run

    if source.is_dir():
        if not (source / "run.json").is_file():
            raise UsageError(f"{source}: not a run directory (no run.json)")
        return [(source.name, measure_run(source))]
    if not source.is_file():
        raise UsageError(f"{source}: no such run directory or predictions file")
    wanted = _ids(ids)
    rows = [r for r in read_predictions(source) if wanted is None or r.get("id") in wanted]
    runs = source.parent / "runs"
    named = []
    for row in rows:
        panel = measure_row(row, runs / str(row.get("id")))
        if panel is not None and panel["parts"]:
            named.append((f"id {row.get('id')}", panel))
    return named


def _ids(text: str | None) -> set | None:
    if text is None:
        return None
    try:
        return {json.loads(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise UsageError(f"--ids: expected numbers separated by commas, got {text!r}") from None
