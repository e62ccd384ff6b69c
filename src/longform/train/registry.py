"""The training algorithms, one entry each: the CLI, the config loader and the docs all read
this table, so a new algorithm is one entry here plus its builder module.

A builder is `build(config, resume) -> (trainer, summary)`; `finish(trainer, summary,
resume) -> summary` trains, saves and completes the summary. Both are imported only when
the algorithm runs: torch, transformers and TRL stay out of `longform --help`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import UsageError
from .options import DPOOptions, GRPOOptions, Options, RMOptions, SFTOptions, WritingRLOptions


@dataclass(frozen=True)
class Algorithm:
    name: str
    help: str
    options: type[Options]
    trl_config: str  # the name of TRL's config class for it
    builder: str  # "module:function" under longform.train
    finisher: str = "sft:train_and_save"

    def trl_config_class(self):
        import trl

        return getattr(trl, self.trl_config)

    def run(self, config, resume: bool = False) -> dict:
        """Build the trainer, train, save; the summary."""
        trainer, summary = _load(self.builder)(config, resume=resume)
        return _load(self.finisher)(trainer, summary, resume)


def _load(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(f"longform.train.{module}"), function)


ALGORITHMS = {a.name: a for a in (
    Algorithm("sft", "supervised fine-tuning on long-output data", SFTOptions, "SFTConfig", "sft:build_sft_trainer"),
    Algorithm("dpo", "DPO on preference pairs (longform data prefs)", DPOOptions, "DPOConfig",
              "dpo:build_dpo_trainer"),
    Algorithm("rm", "a writing reward model on preference pairs", RMOptions, "RewardConfig", "rm:build_rm_trainer"),
    Algorithm("grpo", "GRPO with length, quality and format rewards (LongWriter-Zero)", GRPOOptions, "GRPOConfig",
              "grpo:build_grpo_trainer"),
    Algorithm("writing-rl", "Writing-RL: pairwise reward against a climbing ladder of references",
              WritingRLOptions, "GRPOConfig", "writing_rl:build_writing_rl_trainer", "writing_rl:finish"),
)}


def algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        raise UsageError(f"unknown training algorithm {name!r}: choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]
