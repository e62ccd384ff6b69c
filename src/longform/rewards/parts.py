"""Taking completions apart: the text of a TRL completion, and think/answer splitting."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"</?(think|answer)>")
# The whole completion must be: <think>…</think> then <answer>…</answer>, with only whitespace around.
_WELL_FORMED = re.compile(r"\s*<think>(?P<think>.*?)</think>\s*<answer>(?P<answer>.*?)</answer>\s*", re.S)


def completion_text(completion) -> str:
    """TRL hands completions as text or, for chat prompts, as a list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant")
    if isinstance(completion, dict):
        return completion.get("content") or ""
    raise TypeError(f"a completion is text or a list of messages, got {type(completion).__name__}")


def instruction_text(prompt) -> str:
    """The user's request in a TRL prompt (text, or the last user turn of a chat)."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content") or "" for m in prompt if m.get("role") == "user"]
    return users[-1] if users else ""


@dataclass(frozen=True)
class ThinkAnswer:
    think: str
    answer: str
    problem: str | None  # None when well formed


def split_think_answer(text: str) -> ThinkAnswer:
    """Well formed means exactly one think block then one answer block, nothing else outside
    them, no stray tags inside, and an answer that is not empty. A malformed completion
    has no answer: nothing of it counts as output."""
    match = _WELL_FORMED.fullmatch(text)
    if not match:
        tags = [m.group(0) for m in _TAG.finditer(text)]
        problem = "no <think>/<answer> tags" if not tags else f"tags out of order or unclosed: {' '.join(tags)}"
        return ThinkAnswer("", "", problem)
    think, answer = match["think"], match["answer"].strip()
    if _TAG.search(think) or _TAG.search(answer):
        return ThinkAnswer("", "", "a tag inside a block")
    if not answer:
        return ThinkAnswer(think.strip(), "", "empty answer")
    return ThinkAnswer(think.strip(), answer, None)


def answer_of(completion, think: bool) -> str:
    """What the other rewards score and count as output."""
    text = completion_text(completion)
    return split_think_answer(text).answer if think else text.strip()
