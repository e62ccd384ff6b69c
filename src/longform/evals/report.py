"""Turn scored rows into reports: report.json, report.md, scores.jsonl and plots; Ruler summaries; comparisons.

Statistics follow LongBench-Write (RESEARCH.md §1): S_l is the mean over all rows of a group, S_q the mean
over the rows the judge actually scored, and S = (S_l + S_q) / 2 only when the group has such a row, so a
length-only run never shows a made-up S. A judge verdict that could not be parsed ("judge": {"S_q": None})
is counted as unscored instead of pulling the mean towards 0; "judge": None means no judge ran.

Stored floats are rounded (scores and word means to 2 decimals, 4-gram shares to 4, since they lie in
[0, 1]); S is computed from the unrounded means before rounding. Every file is written atomically.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..io import atomic_write_json, atomic_write_text, file_set
from . import plots
from .scores import BUCKETS

# The official buckets of required length (RESEARCH.md §1), in display order; defined once, in scores.py.
BUCKET_LABELS = tuple(label for label, _low, _high in BUCKETS)

_COLUMNS = ("count", "S_l", "S_q", "S", "words", "repeated 4-grams", "unscored")


# ------------------------------------------------------------------ statistics


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _number(value: Any) -> float | None:
    """A finite number, else None (missing fields, NaN, strings never enter a mean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _judge_sq(row: dict) -> float | None:
    judge = row.get("judge")
    return _number(judge.get("S_q")) if isinstance(judge, dict) else None


def group_stats(rows: list[dict]) -> dict:
    """count, S_l, S_q, S, judged (rows with a numeric S_q), unscored, mean_words, repeated_4gram_share."""
    s_l = _mean(v for v in (_number(r.get("S_l")) for r in rows) if v is not None)
    s_q = _mean(v for v in (_judge_sq(r) for r in rows) if v is not None)
    shares = (_number((r.get("repetition") or {}).get("repeated_4gram_share")) for r in rows)
    return {
        "count": len(rows),
        "S_l": _round(s_l),
        "S_q": _round(s_q),
        "S": _round((s_l + s_q) / 2) if s_l is not None and s_q is not None else None,
        "judged": sum(1 for r in rows if _judge_sq(r) is not None),
        "unscored": sum(1 for r in rows if isinstance(r.get("judge"), dict) and _judge_sq(r) is None),
        "mean_words": _round(_mean(v for v in (_number(r.get("response_words")) for r in rows) if v is not None)),
        "repeated_4gram_share": _round(_mean(v for v in shares if v is not None), 4),
        "quality": quality_stats(rows),
    }


# the panel's measures a report shows (means over the rows that have a panel)
QUALITY_COLUMNS = ("quality_score", "on_topic", "decay", "off_topic_share", "restated_share", "meta_share",
                   "unfinished")


def quality_stats(rows: list[dict]) -> dict | None:
    """Means of the quality panel's main measures over the rows that carry one (None if none do)."""
    panels = [r["quality"] for r in rows if isinstance(r.get("quality"), dict)]
    if not panels:
        return None
    out = {"measured": len(panels)}
    for key in QUALITY_COLUMNS:
        value = _mean(v for v in (_number(p.get(key)) for p in panels) if v is not None)
        out[key] = _round(value, 2 if key == "quality_score" else 4)
    return out


def _group_by(rows: list[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get(key) or "unknown"), []).append(row)
    return groups


def build_report(rows: list[dict]) -> dict:
    """{"overall", "by_bucket" (all four labels, in order), "by_type", "by_language"} of group statistics."""
    buckets = _group_by(rows, "bucket")
    # Labels outside the official four (none expected) are kept after them rather than dropped.
    labels = list(BUCKET_LABELS) + sorted(set(buckets) - set(BUCKET_LABELS))
    return {
        "overall": group_stats(rows),
        "by_bucket": {label: group_stats(buckets.get(label, [])) for label in labels},
        "by_type": {k: group_stats(v) for k, v in sorted(_group_by(rows, "type").items())},
        "by_language": {k: group_stats(v) for k, v in sorted(_group_by(rows, "language").items())},
    }


# ------------------------------------------------------------------ Markdown


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    # A prompt may contain "|" or newlines, which would break the table.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], body: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in body]


def _stats_cells(stats: dict) -> list[Any]:
    share = stats["repeated_4gram_share"]
    return [stats["count"], stats["S_l"], stats["S_q"], stats["S"], stats["mean_words"],
            None if share is None else f"{share * 100:.1f}%", stats["unscored"]]


def report_markdown(report: dict, title: str = "") -> str:
    """The report as Markdown: a title line, then Overall / bucket / language / type tables."""
    lines = [f"# {title or 'LongBench-Write report'}", ""]
    sections = [("Overall", {"all": report["overall"]}), ("By required length (bucket)", report["by_bucket"]),
                ("By language", report["by_language"]), ("By type", report["by_type"])]
    for heading, groups in sections:
        lines += [f"## {heading}", ""]
        lines += _table(["group", *_COLUMNS], [[name, *_stats_cells(s)] for name, s in groups.items()])
        lines.append("")
    lines += _quality_tables(report)
    if spent := report.get("process_time"):
        lines += [f"Time: {spent['process_hours']:.2f} process-hours, {spent['core_hours']:.2f} core-hours (CPU) "
                  f"over {spent['processes']} process(es).", ""]
    lines.append("S_l: length score; S_q: judge quality score; S = (S_l + S_q) / 2, only when a judge ran; "
                 "unscored: judge verdicts that could not be parsed (left out of S_q).")
    return "\n".join(lines) + "\n"


def _quality_tables(report: dict) -> list[str]:
    """The quality panel's means overall, by bucket and by language (a proxy, not a judge)."""
    groups = {"all": report["overall"], **report["by_bucket"], **report["by_language"]}
    body = [[name, s["quality"]["measured"], *(s["quality"][k] for k in QUALITY_COLUMNS)]
            for name, s in groups.items() if s.get("quality")]
    if not body:
        return []
    lines = ["## Quality panel (a proxy measure, not a judge; see longform.quality)", ""]
    lines += _table(["group", "measured", *QUALITY_COLUMNS], body)
    return lines + ["", "quality_score 0-100; on_topic: similarity of parts to the instruction; decay: last third "
                    "÷ first third; off_topic / restated: shares of parts; meta: share of sentences; unfinished: "
                    "share of documents that end inside a sentence.", ""]


# ------------------------------------------------------------------ files


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_report(out_dir: str | Path, rows: list[dict], report: dict, title: str = "") -> list[Path]:
    """Write report.json, report.md, scores.jsonl, length_scatter.png and sl_by_bucket.png; return the paths.

    A non-empty title is stored in report.json as "title" (compare_reports names the run by it).
    """
    out = Path(out_dir)
    names = ["report.json", "report.md", "scores.jsonl", "length_scatter.png", "sl_by_bucket.png"]
    with file_set(out, last="report.json") as stage:  # one set: never a new report beside old plots
        atomic_write_text(stage / "report.md", report_markdown(report, title))
        atomic_write_text(stage / "scores.jsonl", _jsonl(rows))
        plots.length_scatter(rows, stage / "length_scatter.png", title)
        plots.sl_by_bucket(report["by_bucket"], stage / "sl_by_bucket.png", title)
        atomic_write_json(stage / "report.json", {**report, "title": title} if title else report)
    return [out / name for name in names]


# ------------------------------------------------------------------ LongWrite-Ruler


def prompt_family(prompt: str) -> str:
    """The prompt with its length written as N: Ruler asks the same thing at six
    lengths ("Write a 5000-word guide"), and those six rows form one curve."""
    return re.sub(r"\d[\d,]*", "N", prompt)


def ruler_summary(rows: list[dict]) -> dict:
    """Per prompt (first-seen order) the sorted [required, words] points and the maximum reached.

    "max_by_required" maps each required length (int keys; strings once stored as JSON) to the longest
    output any prompt reached for it. A (prompt, required) pair seen twice keeps its longer output.
    """
    per_prompt: dict[str, dict[int, int]] = {}
    for row in rows:
        points = per_prompt.setdefault(prompt_family(str(row["prompt"])), {})
        required, words = int(row["length"]), int(row.get("response_words") or 0)
        points[required] = max(words, points.get(required, 0))
    prompts = [{"prompt": prompt, "points": [[r, w] for r, w in sorted(points.items())],
                "max_words": max(points.values())} for prompt, points in per_prompt.items()]
    by_required: dict[int, int] = {}
    for points in per_prompt.values():
        for required, words in points.items():
            by_required[required] = max(words, by_required.get(required, 0))
    return {"prompts": prompts, "max_words": max((p["max_words"] for p in prompts), default=0),
            "max_by_required": dict(sorted(by_required.items()))}


def ruler_markdown(summary: dict) -> str:
    """Table of output words: one row per prompt (P1, P2, ... as in ruler.png), one column per required length."""
    lengths = list(summary["max_by_required"])
    body = []
    for number, entry in enumerate(summary["prompts"], start=1):
        words = {int(r): w for r, w in entry["points"]}
        body.append([f"P{number}", entry["prompt"], *(words.get(int(r)) for r in lengths), entry["max_words"]])
    body.append(["", "**max**", *summary["max_by_required"].values(), summary["max_words"]])
    lines = ["# LongWrite-Ruler", "", f"Longest output: {summary['max_words']} words.", "",
             "Output words per prompt and required length.", ""]
    return "\n".join(lines + _table(["#", "prompt", *map(str, lengths), "max"], body)) + "\n"


def write_ruler_report(out_dir: str | Path, rows: list[dict], summary: dict) -> list[Path]:
    """Write ruler.json (the summary), ruler.md and ruler.png; return the paths."""
    out = Path(out_dir)
    with file_set(out, last="ruler.json") as stage:
        atomic_write_text(stage / "ruler.md", ruler_markdown(summary))
        plots.ruler_curve(summary, stage / "ruler.png")
        atomic_write_json(stage / "ruler.json", summary)
    return [out / "ruler.json", out / "ruler.md", out / "ruler.png"]


# ------------------------------------------------------------------ comparison


def _load_report(directory: Path) -> dict:
    path = directory / "report.json"
    if not path.is_file():
        raise UsageError(f"{directory}: no report.json (run `longform eval ...` first)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable JSON report ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("overall"), dict):
        raise UsageError(f"{path}: not a longform report (no \"overall\" section)")
    return report


def compare_reports(dirs: list[str | Path]) -> str:
    """Markdown table with one column per run: count, S_l, S_q, S, unscored, S_l per bucket, and the
    quality panel's means (overall and quality_score per bucket) when any run has them."""
    return comparison_markdown(*load_comparison(dirs))


def load_comparison(dirs: list[str | Path]) -> tuple[list[str], list[dict]]:
    """(a name per run, its report): the title, else the folder's name, else its path."""
    if not dirs:
        raise UsageError("compare needs at least one run directory")
    reports = [_load_report(Path(d)) for d in dirs]
    names = [str(r.get("title") or Path(d).name) for d, r in zip(dirs, reports)]
    if len(set(names)) < len(names):  # two runs with the same title would be indistinguishable
        names = [str(d) for d in dirs]
    return names, reports


def bucket_labels(reports: list[dict]) -> list[str]:
    labels = list(BUCKET_LABELS)
    return labels + sorted({k for r in reports for k in r.get("by_bucket", {})} - set(labels))


def write_comparison(dirs: list[str | Path], out: str | Path) -> list[Path]:
    """compare.md (the table) and compare_sl.png (S_l per bucket, a bar per run), as one set."""
    names, reports = load_comparison(dirs)
    out = Path(out)
    with file_set(out, last="compare.md") as stage:
        plots.comparison(names, reports, bucket_labels(reports), stage / "compare_sl.png")
        atomic_write_text(stage / "compare.md", "# Comparison\n\n" + comparison_markdown(names, reports))
    return [out / "compare.md", out / "compare_sl.png"]


def comparison_markdown(names: list[str], reports: list[dict]) -> str:
    labels = bucket_labels(reports)
    body = [[key, *(r["overall"].get(key) for r in reports)] for key in ("count", "S_l", "S_q", "S", "unscored")]
    for label in labels:
        cells = [(r.get("by_bucket", {}).get(label) or {}) for r in reports]
        body.append([f"S_l {label}", *(_with_count(c) for c in cells)])
    if any(r["overall"].get("quality") for r in reports):  # the quality panel's means, where runs have them
        for key in QUALITY_COLUMNS:
            body.append([key, *((r["overall"].get("quality") or {}).get(key) for r in reports)])
        for label in labels:
            cells = [((r.get("by_bucket", {}).get(label) or {}).get("quality") or {}) for r in reports]
            body.append([f"quality_score {label}", *(c.get("quality_score") for c in cells)])
    return "\n".join(_table(["", *names], body)) + "\n"


def _with_count(stats: dict) -> str:
    if not stats.get("count"):
        return "–"
    return f"{_cell(stats.get('S_l'))} (n={stats['count']})"
