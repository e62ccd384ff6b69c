"""Fresh parts (`WriteSettings.fresh_parts`): every part after the first starts a new conversation
holding the task, the whole outline and a one-line recap read off the plan, and none of the text
written so far."""

from __future__ import annotations

import random

from helpers.engine import is_plan_call, last_user, mock_lm, read, section_files
from longform.backends.mock import lorem_words
from longform.pipeline.runner import AgentWrite, WriteSettings

POINTS = ["The keeper finds a bottle", "A storm cuts the island off", "The letter's writer", "The reply"]
PLAN = "".join(f" {p} - 400 words\n" if i == 0 else f"{i + 1}. {p} - 400 words\n" for i, p in enumerate(POINTS))
INSTRUCTION = "Write a 1600-word story about a lighthouse keeper"


def respond(messages, config):
    if is_plan_call(messages):
        return PLAN
    rng = random.Random(repr(messages) + str(config.seed))
    return "\n\n".join(lorem_words(rng.randint(40, 70), rng) for _ in range(5))


def run(path, lm=None, resume=False):
    lm = lm or mock_lm(responder=respond)
    settings = WriteSettings(target_words=1600, seed=3, fresh_parts=True)
    return lm, AgentWrite(lm, settings).run(None if resume else INSTRUCTION, path, resume=resume)


def first_calls(lm) -> dict[int, list]:
    """The first call of each part, keyed by the part's number (read off the heading it continues)."""
    calls = {}
    for messages in lm.provider.calls:
        if is_plan_call(messages) or messages[-1]["role"] != "assistant":
            continue
        reply = messages[-1]["content"]
        for i, point in enumerate(POINTS, 1):
            if reply.startswith("## ") and point.split()[-1].lower() in reply.split("\n")[0].lower():
                calls.setdefault(i, messages)
    return calls


def test_each_part_starts_fresh_with_the_task_the_outline_and_where_the_writing_stands(tmp_path):
    lm, result = run(tmp_path / "r")
    assert abs(result.words - 1600) <= 0.05 * 1600
    calls = first_calls(lm)
    assert sorted(calls) == [1, 2, 3, 4]
    heads = {i: m[:-1] for i, m in calls.items()}
    for i in (2, 3, 4):
        reply = calls[i][-1]["content"]
        assert reply.startswith("## ")  # the part's heading and nothing of the text before it
        assert not any(s.text.split("\n\n")[1][:40] in reply for s in result.sections[: i - 1])
        task = last_user(calls[i])
        assert task.endswith(f"written. Now write part {i}.") and POINTS[i - 1] in reply.split("\n")[0]
        assert all(p in task for p in POINTS)  # the whole outline, the same in every head
        # everything before the part's numbers is the same text each time: a prefix cache keeps it
        assert task.split(" Part")[0] == last_user(calls[2]).split(" Part")[0]
        assert len(task) - len(task.split(" Part")[0]) < 45
    assert "write part" not in last_user(calls[1])
    rolls = read(tmp_path / "r" / "context.json")["rolls"]
    assert [r["section"] for r in rolls] == [2, 3, 4]
    assert not any(m[-1]["content"].startswith("Stop writing") for m in lm.provider.calls)  # no summary call
    assert heads[2] != heads[3]


def test_a_fresh_parts_run_resumes_as_an_uninterrupted_one(tmp_path):
    _, full = run(tmp_path / "full")
    out = tmp_path / "part"
    run(out)
    for name in section_files(out)[2:]:
        (out / "sections" / name).unlink()
    lm, resumed = run(out, resume=True)
    assert resumed.text == full.text
    assert sorted(first_calls(lm)) == [3, 4]  # the lost parts were written again, and only they


def test_a_fresh_part_opens_with_one_paragraph_and_talk_about_the_task_there_costs_only_that(tmp_path):
    """The opening call stops at the paragraph end; an opening that talks about the task is dropped whole
    (not just its meta sentence), so the next call continues the bare heading again with a new seed and
    nothing after the dropped text has to be read anew."""
    calls = []

    def respond_meta(messages, config):
        if is_plan_call(messages):
            return PLAN
        reply = messages[-1]["content"]
        calls.append((reply, config.stop, config.seed))
        rng = random.Random(repr(messages) + str(config.seed))
        body = "\n\n".join(lorem_words(rng.randint(40, 70), rng) for _ in range(5))
        first_try = sum(1 for r, _, _ in calls if r == reply) == 1
        if reply.startswith("## ") and "\n\n" not in reply.strip() and first_try:
            return "This is another part of the article about the keeper. " + body  # then more of that paragraph
        return body

    _, result = run(tmp_path / "r", lm=mock_lm(responder=respond_meta))
    assert "another part of the article" not in result.text
    assert abs(result.words - 1600) <= 0.05 * 1600
    for part in (2, 3, 4):
        heading = next(r for r, _, _ in calls if r.startswith("## ") and POINTS[part - 1] in r)
        tries = [(stop, seed) for r, stop, seed in calls if r == heading]
        assert len(tries) == 2 and all(stop == ("\n\n",) for stop, _ in tries)  # opened twice, each one paragraph
        assert tries[0][1] != tries[1][1]
        later = [stop for r, stop, _ in calls if r.startswith(heading) and r != heading]
        assert later and not any(later)  # once opened, calls write on without the paragraph stop
