"""The length reward: full inside a target word range, decaying outside it.

Decay (the LongBench-Write S_l shape, scaled to 0..1, measured from the nearer edge):

    below the range:  max(0, 1 − (low/n − 1)/2)     0 at a third of `low` or less
    above the range:  max(0, 1 − (n/high − 1)/3)    0 at four times `high` or more

so a response scores what the benchmark would give it against the nearer edge.

The range of each prompt comes, in order, from the dataset's `target_low`/`target_high`
columns (written by `longform data prompts`), from a length stated in the instruction
(a single length n becomes n·(1 ± tolerance)), or from a `LengthPredictor` (cached per
prompt). A prompt with no range gets None: TRL leaves it out of this reward.
"""

from __future__ import annotations

from ..evals.scores import length_score
from ..lengths import stated_range
from ..text import count_words
from .parts import answer_of, instruction_text


def range_reward(words: int, low: int, high: int) -> float:
    """1.0 for low <= words <= high, decaying as documented above."""
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got {low}, {high}")
    if words < low:
        return length_score(low, words) / 100.0
    if words > high:
        return length_score(high, words) / 100.0
    return 1.0


def as_range(span: tuple[int, int], tolerance: float) -> tuple[int, int]:
    """A range as given; a single length n (n, n) widened to n·(1 ± tolerance)."""
    low, high = span
    if low != high:
        return low, high
    return max(1, round(low * (1 - tolerance))), max(1, round(low * (1 + tolerance)))


class LengthReward:
    """`think`: score only the `<answer>` block. `predictor`: a `LengthPredictor` for prompts
    that state no length (optional). `word_rule`: as in evaluation ("official")."""

    __name__ = "length"

    def __init__(self, tolerance: float = 0.1, think: bool = False, predictor=None, word_rule: str = "official"):
        if not 0 <= tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
        self.tolerance, self.think, self.predictor, self.word_rule = tolerance, think, predictor, word_rule

    def target(self, instruction: str, low=None, high=None) -> tuple[int, int] | None:
        if low and high:
            return int(low), int(high)
        span = stated_range(instruction)
        if span is None and self.predictor is not None:
            span = self.predictor.predict(instruction)
        return as_range(span, self.tolerance) if span else None

    def __call__(self, prompts, completions, target_low=None, target_high=None, instruction=None, **_) -> list:
        rewards = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            text = instruction[i] if instruction else instruction_text(prompt)
            span = self.target(text, target_low[i] if target_low else None, target_high[i] if target_high else None)
            if span is None:
                rewards.append(None)
                continue
            words = count_words(answer_of(completion, self.think), self.word_rule)
            rewards.append(range_reward(words, *span))
        return rewards
