"""Steered writing (`WriteSettings.steer`): the part's plan point restated in a short user turn
every STEER_WORDS words, with every prompt still the previous one plus new text."""

from __future__ import annotations

import random
import re

from helpers.engine import is_plan_call, last_user, mock_lm, read
from longform.backends.mock import lorem_words
from longform.pipeline.plan import Plan, Section
from longform.pipeline.rolling import STEER_WORDS, RollingContext
from longform.pipeline.runner import AgentWrite, WriteSettings

POINTS = ["The keeper finds a bottle", "A storm cuts the island off", "The letter's writer", "The reply"]
PLAN = "".join(f" {p} - 400 words\n" if i == 0 else f"{i + 1}. {p} - 400 words\n" for i, p in enumerate(POINTS))


def respond(messages, config):
    """Paragraphs of 40-70 words; a request for a summary gets one sentence."""
    if is_plan_call(messages):
        return PLAN
    if "sum up" in last_user(messages):
        return "The keeper found a bottle and wrote back."
    rng = random.Random(repr(messages) + str(config.seed))
    return "\n\n".join(lorem_words(rng.randint(40, 70), rng) for _ in range(4))


def steered_lm(window=None):
    lm = mock_lm(responder=respond)
    lm.provider.context_window = window
    return lm


def render(messages) -> str:
    """A chat template's shape: closed turns, and a final assistant turn left open (or opened)."""
    closed, last = messages, None
    if messages[-1]["role"] == "assistant":
        closed, last = messages[:-1], messages[-1]["content"]
    text = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in closed)
    return text + "<assistant>" + (last or "")


def paragraphs(n: int, words: int) -> list[str]:
    rng = random.Random(n)
    return [lorem_words(words, rng) for _ in range(n)]


def test_a_steering_turn_comes_at_a_paragraph_end_once_enough_words_follow_the_last():
    plan = Plan([Section(i + 1, p, 400) for i, p in enumerate(POINTS)], 1600)
    context = RollingContext("Write a story", plan, "en", steer=True)
    first, second = paragraphs(5, 60), paragraphs(2, 60)
    document = "## The keeper\n\n" + "\n\n".join(first) + "\n\n## A storm\n\n" + "\n\n".join(second) + "\n\n"
    turns = context.messages(document)[2:]
    roles = [t["role"] for t in turns]
    # 60-word paragraphs, a turn once 200 words follow the heading or the last turn: after the 4th of
    # part 1; the heading of part 2 stays with the text before it and restarts the count
    assert roles == ["assistant", "user", "assistant"]
    assert turns[0]["content"] == "## The keeper\n\n" + "\n\n".join(first[:4])
    assert POINTS[0] in turns[1]["content"]
    assert turns[2]["content"].endswith(second[1] + "\n\n")  # open: the model writes on after it
    assert "## A storm" in turns[2]["content"]
    more = document + "\n\n".join(paragraphs(2, 60)) + "\n\n"  # part 2 now holds 240 words
    ends = context.messages(more)[-2:]
    assert ends[-1]["role"] == "user" and POINTS[1] in ends[-1]["content"]
    assert context.summary_messages(more)[-2]["role"] == "assistant"  # the request replaces the turn
    assert min(STEER_WORDS.values()) > 60


def test_a_steered_run_keeps_its_length_and_every_prompt_extends_the_previous_one(tmp_path):
    lm = steered_lm()
    result = AgentWrite(lm, WriteSettings(target_words=1600, seed=2, steer=True)).run(
        "Write a 1600-word story about a lighthouse keeper", tmp_path / "r")
    assert abs(result.words - 1600) <= 0.05 * 1600
    assert "\n\n\n" not in result.text and not re.search(r"\s$", result.sections[-1].text)
    calls = [m for m in lm.provider.calls if not is_plan_call(m)]
    steers = [m[-1]["content"] for m in calls if m[-1]["role"] == "user"]
    assert len(steers) >= 4 and all(any(p in s for p in POINTS) for s in steers)
    for before, after in zip(calls, calls[1:]):
        assert render(after).startswith(render(before))
    for section in result.sections:  # each call wrote one paragraph, so a section took several
        assert section.calls >= 3


def test_a_steered_run_rolls_and_resumes_as_an_uninterrupted_one(tmp_path):
    settings = WriteSettings(target_words=3000, seed=4, steer=True)
    full = AgentWrite(steered_lm(window=900), settings).run("Write a 3000-word story about a keeper",
                                                             tmp_path / "full")
    out = tmp_path / "part"
    AgentWrite(steered_lm(window=900), settings).run("Write a 3000-word story about a keeper", out)
    rolls = read(out / "context.json")["rolls"]
    assert rolls, "the 900-token window never rolled"
    for file in (out / "sections").glob("*.json"):
        if int(file.stem) > rolls[0]["section"]:
            file.unlink()
    lm = steered_lm(window=900)
    resumed = AgentWrite(lm, settings).run(None, out, resume=True)
    assert resumed.text == full.text
    assert all(lm.provider.count_tokens(m) <= 900 for m in lm.provider.calls)
