"""`longform train rm`: a writing reward model from preference pairs, on TRL's RewardTrainer.

The data is prompt/chosen/rejected rows: what `longform data prefs` writes, or any such
dataset. The model gets a one-output scoring head (Bradley-Terry loss on chosen vs rejected);
the result is a sequence-classification folder that `rewards: quality: model:` in a GRPO
config reads.
"""

from __future__ import annotations

from .config import TrainConfig
from .dpo import preference_trainer


def build_rm_trainer(config: TrainConfig, resume: bool = False, **overrides):
    from trl import RewardTrainer

    trainer, pairs = preference_trainer(RewardTrainer, config, overrides, "SEQ_CLS")
    return trainer, {"pairs": pairs}
