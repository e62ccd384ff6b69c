"""A batched evaluation on the real embedded model (`--concurrency 4`: four documents decoded together
on one model), killed with SIGKILL mid-run and resumed: every item in predictions.jsonl exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from longform.evals.clock import process_time

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

TOPICS = ["tides", "ferries", "gulls", "quays", "sea fog", "rope", "harbours", "lighthouses"]


def test_a_killed_batched_eval_resumes_with_every_item_once(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Write a 60-word note about {t}.", "type": "Note", "length": 60})
                            + "\n" for t in TOPICS), encoding="utf-8")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "longform", "eval", "longbench-write", "--data", str(data), "--out", str(out),
            "--backend", "embedded", "--concurrency", "4", "--system", "single", "--single-max-tokens", "96",
            "--quiet"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    file, deadline = out / "predictions.jsonl", time.monotonic() + 240
    while not (file.exists() and len(file.read_bytes().splitlines()) >= 2):  # some rows done, others in flight
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the batched eval never wrote two rows"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    before = [json.loads(line)["id"] for line in file.read_text(encoding="utf-8").splitlines()]
    assert 2 <= len(before) < len(TOPICS)

    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == list(range(len(TOPICS)))  # every item exactly once
    assert [r["id"] for r in rows[: len(before)]] == before  # the rows written before the kill were kept
    assert all(r["response"].strip() for r in rows)
    # The killed process kept the time and items it had saved. A kill can land between a row's append and
    # the clock's save, so its count may lag its rows (a CI run: 7 of 8); the resumed one counts exactly.
    spent = process_time(out)
    counts = sorted(json.loads(f.read_text())["items_finished"] for f in (out / "processes").glob("*.json"))
    assert spent["processes"] == 2 and len(TOPICS) - len(before) in counts
    assert sum(counts) <= len(TOPICS) and spent["wall_seconds"] > 0
    assert json.loads((out / "report.json").read_text())["process_time"] == spent
