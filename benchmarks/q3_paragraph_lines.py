"""Q3: how often paragraphs fall under the quality panel's off-topic line, in the labelled good texts and in
the engine's documents (first and last third), the calibration behind the topic guard (pipeline/topic_guard.py).

    python benchmarks/q3_paragraph_lines.py RUN_DIR...   # run folders, e.g. Q2's OUT/k1-fresh/*

Paragraphs of 25 words or more that are not headings; similarity of each to its instruction with the panel's
English encoder (all-MiniLM-L6-v2). Prints a table and one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

LINES = (0.2, 0.25, 0.3)  # 0.2: the panel's OFF_TOPIC_FLOOR for English, the guard's line


def similarities(encoder, paragraphs: list[str], instruction: str) -> np.ndarray:
    vectors = encoder.vectors([instruction] + paragraphs)
    return vectors[1:] @ vectors[0]


def prose(text: str) -> list[str]:
    """The paragraphs the guard judges (topic_guard.judged)."""
    from longform.pipeline.topic_guard import judged

    return [p for _, p in judged(text, "en")]


def main() -> None:
    from longform.quality.encoders import encoder_for
    from longform.quality.labelled import read_text

    encoder, root = encoder_for("en"), Path(__file__).resolve().parents[1] / "tests" / "quality" / "labelled"
    good = [s for sub in ("en", "heldout/en") for f in sorted((root / sub).glob("*.md"))
            for t in [read_text(f)] for s in similarities(encoder, prose("\n\n".join(t.paragraphs)), t.instruction)]
    first, last = [], []
    for run in map(Path, sys.argv[1:]):
        instruction = json.loads((run / "run.json").read_text(encoding="utf-8"))["instruction"]
        paragraphs = prose((run / "document.md").read_text(encoding="utf-8"))
        if len(paragraphs) < 4:
            continue  # too short to have a first and a last third
        s, third = similarities(encoder, paragraphs, instruction), len(paragraphs) // 3
        first, last = first + list(s[:third]), last + list(s[-third:])
    groups = {"labelled good texts": np.array(good), "engine, first third": np.array(first),
              "engine, last third": np.array(last)}
    print("| paragraphs | count | " + " | ".join(f"under {x}" for x in LINES) + " |")
    for name, values in groups.items():
        shares = [float((values < x).mean()) if len(values) else 0.0 for x in LINES]
        print(f"| {name} | {len(values)} | " + " | ".join(f"{v:.0%}" for v in shares) + " |")
    print(json.dumps({"benchmark": "Q3", **{name: {"count": len(v), "under_0.2": float((v < 0.2).mean()) if len(v)
                                                 else None} for name, v in groups.items()}}))


if __name__ == "__main__":
    main()
