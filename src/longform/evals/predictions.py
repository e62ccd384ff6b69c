"""predictions.jsonl: one line per finished item, the checkpoint of an eval.

A row is appended (and fsynced) the moment its item is done, so an eval killed
at any instant loses only the items in flight, and leaves at most one torn last
line. Readers skip such a line with a warning; `repair` removes it before new
rows are appended behind it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..io import JsonlLog, TornHandler, warn_torn
from ..lengths import MAX_WORDS

__all__ = ["FIELDS", "TornHandler", "append_prediction", "check_row", "read_predictions", "repair", "warn_torn"]

FIELDS = ("id", "prompt", "type", "length", "language", "system", "response", "response_words",
          "seconds", "completion_tokens")


def append_prediction(path: str | Path, row: dict) -> None:
    """Append one row as a JSON line, durable before this returns."""
    JsonlLog(path).append(row)


def read_predictions(path: str | Path, on_torn: TornHandler | None = warn_torn) -> list[dict]:
    """Rows of a predictions file, each checked to be scorable.

    Needs `prompt` (non-empty string), `length` (positive integer) and
    `response` (string); `type`, `id` and `language` are checked when present.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"predictions file {path} does not exist")
    rows = JsonlLog(path).numbered(on_torn)
    for number, row in rows:
        check_row(row, f"{path}:{number}")
    return [row for _, row in rows]


def check_row(row: dict, where: str) -> None:
    def bad(field: str, must: str):
        got = "is missing" if field not in row else f"must be {must}, got {row[field]!r:.60}"
        return UsageError(f"{where}: field '{field}' {got}")

    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad("prompt", "a non-empty string")
    if not _positive_int(row.get("length")) or row["length"] > MAX_WORDS:
        raise bad("length", f"a positive integer up to {MAX_WORDS:,}")
    if not isinstance(row.get("response"), str):  # an empty response is a real (zero-length) answer
        raise bad("response", "a string")
    for field in ("type", "language"):
        if field in row and not isinstance(row[field], str):
            raise bad(field, "a string")
    if "id" in row and not (_positive_int(row["id"]) or row["id"] == 0):
        raise bad("id", "a non-negative integer")


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def repair(path: str | Path, on_torn: TornHandler | None = warn_torn) -> None:
    """Make `path` safe to append to: drop a torn last line and end with a newline."""
    JsonlLog(path).repair(on_torn)
