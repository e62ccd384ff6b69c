"""`longform train sft|dpo` on a tiny random Llama: the two loss weightings against
a hand computation, packing against no packing, parameters moving, skipped
samples counted, and config errors that name the file and line."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from helpers.paths import EXAMPLES
from longform.cli import main
from longform.errors import UsageError
from longform.train.config import load_config

pytest.importorskip("trl")

LENGTHS = [6, 40, 14, 90]  # answer words: very different lengths make the two weightings differ


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("train")
    (root / "tiny").symlink_to(tiny_model)  # configs name the model folder relative to themselves
    rows = [{"messages": [{"role": "user", "content": f"Write {n} words, item {i}."},
                          {"role": "assistant", "content": " ".join(f"w{i}x{j}" for j in range(n))}]}
            for i, n in enumerate(LENGTHS)]
    (root / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def write_config(folder, name: str, **values) -> str:
    import yaml

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return str(path)


BASE = dict(model="tiny", data="sft.jsonl", per_device_train_batch_size=2, gradient_accumulation_steps=2,
            max_length=512, seed=1)


def build(workdir, name: str, **values):
    from longform.train.sft import build_sft_trainer

    config = load_config(write_config(workdir, name, **{**BASE, "output_dir": name, **values}), "sft")
    return build_sft_trainer(config)


def per_sample_losses(model, dataset) -> list[tuple[int, float]]:
    """(supervised tokens, mean loss) of each sample, run alone and unpacked."""
    out = []
    model.eval()
    with torch.no_grad():
        for row in dataset:
            ids = torch.tensor([row["input_ids"]])
            labels = torch.tensor(row["labels"])
            logits = model(ids, use_cache=False).logits[0, :-1]
            target, keep = ids[0, 1:], labels[1:] != -100
            losses = F.cross_entropy(logits.float(), target, reduction="none")[keep]
            out.append((int(keep.sum()), float(losses.mean())))
    return out


@pytest.fixture(scope="module")
def hand(workdir):
    """Per-sample losses from TRL's own unpacked tokenization, computed by hand."""
    trainer, _ = build(workdir, "hand", packing=False)
    return per_sample_losses(trainer.model, trainer.train_dataset)


def logged_first_loss(trainer) -> float:
    trainer.args.learning_rate = 0.0  # one step that reads the loss and changes nothing
    trainer.args.max_steps = 1
    trainer.train()
    return trainer.state.log_history[0]["loss"]


@pytest.mark.parametrize("packing", [False, True])
@pytest.mark.parametrize("loss", ["token", "sequence"])
def test_trainer_loss_matches_the_hand_computation(workdir, hand, packing, loss):
    trainer, summary = build(workdir, f"{loss}-{packing}", loss=loss, packing=packing)
    assert summary["data"]["kept"] == 4
    token_mean = sum(n * m for n, m in hand) / sum(n for n, _ in hand)
    sequence_mean = sum(m for _, m in hand) / len(hand)
    expected = token_mean if loss == "token" else sequence_mean
    assert abs(token_mean - sequence_mean) > 0.01  # the two weightings really differ here
    assert logged_first_loss(trainer) == pytest.approx(expected, rel=2e-3)


def test_packed_batch_gives_each_sample_its_unpacked_loss(workdir, hand):
    from longform.train.losses import _run_starts

    trainer, _ = build(workdir, "packed", packing=True)
    batch = next(iter(trainer.get_train_dataloader()))
    assert "position_ids" in batch and "attention_mask" not in batch  # padding-free, isolated by position ids
    model = trainer.model.eval()
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    labels = batch["labels"]
    per_token = F.cross_entropy(logits[0, :-1].float(), labels[0, 1:], ignore_index=-100, reduction="none")
    run = torch.cumsum(_run_starts(labels)[0].long(), 0) - 1
    keep = labels[0, 1:] != -100
    packed = sorted((int((run[keep] == r).sum()), float(per_token[keep][run[keep] == r].mean()))
                    for r in range(int(run.max()) + 1))
    in_batch = sorted(hand)[: len(packed)] if len(packed) < len(hand) else sorted(hand)
    assert len(packed) >= 2  # several samples really share one row
    for (n_packed, m_packed), (n_alone, m_alone) in zip(packed, in_batch):
        assert n_packed == n_alone and m_packed == pytest.approx(m_alone, abs=1e-4)


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_two_step_sft_changes_the_parameters(workdir):
    from longform.train.sft import train_and_save

    trainer, summary = build(workdir, "two-steps", packing=True, max_steps=2, learning_rate=1e-3)
    before = _weights(trainer.model)
    result = train_and_save(trainer, summary, resume=False)
    after = _weights(trainer.model)
    assert result["steps"] == 2
    assert any(not torch.equal(before[k], after[k]) for k in before)
    saved = json.loads((workdir / "two-steps" / "longform_train.json").read_text())
    assert saved["steps"] == 2 and (workdir / "two-steps" / "model.safetensors").exists()


def test_lora_sft_trains_only_the_adapter(workdir):
    trainer, _ = build(workdir, "lora", max_steps=2, learning_rate=1e-2, lora={"r": 4, "alpha": 8})
    before = _weights(trainer.model)
    trainer.train()
    after = _weights(trainer.model)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("lora_" in k for k in changed)


