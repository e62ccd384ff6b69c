"""Training data: chat rows in, TRL-ready `datasets` out.

SFT rows are LongWriter-6k style `{"messages": [...]}` (what `longform data build`
writes). Each becomes TRL's conversational prompt-completion format: every
message before the last assistant turn is the prompt, that turn the completion,
so TRL puts the loss on the assistant's tokens only, with any chat template.

Preference rows (`longform data prefs`) carry prompt/chosen/rejected and go to
DPO as they are.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data.instructions import read_rows, row_text
from ..errors import UsageError

ROLES = {"system", "user", "assistant"}


@dataclass
class MixReport:
    long: int = 0
    general: int = 0
    general_available: int = 0
    skipped_longer: int = 0
    max_length: int | None = None
    kept: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def chat_rows(paths: list[Path]) -> list[dict]:
    """Prompt-completion rows from chat files; a malformed row stops with FILE:LINE."""
    out = []
    for path in paths:
        for where, row in read_rows(path, "training data"):
            out.append(_prompt_completion(row, where))
    return out


def _prompt_completion(row: dict, where: str) -> dict:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UsageError(f"{where}: expected a non-empty 'messages' list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise UsageError(f"{where}: messages[{i}] needs a role ({', '.join(sorted(ROLES))}) and text content")
    if messages[-1]["role"] != "assistant":
        raise UsageError(f"{where}: the last message must be the assistant's answer")
    if not messages[-1]["content"].strip():
        raise UsageError(f"{where}: the assistant's answer is empty")
    prompt = [{"role": m["role"], "content": m["content"]} for m in messages[:-1]]
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": messages[-1]["content"]}]}


def mix(long: list[dict], general: list[dict], ratio: float, seed: int) -> tuple[list[dict], MixReport]:
    """Long-output rows plus `ratio` × as many general rows (sampled once, by seed), shuffled."""
    rng = random.Random(seed)
    wanted = round(ratio * len(long))
    picked = rng.sample(general, min(wanted, len(general)))
    rows = long + picked
    rng.shuffle(rows)
    return rows, MixReport(long=len(long), general=len(picked), general_available=len(general))


def skip_longer(rows: list[dict], tokenizer, max_length: int | None, report: MixReport) -> list[dict]:
    """Drop (and count) rows whose full conversation exceeds `max_length` tokens: truncating
    a long answer would teach the model to stop mid-text."""
    report.max_length = max_length
    if max_length is None:
        report.kept = len(rows)
        return rows
    kept = [r for r in rows if conversation_tokens(tokenizer, r) <= max_length]
    report.skipped_longer = len(rows) - len(kept)
    report.kept = len(kept)
    return kept


def conversation_tokens(tokenizer, row: dict) -> int:
    ids = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # some tokenizers return a BatchEncoding
        ids = ids["input_ids"]
    return len(ids)


def preference_rows(paths: list[Path]) -> list[dict]:
    """prompt/chosen/rejected rows (text or chat lists), extra columns dropped."""
    out = []
    for path in paths:
        for where, row in read_rows(path, "preference data"):
            missing = [k for k in ("prompt", "chosen", "rejected") if not row.get(k)]
            if missing:
                raise UsageError(f"{where}: missing {', '.join(missing)} (a preference row has prompt, chosen, "
                                 "rejected)")
            out.append({k: row[k] for k in ("prompt", "chosen", "rejected")})
    return out


def prompt_rows(paths: list[Path]) -> list[dict]:
    """GRPO prompts: the instruction of each row (a `data prompts` set, or any instructions
    file) with its target range when the row has one (else None: the length reward then
    reads the instruction or asks its predictor)."""
    out = []
    for path in paths:
        for where, row in read_rows(path, "prompt set"):
            low, high = row.get("target_low"), row.get("target_high")
            if (low is None) != (high is None) or any(
                    v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0) for v in (low, high)):
                raise UsageError(f"{where}: target_low/target_high must both be positive whole numbers, or both absent")
            if low is not None and low > high:
                raise UsageError(f"{where}: target_low {low} is above target_high {high}")
            out.append({"instruction": row_text(row, where), "target_low": low, "target_high": high})
    return out


def to_dataset(rows: list[dict]):
    from datasets import Dataset

    if not rows:
        raise UsageError("no training rows left (all skipped, or the data files are empty)")
    return Dataset.from_list(rows)
