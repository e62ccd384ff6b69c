"""Several processes sharing one eval --out: item claims and locked appends."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from longform.backends import load_backend
from longform.cli import main
from longform.evals.claims import claim, file_lock, held_elsewhere
from longform.evals.data import EvalItem
from longform.evals.generate import EvalCallbacks, generate
from longform.evals.predictions import append_prediction, read_predictions, repair

ITEMS = [EvalItem(0, "Write a 300-word note about rivers", "Note", 300, "en"),
         EvalItem(1, "Write a 400-word note about bridges", "Note", 400, "en"),
         EvalItem(2, "Write a 500-word note about harbors", "Note", 500, "en")]


class Seen(EvalCallbacks):
    def __init__(self):
        self.done, self.elsewhere = [], []

    def on_item_done(self, item, row):
        self.done.append(item.id)

    def on_item_elsewhere(self, item):
        self.elsewhere.append(item.id)


def test_a_claim_is_exclusive_until_released(tmp_path):
    with claim(tmp_path, 5) as first:
        assert first
        with claim(tmp_path, 5) as second:  # another open of the lock file: what another process sees
            assert not second
        assert held_elsewhere(tmp_path, 5)
        with claim(tmp_path, 6) as other:
            assert other  # items are claimed one by one
    assert not held_elsewhere(tmp_path, 5)
    with claim(tmp_path, 5) as again:
        assert again


def test_an_item_claimed_elsewhere_is_left_to_its_writer(tmp_path):
    lm, seen = load_backend("mock:lorem"), Seen()
    with claim(tmp_path, 1):
        rows = generate(ITEMS, "single", lm, tmp_path, callbacks=[seen])
    assert [r["id"] for r in rows] == [0, 2]
    assert seen.elsewhere == [1] and seen.done == [0, 2]
    assert len(lm.provider.calls) == 2
    assert [r["id"] for r in read_predictions(tmp_path / "predictions.jsonl")] == [0, 2]


def test_an_item_finished_elsewhere_meanwhile_is_not_written_twice(tmp_path):
    path = tmp_path / "predictions.jsonl"
    theirs = {"id": 2, "prompt": ITEMS[2].prompt, "type": "Note", "length": 500, "language": "en",
              "system": "single", "response": "Their words.", "response_words": 2, "seconds": 1.0,
              "completion_tokens": 3}

    class OtherProcess(EvalCallbacks):
        def on_item_start(self, item):
            if item.id == 0:  # while this run writes item 0, another process finishes item 2
                append_prediction(path, theirs)

    lm = load_backend("mock:lorem")
    rows = generate(ITEMS, "single", lm, tmp_path, callbacks=[OtherProcess()])
    assert [r["id"] for r in rows] == [0, 1, 2] and rows[2] == theirs
    assert len(lm.provider.calls) == 2
    assert sorted(r["id"] for r in read_predictions(path)) == [0, 1, 2]


def test_rows_other_processes_finish_are_in_the_result(tmp_path):
    # this process writes nothing new, yet reports every row in the folder
    path = tmp_path / "predictions.jsonl"
    generate(ITEMS[1:], "single", load_backend("mock:lorem"), tmp_path)
    with claim(tmp_path, 0):
        rows = generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path)
    assert [r["id"] for r in rows] == [1, 2]
    generate(ITEMS[:1], "single", load_backend("mock:lorem"), tmp_path)
    assert [r["id"] for r in generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path)] == [0, 1, 2]
    assert len(read_predictions(path)) == 3


def test_repair_waits_for_an_append_in_progress(tmp_path):
    # a repair that ran mid-append would take the half-written row for a torn line and drop it
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"id": 0, "prompt": "Write", "length": 5, "response": "x"}\n{"id": 1, "pro', encoding="utf-8")
    repaired = threading.Event()
    with file_lock(path):
        worker = threading.Thread(target=lambda: (repair(path, on_torn=None), repaired.set()))
        worker.start()
        time.sleep(0.3)
        assert not repaired.is_set()  # blocked while the lock is held
        with open(path, "a", encoding="utf-8") as fh:  # the writer finishes its row
            fh.write('mpt": "Write", "length": 5, "response": "y"}\n')
    worker.join(timeout=10)
    assert repaired.is_set()
    assert [r["id"] for r in read_predictions(path)] == [0, 1]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "longform", "eval", *args]


def data_file(folder: Path, count: int) -> Path:
    path = folder / "items.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"Write a {300 + i}-word note about place {i}", "type": "Note",
                                        "length": 300 + i}) + "\n" for i in range(count)), encoding="utf-8")
    return path


def test_processes_sharing_an_out_split_the_items_without_shards(tmp_path):
    data, out = data_file(tmp_path, 12), tmp_path / "out"
    argv = command("longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem?delay=0.1",
                   "--system", "agentwrite")
    procs = [subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errs = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        errs.append(err)
    ids = [json.loads(line)["id"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert sorted(ids) == list(range(12))  # every item exactly once
    written = [err.count("words for") for err in errs]  # a line per item a process wrote itself
    assert sum(1 for n in written if n) >= 2, errs  # the work was shared
    # the process that ended last reports on every item
    assert json.loads((out / "report.json").read_text())["overall"]["count"] == 12


def test_a_process_leaves_the_report_to_the_one_still_writing(tmp_path, capsys):
    # a partial report written after the complete one would replace it: only the last to end reports
    data, out = data_file(tmp_path, 3), tmp_path / "out"
    argv = ["eval", "longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem",
            "--system", "single", "--quiet"]
    with claim(out, 2):
        code = main(argv)
        err = capsys.readouterr().err
    assert code == 0, err
    assert "1 of 3 items are written by another process sharing --out (ids 2)" in err
    assert not (out / "report.json").exists()
    assert sorted(r["id"] for r in read_predictions(out / "predictions.jsonl")) == [0, 1]
    assert main(argv) == 0  # the claim is free again: item 2 is written, and the report covers all three
    assert json.loads((out / "report.json").read_text())["overall"]["count"] == 3
    fresh = tmp_path / "fresh"
    with claim(fresh, 0), claim(fresh, 1), claim(fresh, 2):
        code = main([*argv[:5], str(fresh), *argv[6:]])
    assert code == 0 and "3 of 3 items are written by another process" in capsys.readouterr().err
