"""`longform train grpo`: LongWriter-Zero's RL recipe on TRL's GRPOTrainer.

From the YAML: a prompt set (`longform data prompts`), a template (`think` for base models:
think-then-answer, only the answer scored; `chat` for instruct models: their own chat
template), the rewards (length, quality, format; see longform.rewards) with a weight each,
and how they combine: `advantage` (each reward normalised within its group, then averaged:
LongWriter-Zero) or `sum` (TRL's weighted sum, then normalised). TRL logs each reward's mean
and spread (`rewards/length/mean`, ...) at every logging step. Generation is TRL's: plain
`generate` on CPU, vLLM with `use_vllm: true` (colocated, or a `trl vllm-serve` server).
"""

from __future__ import annotations

from trl import GRPOTrainer

from ..prompts import render
from ..rewards import FormatReward, JudgeReward, LengthReward, RewardModelReward, combine_advantages
from ..rewards.predict import LengthPredictor
from ..text import detect_language
from .config import TrainConfig, lora_config
from .datasets import prompt_rows, to_dataset
from .sft import trainer_inputs


class LongformGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages are LongWriter-Zero's when `combine == "advantage"`:
    TRL computes its own, then they are replaced by `combine_advantages` of the same rewards."""

    combine = "advantage"

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._rewards_per_func

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if self.combine != "advantage":
            return output
        group = self.num_generations if self.model.training else self.num_generations_eval
        advantages = combine_advantages(self._rewards_per_func.cpu(), group, self.reward_weights.cpu())
        local = len(output["advantages"])
        start = self.accelerator.process_index * local
        output["advantages"] = advantages[start:start + local].to(output["advantages"])
        logged = self._logs["advantages"]  # the completions table shows the advantages used
        for _ in range(min(len(advantages), len(logged))):
            logged.pop()
        logged.extend(advantages.tolist())
        return output


def reward_functions(config: TrainConfig) -> tuple[list, list[float]]:
    """The reward callables named in the config, in a fixed order, and their weights."""
    think = config.options.template == "think"
    made, weights = [], []
    for name, settings in config.options.rewards.items():
        settings = dict(settings or {})
        weights.append(float(settings.pop("weight", 1.0)))
        made.append(_reward(config, name, settings, think))
    return made, weights


def _reward(config: TrainConfig, name: str, s: dict, think: bool):
    if name == "length":
        predictor = None
        if s.get("predict_backend"):
            cache = config.resolve(s.get("length_cache") or f"{config.options.data}.lengths.json")
            predictor = LengthPredictor(s["predict_backend"], cache=cache)
        return LengthReward(tolerance=s.get("tolerance", 0.1), think=think, predictor=predictor)
    if name == "format":
        return FormatReward(think=think, free=s.get("free", 0.1), full=s.get("full", 0.5))
    if s.get("model"):
        return RewardModelReward(config.resolve(s["model"]), think=think, max_length=s.get("max_length", 8192),
                                 batch_size=s.get("batch_size", 4))
    template = config.resolve(s["judge_template"]) if s.get("judge_template") else None
    return JudgeReward(s["judge"], think=think, template=template)


def shape_prompt(row: dict, template: str):
    """TRL's prompt column: the think-then-answer text for base models, a chat turn otherwise."""
    if template == "think":
        return render("think_answer", instruction=row["instruction"], lang=detect_language(row["instruction"]))
    return [{"role": "user", "content": row["instruction"]}]


def build_grpo_trainer(config: TrainConfig, resume: bool = False, **overrides) -> tuple[LongformGRPOTrainer, dict]:
    rewards, weights = reward_functions(config)
    args, model_path, tokenizer = trainer_inputs(config, {"reward_weights": weights, **overrides})
    rows = prompt_rows(config.paths("data"))
    options = config.options
    if options.limit:
        rows = rows[: options.limit]
    template = options.template
    data = [{**row, "prompt": shape_prompt(row, template)} for row in rows]
    trainer = LongformGRPOTrainer(model=str(model_path), reward_funcs=rewards, args=args,
                                  train_dataset=to_dataset(data), processing_class=tokenizer,
                                  peft_config=lora_config(config))
    trainer.combine = options.combine
    summary = {"prompts": len(rows), "template": template, "combine": trainer.combine,
               "rewards": dict(zip(options.rewards, weights)), "num_generations": args.num_generations}
    return trainer, summary
