"""`longform train rm`: a writing reward model from preference pairs, on TRL's RewardTrainer.

The data is prompt/chosen/rejected rows: what `longform data prefs` writes, or any such
dataset. The model gets a one-output scoring head (Bradley-Terry loss on chosen vs rejected);
the result is a sequence-classification folder that `rewards: quality: model:` in a GRPO
config reads.
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainConfig, load_config, lora_config
from .datasets import preference_rows, to_dataset
from .sft import train_and_save, trainer_inputs


def build_rm_trainer(config: TrainConfig, **overrides):
    from trl import RewardTrainer

    args, model_path, tokenizer = trainer_inputs(config, overrides)
    rows = preference_rows(config.paths("data"))
    if config.own.get("limit"):
        rows = rows[: config.own["limit"]]
    trainer = RewardTrainer(model=str(model_path), args=args, train_dataset=to_dataset(rows),
                            processing_class=tokenizer, peft_config=lora_config(config, "SEQ_CLS"))
    return trainer, {"pairs": len(rows)}


def run_rm(config_path: str | Path, resume: bool = False, **overrides) -> dict:
    config = load_config(config_path, "rm")
    trainer, summary = build_rm_trainer(config, **overrides)
    return train_and_save(trainer, summary, resume)
