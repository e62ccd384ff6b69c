"""The quality panel in `longform eval`: per-row panels in scores.jsonl, means in the report, `eval decay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")

from helpers.engine import mock_lm
from helpers.paths import LABELLED
from longform import AgentWrite, WriteSettings
from longform.cli import main
from longform.quality.labelled import read_text

DATA = LABELLED


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def rows_file(tmp_path: Path) -> Path:
    """Two good texts from the labelled set (English, Chinese) and one English text gone wrong."""
    en, zh = read_text(DATA / "en" / "guide_balcony.md"), read_text(DATA / "zh" / "news_metro.md")
    bad = " ".join(["I'm going to tell you about this in the next part."] * 3) + "\n\n" + \
          "\n\n".join([en.paragraphs[1]] * 4) + "\n\nAnd then the"
    rows = [{"id": 0, "prompt": en.instruction, "length": 700, "response": "\n\n".join(en.paragraphs)},
            {"id": 1, "prompt": zh.instruction, "length": 900, "response": "\n\n".join(zh.paragraphs)},
            {"id": 2, "prompt": en.instruction, "length": 700, "response": bad}]
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_score_puts_the_panel_in_scores_and_report(tmp_path, capsys):
    code, out, err = run(["eval", "score", "--predictions", str(rows_file(tmp_path)), "--out", str(tmp_path / "r")],
                         capsys)
    assert code == 0, err
    scores = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    good_en, good_zh, bad = (s["quality"] for s in scores)
    assert good_en["language"] == "en" and good_zh["language"] == "zh" and good_zh["encoder"] == "chars+bigrams"
    assert good_en["quality_score"] >= 95 and good_zh["quality_score"] >= 95
    assert bad["quality_score"] < 50 and bad["meta_share"] > 0 and bad["restated_share"] > 0 and bad["unfinished"]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["overall"]["quality"]["measured"] == 3
    assert set(report["by_language"]) == {"en", "zh"} and report["by_language"]["zh"]["quality"]["measured"] == 1
    assert report["by_bucket"]["[500,2000)"]["quality"]["measured"] == 3
    assert "## Quality panel (a proxy measure" in (tmp_path / "r" / "report.md").read_text()


def test_no_quality_leaves_the_panel_out(tmp_path, capsys):
    code, _, err = run(["eval", "score", "--predictions", str(rows_file(tmp_path)), "--out", str(tmp_path / "r"),
                        "--no-quality"], capsys)
    assert code == 0, err
    scores = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    assert all(s["quality"] is None for s in scores)
    assert "Quality panel" not in (tmp_path / "r" / "report.md").read_text()


def test_eval_decay_on_a_run_directory_draws_deciles_and_sections(tmp_path, capsys):
    run_dir = tmp_path / "run"
    AgentWrite(mock_lm(), WriteSettings(target_words=900, seed=1)).run("Write a 900-word essay about harbors", run_dir)
    code, out, err = run(["eval", "decay", str(run_dir), "--out", str(tmp_path / "d")], capsys)
    assert code == 0, err
    assert Path(out.strip()).name == "decay.png" and Path(out.strip()).stat().st_size > 10_000
    report = json.loads((tmp_path / "d" / "decay.json").read_text())
    (doc,) = report["documents"]
    assert len(doc["by_decile"]["on_topic"]) == 10 and len(doc["sections"]) >= 2
    assert "point_similarity" in doc["sections"][0]
    table = (tmp_path / "d" / "decay.md").read_text()
    assert "| on_topic (mean) |" in table and "| section | words | on_topic | point_similarity" in table


def test_eval_decay_on_predictions_and_bad_input(tmp_path, capsys):
    code, out, err = run(["eval", "decay", str(rows_file(tmp_path)), "--out", str(tmp_path / "d"), "--ids", "0,2"],
                         capsys)
    assert code == 0, err
    assert [d["name"] for d in json.loads((tmp_path / "d" / "decay.json").read_text())["documents"]] == ["id 0", "id 2"]
    for argv, contains in [(["eval", "decay", str(tmp_path / "nope"), "--out", str(tmp_path / "x")], "no such run"),
                           (["eval", "decay", str(tmp_path), "--out", str(tmp_path / "x")], "not a run directory"),
                           (["eval", "decay", str(rows_file(tmp_path)), "--out", str(tmp_path / "x"), "--ids", "a"],
                            "--ids")]:
        code, out, err = run(argv, capsys)
        assert code == 2 and len(err.splitlines()) == 1 and contains in err, err


def test_compare_shows_the_panel_beside_the_length_score(tmp_path, capsys):
    predictions = rows_file(tmp_path)
    for name, extra in (("with", []), ("without", ["--no-quality"])):
        assert run(["eval", "score", "--predictions", str(predictions), "--out", str(tmp_path / name),
                    "--title", name, *extra], capsys)[0] == 0
    code, out, err = run(["eval", "compare", str(tmp_path / "with"), str(tmp_path / "without")], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| quality_score |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[1]) > 0 and cells[2] == "–"
    assert "| quality_score [500,2000) |" in out
