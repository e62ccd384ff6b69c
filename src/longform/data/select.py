"""Writing-RL's margin-aware data selection (`longform data select`).

The policy answers every prompt of a reference collection once; the judge scores its answer
(S_q); the margin is the strongest reference's score minus the policy's. Prompts with the
largest margins (`top`) or with a margin of at least `min_margin` are kept: there the policy
has the most to learn. A policy answer the judge cannot score leaves its prompt out, counted.
Output: `selected.jsonl` (the references rows with `policy_score` and `margin`) and
`select_report.json` with the margin distribution.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from ..evals.generate import generate
from ..evals.judge import JudgeTemplate, VerdictCache, judge_rows
from ..io import atomic_write_json, atomic_write_text
from ..rewards.ladder import load_references
from .instructions import Instruction
from .references import eval_items

BIN = 10.0  # histogram bins of 10 S_q points


def choose(rows: list[dict], top: int | None = None, min_margin: float | None = None) -> list[dict]:
    """Rows with a margin, largest margin first, cut by `top` and/or `min_margin`."""
    if top is None and min_margin is None:
        raise UsageError("give --top N or --min-margin M (or both)")
    ranked = sorted((r for r in rows if r.get("margin") is not None), key=lambda r: -r["margin"])
    if min_margin is not None:
        ranked = [r for r in ranked if r["margin"] >= min_margin]
    return ranked[:top] if top is not None else ranked


def distribution(margins: list[float]) -> dict:
    """Count, quantiles and a 10-point histogram of the margins."""
    if not margins:
        return {"count": 0}
    ordered = sorted(margins)

    def quantile(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))], 2)

    bins: dict[str, int] = {}
    for m in ordered:
        low = BIN * (m // BIN)
        key = f"[{low:g},{low + BIN:g})"
        bins[key] = bins.get(key, 0) + 1
    return {"count": len(ordered), "min": quantile(0), "p25": quantile(0.25), "median": quantile(0.5),
            "p75": quantile(0.75), "max": quantile(1), "mean": round(sum(ordered) / len(ordered), 2),
            "histogram": bins}


def select(references: Path, policy_lm, system: str, judge_lm, template: JudgeTemplate, out: Path, *,
           top: int | None = None, min_margin: float | None = None, judge_name: str = "judge",
           concurrency: int = 1, seed: int = 0, callbacks=None) -> dict:
    refs = load_references(references / "references.jsonl" if references.is_dir() else references)
    rows = [r for r in refs.values() if r["references"]]
    items = [Instruction(str(r["id"]), r["instruction"], int(r.get("target_words") or 1000), "row") for r in rows]
    out.mkdir(parents=True, exist_ok=True)
    answers = generate(eval_items(items), system, policy_lm, out / "policy", concurrency=concurrency, seed=seed,
                       callbacks=callbacks)
    judged = judge_rows(judge_lm, template, answers, concurrency=concurrency,
                        cache=VerdictCache(out / "judgments.jsonl", judge_name, template))
    scored = []
    for row, answer in zip(rows, judged, strict=True):
        policy = (answer.get("judge") or {}).get("S_q")
        best = row["references"][-1]["score"]
        scored.append({**row, "policy_score": policy, "policy_words": answer["response_words"],
                       "margin": None if policy is None else round(best - policy, 2)})
    kept = choose(scored, top, min_margin)
    atomic_write_text(out / "selected.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    report = {"prompts": len(scored), "kept": len(kept), "unscored": sum(r["margin"] is None for r in scored),
              "rule": {"top": top, "min_margin": min_margin},
              "margins": distribution([r["margin"] for r in scored if r["margin"] is not None]),
              "kept_margins": distribution([r["margin"] for r in kept])}
    atomic_write_json(out / "select_report.json", report)
    return report
