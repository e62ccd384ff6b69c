"""Install llama-cpp-python built for a portable x86-64 CPU baseline.

Why this exists: llama-cpp-python ships no wheels on PyPI, so pip compiles it,
and llama.cpp's default build targets the build machine's own CPU (GGML_NATIVE).
Some virtual machines advertise AVX-512 and AMX that they cannot execute; a
native build there dies with `Illegal instruction` at the first long prompt.

Two things go wrong with a plain `pip install`, and this script avoids both:
  1. the CPU features are whatever the build machine has: we pass an explicit
     baseline (AVX2, FMA, F16C, BMI2; no AVX-512, no AMX) in CMAKE_ARGS;
  2. pip's wheel cache is keyed on the sdist, not on CMAKE_ARGS, so a native
     wheel cached earlier would be reused silently: we build with
     --no-cache-dir into our own folder whose name hashes the version and the
     flags, and install from that folder only (--no-index).

Usage: python tools/install_llama.py [--python PY]   (stdlib only; runs before longform is installed)
The wheel folder is $LONGFORM_WHEELS, default ~/.cache/longform/wheels.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.3.36"
# The portable baseline: every x86-64 machine of this kind runs these (Haswell and later, Zen and later).
# Wider sets are switched off explicitly so no CMake default can bring them back.
PORTABLE = [
    "-DGGML_NATIVE=OFF", "-DGGML_CPU_ALL_VARIANTS=OFF", "-DGGML_BACKEND_DL=OFF",
    "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON", "-DGGML_BMI2=ON",
    "-DGGML_AVX_VNNI=OFF", "-DGGML_AVX512=OFF", "-DGGML_AVX512_VBMI=OFF", "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF",
]


def wheel_dir(root: Path, python: str) -> Path:
    """One folder per (version, flags, interpreter): a different build never shares a folder."""
    tag = subprocess.run([python, "-c", "import sys, sysconfig; print(sys.implementation.cache_tag,"
                          " sysconfig.get_platform())"], check=True, capture_output=True, text=True).stdout
    key = hashlib.sha256(" ".join([VERSION, *PORTABLE, tag.strip()]).encode()).hexdigest()[:16]
    return root / f"llama-cpp-python-{VERSION}-{key}"


def build(target: Path, python: str) -> None:
    """Compile the wheel into a temporary folder, then move it into place in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CMAKE_ARGS=" ".join(PORTABLE))
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    print(f"building llama-cpp-python {VERSION} for the portable CPU baseline (several minutes, once)",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps",
                        "--no-binary", "llama-cpp-python", "-w", tmp, f"llama-cpp-python=={VERSION}"],
                       check=True, env=env)
        if not list(Path(tmp).glob("llama_cpp_python-*.whl")):
            sys.exit("install_llama: pip wheel finished but left no llama_cpp_python wheel")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
        os.mkdir(tmp)  # so TemporaryDirectory's clean-up finds what it made


def install(source: Path, python: str) -> None:
    # --force-reinstall replaces a llama-cpp-python built elsewhere (an older, native set-up of this venv)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--force-reinstall",
                    "--find-links", str(source), f"llama-cpp-python=={VERSION}"], check=True)
    # its pure-Python dependencies come from the index as usual
    subprocess.run([python, "-m", "pip", "install", "-q", "typing-extensions>=4.5", "numpy>=1.20",
                    "diskcache>=5.6.1", "jinja2>=2.11.3"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter to install into")
    args = parser.parse_args()
    root = Path(os.environ.get("LONGFORM_WHEELS") or Path.home() / ".cache" / "longform" / "wheels")
    target = wheel_dir(root, args.python)
    if not list(target.glob("llama_cpp_python-*.whl")):
        shutil.rmtree(target, ignore_errors=True)
        build(target, args.python)
    install(target, args.python)
    print(f"llama-cpp-python {VERSION} (portable build) installed from {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(f"install_llama: `{' '.join(exc.cmd[:4])} ...` failed with exit code {exc.returncode}")
