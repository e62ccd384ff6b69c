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

Words are counted with the run's word rule, so a Chinese run counts characters.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SECTION_WORDS = 20  # a section past the target still gets a few sentences: the outline stays whole


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
