"""Writing-RL's pairwise comparison reward (RESEARCH.md §3): a judge compares the policy's answer
with the prompt's current reference; win, tie and loss map to 1.1, 0.55 and 0.1 by default.

- The reference is shown first (as A) by default. With `both_orders`, the judge is asked twice,
  once in each order; the policy wins only if it wins both, loses only if it loses both, and
  anything else is a tie, so a judge that favours one position cannot decide the outcome.
- An answer whose repeated-4-gram share reaches `repetition` (or an empty one) loses without
  asking the judge: a looping model must not win by luck.
- A verdict that does not parse is asked again (new seed) up to `attempts` times; after that the
  completion is "unparsed": its reward is None (left out of the advantage) and it is counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..backends import GenerationConfig
from ..prompts import render
from ..text import detect_language, repeated_ngram_share

OUTCOMES = ("win", "tie", "loss")
DEFAULT_VALUES = {"win": 1.1, "tie": 0.55, "loss": 0.1}
VERDICT_OPENING = '{"winner": "'
_WINNER = re.compile(r'"?winner"?\s*[:：=]\s*"?\s*(A|B|tie)\b', re.I)


def parse_winner(text: str) -> str | None:
    """"A", "B" or "tie" from the judge's reply (a JSON line, or "winner: A"), else None."""
    for match in re.finditer(r"\{[^{}]*\}", text):
        try:
            value = json.loads(match.group(0)).get("winner")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, str) and value.strip().upper() in ("A", "B", "TIE"):
            return value.strip().upper() if value.strip().upper() != "TIE" else "tie"
    match = _WINNER.search(text)
    if match:
        return match.group(1).upper() if match.group(1).lower() != "tie" else "tie"
    return None


@dataclass
class Comparison:
    outcome: str | None  # "win" | "tie" | "loss" for the policy; None: unparsed
    verdicts: list = field(default_factory=list)  # raw winners per order asked
    judged: bool = True  # False when repetition decided without the judge


class PairwiseJudge:
    def __init__(self, lm, both_orders: bool = False, repetition: float = 0.3, attempts: int = 3):
        self.lm, self.both_orders, self.repetition, self.attempts = lm, both_orders, repetition, attempts

    def compare(self, instruction: str, reference: str, answer: str) -> Comparison:
        if not answer.strip() or repeated_ngram_share(answer, 4) >= self.repetition:
            return Comparison("loss", [], judged=False)
        first = self._ask(instruction, reference, answer)  # reference as A
        if first is None:
            return Comparison(None, [None])
        policy_first = {"A": "loss", "B": "win", "tie": "tie"}[first]
        if not self.both_orders:
            return Comparison(policy_first, [first])
        second = self._ask(instruction, answer, reference)  # policy as A
        if second is None:
            return Comparison(None, [first, None])
        policy_second = {"A": "win", "B": "loss", "tie": "tie"}[second]
        outcome = policy_first if policy_first == policy_second and policy_first != "tie" else "tie"
        return Comparison(outcome, [first, second])

    def _prefill(self) -> bool:
        supports = getattr(self.lm, "supports_prefill", False)
        return bool(supports() if callable(supports) else supports)

    def _ask(self, instruction: str, first: str, second: str) -> str | None:
        prompt = render("pairwise", instruction=instruction, first=first, second=second,
                        lang=detect_language(instruction))
        messages = [{"role": "user", "content": prompt}]
        # Where the backend can continue a reply, start the verdict for the judge: a small model then
        # only has to pick A, B or tie instead of also getting the JSON right.
        opening = VERDICT_OPENING if self._prefill() else ""
        if opening:
            messages.append({"role": "assistant", "content": opening})
        for attempt in range(self.attempts):
            reply = self.lm.complete(messages, GenerationConfig(max_tokens=32, seed=attempt,
                                                                temperature=0.0 if attempt == 0 else 0.7))
            winner = parse_winner(opening + reply.text)
            if winner is not None:
                return winner
        return None
