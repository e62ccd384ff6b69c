"""`longform train dpo`: TRL's DPOTrainer on prompt/chosen/rejected rows.

The reference model is TRL's business: a frozen copy of the starting model, or
with LoRA the same model with its adapter switched off (no second copy).
"""

from __future__ import annotations

from .config import TrainConfig, lora_config
from .datasets import preference_rows, to_dataset
from .sft import trainer_inputs


def build_dpo_trainer(config: TrainConfig, resume: bool = False, **overrides):
    from trl import DPOTrainer

    trainer, pairs = preference_trainer(DPOTrainer, config, overrides)
    return trainer, {"pairs": pairs, "beta": trainer.args.beta}


def preference_trainer(trainer_cls, config: TrainConfig, overrides: dict, task_type: str = "CAUSAL_LM"):
    """A TRL trainer on the config's prompt/chosen/rejected rows (DPO, reward model); and how many pairs."""
    args, model_path, tokenizer = trainer_inputs(config, overrides)
    rows = preference_rows(config.paths("data"))
    if config.options.limit:
        rows = rows[: config.options.limit]
    trainer = trainer_cls(model=str(model_path), args=args, train_dataset=to_dataset(rows),
                          processing_class=tokenizer, peft_config=lora_config(config, task_type))
    return trainer, len(rows)
