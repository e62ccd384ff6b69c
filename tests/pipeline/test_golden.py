"""Golden runs: seeded documents of every layout (mock and embedded model) and of the single-call
system, byte for byte, so that a refactor that changes what gets written is caught.

Stored per case under tests/pipeline/golden/<case>/: document.md, plan.json, every section file and
trace.json, with timings removed (the only fields that vary between runs). To record them anew
after an intended change: LONGFORM_UPDATE_GOLDEN=1 pytest tests/test_golden.py, then read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers.paths import GOLDEN
from longform import AgentWrite, WriteSettings, load_backend
from longform.evals.data import EvalItem
from longform.evals.generate import generate

UPDATE = os.environ.get("LONGFORM_UPDATE_GOLDEN") == "1"
TIMINGS = {"seconds", "output_tokens_per_second", "created"}
INSTRUCTION = "Write a 400-word article about the history of lighthouses"


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _files(run: Path) -> dict[str, str]:
    """The run's stable content: name → text."""
    out = {"document.md": (run / "document.md").read_text(encoding="utf-8")}
    for name in ["plan.json", "trace.json", *sorted(f"sections/{p.name}" for p in (run / "sections").glob("*.json"))]:
        data = _without_timings(json.loads((run / name).read_text(encoding="utf-8")))
        out[name] = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    return out


def _check(case: str, files: dict[str, str]) -> None:
    folder = GOLDEN / case
    if UPDATE:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
    stored = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert stored == sorted(files), f"{case}: files differ from the golden run"
    for name, text in files.items():
        assert text == (folder / name).read_text(encoding="utf-8"), f"{case}/{name} differs from the golden run"


# the embedded model's cases take about a minute each: they run with the slow tests (`make test-slow`, CI)
CASES = [pytest.param(backend, layout, marks=[pytest.mark.slow] if backend == "embedded" else [])
         for backend in ("mock", "embedded") for layout in ("continuous", "turns", "official")]


@pytest.mark.parametrize("backend, layout", CASES)
def test_a_seeded_run_writes_the_golden_document(tmp_path, backend, layout):
    if backend == "embedded":
        pytest.importorskip("llama_cpp")
    lm = load_backend("mock:lorem" if backend == "mock" else "embedded?threads=1")
    words = 900 if backend == "mock" else 150
    AgentWrite(lm, WriteSettings(target_words=words, seed=7, layout=layout)).run(INSTRUCTION, tmp_path / "run")
    _check(f"{backend}-{layout}", _files(tmp_path / "run"))


@pytest.mark.parametrize("backend", ["mock", pytest.param("embedded", marks=pytest.mark.slow)])
def test_the_single_call_system_writes_the_golden_answer(tmp_path, backend):
    if backend == "embedded":
        pytest.importorskip("llama_cpp")
    lm = load_backend("mock:lorem" if backend == "mock" else "embedded?threads=1")
    item = EvalItem(0, "Write a 150-word note about harbours.", "Note", 150, "en")
    (row,) = generate([item], "single", lm, tmp_path, seed=7, single_max_tokens=300)
    _check(f"{backend}-single", {"row.json": json.dumps(_without_timings(row), ensure_ascii=False, indent=1,
                                                        sort_keys=True) + "\n"})
