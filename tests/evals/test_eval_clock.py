"""Process time a run folder records (evals/clock.py): one file per process, summed into the report."""

from __future__ import annotations

import json
import time

from longform.backends import load_backend
from longform.cli import main
from longform.evals.clock import FOLDER, ProcessClock, process_time
from longform.evals.data import EvalItem
from longform.evals.generate import generate

ITEMS = [EvalItem(id=i, prompt=f"Write a note about {t}.", type="Note", length=40, language="en")
         for i, t in enumerate(["tides", "gulls", "quays"])]


def test_each_run_of_a_folder_records_its_time_and_items(tmp_path):
    generate(ITEMS[:1], "single", load_backend("mock:lorem?delay=0.05"), tmp_path)
    generate(ITEMS, "single", load_backend("mock:lorem?delay=0.05"), tmp_path)  # a resumed run: two items left
    files = sorted((tmp_path / FOLDER).glob("*.json"))
    records = [json.loads(f.read_text()) for f in files]
    assert sorted(r["items_finished"] for r in records) == [1, 2]
    assert all(r["wall_seconds"] >= 0.05 * r["items_finished"] for r in records)
    spent = process_time(tmp_path)
    assert spent["processes"] == 2 and spent["items_finished"] == 3
    assert spent["wall_seconds"] == round(sum(r["wall_seconds"] for r in records), 1)


def test_a_run_with_nothing_left_records_nothing(tmp_path):
    generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path)
    generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path)
    assert process_time(tmp_path)["processes"] == 1


def test_the_beat_keeps_the_file_current_while_an_item_runs(tmp_path):
    with ProcessClock(tmp_path, beat=0.05) as clock:
        time.sleep(0.3)  # no item finishes: only the beat writes
        seen = json.loads(clock.path.read_text())
    assert seen["wall_seconds"] >= 0.2 and seen["items_finished"] == 0


def test_cpu_time_is_counted(tmp_path):
    with ProcessClock(tmp_path, beat=10):
        end = time.process_time() + 0.3
        while time.process_time() < end:  # busy: CPU seconds, not only wall seconds
            pass
    assert process_time(tmp_path)["cpu_seconds"] >= 0.2


def test_torn_or_foreign_files_are_left_out(tmp_path):
    folder = tmp_path / FOLDER
    folder.mkdir()
    (folder / "a.json").write_text('{"wall_seconds": 7200, "cpu_seconds": 3600, "items_finished": 4}')
    (folder / "b.json").write_text('{"wall_seconds": 36')  # torn
    (folder / "c.json").write_text('["not", "a", "record"]')
    assert process_time(tmp_path) == {"processes": 1, "wall_seconds": 7200, "cpu_seconds": 3600,
                                      "process_hours": 2.0, "core_hours": 1.0, "items_finished": 4}
    assert process_time(tmp_path / "nowhere") is None


def test_the_report_shows_the_time_spent(tmp_path, capsys):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"prompt": i.prompt, "type": i.type, "length": i.length}) + "\n"
                            for i in ITEMS), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["eval", "longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem",
                 "--system", "single", "--quiet", "--no-quality"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["process_time"] == process_time(out)
    assert "process-hours" in capsys.readouterr().err
    assert "Time: 0.00 process-hours" in (out / "report.md").read_text()
