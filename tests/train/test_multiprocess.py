"""Multi-process training on this CPU (issue 26): `torchrun --nproc_per_node 2 -m longform train …`
runs two data-parallel processes over gloo, the same command as on a GPU node. Checked against
one process: two processes with 2 samples each train exactly as one process with 4 (the same
losses and tokens per step), and only rank 0 reports and writes the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("trl")
pytestmark = pytest.mark.slow  # each run starts torch and TRL in two processes: about a minute

LENGTHS = [6, 40, 14, 90, 20, 33, 8, 51]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("multiprocess")
    (root / "tiny").symlink_to(tiny_model)
    rows = [{"messages": [{"role": "user", "content": f"Write {n} words, item {i}."},
                          {"role": "assistant", "content": " ".join(f"w{i}x{j}" for j in range(n))}]}
            for i, n in enumerate(LENGTHS)]
    (root / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "sft.yaml").write_text(yaml.safe_dump(dict(model="tiny", data="sft.jsonl", max_steps=2, max_length=512,
                                                       seed=1, learning_rate=1e-3, logging_steps=1)))
    return root


def train(workdir, out: str, processes: int, *overrides: str) -> subprocess.CompletedProcess:
    launch = ([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}", "-m", "longform"]
              if processes > 1 else [sys.executable, "-m", "longform"])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes share two cores
    done = subprocess.run([*launch, "train", "sft", "--config", "sft.yaml", "--output_dir", out, *overrides],
                          cwd=workdir, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def steps(workdir, out: str) -> tuple[int, list[tuple[float, float]]]:
    summary = json.loads((workdir / out / "longform_train.json").read_text())
    return summary["processes"], [(row["loss"], row["num_tokens"]) for row in summary["log"] if "loss" in row]


def test_two_processes_train_as_one_process_with_the_combined_batch(workdir):
    two = train(workdir, "two", 2, "--per_device_train_batch_size", "2")
    train(workdir, "one-combined", 1, "--per_device_train_batch_size", "4")
    train(workdir, "one-half", 1, "--per_device_train_batch_size", "2")
    processes, pairs = steps(workdir, "two")
    _, combined = steps(workdir, "one-combined")
    _, half = steps(workdir, "one-half")
    assert processes == 2 and len(pairs) == len(combined) == 2
    for (loss, tokens), (loss_1, tokens_1) in zip(pairs, combined):
        assert loss == pytest.approx(loss_1, rel=1e-4) and tokens == tokens_1
    assert pairs[0][1] > half[0][1]  # a step of two processes reads both halves of the batch
    assert two.stdout.strip().splitlines().count("two") == 1  # rank 0 alone prints the output folder
    assert two.stderr.count('"steps": 2') == 1


def test_two_process_grpo_runs_and_both_ranks_agree(workdir):
    """Both ranks step together (DDP keeps one set of weights): one summary, two processes."""
    from longform.data.prompts import build_prompt_set

    prompts = [{"id": f"p{i}", "prompt": f"Write a {n}-word note about {t}."}
               for i, (n, t) in enumerate([(8, "tides"), (12, "ships"), (6, "gulls"), (10, "quays")])]
    (workdir / "instructions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    build_prompt_set(workdir / "instructions.jsonl", workdir / "prompts.jsonl")
    (workdir / "grpo.yaml").write_text(yaml.safe_dump(dict(
        model="tiny", data="prompts.jsonl", template="chat", rewards={"length": {"weight": 1.0}},
        per_device_train_batch_size=4, num_generations=4, max_completion_length=16, max_steps=1,
        learning_rate=1e-3, seed=3, output_dir="grpo2")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "longform"]
    done = subprocess.run([*launch, "train", "grpo", "--config", "grpo.yaml"], cwd=workdir, capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((workdir / "grpo2" / "longform_train.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 1
    assert done.stderr.count('"steps": 1') == 1
