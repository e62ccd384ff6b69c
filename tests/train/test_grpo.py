"""`longform train grpo` and `train rm` on a tiny random Llama: a 2-step GRPO with all three
rewards moves the weights and trains on LongWriter-Zero's combined advantages, a 2-step
reward-model run moves the weights, and config mistakes name the file and line."""

from __future__ import annotations

import json

import pytest
import torch

from longform.cli import main
from longform.data.prompts import build_prompt_set
from longform.errors import UsageError
from longform.rewards.combine import EPS
from longform.train.config import load_config

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("grpo")
    (root / "tiny").symlink_to(tiny_model)  # configs name the model folder relative to themselves
    prompts = [{"id": f"p{i}", "prompt": f"Write a {n}-word note about {topic}."}
               for i, (n, topic) in enumerate([(8, "tides"), (12, "ships"), (6, "gulls"), (10, "quays")])]
    (root / "instructions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    pairs = [{"prompt": [{"role": "user", "content": f"Write about {t}."}],
              "chosen": [{"role": "assistant", "content": f"The {t} rise and fall twice a day, pulled by the moon."}],
              "rejected": [{"role": "assistant", "content": f"{t} {t} {t} {t}."}]}
             for t in ("tides", "ships", "gulls", "quays")]
    (root / "prefs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    build_prompt_set(root / "instructions.jsonl", root / "prompts.jsonl")
    return root


def write_config(folder, name: str, **values) -> str:
    import yaml

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return str(path)


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# A random model never writes <think>/<answer> tags, so the chat template (the whole completion
# is the answer) is what gives its completions different rewards.
GRPO = dict(model="tiny", data="prompts.jsonl", template="chat", combine="advantage",
            rewards={"length": {"weight": 1.0}, "quality": {"model": "tiny", "weight": 1.0},
                     "format": {"weight": 1.0}},
            per_device_train_batch_size=4, num_generations=4, max_completion_length=24, max_steps=2,
            learning_rate=1e-3, seed=3)


def test_cli_builds_the_prompt_set(workdir, capsys):
    out = workdir / "cli-prompts.jsonl"
    assert main(["data", "prompts", "--instructions", str(workdir / "instructions.jsonl"), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["target_low"], r["target_high"]) for r in rows] == [(7, 9), (11, 13), (5, 7), (9, 11)]
    assert "4 prompts (text 4)" in capsys.readouterr().err


def test_two_step_grpo_trains_on_the_combined_advantages(workdir, capsys):
    from longform.train.grpo import build_grpo_trainer
    from longform.train.sft import train_and_save

    trainer, summary = build_grpo_trainer(load_config(write_config(workdir, "grpo", output_dir="grpo", **GRPO),
                                                      "grpo"))
    assert trainer.reward_func_names == ["length", "quality", "format"]
    seen = []
    original = trainer._compute_loss

    def spy(model, inputs):
        seen.append(inputs["advantages"].detach().clone())
        return original(model, inputs)

    trainer._compute_loss = spy
    before = weights(trainer.model)
    result = train_and_save(trainer, summary, resume=False)
    assert result["steps"] == 2
    assert any(not torch.equal(before[k], v) for k, v in weights(trainer.model).items())
    logged = [row for row in result["log"] if "rewards/length/mean" in row]
    assert logged and all(f"rewards/{n}/mean" in logged[0] for n in ("length", "quality", "format"))

    # The advantages that reached the loss are the hand-computed LongWriter-Zero ones of the
    # logged rewards (the last generation batch: one group of 4 completions).
    rewards = torch.tensor([list(trainer._logs["rewards"][n])[-4:] for n in ("length", "quality", "format")]).T
    mean = rewards.mean(dim=0)
    std = rewards.std(dim=0)
    expected = ((rewards - mean) / (std + EPS)).mean(dim=1)
    # (TRL shuffles completions between scoring and the loss, so compare them as sets)
    assert sorted(seen[-1].tolist()) == pytest.approx(sorted(expected.tolist()), abs=1e-4)
    assert rewards[:, 1].std() > 0  # the reward model really told the completions apart

    # The reward curve of the finished run: a row per step and a PNG.
    capsys.readouterr()
    assert main(["train", "curve", str(workdir / "grpo"), "--window", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:5] == ["step", "reward", "format", "length", "quality"]
    assert [line.split()[0] for line in table[1:3]] == ["1", "2"]
    assert (workdir / "grpo" / "reward_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_think_template_for_base_models(workdir):
    from longform.train.grpo import build_grpo_trainer

    config = load_config(write_config(workdir, "think", output_dir="think", **{**GRPO, "template": "think"}), "grpo")
    trainer, _ = build_grpo_trainer(config)
    prompt = trainer.train_dataset[0]["prompt"]
    assert isinstance(prompt, str) and "<think>" in prompt and "<answer>" in prompt
    assert prompt.rstrip().endswith("Assistant:") and "Write a 8-word note about tides." in prompt
    assert all(f.think for f in trainer.reward_funcs)  # every reward scores the answer block only
    chat, _ = build_grpo_trainer(load_config(write_config(workdir, "chat", output_dir="chat", **GRPO), "grpo"))
    assert chat.train_dataset[0]["prompt"] == [{"role": "user", "content": "Write a 8-word note about tides."}]
    assert not any(f.think for f in chat.reward_funcs)


def test_two_step_reward_model_changes_the_parameters(workdir):
    from longform.train.rm import build_rm_trainer

    path = write_config(workdir, "rm", model="tiny", data="prefs.jsonl", output_dir="rm", max_steps=2,
                        per_device_train_batch_size=2, learning_rate=1e-3, max_length=128)
    trainer, summary = build_rm_trainer(load_config(path, "rm"))
    before = weights(trainer.model)
    trainer.train()
    assert summary["pairs"] == 4
    changed = {k for k, v in weights(trainer.model).items() if not torch.equal(before[k], v)}
    assert any(k.startswith("score") for k in changed) and any("layers" in k for k in changed)


@pytest.mark.parametrize("text, message", [
    ("model: m\ndata: d.jsonl\ntemplate: r1\n", ":3: template: 'r1' is not one of"),
    ("model: m\ndata: d.jsonl\ncombine: mean\n", ":3: combine: 'mean' is not one of"),
    ("model: m\ndata: d.jsonl\nrewards:\n  style: {}\n", ":3: rewards: unknown reward 'style'"),
    ("model: m\ndata: d.jsonl\nrewards:\n  length: {tolerence: 0.2}\n", ":3: rewards: length: unknown keys"),
    ("model: m\ndata: d.jsonl\nrewards:\n  quality: {weight: 1}\n", ":3: rewards: quality: give exactly one"),
    ("model: m\ndata: d.jsonl\nreward_weights: [1, 2]\n", ":3: reward_weights: set each reward's weight"),
    ("model: m\ndata: d.jsonl\nnum_generation: 4\n", ":3: num_generation: unknown key"),
])
def test_grpo_config_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, "grpo")


def test_prompt_set_row_errors(workdir, capsys):
    (workdir / "bad.jsonl").write_text(json.dumps({"prompt": "x", "target_low": 5}) + "\n")
    path = write_config(workdir, "bad", **{**GRPO, "data": "bad.jsonl", "output_dir": "bad"})
    assert main(["train", "grpo", "--config", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl:1: target_low/target_high" in err
