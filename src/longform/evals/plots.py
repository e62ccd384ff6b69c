"""PNG plots for evaluation reports: required vs output words, S_l per bucket, the Ruler curve.

Figures are built as plain `matplotlib.figure.Figure` objects rendered by the Agg canvas, never through
pyplot: nothing is registered in pyplot's global figure list (so nothing leaks in a long eval) and a
user's interactive backend (a notebook) is left alone. matplotlib is imported inside the functions so
that importing `longform.evals` stays cheap.

Output words of 0 cannot be drawn on a log axis; they are drawn at `ZERO_FLOOR` and the plot says so.
Plot text is plain ASCII (prompts become P1, P2, ...) because the default font has no CJK glyphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io import atomic_write

ZERO_FLOOR = 1
_COLOURS = {"en": "tab:blue", "zh": "tab:red"}


def new_figure(width: float = 6.4, height: float = 4.8) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: Path) -> Path:
    """Rendered atomically: a killed run never leaves a half-written PNG."""
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    finally:
        fig.clear()
    return path


def _floored(words: int) -> int:
    return max(int(words), ZERO_FLOOR)


def _identity_line(ax: Any, values: list[float]) -> None:
    low, high = (min(values), max(values)) if values else (1, 10)
    low, high = max(low / 2, ZERO_FLOOR), max(high * 2, 10)
    ax.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1, label="output = required")


def _note_zeros(fig: Any, zeros: int) -> None:
    # Below the axes, where it can cover neither points (the floored ones sit at the bottom) nor the legend.
    if zeros:
        fig.text(0.01, 0.01, f"{zeros} empty output(s) drawn at {ZERO_FLOOR} word", fontsize=8,
                 color="dimgrey")


def length_scatter(rows: list[dict], path: Path, title: str = "") -> Path:
    return save_png(length_scatter_figure(rows, title), path)


def length_scatter_figure(rows: list[dict], title: str = "") -> Any:
    """Log-log scatter of required vs output words, one colour per language, with the y = x line."""
    fig = new_figure()
    ax = fig.add_subplot()
    by_language: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        by_language.setdefault(str(row.get("language") or "unknown"), []).append(
            (int(row["length"]), int(row.get("response_words") or 0)))
    for language in sorted(by_language):
        points = by_language[language]
        ax.scatter([p[0] for p in points], [_floored(p[1]) for p in points], s=18, alpha=0.7,
                   color=_COLOURS.get(language), label=f"{language} (n={len(points)})")
    values = [v for pts in by_language.values() for p in pts for v in (p[0], _floored(p[1]))]
    _identity_line(ax, values)
    _note_zeros(fig, sum(1 for row in rows if not row.get("response_words")))
    _log_axes(ax)
    ax.set_title(_ascii(title) or "Required vs output length")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def sl_by_bucket(by_bucket: dict[str, dict], path: Path, title: str = "") -> Path:
    """Bar chart of mean S_l per required-length bucket; an empty bucket is a zero bar marked n=0."""
    fig = new_figure()
    ax = fig.add_subplot()
    labels = list(by_bucket)
    heights = [by_bucket[label]["S_l"] or 0 for label in labels]
    bars = ax.bar(labels, heights, color="tab:blue")
    for bar, label in zip(bars, labels):
        stats = by_bucket[label]
        text = f"n={stats['count']}" + (f"\n{stats['S_l']:.1f}" if stats["S_l"] is not None else "")
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 115)  # S_l is at most 100; headroom for the labels
    ax.set_xlabel("required length (words)")
    ax.set_ylabel("mean S_l")
    ax.set_title(_ascii(title) or "Length score by required length")
    return save_png(fig, path)


def comparison(names: list[str], reports: list[dict], labels: list[str], path: Path) -> Path:
    return save_png(comparison_figure(names, reports, labels), path)


def comparison_figure(names: list[str], reports: list[dict], labels: list[str]) -> Any:
    """Mean S_l per required-length bucket, a bar per run side by side; the overall S_l in the legend."""
    fig = new_figure(max(6.4, 1.1 * len(labels) + 2), 4.8)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    for i, (name, report) in enumerate(zip(names, reports)):
        heights = [((report.get("by_bucket", {}).get(label) or {}).get("S_l") or 0) for label in labels]
        overall = report.get("overall", {}).get("S_l")
        tag = f" (S_l {overall:.1f})" if isinstance(overall, (int, float)) else ""
        ax.bar([x + (i - (len(names) - 1) / 2) * width for x in range(len(labels))], heights, width,
               label=_ascii(name)[:40] + tag)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(0, 125)  # S_l is at most 100: the legend sits above the bars
    ax.set_xlabel("required length (words)")
    ax.set_ylabel("mean S_l")
    ax.set_title("Length score by required length")
    ax.legend(fontsize=8, loc="upper center", ncol=min(3, len(names)))
    fig.tight_layout()
    return fig


def ruler_curve(summary: dict, path: Path) -> Path:
    return save_png(ruler_figure(summary), path)


def ruler_figure(summary: dict) -> Any:
    """Output vs required words, one line per prompt (P1, P2, ... as in ruler.md), log-log, y = x line."""
    fig = new_figure(7.5, 5.0)
    ax = fig.add_subplot()
    values: list[float] = []
    for number, entry in enumerate(summary["prompts"], start=1):
        xs = [p[0] for p in entry["points"]]
        ys = [_floored(p[1]) for p in entry["points"]]
        values += xs + ys
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1, label=f"P{number}")
    _identity_line(ax, values)
    zeros = sum(1 for entry in summary["prompts"] for p in entry["points"] if not p[1])
    _note_zeros(fig, zeros)
    _log_axes(ax)
    ax.set_title(f"LongWrite-Ruler (max output {summary['max_words']} words)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def _ascii(text: str) -> str:
    # The default font lacks CJK glyphs; a title must not fill the log with missing-glyph warnings.
    return " ".join(text.encode("ascii", "ignore").decode("ascii").split())


def _log_axes(ax) -> None:
    """Log-log word axes labelled in plain numbers (1,000 rather than 10^3). Over a range of a
    decade or two, powers of ten alone leave one label per axis ("100"), so there the 2s and 5s
    are labelled too; over more decades the powers of ten are enough, and more would overlap."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        decades = math.log10(max(high, 1e-9) / max(low, 1e-9))
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("required words")
    ax.set_ylabel("output words")
