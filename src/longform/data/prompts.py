"""Prompt sets for GRPO (`longform data prompts`): each instruction with a target word range.

The range comes from the row's own length field or a length stated in the text (n becomes
n·(1 ± tolerance); a stated range is kept), else from a predictor model (LongWriter-Zero's
recipe for prompts without a length), else from a default rule. Rows keep their source so a
run can be audited. The file is written atomically; predictions are cached beside it
(`<out>.lengths.json`), so a rerun after a failure asks only about the prompts still missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from ..io import atomic_write_text
from ..lengths import stated_range
from ..rewards.length import as_range
from .instructions import Instruction, LengthRule, load_instructions


def build_prompt_set(source, out: Path, *, tolerance: float = 0.1, predictor=None,
                     rule: LengthRule | None = None, limit: int | None = None, on_row=None) -> dict:
    """Write `out` (JSONL) and return counts by target source."""
    items = load_instructions(source, None, limit)
    rows, counts = [], {}
    for item in items:
        if item.target_source == "none" and predictor is None and rule is None:
            raise UsageError(f"{source}: instruction {item.id!r} states no length; give --predict-backend "
                             "or --default-words")
        row = prompt_row(item, tolerance, predictor, rule)
        counts[row["target_source"]] = counts.get(row["target_source"], 0) + 1
        rows.append(row)
        if on_row:
            on_row(row)
    missing = [r["id"] for r in rows if r["target_low"] is None]
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return {"rows": len(rows), "sources": counts, "without_target": missing, "out": str(out)}


def prompt_row(item: Instruction, tolerance: float, predictor, rule: LengthRule | None) -> dict:
    span, source = None, item.target_source
    if source == "text":
        span = stated_range(item.text)
    elif source == "row":
        span = (item.target_words, item.target_words)
    elif predictor is not None and (span := predictor.predict(item.text)):
        source = "predicted"
    elif rule is not None:
        span, source = (rule.pick(item.id),) * 2, "rule"
    low, high = as_range(span, tolerance) if span else (None, None)
    return {"id": item.id, "instruction": item.text, "target_low": low, "target_high": high,
            "target_source": source if span else "none"}
