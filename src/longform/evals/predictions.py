"""predictions.jsonl: one line per finished item, the checkpoint of an eval.

A row is appended (and fsynced) the moment its item is done, so an eval killed
at any instant loses only the items in flight, and leaves at most one torn last
line. Readers skip such a line with a warning; `repair` removes it before new
rows are appended behind it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from .claims import file_lock

FIELDS = ("id", "prompt", "type", "length", "language", "system", "response", "response_words",
          "seconds", "completion_tokens")

_append_lock = threading.Lock()  # rows of concurrent items must not interleave inside a line

TornHandler = Callable[[str, str], None]  # (where "FILE:LINE", the torn text)


def warn_torn(where: str, text: str) -> None:
    print(f"longform: warning: {where}: ignoring an unfinished last line "
          f"({len(text)} characters; an interrupted write)", file=sys.stderr)


def append_prediction(path: str | Path, row: dict) -> None:
    """Append one row as a JSON line, durable before this returns."""
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _append_lock, file_lock(path), open(path, "a", encoding="utf-8") as fh:
        fh.write(line)  # one write: a kill tears at most this line
        fh.flush()
        os.fsync(fh.fileno())


def _scan(path: Path) -> tuple[list[tuple[int, dict]], tuple[int, str] | None, bytes]:
    """(line number, row) pairs, the torn last line (number, text) if any, and the raw bytes.

    Lines are decoded one by one: a kill can cut a multi-byte character in half,
    which must count as a torn line, not make the whole file unreadable.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"predictions file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read predictions file {path}: {exc.__class__.__name__}: {exc}") from None
    lines = data.split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    rows, torn = [], None
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8-sig" if i == 0 else "utf-8"))  # a hand-made file may start with a BOM
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if i == last:  # only the last line can be half-written by a killed writer
                torn = (i + 1, raw.decode("utf-8", "replace"))
                break
            raise UsageError(f"{path}:{i + 1}: invalid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise UsageError(f"{path}:{i + 1}: expected a JSON object, got {type(row).__name__}")
        rows.append((i + 1, row))
    return rows, torn, data


def read_predictions(path: str | Path, on_torn: TornHandler | None = warn_torn) -> list[dict]:
    """Rows of a predictions file, each checked to be scorable.

    Needs `prompt` (non-empty string), `length` (positive integer) and
    `response` (string); `type`, `id` and `language` are checked when present.
    """
    path = Path(path)
    rows, torn, _ = _scan(path)
    if torn is not None and on_torn is not None:
        on_torn(f"{path}:{torn[0]}", torn[1])
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
    if not _positive_int(row.get("length")):
        raise bad("length", "a positive integer")
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
    """Make `path` safe to append to: drop a torn last line and end with a newline.

    Rewritten atomically, so a kill during the repair leaves the old file; under
    the file's lock, so a row another process is appending is not cut as "torn".
    """
    path = Path(path)
    if not path.exists():
        return
    with file_lock(path):
        _repair(path, on_torn)


def _repair(path: Path, on_torn: TornHandler | None) -> None:
    _, torn, data = _scan(path)
    if torn is not None:
        if on_torn is not None:
            on_torn(f"{path}:{torn[0]}", torn[1])
        kept = data.split(b"\n")[: torn[0] - 1]  # every line before the torn one, as written
        atomic_write_bytes(path, b"".join(line + b"\n" for line in kept))
    elif data and not data.endswith(b"\n"):
        # a complete last row without its newline: the next append would join the two lines
        atomic_write_bytes(path, data + b"\n")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    # longform.io writes text; the kept lines are copied byte for byte, undecoded
    tmp = path.with_name(f".{path.name}.repair.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
