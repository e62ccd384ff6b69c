"""The `panel` judge: a proxy judge built on the quality panel and the length score, with no model call.

Wherever a judge backend is asked for (`--judge-backend panel`, `judge: panel` in a Writing-RL or
GRPO config), this answers instead of an LLM:

- **Rating** (LongBench-Write's S_q slot, `data references`, `data select`, `data prefs`):
  S_q := (1 − w) · quality_score + w · S_l, with S_l from the length the instruction asks for
  (quality alone when it asks for none); `length_weight` w defaults to 0.3. Verdicts carry
  `"proxy": "panel"` so no report can pass them off as a judge's.
- **Pairwise** (Writing-RL's reward): the answer wins when its rating beats the reference's by more
  than `margin` points, loses when it trails by more, and ties otherwise. An empty answer loses.

It is a proxy: it sees topic, drift, repetition, order, meta-talk, unfinished text and length, not
accuracy, insight or style. Use an LLM judge for claims about quality; use this one to run a
curriculum or a selection on a machine with no judge server.

Spec: `panel`, or `panel?length_weight=0.5&margin=2`.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import UsageError
from ..evals.judge import Verdict
from ..evals.scores import length_score
from ..lengths import target_words_from_instruction
from ..text import count_words
from .panel import measure

NAME = "panel"


def is_panel(spec: str | None) -> bool:
    return bool(spec) and spec.split("?", 1)[0].strip().lower() == NAME


class PanelJudge:
    """See the module docstring. Picklable (no model is held; the embedding model is shared)."""

    name = "panel (proxy)"

    def __init__(self, length_weight: float = 0.3, margin: float = 3.0):
        if not 0 <= length_weight <= 1 or margin < 0:
            raise UsageError(f"panel judge: length_weight must be in 0..1 and margin >= 0, got {length_weight}, "
                             f"{margin}")
        self.length_weight, self.margin = float(length_weight), float(margin)

    def rate(self, instruction: str, response: str) -> dict:
        """{"S_q", "quality_score", "S_l", "proxy"}: the proxy rating of one response, 0..100."""
        if not (response or "").strip():
            return {"S_q": 0.0, "quality_score": 0.0, "S_l": 0.0, "proxy": NAME}
        quality = _quality(instruction or "", response)
        target = target_words_from_instruction(instruction or "")
        s_l = length_score(target, count_words(response)) if target else None
        rating = quality if s_l is None else (1 - self.length_weight) * quality + self.length_weight * s_l
        return {"S_q": round(rating, 2), "quality_score": quality, "S_l": None if s_l is None else round(s_l, 2),
                "proxy": NAME}

    def verdict(self, instruction: str, response: str):
        """The rating as the evaluation judge's Verdict (scores hold the proxy's parts, not six dimensions)."""
        rating = self.rate(instruction, response)
        return Verdict(scores=rating, raw="proxy: quality panel and length score", attempts=1, S_q=rating["S_q"])

    def compare(self, instruction: str, reference: str, answer: str):
        """Writing-RL's comparison of the policy's answer with the current reference."""
        from ..rewards.pairwise import Comparison

        if not (answer or "").strip():
            return Comparison("loss", [], judged=False)
        gap = self.rate(instruction, answer)["S_q"] - self.rate(instruction, reference)["S_q"]
        outcome = "win" if gap > self.margin else "loss" if gap < -self.margin else "tie"
        return Comparison(outcome, [round(gap, 2)])


@lru_cache(maxsize=1024)
def _quality(instruction: str, response: str) -> float:
    """The panel's score, kept: a curriculum compares against the same reference again and again."""
    return measure(response, instruction)["quality_score"]


def load_judge(spec: str, **server):
    """The judge a spec names: the panel, or an LM through `load_backend` (server options for openai)."""
    from ..backends import load_backend, parse_spec

    if is_panel(spec):
        _, _, options = parse_spec(spec)
        try:
            return PanelJudge(**options)
        except TypeError as exc:
            raise UsageError(f"panel judge: bad option ({exc})") from None
    return load_backend(spec, **server)
