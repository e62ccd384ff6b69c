"""Argument types with bounds, so a bad number or path is argparse's one-line error (exit 2)
before any work starts, never a run that fails later or never ends.

MAX_WORDS (lengths.py) is the longest document any command accepts.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

from ..lengths import MAX_WORDS


def whole(low: int, high: int):
    """An int from `low` to `high`."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {value:,}")
        return value
    convert.__name__ = "whole number"
    return convert


def real(low: float, high: float, low_open: bool = False):
    """A finite float in [low, high] (or (low, high] with `low_open`)."""
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bracket = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {high:g}], got {text}")
        return value
    convert.__name__ = "number"
    return convert


def out_dir(text: str) -> Path:
    """A folder that exists or can be created: checked before any work, so a bad --out never
    costs a model load, a plan or an hour of generation."""
    path = _creatable(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, not a folder")
    return path


def out_file(text: str) -> Path:
    """A file that can be written (replaced atomically if it exists)."""
    path = _creatable(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder, not a file")
    return path


def _creatable(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (use . for the current folder)")
    path = Path(text)
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:  # a file in the way, a name too long, a NUL byte
        raise argparse.ArgumentTypeError(f"{text}: {_reason(exc)}") from None
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if existing != path.absolute() and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, not a folder")
    folder = existing if existing.is_dir() else existing.parent
    try:  # a real write: permissions, read-only mounts and /proc answer only to trying
        probe = tempfile.mkdtemp(prefix=".longform-probe-", dir=folder)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot write in {folder}: {_reason(exc)}") from None
    os.rmdir(probe)
    return path


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


WORDS = whole(1, MAX_WORDS)
CONCURRENCY = whole(1, 1024)
RETRIES = whole(0, 100)
SHARE = real(0.0, 1.0)
SEED = whole(0, 2**32 - 1)  # the samplers take an unsigned 32-bit seed
COUNT = whole(1, 10_000_000)  # --limit, --top: items of a file
TOKENS = whole(1, 1_000_000)  # new tokens of one call
PORT = whole(0, 65_535)  # 0: any free port
SCORE = real(0.0, 100.0)  # a 0-100 score: S_q, the panel's