def test_longer_samples_are_skipped_and_counted(workdir):
    trainer, summary = build(workdir, "short", max_length=150)
    data = summary["data"]
    assert data["skipped_longer"] >= 1 and data["kept"] >= 1 and data["kept"] + data["skipped_longer"] == 4
    assert len(trainer.train_dataset) == data["kept"]
    assert max(len(row["input_ids"]) for row in trainer.train_dataset) <= 150  # none truncated to fit


def test_general_data_is_mixed_at_the_ratio(workdir):
    general = [{"messages": [{"role": "user", "content": f"Hi {i}"}, {"role": "assistant", "content": "Hello."}]}
               for i in range(10)]
    (workdir / "general.jsonl").write_text("".join(json.dumps(r) + "\n" for r in general))
    _, summary = build(workdir, "mixed", general_data=["general.jsonl"], general_ratio=0.5)
    assert summary["data"]["long"] == 4 and summary["data"]["general"] == 2


def test_two_step_dpo_changes_the_parameters(workdir):
    from longform.train.dpo import build_dpo_trainer

    pairs = [{"prompt": [{"role": "user", "content": f"Write about {t}."}],
              "chosen": [{"role": "assistant", "content": f"The {t} is wide and calm and full of life."}],
              "rejected": [{"role": "assistant", "content": f"{t}."}], "chosen_score": 80.0, "rejected_score": 5.0}
             for t in ("sea", "hills", "sky")]
    (workdir / "prefs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    path = write_config(workdir, "dpo", model="tiny", data="prefs.jsonl", output_dir="dpo", max_steps=2,
                        per_device_train_batch_size=2, learning_rate=1e-3, max_length=128)
    trainer, summary = build_dpo_trainer(load_config(path, "dpo"))
    before = _weights(trainer.model)
    trainer.train()
    assert summary["pairs"] == 3
    assert any(not torch.equal(before[k], v) for k, v in _weights(trainer.model).items())


# -- config errors: one line, the file and line of the key ----------------------


@pytest.mark.parametrize("text, message", [
    ("model: m\ndata: d.jsonl\nlearning_rat: 0.1\n", ":3: learning_rat: unknown key"),
    ("model: m\ndata: d.jsonl\nloss: average\n", ":3: loss: 'average' is not one of"),
    ("data: d.jsonl\n", "missing required key 'model'"),
    ("model: m\ndata: [d.jsonl\n", "not valid YAML"),
    ("model: m\ndata: d.jsonl\nlora: {rank: 4}\n", ":3: lora: unknown keys ['rank']"),
    ("model: m\ndata: d.jsonl\nthreads: 0\n", ":3: threads: expected a positive whole number"),
])
def test_config_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, "sft")


def test_cli_config_error_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("model: m\ndata: d.jsonl\nnum_train_epochz: 1\n")
    assert main(["train", "sft", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{path}:3: num_train_epochz: unknown key" in err


def test_bad_data_row_names_file_and_line(workdir, capsys):
    (workdir / "bad.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    path = write_config(workdir, "bad", model="tiny", data="bad.jsonl", output_dir="bad")
    assert main(["train", "sft", "--config", path]) == 2
    assert "bad.jsonl:1: the last message must be the assistant's answer" in capsys.readouterr().err


def test_a_trl_style_yaml_trains_with_command_line_overrides(workdir, capsys):
    """issue 26: a `trl sft --config` file (TRL's own keys) trains as it is, and any key can be
    overridden after it, as TRL's scripts allow."""
    path = workdir / "trl_style.yaml"
    path.write_text("model_name_or_path: tiny\ndataset_name: sft.jsonl\nuse_peft: true\nlora_r: 4\nlora_alpha: 8\n"
                    "output_dir: trl-style\nmax_steps: 5\nper_device_train_batch_size: 2\nmax_length: 512\n")
    assert main(["train", "sft", "--config", str(path), "--max_steps", "1", "--learning_rate", "1e-3"]) == 0
    summary = json.loads((workdir / "trl-style" / "longform_train.json").read_text())
    assert summary["steps"] == 1  # the command line's max_steps, not the file's
    assert (workdir / "trl-style" / "adapter_config.json").exists()  # use_peft: a LoRA adapter was saved
    capsys.readouterr()


def test_resume_without_a_checkpoint_says_so_before_training(workdir, capsys):
    path = write_config(workdir, "nockpt", **{**BASE, "output_dir": "nockpt", "max_steps": 1})
    assert main(["train", "sft", "--config", path, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds no checkpoint" in err and "save_strategy" in err
    assert not (workdir / "nockpt").exists()  # nothing trained, nothing written


def test_shipped_example_configs_are_valid():

    examples = EXAMPLES
    configs = sorted(examples.glob("*.yaml"))
    assert len(configs) >= 14
    for path in configs:
        kind = "writing-rl" if path.name.startswith("writing_rl") else path.name.split("_")[0]
        config = load_config(path, kind)  # sft_, dpo_, rm_, grpo_, writing_rl_
        assert config.paths("data")
        if path.stem.endswith("_tiny"):  # the CPU examples: TRL accepts every value here too
            from longform.train.config import trl_args
            from longform.train.sft import cpu_defaults

            args = trl_args(config, **cpu_defaults(config.trl))
            assert args.output_dir and args.save_strategy == "steps", path.name  # so --resume has a checkpoint
            assert args.max_steps <= 8, path.name  # a few minutes on a 2-core CPU
