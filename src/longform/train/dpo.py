"""`longform train dpo`: TRL's DPOTrainer on prompt/chosen/rejected rows.

The reference model is TRL's business: a frozen copy of the starting model, or
with LoRA the same model with its adapter switched off (no second copy).
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainConfig, load_config, lora_config, trl_args
from .datasets import preference_rows, to_dataset
from .sft import cpu_defaults, train_and_save


def build_dpo_trainer(config: TrainConfig, **overrides):
    from transformers import AutoTokenizer
    from trl import DPOTrainer

    args = trl_args(config, **{**cpu_defaults(config.trl), **overrides})
    model_path = config.resolve(str(config.own["model"]))
    if not model_path.exists():
        raise config.error("model", f"{model_path} does not exist (make one with `longform model export`)")
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = preference_rows(config.paths("data"))
    if config.own.get("limit"):
        rows = rows[: config.own["limit"]]
    trainer = DPOTrainer(model=str(model_path), args=args, train_dataset=to_dataset(rows),
                         processing_class=tokenizer, peft_config=lora_config(config))
    return trainer, {"pairs": len(rows), "beta": args.beta}


def run_dpo(config_path: str | Path, resume: bool = False, **overrides) -> dict:
    config = load_config(config_path, "dpo")
    trainer, summary = build_dpo_trainer(config, **overrides)
    return train_and_save(trainer, summary, resume)
