"""The length controller: how many words each section gets and how to hold it to that.

A model asked for "about 400 words" writes anything from 150 to 900. The
controller does not ask; it steers:

- before a section, `rebalance` gives it its share of what the document still
  needs, so an earlier section's miss is absorbed by the rest of the plan and the
  last section closes the gap exactly;
- while writing, the section is continued (more calls on the same text) until it
  reaches `low` × budget, with end-of-text forbidden until about the budget's
  token count (`GenerationConfig.min_tokens`);
- afterwards, a section past `cut_over` × budget is cut at the sentence end
  nearest its budget (`text.cut_near_words`).

`LengthController` is these rules in one object; every layout asks it, so tuning
`LengthPolicy` tunes them all. Words are counted with the run's word rule, so a
Chinese run counts characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..text import count_words, cut_near_words, trim_to_sentence
from .document import SectionRecord, join_sections
from .plan import Plan

MIN_SECTION_WORDS = 20  # a section past the target still gets a few sentences: the outline stays whole
FINAL_STEP = 40  # words the last section asks for at least, so a call a few words short can end its sentence


@dataclass
class LengthPolicy:
    low: float = 0.93  # a section below budget × low is continued
    cut_over: float = 1.04  # a section above budget × cut_over is cut near its budget
    max_calls: int = 8  # calls per section at most, continuations included
    # a call may write this share of what is missing: a little over, because the
    # unfinished last sentence is trimmed; every token past the budget is cut and wasted
    overshoot: float = 1.04
    floor: float = 0.9  # end-of-text is forbidden until this share of the missing tokens


def rebalance(budgets: list[int], index: int, written: int, target: int) -> int:
    """Budget of section `index` (1-based): its planned share of the words the
    document still needs. The last section gets all of them."""
    rest = budgets[index - 1:]
    missing = target - written
    share = rest[0] / sum(rest) if sum(rest) else 1.0
    return max(MIN_SECTION_WORDS, round(missing * share))


class TokenRate:
    """Tokens per counted word, learnt from this run's output; sizes token limits.

    Starts from a prior (`initial`, weighted like `prior_words` words) so the first
    call is sized sensibly, then follows what the model actually writes."""

    def __init__(self, initial: float, prior_words: int = 200):
        self.tokens, self.words = initial * prior_words, float(prior_words)

    def add(self, tokens: int, words: int) -> None:
        if tokens > 0 and words > 0:
            self.tokens += tokens
            self.words += words

    @property
    def value(self) -> float:
        return self.tokens / self.words

    def tokens_for(self, words: int) -> int:
        return max(1, round(words * self.value))


class LengthController:
    """The length rules of one run (see the module docstring). With `enabled` off a
    section keeps its planned size and is written in one go."""

    def __init__(self, policy: LengthPolicy, rule: str = "official", enabled: bool = True):
        self.policy, self.rule, self.enabled = policy, rule, enabled

    def budget(self, plan: Plan, done: list[SectionRecord], index: int, target: int) -> int:
        """Words for section `index` (1-based) after the finished sections `done`."""
        if not self.enabled:
            return plan.sections[index - 1].words
        written = count_words(join_sections(done), self.rule)
        return rebalance([s.words for s in plan.sections], index, written, target)

    def missing(self, text: str, budget: int, final: bool = False) -> int:
        """Words a section holding `text` should still get; 0 when it is long enough.

        A section is long enough at `low` × budget. The `final` one is held to its whole
        budget, counted in complete sentences: its budget is what the document still
        lacks, and a user who asks for 20,000 words expects at least 20,000. It asks
        for at least FINAL_STEP words, so a call a few words short can end its sentence."""
        missing = budget - count_words(trim_to_sentence(text) if final else text, self.rule)
        enough = 0 if final else budget * (1 - self.policy.low)
        if missing <= 0 or missing < enough:
            return 0
        return max(missing, FINAL_STEP) if final else missing

    def call_limits(self, rate: TokenRate, missing: int, room: int) -> tuple[int, int]:
        """(max_tokens, min_tokens) of a call that should write `missing` words, within
        `room` tokens: a little over (`overshoot`), end-of-text forbidden until `floor`."""
        max_tokens = max(16, min(room, rate.tokens_for(round(missing * self.policy.overshoot)) + 8))
        min_tokens = max(1, min(max_tokens, round(rate.tokens_for(missing) * self.policy.floor)))
        return max_tokens, min_tokens

    def fit(self, text: str, budget: int, finish_reason: str = "stop", final: bool = False) -> str:
        """`text` past `cut_over` × budget cut at the sentence end nearest the budget (the
        `final` section's at the first one at or past it: its budget is what the document
        still lacks, and the nearest end could lie short of it); a call cut off by its token
        limit loses its unfinished last sentence."""
        if count_words(text, self.rule) > budget * self.policy.cut_over:
            past = {"over": math.inf} if final else {}  # the first sentence end at or past the budget wins
            return cut_near_words(text, budget, self.rule, **past)
        if finish_reason == "length":
            return trim_to_sentence(text)
        return text
