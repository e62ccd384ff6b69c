"""The generated bad-input suite (issue 25): 300+ malformed inputs over write, eval, data, train
and serve. Each must give exit 2 and one stderr line, with no traceback, and leave every
file already there byte for byte as it was (hashed before and after).

Cases run in-process (a subprocess each would cost minutes); an exception escaping `main`
is what a user would see as a traceback, so it fails the case. helpers/bad_inputs.py generates them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers.bad_inputs import BENCH, INSTRUCTIONS, PREDICTIONS, SFT_CONFIG, all_cases
from longform.cli import main

CASES = all_cases()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """Finished work of every kind the cases could spoil: a written run, a data build, a scored
    eval, a LongBench-Write run, plus inputs and configs."""
    root = tmp_path_factory.mktemp("world")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        _write_inputs(root)
        assert main(["write", "Write a 700-word essay about tea.", "--out", "run", "--backend", "mock:lorem",
                     "--quiet"]) == 0
        assert main(["data", "build", "--instructions", "in.jsonl", "--out", "build", "--backend", "mock:lorem",
                     "--quiet"]) == 0
        assert main(["eval", "score", "--predictions", "preds.jsonl", "--out", "score", "--quiet",
                     "--no-quality"]) == 0
        assert main(["eval", "longbench-write", "--data", "bench.jsonl", "--out", "lbw", "--backend", "mock:lorem",
                     "--quiet", "--no-quality"]) == 0
        shutil.copy(root / "build" / "sft.jsonl", root / "sft.jsonl")
    finally:
        os.chdir(cwd)
    return root


def _write_inputs(root: Path) -> None:
    def jsonl(name, rows):
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows))

    jsonl("in.jsonl", INSTRUCTIONS)
    jsonl("preds.jsonl", PREDICTIONS)
    jsonl("bench.jsonl", BENCH)
    (root / "afile.txt").write_text("in the way\n")
    (root / "latin1.txt").write_bytes("Écris sur le thé.\n".encode("latin-1"))
    (root / "model").mkdir()
    (root / "train.yaml").write_text(json.dumps(SFT_CONFIG))
    (root / "keys-latin1.txt").write_bytes("alice caf\xe9-key-0123456789\n".encode("latin-1"))
    (root / "keys-short.txt").write_text("alice\n")
    (root / "keys-twice.txt").write_text("alice key-0123456789abcdef\nbob key-0123456789abcdef\n")
    (root / "keys-empty.txt").write_text("# nobody\n")


def _hashes(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, world, tmp_path, capsys, monkeypatch):
    place = tmp_path / "w"
    shutil.copytree(world, place, symlinks=True)
    for rel, content in case.files.items():
        target = place / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        if content is None:
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    monkeypatch.chdir(place)
    monkeypatch.delenv("LONGFORM_SUITE_UNSET", raising=False)
    before = _hashes(place)
    try:
        code = main(list(case.argv))
    except SystemExit as exc:  # argparse's own errors exit through SystemExit
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit {code}; stderr: {err[-600:]}"
    assert len(lines) == 1 and "Traceback" not in err, err[-600:]
    assert lines[0].startswith("longform: error:"), lines
    assert case.expect.lower() in lines[0].lower(), f"failed for another reason than {case.expect!r}: {lines[0]}"
    assert _hashes(place) == before, "files changed"


def test_the_suite_is_large_and_covers_every_category():
    by_category = {}
    for case in CASES:
        by_category[case.category] = by_category.get(case.category, 0) + 1
    assert len(CASES) >= 300, by_category
    assert set(by_category) == {"bound", "out", "resume", "serve", "train", "rows", "utf8", "huge"}, by_category
    commands = {" ".join(c.argv[:2]) if c.argv[0] in ("eval", "data", "train") else c.argv[0] for c in CASES}
    for needed in ("write", "eval score", "eval longbench-write", "data build", "train sft", "serve"):
        assert needed in commands, needed


def _run_cli(argv: list[str], cwd: Path, as_nobody: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "longform", *argv]
    if as_nobody:  # root writes anywhere: only another user meets a read-only folder
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # a library warning would be a second line
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


SAMPLE = [next(c for c in CASES if c.category == category) for category in
          ("bound", "out", "resume", "serve", "rows", "utf8", "huge")] + \
         [next(c for c in CASES if c.name == name) for name in ("sft lr_scheduler_type=bogus", "dpo model missing")]


PRINTABLE = [c for c in SAMPLE if "\x00" not in "".join(c.argv) and "\udce9" not in "".join(c.argv)]


@pytest.mark.parametrize("case", PRINTABLE, ids=lambda c: c.id)
def test_the_real_command_prints_the_same_one_line(case, world, tmp_path):
    """In a real process, as a user runs it: no warning or log line beside the error."""
    place = tmp_path / "w"
    shutil.copytree(world, place, symlinks=True)
    for rel, content in case.files.items():
        (place / rel).unlink(missing_ok=True)
        (place / rel).write_bytes(content) if content is not None else (place / rel).mkdir()
    before = _hashes(place)
    done = _run_cli(case.argv, place)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-800:]
    assert case.expect.lower() in lines[0].lower() and _hashes(place) == before


def test_a_read_only_out_folder_is_refused_before_work():
    base = Path(tempfile.mkdtemp())  # not under pytest's folder, which only root may enter
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir(mode=0o555)
        done = _run_cli(["write", "Write about tea.", "--out", str(locked / "run"), "--backend", "mock:lorem"],
                        base, as_nobody=os.geteuid() == 0)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert "cannot write in" in lines[0] and "Permission denied" in lines[0], lines[0]
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(base)
