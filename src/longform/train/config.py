"""Training configs: one YAML file, our keys plus the TRL config's own fields.

    model: models/smollm2-135m        # a transformers folder (see `longform model export`)
    data: [data/run1/sft.jsonl]        # our keys ...
    loss: token
    learning_rate: 2.0e-5              # ... and any field of TRL's SFTConfig / DPOConfig
    max_length: 4096

Every problem is reported with the file and line of the key it concerns, so a
typo in a long config is found at once, before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

# Our own keys, per command, with their defaults. Everything else must be a TRL field.
OWN_KEYS: dict[str, dict] = {
    "sft": {"model": None, "data": None, "general_data": [], "general_ratio": 0.0, "loss": "token",
            "lora": None, "skip_longer": True, "limit": None},
    "dpo": {"model": None, "data": None, "lora": None, "limit": None},
    "rm": {"model": None, "data": None, "lora": None, "limit": None},
    "grpo": {"model": None, "data": None, "template": "chat", "combine": "advantage",
             "rewards": {"length": {}, "format": {}}, "lora": None, "limit": None},
    "writing-rl": {"model": None, "data": None, "references": None, "judge": None, "template": "chat",
                   "values": {}, "both_orders": False, "repetition": 0.3, "judge_attempts": 3, "min_wins": 1,
                   "lora": None, "limit": None},
}
# Keys every kind takes: CPU threads for torch (None: torch's default, all cores; fewer helps when
# other processes share the machine, as spinning threads then slow each other down many times over).
for _keys in OWN_KEYS.values():
    _keys["threads"] = None
# GRPO rewards and the keys each takes (see longform.rewards); weight is common to all.
REWARD_KEYS = {"length": {"weight", "tolerance", "predict_backend", "length_cache"},
               "quality": {"weight", "model", "judge", "judge_template", "max_length", "batch_size"},
               "format": {"weight", "free", "full"}}
LORA_KEYS = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
# Defaults that differ from TRL's: what a first run on any machine should do.
TRL_DEFAULTS = {"report_to": "none", "save_strategy": "no", "logging_steps": 1}


@dataclass
class TrainConfig:
    kind: str  # "sft" | "dpo" | "rm" | "grpo"
    path: Path
    own: dict
    trl: dict
    lines: dict = field(default_factory=dict)  # key -> line number in the YAML file

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str) -> UsageError:
        return UsageError(f"{self.where(key)}: {key}: {message}")

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(os.path.normpath(self.path.parent / path))

    def paths(self, key: str) -> list[Path]:
        value = self.own.get(key) or []
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.error(key, "expected a path or a list of paths")
        return [self.resolve(v) for v in values]


def load_config(path: str | Path, kind: str) -> TrainConfig:
    """Read and check a YAML config for `kind` (sft, dpo, rm, grpo); TRL fields are checked by name here
    and by value when `trl_args` builds the TRL config."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        values = yaml.safe_load(text)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(values, dict):
        raise UsageError(f"{path}: a config is a mapping of keys to values")
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value} if node is not None else {}
    own = {**OWN_KEYS[kind], **{k: v for k, v in values.items() if k in OWN_KEYS[kind]}}
    trl = {**TRL_DEFAULTS, **{k: v for k, v in values.items() if k not in OWN_KEYS[kind]}}
    config = TrainConfig(kind, path, own, trl, lines)
    _check_names(config)
    _check_own(config)
    return config


def trl_config_class(kind: str):
    from trl import DPOConfig, GRPOConfig, RewardConfig, SFTConfig

    return {"sft": SFTConfig, "dpo": DPOConfig, "rm": RewardConfig, "grpo": GRPOConfig,
            "writing-rl": GRPOConfig}[kind]


def _check_names(config: TrainConfig) -> None:
    fields = {f.name for f in dataclasses.fields(trl_config_class(config.kind))}
    for key in config.trl:
        if key not in fields:
            ours = ", ".join(OWN_KEYS[config.kind])
            cls = trl_config_class(config.kind).__name__
            raise config.error(key, f"unknown key (neither a field of TRL's {cls} nor one of ours: {ours})")


