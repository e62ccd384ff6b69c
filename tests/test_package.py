"""The package as users meet it (issue 26's housekeeping): its version on the command line, its
public API, its type marker and licence, and output files that respect the umask."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import longform
from helpers.paths import ROOT


def test_version_is_printed_by_the_command():
    done = subprocess.run([sys.executable, "-m", "longform", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"longform {longform.__version__}"


def test_callbacks_are_part_of_the_public_api():
    from longform.pipeline.events import Callbacks

    assert longform.Callbacks is Callbacks and "Callbacks" in longform.__all__


def test_the_package_is_typed_and_licensed():
    assert (Path(longform.__file__).parent / "py.typed").exists()
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}


def test_output_files_follow_the_umask(tmp_path):
    """Atomic writes go through mkstemp (0600); what is published gets the umask's modes."""
    for mask, file_mode, folder_mode in ((0o022, 0o644, 0o755), (0o027, 0o640, 0o750)):
        out = tmp_path / f"run-{mask:o}"
        script = ("import os, sys; os.umask(int(sys.argv[1], 8)); from longform.cli import main; "
                  "sys.exit(main(['write', 'Write about tea.', '--backend', 'mock:lorem', '--quiet', "
                  "'--out', sys.argv[2]]))")
        done = subprocess.run([sys.executable, "-c", script, f"{mask:o}", str(out)], capture_output=True, text=True,
                              timeout=120, env={**os.environ})
        assert done.returncode == 0, done.stderr
        modes = _modes(out)
        assert modes["run.json"] == modes["document.md"] == modes["sections/001.json"] == file_mode, modes
        assert modes["sections"] == folder_mode, modes


def _parsers(parser, name="longform"):
    import argparse

    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {word}")


def test_every_option_has_help_and_the_help_shows_defaults(capsys):
    import argparse

    from longform.cli import build_parser

    for name, parser in _parsers(build_parser()):
        missing = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
        assert not missing, f"{name}: options without help: {missing}"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                bare = [c.dest for c in action._choices_actions if not c.help]
                assert not bare, f"{name}: subcommands without help: {bare}"
    serve = dict(_parsers(build_parser()))["longform serve"].format_help()
    write = dict(_parsers(build_parser()))["longform write"].format_help()
    flat = " ".join(serve.split())
    for value in ("8080", "2", "runs/serve", "256"):  # port, workers, jobs dir, queue
        assert re.search(rf"\(default:? {value}\)", flat), value
    flat = " ".join(write.split())
    assert re.search(r"\(default:? 0\)", flat) and re.search(r"\(default:? 5\)", flat)  # seed, retries


def test_api_key_env_is_the_backend_key_in_serve_as_in_write():
    """A `write` command's options copied into `serve` must not lock the server with the backend's key."""
    from longform.cli import build_parser

    write = build_parser().parse_args(["write", "x", "--api-key-env", "GPU_KEY"])
    serve = build_parser().parse_args(["serve", "--api-key-env", "GPU_KEY"])
    own = build_parser().parse_args(["serve", "--server-key-env", "MY_KEY"])
    assert write.api_key_env == serve.api_key_env == "GPU_KEY" and serve.serve_key_env is None
    assert own.serve_key_env == "MY_KEY" and own.api_key_env is None
