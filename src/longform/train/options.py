"""Our own keys of a training config, one dataclass per algorithm, beside TRL's config class.

A YAML config is split in two: the fields of these classes, and the fields of TRL's
SFTConfig / DPOConfig / RewardConfig / GRPOConfig. A TRL user's own `trl sft --config`
file works as it is: the keys of TRL's ScriptArguments and ModelConfig
(`model_name_or_path`, `dataset_name`, `use_peft`, `lora_r`, …) are translated into
ours (`translate_trl_keys`).

Each class checks its values (`check`), naming the file and line of a bad key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import UsageError


class TrainConfig(Protocol):
    """What a check needs of the config it checks (config.TrainConfig)."""

    path: Path
    trl: dict

    def error(self, key: str, message: str) -> UsageError: ...

LORA_KEYS = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear", "modules_to_save": None,
             "use_rslora": False, "use_dora": False}
# GRPO rewards and the keys each takes (see longform.rewards); weight is common to all.
REWARD_KEYS = {"length": {"weight", "tolerance", "predict_backend", "length_cache"},
               "quality": {"weight", "model", "judge", "judge_template", "max_length", "batch_size"},
               "format": {"weight", "free", "full"}}


@dataclass
class Options:
    """Keys every algorithm takes."""

    model: str | None = None  # a transformers folder (see `longform model export`)
    data: str | list[str] | None = None
    lora: bool | dict | None = None  # true, or r / alpha / dropout / target_modules / …
    limit: int | None = None  # train on the first N samples only
    # CPU threads for torch (None: torch's default, all cores; fewer helps when other processes
    # share the machine, as spinning threads then slow each other down many times over)
    threads: int | None = None

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def check(self, config: TrainConfig) -> None:
        for key in ("model", "data"):
            if not getattr(self, key):
                raise UsageError(f"{config.path}: missing required key {key!r}")
        lora = self.lora
        if lora not in (None, False, True) and not isinstance(lora, dict):
            raise config.error("lora", "expected true, false or a mapping (r, alpha, dropout, target_modules)")
        if isinstance(lora, dict) and (unknown := set(lora) - set(LORA_KEYS)):
            raise config.error("lora", f"unknown keys {sorted(unknown)} (known: {', '.join(LORA_KEYS)})")
        _whole(config, "threads", self.threads, "a positive whole number of CPU threads")
        _whole(config, "limit", self.limit, "a positive whole number of samples")


@dataclass
class SFTOptions(Options):
    general_data: str | list[str] = field(default_factory=list)  # general chat data mixed in
    general_ratio: float = 0.0  # general samples per long sample
    loss: str = "token"  # token: TRL's token-averaged loss; sequence: each sample weighs the same
    skip_longer: bool = True  # samples past max_length are skipped and counted, not truncated

    def check(self, config: TrainConfig) -> None:
        super().check(config)
        _one_of(config, "loss", self.loss, ("token", "sequence"))
        if isinstance(self.general_ratio, bool) or not isinstance(self.general_ratio, (int, float)) \
                or self.general_ratio < 0:
            raise config.error("general_ratio", "expected a number >= 0 (general samples per long sample)")


@dataclass
class DPOOptions(Options):
    pass


@dataclass
class RMOptions(Options):
    pass


@dataclass
class GRPOOptions(Options):
    template: str = "chat"  # think: the think-then-answer prompt for base models; chat: instruct models
    combine: str = "advantage"  # advantage: each reward normalised in its group, then weighted; sum
    rewards: dict = field(default_factory=lambda: {"length": {}, "format": {}})

    def check(self, config: TrainConfig) -> None:
        super().check(config)
        _one_of(config, "template", self.template, ("think", "chat"))
        _one_of(config, "combine", self.combine, ("advantage", "sum"))
        _check_rewards(config, self.rewards)
        if "reward_weights" in config.trl:
            raise config.error("reward_weights", "set each reward's weight under rewards: instead")


@dataclass
class WritingRLOptions(Options):
    references: str | None = None  # the ladders (`longform data references`); default: data
    judge: str | None = None  # a backend spec for the pairwise judge (`panel` runs offline)
    template: str = "chat"
    values: dict = field(default_factory=dict)  # win / tie / loss → reward
    both_orders: bool = False  # judge each pair both ways round
    repetition: float = 0.3  # share of repeated 4-grams past which an answer loses
    judge_attempts: int = 3
    min_wins: int = 1  # wins over a reference before the prompt climbs a rung

    def check(self, config: TrainConfig) -> None:
        super().check(config)
        if not self.judge or not isinstance(self.judge, str):
            raise UsageError(f"{config.path}: missing required key 'judge' (a backend spec for the pairwise judge)")
        _one_of(config, "template", self.template, ("think", "chat"))
        values = self.values
        if not isinstance(values, dict) or set(values) - {"win", "tie", "loss"} or not all(
                isinstance(v, (int, float)) for v in values.values()):
            raise config.error("values", "expected a mapping of win/tie/loss to numbers")
        for key, low, high in (("repetition", 0.0, 1.0), ("judge_attempts", 1, 100), ("min_wins", 1, 10_000)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise config.error(key, f"expected a number from {low} to {high}, got {value!r}")
        if "reward_weights" in config.trl:
            raise config.error("reward_weights", "the pairwise reward is the only reward here")


def _whole(config: TrainConfig, key: str, value, what: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise config.error(key, f"expected {what}")


def _one_of(config: TrainConfig, key: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise config.error(key, f"{value!r} is not one of: {', '.join(allowed)}")


def _check_rewards(config: TrainConfig, rewards) -> None:
    if not isinstance(rewards, dict) or not rewards:
        raise config.error("rewards", f"expected a mapping of rewards ({', '.join(REWARD_KEYS)}) to settings")
    for name, settings in rewards.items():
        if name not in REWARD_KEYS:
            raise config.error("rewards", f"unknown reward {name!r} (known: {', '.join(REWARD_KEYS)})")
        if settings is not None and not isinstance(settings, dict):
            raise config.error("rewards", f"{name}: expected a mapping of settings (or nothing)")
        if unknown := set(settings or {}) - REWARD_KEYS[name]:
            raise config.error("rewards", f"{name}: unknown keys {sorted(unknown)} "
                               f"(known: {', '.join(sorted(REWARD_KEYS[name]))})")
    quality = rewards.get("quality")
    if "quality" in rewards and sum(bool((quality or {}).get(k)) for k in ("model", "judge")) != 1:
        raise config.error("rewards", "quality: give exactly one of model (a reward model folder) or judge "
                           "(a backend spec)")


# TRL's ScriptArguments / ModelConfig keys, as a `trl sft --config` file holds them.
_TRL_LORA = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout",
             "lora_target_modules": "target_modules", "lora_modules_to_save": "modules_to_save",
             "use_rslora": "use_rslora", "use_dora": "use_dora"}
_TRL_MODEL_INIT = {"model_revision": "revision", "dtype": "dtype", "torch_dtype": "dtype",
                   "attn_implementation": "attn_implementation"}
# keys with nothing to do here (a test split, DDP buffers, the adapter's task, which we set per algorithm)
_TRL_IGNORED = {"dataset_test_split", "ignore_bias_buffers", "lora_task_type", "bnb_4bit_quant_type",
                "use_bnb_nested_quant", "bnb_4bit_quant_storage"}
# keys that would change what is trained, which longform cannot do: refused unless at TRL's default
_TRL_REFUSED = {"load_in_8bit": (False, "8-bit loading (bitsandbytes) is not supported"),
                "load_in_4bit": (False, "4-bit loading (bitsandbytes) is not supported"),
                "dataset_streaming": (False, "streaming datasets are not supported; data is local files"),
                "dataset_config": (None, "hub dataset configs are not supported; data is local files"),
                "dataset_train_split": ("train", "local data files have no splits"),
                "lora_target_parameters": (None, "LoRA on parameters is not supported")}
TRL_SCRIPT_KEYS = {"model_name_or_path", "dataset_name", "use_peft", *_TRL_LORA, *_TRL_MODEL_INIT,
                   *_TRL_IGNORED, *_TRL_REFUSED}


def translate_trl_keys(values: dict, error) -> dict:
    """`values` with TRL's script keys turned into ours: model_name_or_path → model,
    dataset_name → data, use_peft + lora_* → lora, model_revision / dtype /
    attn_implementation → TRL's model_init_kwargs. `error(key, message)` builds the
    UsageError for a key that cannot be honoured."""
    out = {k: v for k, v in values.items() if k not in TRL_SCRIPT_KEYS}
    for theirs, ours in (("model_name_or_path", "model"), ("dataset_name", "data")):
        if theirs in values:
            if ours in values:
                raise error(theirs, f"give {ours} or {theirs}, not both")
            out[ours] = values[theirs]
    for key, (default, why) in _TRL_REFUSED.items():
        if key in values and values[key] != default:
            raise error(key, f"{why} (remove the key)")
    if values.get("use_peft"):
        if "lora" in values:
            raise error("use_peft", "give lora or use_peft with lora_* keys, not both")
        out["lora"] = {ours: values[theirs] for theirs, ours in _TRL_LORA.items() if theirs in values}
    init = {ours: values[theirs] for theirs, ours in _TRL_MODEL_INIT.items() if values.get(theirs) is not None}
    if init:
        out["model_init_kwargs"] = {**init, **(values.get("model_init_kwargs") or {})}
    return out
