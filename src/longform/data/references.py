"""Reference ladders for Writing-RL (`longform data references`).

Each source (a backend asked once, or a longform AgentWrite run on a backend) answers every
prompt; the judge scores every answer (S_q, the evaluation's six dimensions); each prompt's
answers are ranked weakest → strongest and written to `references.jsonl`. Generation reuses
the evaluation's resumable runner (one folder per source under `sources/`) and judging the
evaluation's verdict cache, so a killed collection continues where it stopped. An answer the
judge could not score is left out of its ladder and counted; a prompt left with no scored
answer gets no ladder (listed in the report).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..evals.data import EvalItem
from ..evals.generate import generate
from ..evals.judge import JudgeTemplate, VerdictCache, judge_rows
from ..io import atomic_write_json, atomic_write_text
from ..text import detect_language
from .instructions import Instruction


@dataclass
class Source:
    name: str  # e.g. "single:embedded", "agentwrite:embedded"
    system: str  # "single" | "agentwrite"
    lm: object

    @property
    def folder(self) -> str:
        return re.sub(r"[^\w.-]+", "-", self.name).strip("-")[:80]


def parse_source(text: str) -> tuple[str, str]:
    """"agentwrite:SPEC" or "single:SPEC" → (system, backend spec); a bare SPEC is single."""
    system, _, rest = text.partition(":")
    if system in ("single", "agentwrite") and rest:
        return system, rest
    return "single", text


def eval_items(items: list[Instruction]) -> list[EvalItem]:
    return [EvalItem(i, item.text, "", item.target_words, detect_language(item.text)) for i, item in enumerate(items)]


def collect_references(items: list[Instruction], sources: list[Source], judge_lm, template: JudgeTemplate,
                       out: Path, *, judge_name: str = "judge", concurrency: int = 1, seed: int = 0,
                       callbacks=None) -> dict:
    if len(sources) < 2:
        raise UsageError("a ladder needs at least two sources (give --source twice or more)")
    out.mkdir(parents=True, exist_ok=True)
    evals = eval_items(items)
    answers: dict[str, list[dict]] = {}
    for source in sources:
        answers[source.name] = generate(evals, source.system, source.lm, out / "sources" / source.folder,
                                        concurrency=concurrency, seed=seed, callbacks=callbacks)
    cache = VerdictCache(out / "judgments.jsonl", judge_name, template)
    flat = [row for rows in answers.values() for row in rows]
    judged = judge_rows(judge_lm, template, flat, concurrency=concurrency, cache=cache)
    scores = iter(judged)
    rows: list[tuple[Instruction, list[dict]]] = [(item, []) for item in items]
    unscored = 0
    # judged is source-major: source k's answer to item i sits at k * len(items) + i
    for k, source in enumerate(sources):
        for i in range(len(items)):
            row = next(scores)
            s_q = (row.get("judge") or {}).get("S_q")
            if s_q is None:
                unscored += 1
                continue
            rows[i][1].append({"system": source.name, "score": s_q, "words": row["response_words"],
                               "response": row["response"]})
    lines, no_ladder = [], []
    for item, ladder in rows:
        if not ladder:  # no answer of this prompt could be scored: nothing to climb
            no_ladder.append(item.id)
            continue
        ladder.sort(key=lambda r: r["score"])  # stable: equal scores keep the sources' order
        lines.append(json.dumps({"id": item.id, "instruction": item.text, "target_words": item.target_words,
                                 "references": ladder}, ensure_ascii=False))
    atomic_write_text(out / "references.jsonl", "".join(line + "\n" for line in lines))
    report = {"prompts": len(items), "ladders": len(lines), "no_ladder": no_ladder,
              "sources": [s.name for s in sources], "unscored": unscored,
              "mean_score": {s.name: _mean([r["score"] for _, lad in rows for r in lad if r["system"] == s.name])
                             for s in sources},
              "strongest": dict(sorted(_count_top(rows).items()))}
    atomic_write_json(out / "references_report.json", report)
    return report


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _count_top(rows) -> Counter:
    """How many ladders each source tops."""
    return Counter(ladder[-1]["system"] for _, ladder in rows if ladder)
