"""Q1: does the quality panel tell good texts from corrupted ones? AUC by corruption, genre and language.

Reads the labelled set (tests/quality/labelled: good stories, news, guides, essays and letters in
English and Chinese), makes `--seeds` corrupted variants of each text per corruption kind, scores
everything with the panel, and prints the AUC of quality_score and of each grade: the chance that an
original scores above a corruption of the same genre and language (1 = perfect, 0.5 = chance).

    python benchmarks/q1_calibration.py [--seeds 3] [--data tests/quality/labelled] [--markdown]
    python benchmarks/q1_calibration.py --data tests/quality/labelled/heldout --material tests/quality/labelled
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import report
from longform.quality.calibrate import SCORE, auc_table, score_examples, worst
from longform.quality.corrupt import KINDS

ROOT = Path(__file__).resolve().parents[1]


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total or done % 50 == 0:
        print(f"\r  scored {done}/{total}", end="" if sys.stderr.isatty() else "\n", file=sys.stderr)


def _fmt(value) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "quality")
    p.add_argument("--seeds", type=int, default=3, help="corrupted variants per text and kind")
    p.add_argument("--material", type=Path, help="folder with meta_talk.txt and off_topic.md, when --data has none "
                                                 "(the held-out set: --data tests/quality/labelled/heldout "
                                                 "--material tests/quality/labelled)")
    p.add_argument("--markdown", action="store_true", help="also print the tables as markdown (for the README)")
    args = p.parse_args()
    scored = score_examples(args.data, args.seeds, on_done=_progress, material=args.material)
    table = auc_table(scored)
    originals = [panel[SCORE] for ex, panel in scored if ex.kind == "original"]
    for language, genres in sorted(table.items()):
        names = [SCORE, *sorted({n for kinds in genres.values() for row in kinds.values() for n in row} - {SCORE})]
        print(f"\n{language}: AUC of quality_score by genre, and of every grade over all genres")
        print("  " + "genre".ljust(8) + "".join(k[:8].rjust(9) for k in KINDS))
        for genre in sorted(genres, key=lambda g: (g == "all", g)):
            print("  " + genre.ljust(8) + "".join(_fmt(genres[genre].get(k, {}).get(SCORE)).rjust(9) for k in KINDS))
        print("  " + "grade".ljust(18) + "".join(k[:8].rjust(9) for k in KINDS))
        for name in names[1:]:
            cells = "".join(_fmt(genres["all"].get(k, {}).get(name)).rjust(9) for k in KINDS)
            print("  " + name[:18].ljust(18) + cells)
        if args.markdown:
            print(f"\n| {language} | " + " | ".join(KINDS) + " |\n|---|" + "---|" * len(KINDS))
            for genre in sorted(genres, key=lambda g: (g == "all", g)):
                print(f"| {genre} | " + " | ".join(_fmt(genres[genre].get(k, {}).get(SCORE)) for k in KINDS) + " |")
    low, where = worst(table)
    cell, cell_where = worst(table, by_genre=True)
    report("Q1 quality panel calibration", [
        ("texts (originals)", len(originals)),
        ("corrupted variants", len(scored) - len(originals)),
        ("quality_score of originals: min / mean", f"{min(originals):.1f} / {sum(originals) / len(originals):.1f}"),
        ("lowest AUC of quality_score per corruption and language (goal >= 0.9)", f"{low:.3f} ({where})"),
        ("lowest AUC of a single genre's cell", f"{cell:.3f} ({cell_where})"),
    ], {"ratio": round(low, 4), "worst": where, "goal": 0.9, "met": low >= 0.9, "worst_cell": round(cell, 4),
        "auc": {lang: genres["all"] for lang, genres in table.items()}})


if __name__ == "__main__":
    main()
