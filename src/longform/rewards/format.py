"""The format reward: is the completion `<think>…</think><answer>…</answer>`, and is its
answer free of repeated content?

    reward = well_formed × (1 − repetition_penalty)          (in 0 .. 1)

`well_formed` is 1 or 0 (with the chat template, where no tags are asked for, always 1).
`repetition_penalty` grows linearly with the answer's repeated-4-gram share (the share of
4-grams that occurred earlier in it, the evaluation's looping measure): 0 up to `free`
(ordinary prose repeats a few phrases), 1 at `full` and above. A malformed completion has no
answer and scores 0, as does a well-formed answer that is all loop.
"""

from __future__ import annotations

from ..text import repeated_ngram_share
from .parts import completion_text, split_think_answer


class FormatReward:
    __name__ = "format"

    def __init__(self, think: bool = True, free: float = 0.1, full: float = 0.5):
        if not 0 <= free < full <= 1:
            raise ValueError(f"need 0 <= free < full <= 1, got {free}, {full}")
        self.think, self.free, self.full = think, free, full

    def penalty(self, answer: str) -> float:
        share = repeated_ngram_share(answer, 4)
        return min(1.0, max(0.0, (share - self.free) / (self.full - self.free)))

    def score(self, text: str) -> float:
        if self.think:
            parts = split_think_answer(text)
            if parts.problem:
                return 0.0
            answer = parts.answer
        else:
            answer = text.strip()
            if not answer:
                return 0.0
        return 1.0 - self.penalty(answer)

    def __call__(self, prompts, completions, **_) -> list[float]:
        return [self.score(completion_text(c)) for c in completions]
