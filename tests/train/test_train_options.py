"""Training configs as types: per-algorithm options, the registry the CLI calls, and a TRL
user's own `trl sft --config` keys read as ours."""

from __future__ import annotations

import pytest

from longform.errors import UsageError
from longform.train.config import load_config, lora_config
from longform.train.options import GRPOOptions, SFTOptions, WritingRLOptions
from longform.train.registry import ALGORITHMS, algorithm

pytest.importorskip("trl")


def _config(tmp_path, text: str, kind: str = "sft"):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path, kind)


def test_every_algorithm_has_typed_options_and_a_trl_config_class():
    assert set(ALGORITHMS) == {"sft", "dpo", "rm", "grpo", "writing-rl"}
    for spec in ALGORITHMS.values():
        assert {"model", "data", "lora", "limit", "threads"} <= set(spec.options.keys())
        assert spec.trl_config_class().__name__ == spec.trl_config
    with pytest.raises(UsageError, match="unknown training algorithm 'ppo'"):
        algorithm("ppo")


def test_our_keys_become_typed_options_and_the_rest_go_to_trl(tmp_path):
    config = _config(tmp_path, "model: m\ndata: [a.jsonl, b.jsonl]\nloss: sequence\nlearning_rate: 0.001\n")
    assert isinstance(config.options, SFTOptions)
    assert config.options.loss == "sequence" and config.options.general_ratio == 0.0
    assert config.trl["learning_rate"] == 0.001 and "loss" not in config.trl
    assert [p.name for p in config.paths("data")] == ["a.jsonl", "b.jsonl"]
    grpo = _config(tmp_path, "model: m\ndata: p.jsonl\n", "grpo")
    assert isinstance(grpo.options, GRPOOptions) and grpo.options.rewards == {"length": {}, "format": {}}
    rl = _config(tmp_path, "model: m\ndata: s.jsonl\njudge: panel\n", "writing-rl")
    assert isinstance(rl.options, WritingRLOptions) and rl.options.judge == "panel"


TRL_STYLE = """\
model_name_or_path: m
dataset_name: d.jsonl
use_peft: true
lora_r: 8
lora_alpha: 16
lora_target_modules: [q_proj, v_proj]
dtype: float32
attn_implementation: eager
dataset_train_split: train
lora_task_type: CAUSAL_LM
learning_rate: 0.0002
"""


def test_a_trl_sft_config_file_is_read_as_it_is(tmp_path):
    config = _config(tmp_path, TRL_STYLE)
    assert config.options.model == "m" and config.options.data == "d.jsonl"
    assert config.options.lora == {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    assert config.trl["model_init_kwargs"] == {"dtype": "float32", "attn_implementation": "eager"}
    assert config.trl["learning_rate"] == 0.0002
    lora = lora_config(config)
    assert lora.r == 8 and lora.lora_alpha == 16 and set(lora.target_modules) == {"q_proj", "v_proj"}


def test_lora_keys_without_use_peft_are_left_alone_as_trl_does(tmp_path):
    config = _config(tmp_path, "model_name_or_path: m\ndataset_name: d.jsonl\nlora_r: 8\n")
    assert config.options.lora is None and lora_config(config) is None


@pytest.mark.parametrize("text, message", [
    ("model: m\nmodel_name_or_path: n\ndata: d\n", ":2: model_name_or_path: give model or model_name_or_path"),
    ("model: m\ndata: d\nload_in_4bit: true\n", ":3: load_in_4bit: 4-bit loading"),
    ("model: m\ndata: d\ndataset_train_split: test\n", ":3: dataset_train_split: local data files have no splits"),
    ("model: m\ndata: d\nuse_peft: true\nlora: true\n", ":3: use_peft: give lora or use_peft"),
    ("model: m\ndata: d\ngeneral_ratio: true\n", ":3: general_ratio: expected a number"),
])
def test_trl_keys_that_cannot_be_honoured_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(UsageError, match=message):
        _config(tmp_path, text)


def test_command_line_keys_override_the_yaml(tmp_path):
    from longform.train.overrides import parse_overrides

    path = tmp_path / "c.yaml"
    path.write_text("model: m\ndata: d.jsonl\nlearning_rate: 2.0e-5\nmax_steps: 10\n")
    overrides = parse_overrides(["--learning_rate", "1e-4", "--max-steps=2", "--packing", "--lora", "{r: 4}"])
    config = load_config(path, "sft", overrides)
    assert config.trl["learning_rate"] == "1e-4"  # YAML 1.1 leaves it a string; validate makes it a number
    assert config.trl["max_steps"] == 2 and config.trl["packing"] is True and config.options.lora == {"r": 4}
    assert config.where("max_steps") == "command line --max_steps" and config.where("data") == f"{path}:2"


def test_a_bad_command_line_value_is_one_line_naming_the_flag(tmp_path, capsys):
    from longform.cli import main

    path = tmp_path / "c.yaml"
    path.write_text("model: m\ndata: d.jsonl\n")
    assert main(["train", "sft", "--config", str(path), "--learning_rate", "fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "longform: error: command line --learning_rate: learning_rate: expected float, got 'fast'"
    with pytest.raises(SystemExit):  # other commands take no config keys
        main(["write", "x", "--learning_rate", "1"])
    assert "unrecognized arguments: --learning_rate 1" in capsys.readouterr().err
