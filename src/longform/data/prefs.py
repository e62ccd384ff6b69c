"""Length-aware preference pairs for DPO (LongWriter §4's recipe, on any backend).

For each instruction, k responses are sampled (different seeds). Each is scored

    score = w · S_l + (1 − w) · S_q

with S_l the LongBench-Write length score against the instruction's target and
S_q the judge's six-dimension quality score (both 0..100; w = `length_weight`).
With w = 1 no judge is needed (length-only pairs). The best response is `chosen`; `rejected` is a random
one among those scoring
strictly lower. A response the judge could not score takes no part; an
instruction left with fewer than two scored responses, or with all scores equal,
gives no pair, and the report counts why.

Every sample is appended to `samples.jsonl` as soon as it is scored, so a killed
run continues where it stopped; `prefs.jsonl` (prompt/chosen/rejected as chat
lists, the scores kept beside them) and `report.json` are rebuilt atomically.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..evals.judge import JudgeTemplate, judge_response
from ..evals.scores import length_score
from ..io import JsonlLog, atomic_write_json, atomic_write_text
from ..pipeline.systems import SingleCall
from .instructions import Instruction

TOKENS_PER_WORD = 1.5  # room for a single-call answer: generous, the length score judges the rest


@dataclass
class PrefSettings:
    k: int = 4
    length_weight: float = 0.5
    seed: int = 0
    concurrency: int = 1
    judge_attempts: int = 3
    max_tokens: int | None = None  # per answer; default from the target


def build_prefs(items: list[Instruction], lm, judge_lm, template: JudgeTemplate, out: Path,
                settings: PrefSettings, on_sample=None, on_start=None) -> dict:
    """`on_start(kept)` hears how many samples an earlier run left; `on_sample(row)` each new one."""
    out.mkdir(parents=True, exist_ok=True)
    store = SampleStore(out / "samples.jsonl")
    todo = [(item, j) for item in items for j in range(settings.k) if (item.id, j) not in store.done]
    if on_start is not None:
        on_start(len(items) * settings.k - len(todo))

    def one(task):
        item, j = task
        sample = _sample(item, j, lm, judge_lm, template, settings)
        store.add(sample)
        if on_sample:
            on_sample(sample)

    with ThreadPoolExecutor(max(1, settings.concurrency)) as pool:
        list(pool.map(one, todo))
    return write_pairs(items, store.load(), out, settings)


def _sample(item: Instruction, j: int, lm, judge_lm, template: JudgeTemplate, settings: PrefSettings) -> dict:
    writer = SingleCall(lm, max_tokens=settings.max_tokens or round(item.target_words * TOKENS_PER_WORD) + 64)
    result = writer.write(item.text, None, target_words=item.target_words, seed=settings.seed * 1000 + j)
    text, words = result.text, result.words
    s_l = length_score(item.target_words, words)
    if judge_lm is None:  # length only (length_weight 1): nothing to ask a judge
        return _row(item, j, text, words, s_l, None, None, s_l)
    verdict = judge_response(judge_lm, template, item.text, text, attempts=settings.judge_attempts)
    score = None if verdict.S_q is None else settings.length_weight * s_l + (1 - settings.length_weight) * verdict.S_q
    return _row(item, j, text, words, s_l, verdict.S_q, verdict.scores, score)


def _row(item: Instruction, j: int, text: str, words: int, s_l: float, s_q, judge_scores, score) -> dict:
    return {"id": item.id, "sample": j, "response": text, "words": words, "target_words": item.target_words,
            "S_l": round(s_l, 3), "S_q": s_q, "judge_scores": judge_scores,
            "score": None if score is None else round(score, 3)}


def choose_pair(samples: list[dict], rng: random.Random) -> tuple[dict, dict] | str:
    """(chosen, rejected), or the reason there is no pair."""
    scored = sorted((s for s in samples if s["score"] is not None), key=lambda s: (-s["score"], s["sample"]))
    if len(scored) < 2:
        return "fewer_than_two_scored"
    best = scored[0]
    lower = [s for s in scored[1:] if s["score"] < best["score"]]
    if not lower:
        return "all_scores_equal"
    return best, rng.choice(lower)


def write_pairs(items: list[Instruction], samples: dict, out: Path, settings: PrefSettings) -> dict:
    lines, reasons = [], {}
    for item in items:
        mine = [samples[(item.id, j)] for j in range(settings.k) if (item.id, j) in samples]
        if len(mine) < settings.k:
            reasons["unfinished"] = reasons.get("unfinished", 0) + 1
            continue
        picked = choose_pair(mine, random.Random(f"{settings.seed}:{item.id}"))
        if isinstance(picked, str):
            reasons[picked] = reasons.get(picked, 0) + 1
            continue
        chosen, rejected = picked
        lines.append(json.dumps({
            "id": item.id, "prompt": [{"role": "user", "content": item.text}],
            "chosen": [{"role": "assistant", "content": chosen["response"]}],
            "rejected": [{"role": "assistant", "content": rejected["response"]}],
            "chosen_score": chosen["score"], "rejected_score": rejected["score"],
            "chosen_words": chosen["words"], "rejected_words": rejected["words"],
            "target_words": item.target_words, "scores": [s["score"] for s in mine]}, ensure_ascii=False))
    atomic_write_text(out / "prefs.jsonl", "".join(line + "\n" for line in lines))
    report = {"instructions": len(items), "k": settings.k, "length_weight": settings.length_weight,
              "pairs": len(lines), "samples": len(samples), "no_pair": reasons}
    atomic_write_json(out / "report.json", report)
    return report


class SampleStore:
    """samples.jsonl, appended one whole line at a time; a torn last line (kill -9) is ignored."""

    def __init__(self, path: Path):
        self.log = JsonlLog(path)
        self.log.repair(on_torn=None)  # the line a kill cut short goes: that sample is made again
        self.done = set(self.load())

    def load(self) -> dict:
        found = {}
        for row in self.log.rows(on_torn=None):
            found.setdefault((row["id"], row["sample"]), row)
        return found

    def add(self, sample: dict) -> None:
        self.log.append(sample)