def _check_own(config: TrainConfig) -> None:
    own = config.own
    for key in ("model", "data"):
        if not own.get(key):
            raise UsageError(f"{config.path}: missing required key {key!r}")
    if config.kind == "sft":
        if own["loss"] not in ("token", "sequence"):
            raise config.error("loss", f"{own['loss']!r} is not one of: token, sequence")
        ratio = own["general_ratio"]
        if not isinstance(ratio, (int, float)) or ratio < 0:
            raise config.error("general_ratio", "expected a number >= 0 (general samples per long sample)")
    if config.kind == "grpo":
        _check_grpo(config)
    if config.kind == "writing-rl":
        _check_writing_rl(config)
    lora = own.get("lora")
    if lora not in (None, False, True) and not isinstance(lora, dict):
        raise config.error("lora", "expected true, false or a mapping (r, alpha, dropout, target_modules)")
    if isinstance(lora, dict) and (unknown := set(lora) - set(LORA_KEYS)):
        raise config.error("lora", f"unknown keys {sorted(unknown)} (known: {', '.join(LORA_KEYS)})")
    threads = own.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise config.error("threads", "expected a positive whole number of CPU threads")
    limit = own.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise config.error("limit", "expected a positive whole number of samples")


def _check_grpo(config: TrainConfig) -> None:
    own = config.own
    if own["template"] not in ("think", "chat"):
        raise config.error("template", f"{own['template']!r} is not one of: think (base models), chat (instruct)")
    if own["combine"] not in ("advantage", "sum"):
        raise config.error("combine", f"{own['combine']!r} is not one of: advantage, sum")
    rewards = own["rewards"]
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
    if "reward_weights" in config.trl:
        raise config.error("reward_weights", "set each reward's weight under rewards: instead")


def _check_writing_rl(config: TrainConfig) -> None:
    own = config.own
    if not own.get("judge") or not isinstance(own["judge"], str):
        raise UsageError(f"{config.path}: missing required key 'judge' (a backend spec for the pairwise judge)")
    if own["template"] not in ("think", "chat"):
        raise config.error("template", f"{own['template']!r} is not one of: think (base models), chat (instruct)")
    values = own["values"]
    if not isinstance(values, dict) or set(values) - {"win", "tie", "loss"} or not all(
            isinstance(v, (int, float)) for v in values.values()):
        raise config.error("values", "expected a mapping of win/tie/loss to numbers")
    for key, low, high in (("repetition", 0.0, 1.0), ("judge_attempts", 1, 100), ("min_wins", 1, 10_000)):
        value = own[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise config.error(key, f"expected a number from {low} to {high}, got {value!r}")
    if "reward_weights" in config.trl:
        raise config.error("reward_weights", "the pairwise reward is the only reward here")


def trl_args(config: TrainConfig, **overrides):
    """The TRL config object; a bad value becomes one line naming the key when TRL says which."""
    cls = trl_config_class(config.kind)
    values = {**config.trl, **overrides}
    if "output_dir" in values:
        values["output_dir"] = str(config.resolve(str(values["output_dir"])))
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        key = next((k for k in values if k in message), None)
        raise (config.error(key, message) if key else UsageError(f"{config.path}: {message}")) from None


def lora_config(config: TrainConfig, task_type: str = "CAUSAL_LM"):
    """A peft LoraConfig, or None for full fine-tuning. For a reward model (SEQ_CLS) the new
    scoring head is trained in full beside the adapters."""
    lora = config.own.get("lora")
    if not lora:
        return None
    from peft import LoraConfig

    values = {**LORA_KEYS, **(lora if isinstance(lora, dict) else {})}
    return LoraConfig(r=values["r"], lora_alpha=values["alpha"], lora_dropout=values["dropout"],
                      target_modules=values["target_modules"], task_type=task_type,
                      modules_to_save=["score"] if task_type == "SEQ_CLS" else None)
