"""Argument types with bounds, so a bad number or path is argparse's one-line error (exit 2)
before any work starts, never a run that fails later or never ends.

MAX_WORDS (lengths.py) is the longest document any command accepts.
"""

from __future__ import annotations

import argparse
import math
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


def out_path(text: str) -> Path:
    """A non-empty path: `--out ""` would write into the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


WORDS = whole(1, MAX_WORDS)
CONCURRENCY = whole(1, 1024)
RETRIES = whole(0, 100)
SHARE = real(0.0, 1.0)
