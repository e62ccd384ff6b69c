"""`longform eval`: LongBench-Write, LongWrite-Ruler, scoring and comparison.

    longform eval longbench-write --data D/longbench_write.jsonl --out evals/run1 [--system single]
    longform eval score --predictions evals/run1/predictions.jsonl --out evals/run1-judged --judge-backend openai:...
    longform eval ruler --data D/longwrite_ruler.jsonl --out evals/ruler1
    longform eval compare evals/run1 evals/run2
    longform eval decay evals/run1/predictions.jsonl --out evals/run1/decay

Generation checkpoints every finished item, so rerunning a killed command with
the same --out continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from ..text import WORD_RULES
from .bounds import COUNT, SEED, TOKENS, out_dir
from .common import (
    add_backend_options,
    add_layout_options,
    backend_from_args,
    write_settings_from_args,
)
from .eval_quality import add_quality_option, score_rows
from .judge_options import add_judge_options, judge_setup


def register(commands) -> None:
    p = commands.add_parser("eval", help="benchmarks: LongBench-Write, LongWrite-Ruler",
                            description="Generate, score and compare benchmark runs.")
    sub = p.add_subparsers(dest="eval_command", required=True, parser_class=type(p))

    lb = sub.add_parser("longbench-write", help="generate, score and report LongBench-Write",
                        description="Answer every item, score length (S_l) and, with a judge, quality (S_q).")
    _generation_options(lb, "longbench_write.jsonl")
    add_judge_options(lb)
    lb.set_defaults(handler=cmd_longbench)

    sc = sub.add_parser("score", help="score an existing predictions.jsonl",
                        description="Rows need prompt, length and response (type optional).")
    sc.add_argument("--predictions", type=Path, required=True, help="JSONL file of predictions")
    sc.add_argument("--out", type=out_dir, required=True, help="directory for report.json, report.md, plots")
    sc.add_argument("--word-rule", choices=WORD_RULES, default="official",
                   help="official: LongBench-Write's count (CJK characters, ASCII words); unicode: any script")
    sc.add_argument("--title", default="", help="name of this run in reports and comparisons")
    sc.add_argument("--quiet", action="store_true", help="no progress lines")
    add_judge_options(sc)
    add_quality_option(sc)
    sc.set_defaults(handler=cmd_score)

    ru = sub.add_parser("ruler", help="LongWrite-Ruler: how long does the system really write?",
                        description="Output length against required length, 1,000 to 30,000 words.")
    _generation_options(ru, "longwrite_ruler.jsonl")
    ru.set_defaults(handler=cmd_ruler)

    from . import eval_quality

    eval_quality.register(sub)
    co = sub.add_parser("compare", help="side-by-side table of finished runs")
    co.add_argument("dirs", nargs="+", type=Path, help="directories holding report.json")
    co.add_argument("--out", type=out_dir, help="also write compare.md and compare_sl.png (S_l per bucket) here")
    co.set_defaults(handler=cmd_compare)


def _generation_options(p: argparse.ArgumentParser, data_name: str) -> None:
    p.add_argument("--data", type=Path, required=True, help=f"benchmark JSONL file ({data_name})")
    p.add_argument("--subset", choices=("all", "en", "zh"), default="all", help="items by prompt language")
    p.add_argument("--limit", type=COUNT, help="only the first N items (after --subset and --order)")
    p.add_argument("--order", choices=("file", "spread"),
                   help="file: rows in file order; spread: interleave length buckets and languages (the "
                        "Ruler: its lengths), so a --limit or an early stop still samples every bucket "
                        "(default: spread with --limit, else file)")
    p.add_argument("--shard", metavar="K/N",
                   help="only every N-th item from the K-th on (after --order and --limit): N processes or "
                        "machines with the same --out split one run; score the whole folder with `eval score`")
    p.add_argument("--out", type=out_dir, required=True, help="output directory; rerun with it to resume")
    p.add_argument("--system", choices=("agentwrite", "single"), default="agentwrite",
                   help="agentwrite: plan and write by sections; single: one model call per item")
    p.add_argument("--single-max-tokens", type=TOKENS,
                   help="max new tokens of a single call (default: what the window allows, or 8192)")
    p.add_argument("--seed", type=SEED, default=0, help="fixes every sampled token: the same seed, the same text")
    p.add_argument("--word-rule", choices=WORD_RULES, default="official",
                   help="official: LongBench-Write's count (CJK characters, ASCII words); unicode: any script")
    p.add_argument("--title", default="", help="name of this run in reports and comparisons")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_quality_option(p)
    add_layout_options(p)
    add_backend_options(p)


# ------------------------------------------------------------------ handlers


def cmd_longbench(args: argparse.Namespace, lm=None, judge_lm=None) -> int:
    """`lm` / `judge_lm` replace the ones the options describe (tests, notebooks)."""
    items = _items(args)
    judge = judge_setup(args, judge_lm)  # before generation: a bad judge option must not cost hours
    rows, lm, elsewhere, failed = _generate(args, items, lm)
    if elsewhere:
        return _leave_report(args, items, elsewhere, failed)
    title = args.title or f"LongBench-Write: {lm.name}, {args.system}"
    code = _score_and_report(args, rows, judge, title, args.out / "runs")
    return _name_failed(args, items, failed) or code


def cmd_score(args: argparse.Namespace, judge_lm=None) -> int:
    from ..evals.predictions import read_predictions

    judge = judge_setup(args, judge_lm)
    rows = read_predictions(args.predictions)
    if not rows:
        raise UsageError(f"{args.predictions}: no predictions")
    return _score_and_report(args, rows, judge, args.title or f"LongBench-Write: {args.predictions}",
                             args.predictions.parent / "runs")


def cmd_ruler(args: argparse.Namespace, lm=None) -> int:
    from ..evals.data import by_length
    from ..evals.report import ruler_summary, write_ruler_report

    items = _items(args, by_length)
    rows, lm, elsewhere, failed = _generate(args, items, lm)
    if elsewhere:
        return _leave_report(args, items, elsewhere, failed)
    scored = score_rows(args, rows, args.out / "runs")
    summary = ruler_summary(scored)
    paths = write_ruler_report(args.out, scored, summary)
    print(f"LongWrite-Ruler ({lm.name}, {args.system}): longest output {summary['max_words']:,} words "
          f"over {len(rows)} items", file=sys.stderr)
    print(next(p for p in paths if p.name == "ruler.md"))
    return _name_failed(args, items, failed)


def cmd_compare(args: argparse.Namespace) -> int:
    from ..evals.report import compare_reports, write_comparison

    print(compare_reports(args.dirs), end="")
    if args.out:
        for path in write_comparison(args.dirs, args.out):
            print(path, file=sys.stderr)
    return 0


# ------------------------------------------------------------------ steps


def _items(args: argparse.Namespace, group=None):
    """Options and --data checked before any backend loads: a typo fails in a
    second, not after a model load."""
    from ..evals.data import load_items, parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    # a --limit takes a sample of the whole benchmark, not its first (shortest) rows, unless told otherwise
    order = args.order or ("spread" if args.limit else "file")
    return load_items(args.data, args.subset, args.limit, order, group, shard)


def _generate(args: argparse.Namespace, items, lm=None):
    """Rows for `items` (read back or generated), the LM that wrote them, and the ids of the
    items missing from the rows: those another process sharing --out has, those that failed."""
    from ..evals.generate import generate
    from .eval_progress import item_progress

    settings = write_settings_from_args(args, seed=args.seed)
    lm = lm or backend_from_args(args)
    rows = generate(items, args.system, lm, args.out, concurrency=args.concurrency or 1, seed=args.seed,
                    single_max_tokens=args.single_max_tokens, word_rule=args.word_rule,
                    callbacks=item_progress(args.quiet), generation=settings.generation, settings=settings)
    elsewhere, failed = _missing(args, items, rows)
    if not rows and not elsewhere:
        raise UsageError(f"every item failed; see {args.out / 'errors.jsonl'}")  # nothing to report on
    return rows, lm, elsewhere, failed


def _score_and_report(args: argparse.Namespace, rows: list[dict], judge, title: str, runs: Path) -> int:
    """Score, judge and report `rows`; `runs` holds the run directories the rows were written in."""
    from ..evals.clock import process_time
    from ..evals.judge import VerdictCache, judge_rows
    from ..evals.report import build_report, write_report
    from .eval_progress import JudgeLines

    scored = score_rows(args, rows, runs)
    if judge is not None:
        judge_lm, template = judge
        cache = VerdictCache(args.out / "judgments.jsonl", judge_lm.name, template)
        scored = judge_rows(judge_lm, template, scored, attempts=args.judge_attempts,
                            concurrency=args.judge_concurrency or getattr(args, "concurrency", None) or 1,
                            on_done=JudgeLines(len(scored), args.quiet), cache=cache)
    report = build_report(scored)
    if (spent := process_time(runs.parent)) is not None:  # the folder the rows were generated in
        report["process_time"] = spent
    paths = write_report(args.out, scored, report, title=title)
    print(summary_line(report), file=sys.stderr)
    print(next(p for p in paths if p.name == "report.md"))
    return 0


def _missing(args: argparse.Namespace, items, rows: list[dict]) -> tuple[list[int], list[int]]:
    """Ids of `items` missing from `rows`: (those another process sharing --out finished or is still
    writing after this one's last look at the folder, those that failed)."""
    from ..evals.claims import held_elsewhere
    from ..evals.generate import finished_rows

    done = {row["id"] for row in rows}
    missing = [item.id for item in items if item.id not in done]
    held = {i for i in missing if held_elsewhere(args.out, i)}
    # read after the claims: an item another process finished meanwhile is in the file by now
    late = finished_rows(args.out / "predictions.jsonl", items, args.system) if missing else {}
    elsewhere = [i for i in missing if i in held or i in late]
    return elsewhere, [i for i in missing if i not in elsewhere]


def _leave_report(args: argparse.Namespace, items, elsewhere: list[int], failed: list[int]) -> int:
    """This process ended while another was still writing some of its items. That one ends
    later and sees every row, so the report is its to write: writing a partial one here
    could overwrite the complete one if the two finished in the other order."""
    print(f"{len(elsewhere)} of {len(items)} items are written by another process sharing --out "
          f"(ids {', '.join(map(str, elsewhere))}); the process that ends last writes the report on every item",
          file=sys.stderr)
    return _name_failed(args, items, failed)


def _name_failed(args: argparse.Namespace, items, failed: list[int]) -> int:
    """1 with a line naming them when some items failed (the report covers the rest), else 0."""
    if not failed:
        return 0
    print(f"{len(failed)} of {len(items)} items failed (ids {', '.join(map(str, failed))}): the report leaves them "
          f"out; see {args.out / 'errors.jsonl'}, and rerun with the same --out to retry them", file=sys.stderr)
    return 1


def summary_line(report: dict) -> str:
    o = report["overall"]
    line = f"S_l {o['S_l']:.1f} over {o['count']} items"
    if o.get("judged"):
        line += f"; S_q {o['S_q']:.1f}, S {o['S']:.1f} ({o['judged']} judged"
        line += f", {o['unscored']} unscored)" if o.get("unscored") else ")"
    elif o.get("unscored"):
        line += f"; judge: {o['unscored']} unscored"
    if spent := report.get("process_time"):
        line += f"; {spent['process_hours']:.2f} process-hours, {spent['core_hours']:.2f} core-hours"
    return line
