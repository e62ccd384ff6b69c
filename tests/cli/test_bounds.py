"""Numbers and paths out of bounds are argparse's one-line error with exit 2, before any work
(issue 25: D11 unbounded --words, D14 --out "", D17 --concurrency 0, --max-repetition -1 / nan,
D13 the id ".."), and nothing already written changes."""

from __future__ import annotations

import hashlib
import json

import pytest

from longform.cli import main

CASES = [
    ["write", "x", "--backend", "mock:lorem", "--concurrency", "0"],
    ["write", "x", "--backend", "mock:lorem", "--words", "1000000000"],
    ["write", "x", "--backend", "mock:lorem", "--words", "0"],
    ["write", "x", "--backend", "mock:lorem", "--out", ""],
    ["write", "x", "--backend", "mock:lorem", "--temperature", "nan"],
    ["write", "x", "--backend", "mock:lorem", "--top-p", "0"],
    ["write", "x", "--backend", "mock:lorem", "--max-retries", "-1"],
    ["write", "x", "--backend", "mock:lorem", "--context", "10"],
    ["data", "build", "--instructions", "IN", "--out", "OUT", "--max-repetition", "-1"],
    ["data", "build", "--instructions", "IN", "--out", "OUT", "--max-repetition", "nan"],
    ["data", "build", "--instructions", "IN", "--out", ""],
    ["eval", "score", "--predictions", "IN", "--out", ""],
]


def _hashes(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c[:2] + c[-2:]) for c in CASES])
def test_out_of_bounds_is_one_line_and_exit_2(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "IN").write_text(json.dumps({"instruction": "Write about tea."}) + "\n")
    (tmp_path / "OUT").mkdir()
    (tmp_path / "OUT" / "kept.json").write_text('{"a": 1}')
    before = _hashes(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "Traceback" not in err[0], err
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("ident", ["..", "."])
def test_a_dot_id_cannot_name_the_build_folder(ident, tmp_path):
    from longform.data.instructions import load_instructions
    from longform.errors import UsageError

    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": ident, "instruction": "Write about tea."}) + "\n")
    with pytest.raises(UsageError, match="it names a folder"):
        load_instructions(path, None)
