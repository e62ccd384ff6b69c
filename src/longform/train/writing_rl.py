"""`longform train writing-rl`: Writing-RL's curriculum on TRL's GRPOTrainer.

Prompts come from `data select` (or straight from `data references`); each completion is judged
against its prompt's current reference (pairwise reward: win 1.1, tie 0.55, loss 0.1) and the
ladder climbs on wins (`ladder.json` in output_dir; see longform.rewards.ladder).

How this differs from the paper: Writing-RL trains with PPO (a critic, GAE, the reward on the
last token); TRL offers no PPO trainer any more, so this uses GRPO: `num_generations` samples of
each prompt, each sample's advantage its reward relative to the others of its group, no critic.
The sequence-level reward is the same; a group whose samples all tie (or all lose) teaches
nothing until the ladder or the samples change, which is also when PPO's critic would predict
the reward well.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..rewards.ladder import LadderReward, load_references
from .config import TrainConfig, lora_config
from .datasets import to_dataset
from .grpo import LongformGRPOTrainer, shape_prompt
from .sft import train_and_save, trainer_inputs


def build_writing_rl_trainer(config: TrainConfig, resume: bool = False, **overrides):
    own = config.options
    args, model_path, tokenizer = trainer_inputs(config, overrides)
    data = config.paths("data")[0]
    references = config.resolve(own.references) if own.references else data
    state = Path(args.output_dir) / "ladder.json"
    if state.exists() and not resume:
        raise UsageError(f"{state} exists: pass --resume to continue that ladder, or choose another output_dir")
    for key, path, command in (("data", data, "data select"), ("references", references, "data references")):
        if not path.is_file():
            raise config.error(key, f"{path} does not exist (make it with `longform {command}`; the config's "
                                    "header shows how)")
    rows = list(load_references(data).values())
    known = load_references(references)
    if missing := [r["id"] for r in rows if str(r["id"]) not in known]:
        raise config.error("references", f"no references for prompt {missing[0]!r} ({len(missing)} missing)")
    if own.limit:
        rows = rows[: own.limit]
    template = own.template
    dataset = to_dataset([{"id": str(r["id"]), "instruction": r["instruction"],
                           "prompt": shape_prompt(r, template)} for r in rows])
    reward = LadderReward(own.judge, references, state, values=own.values, both_orders=own.both_orders,
                          repetition=own.repetition, attempts=own.judge_attempts, min_wins=own.min_wins,
                          think=template == "think")
    trainer = LongformGRPOTrainer(model=str(model_path), reward_funcs=[reward], args=args, train_dataset=dataset,
                                  processing_class=tokenizer, peft_config=lora_config(config))
    trainer.combine = "sum"  # one reward: TRL's own group normalisation
    return trainer, {"prompts": len(rows), "template": template, "references": str(references),
                     "ladder": str(state), "num_generations": args.num_generations}


def finish(trainer, summary: dict, resume: bool) -> dict:
    """Train, then add the ladder's final standing to the summary."""
    reward = trainer.reward_funcs[0]
    result = train_and_save(trainer, {**summary}, resume)
    reward.open()
    return {**result, "ladder_counts": reward.ladder.counts(), "unparsed": reward.unparsed}
