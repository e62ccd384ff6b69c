"""Rewards for GRPO (LongWriter-Zero, RESEARCH.md §2), in TRL's reward signature.

Each reward is a small callable object `reward(prompts, completions, **columns) -> list[float | None]`
that pickles without heavy state (models and backends are opened on first use), so it
survives TRL's multiprocessing and checkpointing. They share their scoring code with
evaluation: the length reward is LongBench-Write's S_l shape, word counts follow the
benchmark rule (a Chinese character is a word), repetition is `repeated_ngram_share`,
and the LLM-judge reward is the evaluation judge.

Only the answer is scored: with the think-then-answer template the text inside
`<answer>…</answer>`; with an instruct model's chat template the whole completion.
"""

from .combine import combine_advantages
from .format import FormatReward
from .length import LengthReward, range_reward
from .parts import answer_of, completion_text, split_think_answer
from .quality import JudgeReward, RewardModelReward

__all__ = ["FormatReward", "JudgeReward", "LengthReward", "RewardModelReward", "answer_of",
           "combine_advantages", "completion_text", "range_reward", "split_think_answer"]
