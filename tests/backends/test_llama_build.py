"""The installed llama.cpp runs here: built for the portable CPU baseline, and fed a long prompt for real.

Both checks would have caught issue 19 on any machine: a native build lists AVX512/AMX features (the
first test fails wherever it was built on such a CPU), and on a VM that advertises AMX it cannot run,
the 2,000-token prompt kills the child with SIGILL (the second test fails there).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp")

from helpers.paths import ROOT
from longform.backends import llama_check


def test_installed_llama_cpp_is_the_portable_build():
    features = llama_check.compiled_features()
    assert features, "llama_print_system_info listed no CPU features"
    assert llama_check.portability_problems(features) == [], features


def test_the_embedded_backend_runs_a_2000_token_prompt():
    result = llama_check.smoke(2000)
    assert result.ok, result.message
    assert result.prompt_tokens >= 2000
    assert result.completion_tokens >= 1


@pytest.mark.parametrize("features, problem", [
    ({"AVX": True, "AVX2": True, "FMA": True, "F16C": True, "AVX512": True, "AMX_INT8": True}, "AMX_INT8, AVX512"),
    ({"AVX": True, "AVX2": False, "FMA": True, "F16C": True}, "AVX2 missing"),
    ({"AVX": True, "AVX2": True, "FMA": True, "F16C": True, "AVX512_BF16": False}, None),
])
def test_portability_problems_name_what_is_wrong(features, problem):
    problems = llama_check.portability_problems(features)
    assert (problem is None and problems == []) or any(problem in p for p in problems), problems


def test_a_child_killed_by_sigill_is_reported_in_one_line(monkeypatch):
    monkeypatch.setattr(llama_check, "_CHILD", "import os, signal; os.kill(os.getpid(), signal.SIGILL)")
    result = llama_check.smoke(2000)
    assert not result.ok
    assert "SIGILL on a 2,000-token prompt (Illegal instruction)" in result.message
    assert "tools/install_llama.py" in result.message
    assert "\n" not in result.message


def test_doctor_passes_on_this_install():
    done = subprocess.run([sys.executable, "-m", "longform", "doctor", "--portable"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "AVX2" in done.stderr and "ok: ran a 2," in done.stderr


def _install_script():
    spec = importlib.util.spec_from_file_location("install_llama", ROOT / "tools" / "install_llama.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wheel_folder_is_keyed_on_the_build_flags(tmp_path, monkeypatch):
    """pip's own cache ignores CMAKE_ARGS; ours names a folder after them, so another build never matches."""
    script = _install_script()
    portable = script.wheel_dir(tmp_path, sys.executable)
    assert portable == script.wheel_dir(tmp_path, sys.executable)
    monkeypatch.setattr(script, "PORTABLE", [*script.PORTABLE[:-1], "-DGGML_AMX_BF16=ON"])
    assert script.wheel_dir(tmp_path, sys.executable) != portable
    monkeypatch.setattr(script, "VERSION", "0.0.1")
    assert "0.0.1" in script.wheel_dir(tmp_path, sys.executable).name
