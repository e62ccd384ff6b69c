"""Instructions for a data build, from JSONL, CSV, plain text or a `datasets` dataset.

A row's instruction is its "instruction", "prompt" or "text" field, or the first
user turn of a chat row ("messages"). Every row becomes an `Instruction` with a stable id (its own "id" field, else its
row number and a hash of its text), so a rerun over the same file maps each
instruction to the same document directory. The target length comes from the
row ("words", "length" or "target_words"), else from the text ("a 5,000-word
essay", "写一篇3000字"), else from the build's default rule: one number, or a
range "LO-HI" from which each instruction gets a fixed pick (by its id).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io import json_object, read_user_text
from ..lengths import MAX_WORDS, target_words_from_instruction

TEXT_FIELDS = ("instruction", "prompt", "text")
LENGTH_FIELDS = ("words", "target_words", "length")


@dataclass(frozen=True)
class Instruction:
    id: str
    text: str
    target_words: int
    target_source: str  # "row" | "text" | "rule" | "none" (no rule given: target_words is 0)


class LengthRule:
    """The default target of rows that state none: "3000" or "2000-6000"."""

    def __init__(self, spec: str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(spec))
        if not match:
            raise UsageError(f"length rule {spec!r}: expected a number of words or a range like 2000-6000")
        self.low = int(match.group(1))
        self.high = int(match.group(2) or match.group(1))
        if not 0 < self.low <= self.high <= MAX_WORDS:
            raise UsageError(f"length rule {spec!r}: need 0 < low <= high <= {MAX_WORDS:,}")

    def pick(self, key: str) -> int:
        """A fixed choice per key, rounded to 100 words: reruns give the same targets."""
        if self.low == self.high:
            return self.low
        span = self.high - self.low
        fraction = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return max(self.low, min(self.high, round((self.low + fraction * span) / 100) * 100))


def load_instructions(source: str | Path, rule: LengthRule | None, limit: int | None = None) -> list[Instruction]:
    """Rows of `source` in order; a bad row stops the load with FILE:LINE: what is wrong."""
    items, seen_ids = [], set()
    for where, row in read_rows(source, "instructions file"):
        item = _instruction(row, len(items), where, rule)
        if item.id in seen_ids:
            raise UsageError(f"{where}: id {item.id!r} appears twice")
        seen_ids.add(item.id)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise UsageError(f"{source}: no instructions")
    return items


def read_rows(source: str | Path, what: str = "file"):
    """(where, row) pairs from JSONL/CSV/text, a saved `datasets` folder or hf:NAME[:SPLIT];
    `where` is FILE:LINE (or FOLDER[index]) for error messages."""
    text = str(source)
    if text.startswith("hf:"):
        return _hub_rows(text[3:])
    path = Path(source)
    if path.is_dir():
        return _dataset_rows(path)
    if not path.exists():
        raise UsageError(f"{what} {path} does not exist")
    return _file_rows(path)


def _file_rows(path: Path):
    content = read_user_text(path, "instructions file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        for number, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                yield f"{path}:{number}", json_object(line, f"{path}:{number}")
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(content))
        for row in reader:
            yield f"{path}:{reader.line_num}", row
    else:  # plain text: one instruction per non-blank line
        for number, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                yield f"{path}:{number}", {"instruction": line.strip()}


def _dataset_rows(path: Path):
    try:
        from datasets import load_from_disk
    except ImportError:
        raise UsageError("reading a saved dataset needs the `datasets` package (pip install datasets)") from None
    try:
        data = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"{path}: not a saved `datasets` dataset ({exc})") from None
    if hasattr(data, "keys"):  # a DatasetDict: take "train", else its first split
        data = data["train"] if "train" in data else data[next(iter(data.keys()))]
    for number, row in enumerate(data, start=1):
        yield f"{path}[{number - 1}]", row


def _hub_rows(name: str):  # pragma: no cover - needs the network, which the tests do not have
    from datasets import load_dataset

    repo, _, split = name.partition(":")
    for number, row in enumerate(load_dataset(repo, split=split or "train"), start=1):
        yield f"hf:{name}[{number - 1}]", row


def row_text(row: dict, where: str) -> str:
    """A row's instruction: its first text field, or the first user turn of a chat row."""
    if "messages" in row and not any(f in row for f in TEXT_FIELDS):
        user = next((m.get("content") for m in row["messages"] or [] if isinstance(m, dict)
                     and m.get("role") == "user"), None)
        row = {**row, "instruction": user}
    field = next((f for f in TEXT_FIELDS if f in row), None)
    if field is None:
        raise UsageError(f"{where}: no instruction field (expected one of {', '.join(TEXT_FIELDS)})")
    text = row[field]
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{where}: field {field!r} is empty or not text")
    return text.strip()


def _instruction(row: dict, index: int, where: str, rule: LengthRule | None) -> Instruction:
    text = row_text(row, where)
    given = next((row[f] for f in LENGTH_FIELDS if row.get(f) not in (None, "")), None)
    if given is not None:
        target, source = _positive_int(given, where), "row"
    elif (found := target_words_from_instruction(text)) is not None:
        target, source = found, "text"
    else:
        target, source = None, "rule"
    raw_id = row.get("id")
    ident = str(raw_id).strip() if raw_id not in (None, "") else f"{index:06d}-{_digest(text)}"
    # "." and ".." match the characters but name the build folder itself or its parent
    if not re.fullmatch(r"[\w.\-]{1,100}", ident) or set(ident) == {"."}:
        raise UsageError(f"{where}: id {ident!r} must be letters, digits, '.', '-' or '_' (it names a folder)")
    if target is None and rule is None:
        return Instruction(ident, text, 0, "none")
    return Instruction(ident, text, target if target is not None else rule.pick(ident), source)


def _positive_int(value, where: str) -> int:
    try:
        number = int(str(value).replace(",", "").strip())
    except ValueError:
        raise UsageError(f"{where}: target length {value!r} is not a whole number") from None
    if not 0 < number <= MAX_WORDS:
        raise UsageError(f"{where}: target length must be from 1 to {MAX_WORDS:,} words, got {number:,}")
    return number


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
