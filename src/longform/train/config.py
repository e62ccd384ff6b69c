"""Training configs: one YAML file, our keys plus the TRL config's own fields.

    model: models/smollm2-135m        # a transformers folder (see `longform model export`)
    data: [data/run1/sft.jsonl]        # our keys (train/options.py) ...
    loss: token
    learning_rate: 2.0e-5              # ... and any field of TRL's SFTConfig / DPOConfig
    max_length: 4096

A `trl sft --config` file's own keys (model_name_or_path, dataset_name, use_peft,
lora_r, …) are read as ours (options.translate_trl_keys).

Every problem is reported with the file and line of the key it concerns, so a
typo in a long config is found at once, before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..io import read_user_text
from .options import LORA_KEYS, Options, translate_trl_keys
from .overrides import COMMAND_LINE
from .registry import algorithm

# Defaults that differ from TRL's: what a first run on any machine should do.
TRL_DEFAULTS = {"report_to": "none", "save_strategy": "no", "logging_steps": 1}


@dataclass
class TrainConfig:
    kind: str  # a name in registry.ALGORITHMS
    path: Path
    options: Options  # our keys, typed per algorithm
    trl: dict  # the rest: fields of TRL's config class
    lines: dict = field(default_factory=dict)  # key -> line number in the YAML file

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        if line == COMMAND_LINE:
            return f"command line --{key}"
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str) -> UsageError:
        return UsageError(f"{self.where(key)}: {key}: {message}")

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(os.path.normpath(self.path.parent / path))

    def paths(self, key: str) -> list[Path]:
        value = getattr(self.options, key) or []
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.error(key, "expected a path or a list of paths")
        return [self.resolve(v) for v in values]


def load_config(path: str | Path, kind: str, overrides: dict | None = None) -> TrainConfig:
    """Read and check a YAML config for `kind` (sft, dpo, rm, grpo), with `overrides` (keys from
    the command line) on top; TRL fields are checked by name here and by value in `validate`."""
    import yaml

    path = Path(path)
    text = read_user_text(path, "config")
    try:
        node = yaml.compose(text)
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(values, dict):
        raise UsageError(f"{path}: a config is a mapping of keys to values")
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value} if node is not None else {}
    values = {**values, **(overrides or {})}
    lines.update({key: COMMAND_LINE for key in overrides or {}})
    spec = algorithm(kind)
    config = TrainConfig(kind, path, spec.options(), {}, lines)
    values = translate_trl_keys(values, config.error)
    own = set(spec.options.keys())
    config.options = spec.options(**{k: v for k, v in values.items() if k in own})
    config.trl = {**TRL_DEFAULTS, **{k: v for k, v in values.items() if k not in own}}
    _check_names(config)
    config.options.check(config)
    return config


def trl_config_class(kind: str):
    return algorithm(kind).trl_config_class()


def _check_names(config: TrainConfig) -> None:
    cls = trl_config_class(config.kind)
    fields = {f.name for f in dataclasses.fields(cls)}
    for key in config.trl:
        if key not in fields:
            ours = ", ".join(type(config.options).keys())
            raise config.error(key, f"unknown key (neither a field of TRL's {cls.__name__} nor one of ours: {ours}; "
                                    "TRL's model_name_or_path, dataset_name, use_peft and lora_* are read too)")


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


def validate(config: TrainConfig, resume: bool = False) -> None:
    """Everything that can be checked without a model: TRL's values by type and range, TRL's own
    config validation, and the files the config names. A bad value must not cost a model load or
    a training step."""
    import warnings

    from .sft import cpu_defaults
    from .trl_values import check_values

    check_values(config, trl_config_class(config.kind))
    with warnings.catch_warnings():  # deprecations are told once, when the real config is built
        warnings.simplefilter("ignore")
        args = trl_args(config, **cpu_defaults(config.trl))
    if resume:
        _check_checkpoint(config, Path(args.output_dir))
    model = config.resolve(str(config.options.model))
    if not model.exists():
        raise config.error("model", f"{model} does not exist (make one with `longform model export`)")
    data = config.options.data
    for value in [data] if isinstance(data, str) else data:
        path = config.resolve(str(value))
        if not str(value).startswith("hf:") and not path.exists():  # hf:NAME is a hub dataset, read later
            raise config.error("data", f"{path} does not exist")


def _check_checkpoint(config: TrainConfig, out: Path) -> None:
    """--resume with nothing to resume from would quietly start over: say so instead."""
    from transformers.trainer_utils import get_last_checkpoint

    if out.is_dir() and get_last_checkpoint(str(out)):
        return
    saving = config.trl.get("save_strategy", "no")
    hint = " (save_strategy is 'no': set save_strategy: steps and save_steps to make some)" if saving == "no" else ""
    raise UsageError(f"--resume: {out} holds no checkpoint{hint}; run without --resume to start over")


def lora_config(config: TrainConfig, task_type: str = "CAUSAL_LM"):
    """A peft LoraConfig, or None for full fine-tuning. For a reward model (SEQ_CLS) the new
    scoring head is trained in full beside the adapters."""
    lora = config.options.lora
    if not lora:
        return None
    from peft import LoraConfig

    values = {**LORA_KEYS, **(lora if isinstance(lora, dict) else {})}
    saved = list(values["modules_to_save"] or []) + (["score"] if task_type == "SEQ_CLS" else [])
    return LoraConfig(r=values["r"], lora_alpha=values["alpha"], lora_dropout=values["dropout"],
                      target_modules=values["target_modules"], task_type=task_type,
                      modules_to_save=saved or None, use_rslora=values["use_rslora"], use_dora=values["use_dora"])
