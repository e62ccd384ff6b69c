"""`longform train dpo`: TRL's DPOTrainer on prompt/chosen/rejected rows.

The reference model is TRL's business: a frozen copy of the starting model, or
with LoRA the same model with its adapter switched off (no second copy).
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainConfig, load_config, lora_config
from .datasets import preference_rows, to_dataset
from .sft import train_and_save, trainer_inputs


def build_dpo_trainer(config: TrainConfig, **overrides):
    from trl import DPOTrainer

    trainer, pairs = preference_trainer(DPOTrainer, config, overrides)
    return trainer, {"pairs": pairs, "beta": trainer.args.beta}


def preference_trainer(trainer_cls, config: TrainConfig, overrides: dict, task_type: str = "CAUSAL_LM"):
    """A TRL trainer on the config's prompt/chosen/rejected rows (DPO, reward model); and how many pairs."""
    args, model_path, tokenizer = trainer_inputs(config, overrides)
    rows = preference_rows(config.paths("data"))
    if config.own.get("limit"):
        rows = rows[: config.own["limit"]]
    trainer = trainer_cls(model=str(model_path), args=args, train_dataset=to_dataset(rows),
                          processing_class=tokenizer, peft_config=lora_config(config, task_type))
    return trainer, len(rows)


def run_dpo(config_path: str | Path, resume: bool = False, **overrides) -> dict:
    config = load_config(config_path, "dpo")
    trainer, summary = build_dpo_trainer(config, **overrides)
    return train_and_save(trainer, summary, resume)
