"""Quality by position: the panel's measures over deciles of one or many documents, as a plot and tables.

`decay_report(panels)` gathers the deciles; `write_decay(out, named_panels)` writes decay.png (on topic,
off topic, restated and meta-talk share by decile: one thin line per document, the mean in bold),
decay.md (the decile table and, for each document, its per-section table) and decay.json.
"""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write_json, atomic_write_text
from .plots import new_figure, save_png

MEASURES = (("on_topic", "similarity to the instruction"), ("off_topic", "share of parts off topic"),
            ("restated", "share of parts restating an earlier one"), ("meta", "share of sentences about the writing"))
SECTION_COLUMNS = ("words", "on_topic", "point_similarity", "on_own_point", "off_topic_share", "restated_share",
                   "meta_share", "unfinished_share")


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def decay_report(named: list[tuple[str, dict]]) -> dict:
    """{"documents": [...], "mean": {measure: [10 deciles]}} from (name, panel) pairs."""
    docs = [{"name": name, "quality_score": p["quality_score"], "words": p["words"],
             "decay": p.get("decay"), "by_decile": p["by_decile"], "sections": p["sections"]} for name, p in named]
    mean = {m: [_mean([d["by_decile"][m][i] for d in docs]) for i in range(10)] for m, _ in MEASURES}
    return {"documents": docs, "mean": mean}


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def decay_markdown(report: dict) -> str:
    lines = ["# Quality by position", "",
             "Deciles of the document (1 = first tenth). A proxy measure (see longform.quality), not a judge.", "",
             "| measure | " + " | ".join(str(i) for i in range(1, 11)) + " |", "|---|" + "---|" * 10]
    for m, label in MEASURES:
        lines.append(f"| {m} (mean) | " + " | ".join(_cell(v) for v in report["mean"][m]) + " |")
    for doc in report["documents"]:
        lines += ["", f"## {doc['name']}: quality_score {doc['quality_score']:.1f}, {doc['words']:,} words, "
                      f"decay {_cell(doc['decay'])}", "",
                  "| section | " + " | ".join(SECTION_COLUMNS) + " |", "|---|" + "---|" * len(SECTION_COLUMNS)]
        for row in doc["sections"]:
            lines.append(f"| {row['section'] + 1} | " + " | ".join(_cell(row.get(c)) for c in SECTION_COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def decay_plot(report: dict, path: Path, title: str = "") -> Path:
    fig = new_figure(13, 3.6)
    xs = [i + 0.5 for i in range(10)]
    for k, (m, label) in enumerate(MEASURES):
        ax = fig.add_subplot(1, len(MEASURES), k + 1)
        for doc in report["documents"]:
            points = [(x, y) for x, y in zip(xs, doc["by_decile"][m]) if y is not None]
            if points and len(report["documents"]) > 1:
                ax.plot(*zip(*points), color="tab:blue", alpha=0.25, linewidth=0.8)
        mean = [(x, y) for x, y in zip(xs, report["mean"][m]) if y is not None]
        if mean:
            ax.plot(*zip(*mean), color="black", linewidth=2, marker="o", markersize=3,
                    label="mean" if len(report["documents"]) > 1 else report["documents"][0]["name"][:30])
        ax.set_xlim(0, 10)
        ax.set_xlabel("position in the document (tenths)")
        ax.set_title(label, fontsize=9)
        if m != "on_topic":
            ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title or f"Quality by position ({len(report['documents'])} document(s))", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def write_decay(out_dir: str | Path, named: list[tuple[str, dict]], title: str = "") -> list[Path]:
    out = Path(out_dir)
    report = decay_report(named)
    atomic_write_json(out / "decay.json", report)
    atomic_write_text(out / "decay.md", decay_markdown(report))
    return [out / "decay.json", out / "decay.md", decay_plot(report, out / "decay.png", title)]
