"""Evaluation reports: statistics by group, written files and plots, Ruler summaries, run comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longform.errors import UsageError
from longform.evals.report import (
    BUCKET_LABELS,
    build_report,
    compare_reports,
    ruler_summary,
    write_report,
    write_ruler_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCORES = {"Relevance": 5, "Accuracy": 4, "Coherence": 4, "Clarity": 5, "Breadth and Depth": 4,
          "Reading Experience": 4}


def row(prompt, type_, length, language, words, s_l, share, judge, bucket):
    out = {"prompt": prompt, "length": length, "language": language, "response_words": words, "S_l": s_l,
           "bucket": bucket, "repetition": {"repeated_4gram_share": share, "distinct_1": 0.5}, "judge": judge}
    if type_ is not None:
        out["type"] = type_
    return out


# judged (S_q 80), unscored (judge ran, verdict unparseable), unjudged, judged without a type;
# the [4000,20000] bucket is empty.
ROWS = [
    row("Write 100 words", "A", 100, "en", 100, 100.0, 0.0, {"scores": SCORES, "S_q": 80.0}, "[0,500)"),
    row("Write 1000 words", "B", 1000, "en", 500, 50.0, 0.1, {"scores": None, "S_q": None, "raw": "?"},
        "[500,2000)"),
    row("写三千字", "A", 3000, "zh", 0, 0.0, 0.0, None, "[2000,4000)"),
    row("写三百字", None, 300, "zh", 400, 70.0, 0.2, {"scores": SCORES, "S_q": 50.0}, "[0,500)"),
]

EMPTY = {"count": 0, "S_l": None, "S_q": None, "S": None, "judged": 0, "unscored": 0, "mean_words": None,
         "repeated_4gram_share": None, "quality": None}


def stats(count, s_l, s_q, s, judged, unscored, words, share):
    return {"count": count, "S_l": s_l, "S_q": s_q, "S": s, "judged": judged, "unscored": unscored,
            "mean_words": words, "repeated_4gram_share": share, "quality": None}


# ------------------------------------------------------------------ build_report


def test_build_report_hand_computed_groups():
    report = build_report(ROWS)
    assert report["overall"] == stats(4, 55.0, 65.0, 60.0, 2, 1, 250.0, 0.075)
    assert list(report["by_bucket"]) == list(BUCKET_LABELS)
    assert report["by_bucket"] == {
        "[0,500)": stats(2, 85.0, 65.0, 75.0, 2, 0, 250.0, 0.1),
        "[500,2000)": stats(1, 50.0, None, None, 0, 1, 500.0, 0.1),
        "[2000,4000)": stats(1, 0.0, None, None, 0, 0, 0.0, 0.0),
        "[4000,20000]": EMPTY,
    }
    assert report["by_type"] == {
        "A": stats(2, 50.0, 80.0, 65.0, 1, 0, 50.0, 0.0),
        "B": stats(1, 50.0, None, None, 0, 1, 500.0, 0.1),
        "unknown": stats(1, 70.0, 50.0, 60.0, 1, 0, 400.0, 0.2),
    }
    assert report["by_language"] == {
        "en": stats(2, 75.0, 80.0, 77.5, 1, 1, 300.0, 0.05),
        "zh": stats(2, 35.0, 50.0, 42.5, 1, 0, 200.0, 0.1),
    }


def test_groups_are_sorted_by_key():
    report = build_report(list(reversed(ROWS)))
    assert list(report["by_type"]) == ["A", "B", "unknown"]
    assert list(report["by_language"]) == ["en", "zh"]
    assert list(report["by_bucket"]) == list(BUCKET_LABELS)


def test_s_only_when_a_judge_scored_something():
    unjudged = [{**r, "judge": None} for r in ROWS]
    overall = build_report(unjudged)["overall"]
    assert (overall["S_q"], overall["S"], overall["judged"], overall["unscored"]) == (None, None, 0, 0)
    assert overall["S_l"] == 55.0
    # Every verdict unparseable: counted as unscored, never as a quality score of 0.
    unscored = [{**r, "judge": {"scores": None, "S_q": None}} for r in ROWS]
    overall = build_report(unscored)["overall"]
    assert (overall["S_q"], overall["S"], overall["judged"], overall["unscored"]) == (None, None, 0, 4)


def test_floats_are_rounded_to_two_decimals():
    rows = [row("p", "A", 100, "en", w, s_l, 0.0, {"scores": SCORES, "S_q": s_q}, "[0,500)")
            for w, s_l, s_q in [(1, 10.0, 1.0), (1, 10.0, 1.0), (2, 11.0, 2.0)]]
    overall = build_report(rows)["overall"]
    assert overall["S_l"] == 10.33 and overall["S_q"] == 1.33 and overall["S"] == 5.83
    assert overall["mean_words"] == 1.33


def test_empty_rows_give_empty_groups():
    report = build_report([])
    assert report["overall"] == EMPTY
    assert report["by_bucket"] == {label: EMPTY for label in BUCKET_LABELS}
    assert report["by_type"] == {} and report["by_language"] == {}


# ------------------------------------------------------------------ write_report


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5000, (path, len(data))  # a rendered figure, not an empty stub


def test_write_report_files(tmp_path):
    report = build_report(ROWS)
    paths = write_report(tmp_path / "run", ROWS, report)
    names = ["report.json", "report.md", "scores.jsonl", "length_scatter.png", "sl_by_bucket.png"]
    assert [p.name for p in paths] == names
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(names)  # no temp files left
    assert json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8")) == report
    lines = (tmp_path / "run" / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == ROWS
    assert "写三千字" in lines[2]  # ensure_ascii=False
    for name in names[3:]:
        assert_png(tmp_path / "run" / name)


def test_a_crash_while_reporting_leaves_the_old_set_whole(tmp_path, monkeypatch):
    """D10: a report is rendered in full before any old file is replaced, so a crash (here in the
    second plot) never leaves a new report.json beside old scores and plots."""
    from longform.evals import plots

    out = tmp_path / "run"
    write_report(out, ROWS, build_report(ROWS), title="old")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(*args, **kwargs):
        raise RuntimeError("killed while plotting")

    monkeypatch.setattr(plots, "sl_by_bucket", crash)
    with pytest.raises(RuntimeError):
        write_report(out, ROWS[:2], build_report(ROWS[:2]), title="new")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging folder either
    monkeypatch.undo()
    write_report(out, ROWS[:2], build_report(ROWS[:2]), title="new")
    assert json.loads((out / "report.json").read_text())["title"] == "new"
    assert len((out / "scores.jsonl").read_text().splitlines()) == 2


def test_report_markdown_holds_the_numbers(tmp_path):
    write_report(tmp_path, ROWS, build_report(ROWS), title="smoke run")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# smoke run\n")
    for heading in ("## Overall", "## By required length (bucket)", "## By language", "## By type"):
        assert heading in md
    assert "| group | count | S_l | S_q | S | words | repeated 4-grams | unscored |" in md
    assert "| all | 4 | 55.00 | 65.00 | 60.00 | 250.00 | 7.5% | 1 |" in md
    assert "| [4000,20000] | 0 | – | – | – | – | – | 0 |" in md
    assert "| en | 2 | 75.00 | 80.00 | 77.50 | 300.00 | 5.0% | 1 |" in md
    assert "| unknown | 1 | 70.00 | 50.00 | 60.00 | 400.00 | 20.0% | 0 |" in md
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["title"] == "smoke run"


def test_zero_word_outputs_do_not_break_log_plots(tmp_path):
    rows = [{**r, "response_words": 0, "S_l": 0.0} for r in ROWS]
    write_report(tmp_path, rows, build_report(rows))
    assert_png(tmp_path / "length_scatter.png")
    assert_png(tmp_path / "sl_by_bucket.png")


def test_write_report_with_no_rows(tmp_path):
    write_report(tmp_path, [], build_report([]))
    assert (tmp_path / "scores.jsonl").read_text(encoding="utf-8") == ""
    assert_png(tmp_path / "length_scatter.png")


# ------------------------------------------------------------------ Ruler


def ruler_rows():
    data = {"Write a travel guide": {1000: 1200, 2000: 2500, 5000: 3000},
            "写一篇旅游指南": {1000: 900, 2000: 0, 5000: 4000}}
    rows = [{"prompt": p, "length": r, "response_words": w} for p, points in data.items()
            for r, w in points.items()]
    return rows[::-1]  # out of order on purpose: points must come back sorted


def test_ruler_summary_maxima():
    summary = ruler_summary(ruler_rows())
    assert summary["prompts"] == [
        {"prompt": "写一篇旅游指南", "points": [[1000, 900], [2000, 0], [5000, 4000]], "max_words": 4000},
        {"prompt": "Write a travel guide", "points": [[1000, 1200], [2000, 2500], [5000, 3000]],
         "max_words": 3000},
    ]
    assert summary["max_words"] == 4000
    assert summary["max_by_required"] == {1000: 1200, 2000: 2500, 5000: 4000}


def test_ruler_summary_keeps_the_longer_of_duplicate_points():
    rows = ruler_rows() + [{"prompt": "Write a travel guide", "length": 5000, "response_words": 6000}]
    summary = ruler_summary(rows)
    assert summary["prompts"][1]["points"][-1] == [5000, 6000]
    assert summary["max_words"] == 6000 and summary["max_by_required"][5000] == 6000
    assert ruler_summary([]) == {"prompts": [], "max_words": 0, "max_by_required": {}}


def test_write_ruler_report_files(tmp_path):
    summary = ruler_summary(ruler_rows())
    paths = write_ruler_report(tmp_path, ruler_rows(), summary)
    assert [p.name for p in paths] == ["ruler.json", "ruler.md", "ruler.png"]
    # JSON object keys are strings: the stored summary is the JSON form of the returned one.
    stored = json.loads((tmp_path / "ruler.json").read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(summary))
    md = (tmp_path / "ruler.md").read_text(encoding="utf-8")
    assert "| # | prompt | 1000 | 2000 | 5000 | max |" in md
    assert "| P1 | 写一篇旅游指南 | 900 | 0 | 4000 | 4000 |" in md
    assert "| P2 | Write a travel guide | 1200 | 2500 | 3000 | 3000 |" in md
    assert "|  | **max** | 1200 | 2500 | 4000 | 4000 |" in md
    assert_png(tmp_path / "ruler.png")


# ------------------------------------------------------------------ compare_reports


def test_compare_two_runs(tmp_path):
    write_report(tmp_path / "single", ROWS, build_report(ROWS))
    better = [{**r, "S_l": 90.0} for r in ROWS]
    write_report(tmp_path / "agent", better, build_report(better), title="agentwrite")
    table = compare_reports([tmp_path / "single", tmp_path / "agent"])
    lines = table.splitlines()
    assert lines[0] == "|  | single | agentwrite |"
    assert "| count | 4 | 4 |" in lines
    assert "| S_l | 55.00 | 90.00 |" in lines
    assert "| S_q | 65.00 | 65.00 |" in lines
    assert "| S | 60.00 | 77.50 |" in lines
    assert "| unscored | 1 | 1 |" in lines
    assert "| S_l [0,500) | 85.00 (n=2) | 90.00 (n=2) |" in lines
    assert "| S_l [4000,20000] | – | – |" in lines


def test_compare_same_titles_fall_back_to_directories(tmp_path):
    for name in ("a", "b"):
        write_report(tmp_path / name, ROWS, build_report(ROWS), title="same")
    header = compare_reports([tmp_path / "a", tmp_path / "b"]).splitlines()[0]
    assert str(tmp_path / "a") in header and str(tmp_path / "b") in header


def test_compare_missing_or_broken_report(tmp_path):
    write_report(tmp_path / "ok", ROWS, build_report(ROWS))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"empty: no report.json \(run `longform eval"):
        compare_reports([tmp_path / "ok", tmp_path / "empty"])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "report.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="broken.*report.json"):
        compare_reports([tmp_path / "broken"])
    with pytest.raises(UsageError):
        compare_reports([])


def test_ruler_rows_of_one_prompt_at_several_lengths_form_one_curve():
    rows = [{"prompt": f"Write a {n}-word China travel guide", "length": n, "response_words": w}
            for n, w in [(1000, 900), (5000, 3000), (20000, 21000)]]
    rows += [{"prompt": f"写一篇{n}字的中国旅游指南", "length": n, "response_words": n // 2} for n in (1000, 2000)]
    summary = ruler_summary(rows)
    assert len(summary["prompts"]) == 2
    assert summary["prompts"][0]["points"] == [[1000, 900], [5000, 3000], [20000, 21000]]
    assert summary["max_words"] == 21000
