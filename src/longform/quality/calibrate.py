"""How well the panel tells good texts from their corruptions: AUC per measure, corruption, genre, language.

AUC here is the chance that an original scores better than a corrupted text of the same genre and
language (ties count half): 1.0 separates them perfectly, 0.5 is chance. Every grade of the panel
and quality_score are read the same way (higher is better); raw measures are oriented by GRADES.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from .corrupt import KINDS
from .labelled import Example, examples
from .panel import measure

SCORE = "quality_score"


def auc(good: list[float], bad: list[float]) -> float | None:
    if not good or not bad:
        return None
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def score_examples(folder: str | Path, seeds: int = 3, on_done: Callable[[int, int], None] | None = None,
                   material: str | Path | None = None) -> list[tuple[Example, dict]]:
    """Every original and corrupted example of the labelled set with its panel."""
    items = examples(folder, seeds, material=material)
    out = []
    for i, ex in enumerate(items):
        out.append((ex, measure(ex.body, ex.text.instruction, language=ex.text.language)))
        if on_done:
            on_done(i + 1, len(items))
    return out


def _value(panel: dict, name: str) -> float | None:
    return panel[SCORE] if name == SCORE else (panel["grades"].get(name))


def auc_table(scored: list[tuple[Example, dict]], names: list[str] | None = None) -> dict:
    """{language: {genre or "all": {kind: {measure: AUC}}}} for quality_score and every grade."""
    names = names or [SCORE, *sorted({k for _, p in scored for k in p["grades"]})]
    groups: dict[tuple, list[float]] = defaultdict(list)
    for ex, panel in scored:
        for name in names:
            value = _value(panel, name)
            if value is None:
                continue
            for genre in (ex.text.genre, "all"):
                groups[(ex.text.language, genre, ex.kind, name)].append(value)
    table: dict = {}
    for (language, genre, kind, name), values in groups.items():
        if kind == "original":
            continue
        good = groups[(language, genre, "original", name)]
        table.setdefault(language, {}).setdefault(genre, {}).setdefault(kind, {})[name] = auc(good, values)
    return table


def worst(table: dict, name: str = SCORE, by_genre: bool = False) -> tuple[float, str]:
    """The lowest AUC of `name` over languages and corruption kinds (all genres pooled; with
    `by_genre`, over every genre's own cell too), and where it is."""
    found = [(kinds[kind][name], f"{lang}/{genre}/{kind}") for lang, genres in table.items()
             for genre, kinds in genres.items() if by_genre or genre == "all"
             for kind in KINDS if kind in kinds and kinds[kind].get(name) is not None]
    return min(found) if found else (float("nan"), "")
