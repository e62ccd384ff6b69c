"""Judge options shared by `eval` and `data prefs`: which backend judges, with which template."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .bounds import CONCURRENCY, whole


def add_judge_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("judge (quality score S_q; without it only S_l is reported)")
    g.add_argument("--judge-backend", metavar="SPEC",
                   help="backend spec of the judge, e.g. openai:URL#MODEL, or `panel`: a proxy judge built on the "
                        "quality panel and the length score, no model needed")
    g.add_argument("--judge-base-url", help="server of an openai judge")
    g.add_argument("--judge-model", help="model name of an openai judge")
    g.add_argument("--judge-api-key-env", help="environment variable with the judge's API key")
    g.add_argument("--judge-template", type=Path,
                   help="judge prompt: the benchmark's judge.txt ($INST$/$RESPONSE$) or a Jinja file "
                        "(default: built-in)")
    g.add_argument("--judge-attempts", type=whole(1, 100), default=3, help="tries per item before it stays unscored")
    g.add_argument("--judge-concurrency", type=CONCURRENCY, help="parallel judge calls (default: --concurrency, or 1)")


def judge_setup(args: argparse.Namespace, judge_lm=None):
    """(judge LM, template), or None when no judge was asked for."""
    from ..evals.judge import JudgeTemplate
    from ..quality.judge import is_panel

    if judge_lm is None and args.judge_backend is None:
        if args.judge_template is not None:
            raise UsageError("--judge-template needs --judge-backend")
        return None
    if is_panel(args.judge_backend) and args.judge_template is not None:
        raise UsageError("--judge-template does not apply to the panel judge (it reads no prompt)")
    template = JudgeTemplate.load(args.judge_template)
    return (judge_lm or judge_from_args(args)), template


def judge_from_args(args: argparse.Namespace):
    from ..quality.judge import load_judge

    spec = args.judge_backend
    server = {"base_url": args.judge_base_url, "model": args.judge_model, "api_key_env": args.judge_api_key_env}
    if not spec.startswith("openai"):
        if any(server.values()):
            raise UsageError("--judge-base-url, --judge-model and --judge-api-key-env need an openai judge backend")
        server = {}
    lm = load_judge(spec, **server)
    check = getattr(getattr(lm, "provider", None), "check", None)
    if check is not None:
        check()  # an unreachable judge should fail now, not after scoring starts
    return lm
