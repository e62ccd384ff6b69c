"""`data stats` and `data export`: what a build produced, and the same data as a `datasets` dataset."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from ..io import read_json, staged_folder
from ..text import count_words, detect_language


def read_sft(path: Path) -> list[dict]:
    """Rows of an sft.jsonl file; a malformed row stops with FILE:LINE."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            user, assistant = row["messages"][0], row["messages"][-1]
            if user["role"] != "user" or assistant["role"] != "assistant":
                raise ValueError("roles must be user then assistant")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: not an SFT row ({exc})") from None
        rows.append(row)
    return rows


def sft_stats(path: Path) -> dict:
    """Lengths and languages of an sft.jsonl file, plus the build's filter reasons when beside it."""
    rows = read_sft(path)
    words = [count_words(r["messages"][-1]["content"]) for r in rows]
    languages: dict[str, int] = {}
    for r in rows:
        lang = detect_language(r["messages"][-1]["content"])
        languages[lang] = languages.get(lang, 0) + 1
    build_stats = path.parent / "stats.json"
    reasons = read_json(build_stats).get("reasons", {}) if build_stats.exists() else {}
    ordered = sorted(words)
    median = ordered[len(ordered) // 2] if ordered else 0
    return {"documents": len(rows), "words": sum(words), "min": min(words, default=0),
            "median": median, "max": max(words, default=0), "languages": languages,
            "reasons": reasons, "lengths": words}


def length_histogram(words: list[int], path: Path) -> Path:
    from ..evals.plots import save_png

    return save_png(length_histogram_figure(words), path)


def length_histogram_figure(words: list[int]):
    """Documents per length bin: bars with edges, whole-number counts on the count axis."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    from ..evals.plots import new_figure

    fig = new_figure(6, 3.5)
    ax = fig.add_subplot()
    ax.hist(words, bins=min(30, max(5, len(words) // 3)), color="#4477aa", edgecolor="white", linewidth=0.8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: never "0.5 documents"
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("words per document")
    ax.set_ylabel("documents")
    ax.set_title(f"{len(words)} documents")
    fig.tight_layout()
    return fig


def export_hf(build_dir: Path, target: Path) -> int:
    """Save the build's sft.jsonl (with its metadata columns) as a `datasets` DatasetDict folder with one
    `train` split: `load_from_disk` reads it, and so does `load_dataset` (TRL's `dataset_name`)."""
    try:
        from datasets import Dataset, DatasetDict
    except ImportError:
        raise UsageError("export --to hf needs the `datasets` package (pip install datasets)") from None
    rows = read_sft(build_dir / "sft.jsonl")
    if not rows:
        raise UsageError(f"{build_dir / 'sft.jsonl'}: no documents to export")
    meta_file = build_dir / "meta.jsonl"
    meta = [json.loads(line) for line in meta_file.read_text().splitlines()] if meta_file.exists() else []
    if len(meta) == len(rows):
        rows = [{"messages": r["messages"], "id": m["id"], "target_words": m["target_words"], "words": m["words"]}
                for r, m in zip(rows, meta)]
    with staged_folder(target) as staging:  # an interrupted export leaves no half dataset
        DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(staging))
    return len(rows)
