"""Is the installed llama.cpp safe to run here? Two checks, used by `longform doctor` and the tests.

1. **Compiled features.** llama.cpp reports the CPU instruction sets its kernels
   were compiled for. A build for the portable baseline (what the project's
   set-up installs, see tools/install_llama.py) has AVX2/FMA/F16C and neither
   AVX-512 nor AMX: some virtual machines advertise those but cannot execute them.
2. **A long prompt, for real.** A ~2,000-token prompt through the embedded
   backend, in a child process, because a build the CPU cannot run dies by a
   signal (SIGILL) rather than raising, and only on prompts long enough to take
   the batched matrix kernels (a few hundred tokens and more).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from dataclasses import dataclass

BASELINE = ("AVX", "AVX2", "FMA", "F16C")
# Instruction-set families a VM may advertise but not execute (AVX-512 in all
# its variants, AMX tiles); a portable build must hold none of them.
WIDER = re.compile(r"^(AVX512|AMX|AVX_VNNI)")


def compiled_features() -> dict[str, bool]:
    """Feature → compiled in, as llama.cpp's `llama_print_system_info` lists them
    ("CPU : SSE3 = 1 | AVX2 = 1 | ... |")."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return {name: value == "1" for name, value in re.findall(r"([A-Z][A-Z0-9_]*) = (\d+)", text)}


def portability_problems(features: dict[str, bool]) -> list[str]:
    """What keeps this build from being the portable baseline; empty when it is."""
    on = {name for name, value in features.items() if value}
    problems = [f"{name} missing" for name in BASELINE if name not in on]
    wider = sorted(name for name in on if WIDER.match(name))
    if wider:
        problems.append("built for " + ", ".join(wider) + ", which some machines advertise but cannot run")
    return problems


@dataclass
class SmokeResult:
    ok: bool
    message: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


# Runs in the child: a long prompt of ordinary prose through the real embedded backend.
_CHILD = r"""
import json, sys
from longform.backends import GenerationConfig, load_backend
target = int(sys.argv[1])
lm = load_backend("embedded", n_ctx=target + 256)
text = ("Lighthouse keepers trimmed the wicks, wound the clockwork and logged every passing ship. " * 400)
words = text.split()
n = target // 2
while lm.count_tokens([{"role": "user", "content": " ".join(words[:n])}]) < target:
    n += 40
message = [{"role": "user", "content": " ".join(words[:n]) + " Summarise this in one line."}]
c = lm.complete(message, GenerationConfig(max_tokens=8, seed=0))
print(json.dumps({"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
                  "seconds": c.seconds}))
"""


def smoke(prompt_tokens: int = 2000, timeout: float = 300) -> SmokeResult:
    """Run the embedded model on a prompt of at least `prompt_tokens` tokens in a child process."""
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(prompt_tokens)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return SmokeResult(False, f"the embedded model did not finish a {prompt_tokens:,}-token prompt in "
                                  f"{timeout:.0f} s")
    if done.returncode < 0:
        return SmokeResult(False, _signal_message(-done.returncode, prompt_tokens))
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return SmokeResult(False, f"the embedded model failed on a {prompt_tokens:,}-token prompt: {last}")
    usage = json.loads(done.stdout.strip().splitlines()[-1])
    return SmokeResult(True, f"ran a {usage['prompt_tokens']:,}-token prompt in {usage['seconds']:.1f} s", **usage)


def _signal_message(number: int, prompt_tokens: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    # A build for instructions the CPU cannot run dies by SIGILL, or by SIGSEGV where the fault is a general
    # protection fault (seen here: AMX's `ldtilecfg` on a VM that advertises AMX).
    kind = {signal.SIGILL: "Illegal instruction", signal.SIGSEGV: "Segmentation fault"}.get(number)
    cause = (f" ({kind}): llama-cpp-python was likely compiled for CPU instructions this machine cannot run"
             if kind else "")
    return (f"the embedded model died with {name} on a {prompt_tokens:,}-token prompt{cause}; reinstall "
            "llama-cpp-python with the portable build: `python tools/install_llama.py` (or `make clean` then `make`)")
