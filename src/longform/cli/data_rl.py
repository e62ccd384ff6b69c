"""`longform data references` and `data select`: Writing-RL's reference ladders and margin-aware selection.

    longform data references --prompts prompts.jsonl --source single:embedded \\
        --source agentwrite:embedded --source single:openai:http://gpu:8000/v1#big \\
        --judge-backend openai:URL#J --out refs
    longform data select --references refs --policy embedded --top 500 --judge-backend openai:URL#J --out sel
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from .bounds import CONCURRENCY, COUNT, SEED, out_dir, real
from .judge_options import add_judge_options, judge_setup


def register(sub) -> None:
    r = sub.add_parser("references", help="answers from several sources, judged and ranked: a ladder per prompt",
                       description="Each source answers every prompt; the judge ranks them weakest to strongest.")
    r.add_argument("--prompts", required=True, help="instructions (as for `data build`)")
    r.add_argument("--source", action="append", required=True, metavar="[single:|agentwrite:]SPEC",
                   help="a backend asked once (single:, the default) or a longform AgentWrite run on it; "
                        "repeat for every rung")
    r.add_argument("--out", type=out_dir, required=True, help="folder: references.jsonl, sources/, judgments.jsonl")
    r.add_argument("--default-words", default="2000", help="target of prompts that state none (N or LO-HI)")
    r.add_argument("--limit", type=COUNT, help="only the first N prompts")
    _common(r)
    r.set_defaults(handler=cmd_references)

    s = sub.add_parser("select", help="keep the prompts where the policy trails the best reference most",
                       description="margin = strongest reference's S_q - the policy's S_q")
    s.add_argument("--references", type=Path, required=True, help="a `data references` folder or its .jsonl")
    s.add_argument("--policy", required=True, metavar="[single:|agentwrite:]SPEC", help="the model to be trained")
    s.add_argument("--top", type=COUNT, help="keep the N prompts with the largest margins")
    s.add_argument("--min-margin", type=real(-100.0, 100.0), help="keep prompts with a margin of at least M S_q points")
    s.add_argument("--out", type=out_dir, required=True, help="folder: selected.jsonl, select_report.json")
    _common(s)
    s.set_defaults(handler=cmd_select)


def _common(p) -> None:
    p.add_argument("--concurrency", type=CONCURRENCY, default=1, help="parallel answers and judge calls")
    p.add_argument("--seed", type=SEED, default=0, help="fixes every sampled token: the same seed, the same text")
    add_judge_options(p)


def _sources(specs: list[str]):
    from ..backends import load_backend
    from ..data.references import Source, parse_source

    sources = []
    for text in specs:
        system, spec = parse_source(text)
        sources.append(Source(f"{system}:{spec}", system, load_backend(spec)))
    if len({s.name for s in sources}) != len(sources):
        raise UsageError("the same --source is given twice")
    return sources


def _judge(args, judge_lm):
    judge = judge_setup(args, judge_lm)
    if judge is None:
        raise UsageError(f"data {args.data_command} needs a judge (--judge-backend SPEC)")
    return judge


def cmd_references(args: argparse.Namespace, sources=None, judge_lm=None) -> int:
    from ..data.instructions import LengthRule, load_instructions
    from ..data.references import collect_references

    judge_lm, template = _judge(args, judge_lm)
    items = load_instructions(args.prompts, LengthRule(args.default_words), args.limit)
    report = collect_references(items, sources or _sources(args.source), judge_lm, template, args.out,
                                judge_name=args.judge_backend or "judge", concurrency=args.concurrency,
                                seed=args.seed)
    means = ", ".join(f"{k} {v}" for k, v in report["mean_score"].items())
    print(f"{report['ladders']} ladders from {report['prompts']} prompts; mean S_q by source: {means}; "
          f"unscored answers: {report['unscored']}", file=sys.stderr)
    if report["no_ladder"]:
        print(f"no scored answer, no ladder: {', '.join(report['no_ladder'][:5])}"
              + (" ..." if len(report["no_ladder"]) > 5 else ""), file=sys.stderr)
    print(args.out / "references.jsonl")
    return 0


def cmd_select(args: argparse.Namespace, policy=None, judge_lm=None) -> int:
    from ..backends import load_backend
    from ..data.references import parse_source
    from ..data.select import select

    if args.top is None and args.min_margin is None:
        raise UsageError("give --top N or --min-margin M (or both)")
    if args.top is not None and args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    judge_lm, template = _judge(args, judge_lm)
    system, spec = parse_source(args.policy)
    report = select(args.references, policy or load_backend(spec), system, judge_lm, template, args.out,
                    top=args.top, min_margin=args.min_margin, judge_name=args.judge_backend or "judge",
                    concurrency=args.concurrency, seed=args.seed)
    m = report["margins"]
    print(f"kept {report['kept']} of {report['prompts']} prompts (unscored {report['unscored']}); margins: "
          + (f"min {m['min']}, median {m['median']}, max {m['max']}" if m["count"] else "none"), file=sys.stderr)
    for bucket, count in (m.get("histogram") or {}).items():
        print(f"  {bucket:>12} {'#' * count} {count}", file=sys.stderr)
    print(args.out / "selected.jsonl")
    return 0
