"""The panel's embedding measures, on unit vectors (rows) of a document's parts.

Every function here is a plain computation on arrays, so the calibration can read each measure
alone; `panel.py` decides which parts and vectors to pass and how to grade the results.
"""

from __future__ import annotations

import numpy as np


def similarities(parts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cosine similarity of each part to one target vector."""
    return parts @ target if len(parts) else np.zeros(0)


def off_topic(on_topic: np.ndarray, fit: np.ndarray, floor: float) -> np.ndarray:
    """Parts that belong neither to the request nor to the rest of the document: their similarity
    to the instruction and to the other parts (`fit`) both fall below `floor`."""
    return (on_topic < floor) & (fit < floor)


def fit_to_rest(parts: np.ndarray) -> np.ndarray:
    """Each part's similarity to the mean of all the other parts (how well it belongs to the text)."""
    n = len(parts)
    if n < 2:
        return np.ones(n)
    total = parts.sum(axis=0)
    rest = (total[None, :] - parts) / (n - 1)
    norms = np.linalg.norm(rest, axis=1)
    return np.einsum("ij,ij->i", parts, rest) / np.where(norms == 0, 1, norms)


def restatements(parts: np.ndarray, gap: int = 2) -> np.ndarray:
    """For each part, its highest similarity to an earlier part at least `gap` places back: a
    paraphrase of an earlier passage scores close to 1, a new passage on the same subject lower.
    Neighbours are skipped because a paragraph and the next one legitimately share their subject."""
    n = len(parts)
    out = np.zeros(n)
    if n <= gap:
        return out
    sims = parts @ parts.T
    for i in range(gap, n):
        out[i] = sims[i, : i - gap + 1].max()
    return out


def order_z(parts: np.ndarray, samples: int = 200, seed: int = 0) -> float | None:
    """How much more alike neighbouring parts are than the same parts in random order, as a z-score.

    Written text moves from one passage to a related one, so adjacent parts share more than random
    pairs; shuffled paragraphs lose that. None below four parts (too few orders to compare)."""
    n = len(parts)
    if n < 4:
        return None
    sims = parts @ parts.T
    observed = float(np.mean([sims[i, i + 1] for i in range(n - 1)]))
    rng = np.random.default_rng(seed)
    null = np.empty(samples)
    for k in range(samples):
        p = rng.permutation(n)
        null[k] = sims[p[:-1], p[1:]].mean()
    spread = float(null.std())
    return (observed - float(null.mean())) / spread if spread > 1e-9 else 0.0


def plan_adherence(sections: np.ndarray, points: np.ndarray, owners: list[int] | None = None
                   ) -> tuple[float, list[bool], list[float]]:
    """(share of sections closest to their own plan point, per-section hit, per-section similarity to own point).

    Section k's own point is `owners[k]` (by default point k). A section that matches another point
    better than its own is off plan even when it stays on the document's subject."""
    owners = list(range(min(len(sections), len(points)))) if owners is None else owners
    if not owners:
        return 0.0, [], []
    sims = sections[: len(owners)] @ points.T
    hits = [bool(sims[k].argmax() == own) for k, own in enumerate(owners)] if len(points) > 1 else [True] * len(owners)
    return sum(hits) / len(owners), hits, [float(sims[k, own]) for k, own in enumerate(owners)]


def by_position(values: np.ndarray, positions: np.ndarray, bins: int = 10) -> list[float | None]:
    """Mean value of the parts whose midpoint falls in each of `bins` equal slices of the document."""
    out: list[float | None] = []
    index = np.minimum((positions * bins).astype(int), bins - 1)
    for b in range(bins):
        chosen = values[index == b]
        out.append(float(chosen.mean()) if len(chosen) else None)
    return out


def topic_similarity(parts: np.ndarray, instruction: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Each part's similarity to what the document set out to be about: the instruction plus the
    mean of the document's first third (a part of the first third is left out of its own anchor,
    or it would find itself there and the opening would always look most on topic).

    Decay is measured on this rather than on the instruction alone, because the instruction is
    short (a Chinese one shares few characters with any paragraph) while the opening states the
    subject in the document's own words; a text that wanders, or whose second half is about
    something else, drifts away from both."""
    first = positions < 1 / 3
    total = parts[first].sum(axis=0) if first.any() else np.zeros(parts.shape[1] if parts.ndim == 2 else 0)
    count = int(first.sum())
    out = np.zeros(len(parts))
    for i, part in enumerate(parts):
        own = first[i] and count > 1
        opening = (total - part) / (count - 1) if own else (total / count if count else 0)
        anchor = instruction + opening
        norm = np.linalg.norm(anchor)
        out[i] = float(part @ anchor / norm) if norm > 0 else 0.0
    return out


def decay(values: np.ndarray, positions: np.ndarray, share: float = 1 / 3) -> float | None:
    """Mean of the last `share` of the document ÷ mean of the first (1 = no decay)."""
    first, last = values[positions < share], values[positions >= 1 - share]
    if not len(first) or not len(last):
        return None
    head = float(first.mean())
    return float(last.mean()) / head if head > 1e-6 else None
