"""The benchmark scripts run end to end at toy sizes.

They are not timed tests (the ratios they print mean little at these sizes);
this only guards them against the rest of the code moving under them, which
once broke P1 and P4 unnoticed for several releases. Each must exit 0 and end
with its one JSON line carrying a finite ratio.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from helpers.paths import ROOT

TOY_RUNS = {
    "p1_overhead.py": ["--words", "120", "--threads", "1"],
    "p2_prefill.py": ["--words", "150", "--threads", "1"],
    "p3_length_scaling.py": ["--short", "80", "--long", "160", "--threads", "1"],
    "p3_length_scaling.py --plain": ["--short", "80", "--long", "160", "--threads", "1", "--plain"],
    "p4_backend_speed.py": ["--tokens", "24", "--repeats", "1", "--threads", "1"],
    "p6_packing.py": ["--samples", "8", "--batch", "2", "--max-length", "256"],
    "p8_batching.py": ["--words", "60", "--streams", "1", "2", "--threads", "1", "--tokens", "16"],
    "p8_batch_ceiling.py": ["--tokens", "8", "--prompt-tokens", "32", "--threads", "1", "--streams", "1", "2"],
    "p7_serve_concurrency.py": ["--clients", "4", "--workers", "2", "--sequential", "2", "--delay", "0.01"],
}


@pytest.mark.parametrize("script", sorted(TOY_RUNS))
def test_benchmark_runs_at_toy_size(script):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    path = ROOT / "benchmarks" / script.split()[0]
    done = subprocess.run([sys.executable, str(path), *TOY_RUNS[script]],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["benchmark"]
    assert isinstance(result["ratio"], (int, float)) and math.isfinite(result["ratio"]), result
    assert result.get("plain", False) == ("--plain" in TOY_RUNS[script])


def test_q2_runs_at_toy_size(tmp_path):
    """Q2 writes documents and grades them with the panel: six settings on a 40-word demo request."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    args = ["--out", str(tmp_path), "--words", "40", "--candidates", "1", "2", "--single-tokens", "48",
            "--seeds", "0", "1", "--steer", "--fresh"]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "q2_long_and_good.py"), *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result["settings"]) == {"1", "2", "1 steer", "2 steer", "1 fresh", "2 fresh"}
    assert math.isfinite(result["ratio"])
    assert (tmp_path / "k2-panel" / "demo" / "document.md").exists()
    assert (tmp_path / "k1" / "demo-s1" / "document.md").exists()  # one document per seed
    assert "1 request(s) × 2 seed(s)" in done.stdout
    assert all(r["tokens_per_word"] > 0 and r["P2"] > 0 for r in result["settings"].values())
    assert (tmp_path / "k1-steer" / "demo" / "document.md").exists()
    assert (tmp_path / "k2-panel-fresh" / "demo-s1" / "document.md").exists()
