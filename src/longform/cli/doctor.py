"""`longform doctor`: can this machine run the embedded model? The set-up runs it after installing.

    longform doctor               # compiled CPU features and a 2,000-token prompt on the embedded model
    longform doctor --portable    # also require the portable build (what `make` installs)
"""

from __future__ import annotations

import argparse
import sys

from .bounds import whole


def register(commands) -> None:
    p = commands.add_parser("doctor", help="check that llama.cpp runs on this machine",
                            description="Reads the CPU features llama.cpp was compiled for and runs the embedded "
                                        "model on a long prompt in a child process.")
    p.add_argument("--portable", action="store_true",
                   help="fail unless llama.cpp was built for the portable baseline (no AVX-512, no AMX)")
    p.add_argument("--prompt-tokens", type=whole(16, 100_000), default=2000,
                   help="length of the test prompt (default 2000)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..backends import llama_check

    try:
        features = llama_check.compiled_features()
    except ImportError:
        return _fail("llama-cpp-python is not installed; run `python tools/install_llama.py` or `make`")
    on = " ".join(name for name, value in features.items() if value)
    print(f"llama.cpp compiled for: {on}", file=sys.stderr)
    problems = llama_check.portability_problems(features)
    if problems and args.portable:
        return _fail("llama-cpp-python is not the portable build (" + "; ".join(problems) + "); rebuild it with "
                     "`python tools/install_llama.py`")
    result = llama_check.smoke(args.prompt_tokens)
    if not result.ok:
        return _fail(result.message)
    print(f"ok: {result.message}" + ("" if not problems else f" (note: {'; '.join(problems)})"), file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"longform doctor: {message}", file=sys.stderr)
    return 2
