"""`longform write` from the command line: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longform.cli import main

INSTRUCTION = "Write a 1500-word essay about the history of tea"


def longform(*args: str, cwd: Path, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LONGFORM_BASE_URL", "OPENAI_BASE_URL", "LONGFORM_MODEL")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "longform", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment, check=False)


def assert_one_line_error(done: subprocess.CompletedProcess, contains: str = "") -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("longform: error: "), lines[0]
    assert contains.lower() in lines[0].lower(), lines[0]
    assert done.stdout == ""
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["write", INSTRUCTION, "--backend", "mock:lorem", "--out", str(out), "--quiet"]) == 0
    return out


# ------------------------------------------------------------------ success


def test_write_prints_the_document_path(tmp_path):
    done = longform("write", INSTRUCTION, "--backend", "mock:lorem", "--out", "essay", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == Path("essay") / "document.md"
    document = (tmp_path / path).read_text(encoding="utf-8")
    assert document.startswith("## ") and len(document.split()) > 1000
    assert json.loads((tmp_path / "essay" / "run.json").read_text())["status"] == "done"
    # progress goes to stderr, never to stdout
    assert "section 1/" in done.stderr and "wrote" in done.stderr.splitlines()[-1]
    assert done.stdout.strip().splitlines() == [str(path)]
    # the quality panel's line, just before the summary (the mock's word salad scores low)
    panel = done.stderr.splitlines()[-2]
    assert panel.startswith("quality panel (a proxy): ") or panel.startswith("quality panel: not installed"), panel


def test_write_default_out_dir(tmp_path):
    done = longform("write", INSTRUCTION, "--backend", "mock:lorem", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / done.stdout.strip().splitlines()[-1]
    assert path.is_file() and path.parent.parent == tmp_path / "runs"
    assert path.parent.name.startswith("write-a-1500-word-essay")


def test_write_in_process(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["write", INSTRUCTION, "--backend", "mock:lorem", "--out", str(out), "--quiet", "--words", "700"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(out / "document.md")
    assert (out / "document.md").is_file()
    assert json.loads((out / "run.json").read_text())["target_words"] == 700
    assert captured.err.strip().startswith("wrote ")


@pytest.mark.parametrize("layout", ["continuous", "turns", "official"])
def test_write_with_each_layout(tmp_path, capsys, layout):
    out = tmp_path / "run"
    assert main(["write", INSTRUCTION, "--backend", "mock:lorem", "--out", str(out), "--quiet", "--words", "1500",
                 "--layout", layout]) == 0
    sections = sorted((out / "sections").glob("*.json"))
    assert len(sections) >= 2
    words = json.loads(sections[-1].read_text())["words"]
    assert words > 0
    calls = json.loads((out / "trace.json").read_text())["calls"]
    assert {c["stage"] for c in calls} <= {"plan", "section", "summary"}


def test_write_from_file(tmp_path, capsys):
    file = tmp_path / "instruction.txt"
    file.write_text("\n  写一篇1200字的关于茶的文章  \n", encoding="utf-8-sig")  # with a BOM, as Notepad saves
    out = tmp_path / "run"
    assert main(["write", "--file", str(file), "--backend", "mock:lorem", "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "document.md")
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["instruction"] == "写一篇1200字的关于茶的文章"  # stripped, no BOM
    assert meta["language"] == "zh" and meta["target_words"] == 1200
    assert (out / "document.md").stat().st_size > 0


def test_resume_a_finished_run(finished_run, capsys):
    before = (finished_run / "document.md").read_bytes()
    assert main(["write", "--resume", "--out", str(finished_run), "--backend", "mock:lorem", "--quiet"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(finished_run / "document.md")
    assert (finished_run / "document.md").read_bytes() == before


# ------------------------------------------------------------------ bad input: exit 2, one line


@pytest.mark.parametrize(
    "args, contains",
    [
        (["write", "", "--backend", "mock:lorem"], "empty"),
        (["write", "   \n\t ", "--backend", "mock:lorem"], "empty"),
        (["write", "--backend", "mock:lorem"], "no instruction"),
        (["write", "tea", "--backend", "nope"], "unknown backend"),
        (["write", "tea", "--backend", "mock:nope"], "mock"),
        (["write", "tea", "--backend", "mock:lorem?bogus=1"], "bad option"),
        (["write", "tea", "--backend", "mock:lorem", "--words", "0"], "--words"),
        (["write", "tea", "--backend", "mock:lorem", "--words", "-5"], "--words"),
        (["write", "tea", "--backend", "mock:lorem", "--words", "abc"], "--words"),
        (["write", "tea", "--backend", "mock:lorem", "--seed", "x"], "--seed"),
        (["write", "tea", "--backend", "mock:lorem", "--bogus"], "--bogus"),
        (["write", "tea", "extra", "--backend", "mock:lorem"], "extra"),
        (["write", "tea", "--backend", "mock:lorem", "--context", "100"], "--context"),
        (["write", "tea", "--backend", "mock:lorem", "--layout", "sideways"], "--layout"),
        (["frobnicate"], "frobnicate"),
        ([], "command"),
        (["write", "tea", "--backend", "openai"], "base-url"),
        (["write", "tea", "--backend", "openai", "--base-url", "localhost:8000/v1"], "http"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_input(tmp_path, args, contains):
    assert_one_line_error(longform(*args, "--out", "run", cwd=tmp_path) if args[:1] == ["write"]
                          else longform(*args, cwd=tmp_path), contains)
    assert not (tmp_path / "run").exists()  # nothing written
    assert not (tmp_path / "runs").exists()


def test_file_missing(tmp_path):
    assert_one_line_error(longform("write", "--file", "nope.txt", "--backend", "mock:lorem", cwd=tmp_path),
                          "instruction file nope.txt does not exist")


def test_file_is_a_directory(tmp_path):
    (tmp_path / "folder").mkdir()
    assert_one_line_error(longform("write", "--file", "folder", "--backend", "mock:lorem", cwd=tmp_path),
                          "cannot read instruction file")


@pytest.mark.parametrize("content", [b"", b"   \n\n\t", "\ufeff".encode() + b"\n"])
def test_file_empty(tmp_path, content):
    (tmp_path / "empty.txt").write_bytes(content)
    assert_one_line_error(longform("write", "--file", "empty.txt", "--backend", "mock:lorem", cwd=tmp_path),
                          "empty")


def test_file_not_utf8(tmp_path):
    (tmp_path / "binary.bin").write_bytes(bytes([0xFF, 0xFE, 0x00, 0x80, 0x81, 0xC3, 0x28]) * 50)
    line = assert_one_line_error(longform("write", "--file", "binary.bin", "--backend", "mock:lorem",
                                          cwd=tmp_path), "binary.bin:1: instruction file is not UTF-8")
    assert "0xff" in line
    assert not (tmp_path / "runs").exists()


def test_instruction_and_file_together(tmp_path):
    (tmp_path / "i.txt").write_text("an essay on tea", encoding="utf-8")
    assert_one_line_error(longform("write", "tea", "--file", "i.txt", "--backend", "mock:lorem", cwd=tmp_path),
                          "not both")


def test_openai_unreachable_server_fails_fast(tmp_path):
    started = time.monotonic()
    done = longform("write", "tea", "--backend", "openai", "--base-url", f"http://127.0.0.1:{free_port()}/v1",
                    "--out", "run", cwd=tmp_path, timeout=30)
    assert time.monotonic() - started < 15
    assert_one_line_error(done, "cannot reach")
    assert not (tmp_path / "run").exists()


def test_openai_spec_with_unreachable_url(tmp_path):
    done = longform("write", "tea", "--backend", f"openai:http://127.0.0.1:{free_port()}/v1#m",
                    "--out", "run", cwd=tmp_path, timeout=30)
    assert_one_line_error(done, "cannot reach")


def test_resume_without_a_run(tmp_path):
    assert_one_line_error(longform("write", "--resume", "--out", "nothing", "--backend", "mock:lorem", cwd=tmp_path))
    assert not (tmp_path / "nothing" / "run.json").exists()


# ------------------------------------------------------------------ failures leave earlier work intact


def test_existing_out_dir_without_resume(tmp_path, finished_run):
    before = snapshot(finished_run)
    done = longform("write", INSTRUCTION, "--backend", "mock:lorem", "--out", str(finished_run), cwd=tmp_path)
    assert_one_line_error(done, "already holds a run")
    assert snapshot(finished_run) == before  # run.json, plan, sections, trace, document untouched


def test_resume_of_a_different_instruction(tmp_path, finished_run):
    before = snapshot(finished_run)
    done = longform("write", "An essay about coffee", "--resume", "--backend", "mock:lorem",
                    "--out", str(finished_run), cwd=tmp_path)
    assert_one_line_error(done, "different instruction")
    assert snapshot(finished_run) == before


def test_unreadable_run_json(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text("{not json", encoding="utf-8")
    done = longform("write", "--resume", "--out", "run", "--backend", "mock:lorem", cwd=tmp_path)
    assert_one_line_error(done, "run.json: damaged run file")
    assert (out / "run.json").read_text(encoding="utf-8") == "{not json"


def test_in_process_error_returns_2(tmp_path, capsys, finished_run):
    code = main(["write", INSTRUCTION, "--backend", "mock:lorem", "--out", str(finished_run)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("longform: error: ")
