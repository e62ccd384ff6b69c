"""A backend with no model: scripted answers or deterministic generated prose.

Shipped in the package so users can test their own pipelines without a model:

    load_backend("mock:lorem")                     # plan-aware generated text
    MockProvider(responses=["first", "second"])    # scripted, in order
    MockProvider(responder=lambda messages, config: "text")

`lorem` answers a request for an outline with a numbered plan, and any other
request with prose of the length it asks for ("... about 400 words"), capped by
`max_tokens` (then finish_reason is "length"). A prefilled reply with
`min_tokens` set is continued by just over that many tokens, like a model that
stops as soon as it may. Stop strings end the text where they first appear. Output depends only on the
conversation and the seed, so runs are reproducible across processes.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from typing import Callable

from .base import Completion, DeltaSink, GenerationConfig, Messages, TransientError

_VOCAB = (
    "river harbor lantern orchard ledger winter cedar meadow signal copper canvas garden pilgrim "
    "quarry archive bridge compass thunder velvet market chapel beacon saddle harvest marble "
    "cinder falcon glacier hollow island juniper kettle lattice mirror nectar oyster pepper quiver "
    "rampart silver timber umber valley willow yarrow zephyr amber basalt canyon dune ember fjord "
    "granite heron ivory jasmine kiln linen mosaic nomad opal prairie quartz reef spruce tundra "
    "upland vessel wharf anchor bramble cobalt delta estuary fern grove hearth inlet jetty knoll "
    "lagoon mesa north outpost pasture ridge summit terrace uplift vista walnut"
).split()
_VERBS = "carries shapes remembers reveals gathers follows anchors frames guides weaves tests holds".split()
# "Make an outline…", "Output only the outline": a request for a plan, not a mention of one.
_PLAN_WORDS = re.compile(
    r"\b(make|write|give|create|output|draft|list)\b[^.\n]{0,30}\b(outline|plan|headings)\b|(列|写).{0,6}(提纲|大纲|小标题)",
    re.IGNORECASE,
)
_WORDS_ASKED = re.compile(r"(\d[\d,]*)\s*-?\s*(?:words|word|字)", re.IGNORECASE)


def _rng(messages: Messages, seed: int | None) -> random.Random:
    key = repr([(m["role"], m["content"]) for m in messages]) + f"|{seed}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def lorem_words(n: int, rng: random.Random) -> str:
    """`n` words of varied, loop-free filler prose in sentences."""
    sentences, left = [], n
    while left > 0:
        size = min(left, rng.randint(8, 16))
        words = [rng.choice(_VOCAB) for _ in range(size)]
        if size > 2:
            words[1] = rng.choice(_VERBS)
        sentences.append(" ".join(words).capitalize() + ".")
        left -= size
    return " ".join(sentences)


def _asked_words(text: str, default: int, pick=max) -> int:
    """A length the text mentions: for a plan the largest (the total beats an
    example line's count); for prose the last (the request after the task)."""
    found = [int(n.replace(",", "")) for n in _WORDS_ASKED.findall(text)]
    return pick(found) if found else default


def lorem_plan(total_words: int, rng: random.Random) -> str:
    """A numbered outline whose budgets add up to `total_words`."""
    count = max(2, min(20, round(total_words / 400)))
    base = total_words // count
    lines = []
    for i in range(1, count + 1):
        words = base + (total_words - base * count if i == count else 0)
        topic = " ".join(rng.choice(_VOCAB) for _ in range(4))
        lines.append(f"{i}. Section about the {topic}. - {words} words")
    return "\n".join(lines)


class MockProvider:
    """See module docstring. `fail` injects that many transient errors first;
    `delay` sleeps per call; `words_per_token` converts lengths to token counts."""

    name = "mock"
    supports_prefill = True
    context_window: int | None = None

    def __init__(
        self,
        mode: str = "lorem",
        responses: list[str] | None = None,
        responder: Callable[[Messages, GenerationConfig], str] | None = None,
        delay: float = 0.0,
        fail: int = 0,
        words_per_token: float = 0.75,
        default_words: int = 200,
        concurrency: int = 8,
    ):
        if mode not in ("lorem", "script") and responder is None:
            raise ValueError(f"unknown mock mode {mode!r} (lorem or script)")
        self.responses = list(responses or [])
        self.responder = responder
        # Options may come from a spec string ("mock:lorem?delay=abc"): check them now.
        self.delay = float(delay)
        self.fails_left = int(fail)
        self.words_per_token = float(words_per_token)
        self.default_words = int(default_words)
        self.max_concurrency = int(concurrency)
        self.calls: list[Messages] = []

    def count_tokens(self, messages: Messages) -> int:
        return sum(round(len(m["content"].split()) / self.words_per_token) + 4 for m in messages)

    def generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None) -> Completion:
        if self.delay:
            time.sleep(self.delay)
        if self.fails_left > 0:
            self.fails_left -= 1
            raise TransientError("mock: injected failure")
        self.calls.append(messages)
        text = self._answer(messages, config)
        reason = "stop"
        cut = min((i for i in (text.find(s) for s in config.stop if s) if i >= 0), default=-1)
        if cut >= 0:  # like a real backend: the text before the first stop string, which is not shown
            text = text[:cut]
        words = text.split(" ")
        limit = max(1, int(config.max_tokens * self.words_per_token))
        if len(words) > limit:
            words, reason = words[:limit], "length"
        text = " ".join(words)
        if on_delta:
            for i in range(0, len(words), 16):
                on_delta(("" if i == 0 else " ") + " ".join(words[i : i + 16]))
        return Completion(
            text=text,
            finish_reason=reason,
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=round(len(words) / self.words_per_token),
        )

    def _answer(self, messages: Messages, config: GenerationConfig) -> str:
        if self.responder is not None:
            return self.responder(messages, config)
        if self.responses:
            return self.responses.pop(0)
        prefill = messages[-1]["content"] if messages[-1]["role"] == "assistant" else ""
        last = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        rng = _rng(messages, config.seed)
        # a reply already under way (beyond the planner's "1.") is prose, whatever the request says
        if _PLAN_WORDS.search(last) and prefill.strip() in ("", "1."):
            answer = lorem_plan(_asked_words(last, 2000), rng)
        else:
            words = _asked_words(last, self.default_words, pick=lambda found: found[-1])
            if config.min_tokens and prefill:
                # continuing a reply under a length controller: stop as soon as allowed
                words = int(config.min_tokens * self.words_per_token) + 1
            elif config.min_tokens:
                words = max(words, int(config.min_tokens * self.words_per_token) + 1)
            answer = lorem_words(words, rng)
        return answer[len(prefill):] if answer.startswith(prefill) else answer
