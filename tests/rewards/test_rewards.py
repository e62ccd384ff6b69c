"""GRPO rewards on crafted completions: length inside and outside its range (English and
Chinese), think/answer well and badly formed, repetition, the quality rewards, predicted
lengths cached, and the advantage-level combination against a hand computation."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from longform.backends import LM
from longform.backends.mock import MockProvider
from longform.data.instructions import LengthRule
from longform.data.prompts import build_prompt_set
from longform.errors import UsageError
from longform.evals.judge import DIMENSIONS
from longform.evals.scores import length_score
from longform.lengths import stated_range
from longform.rewards import (
    FormatReward,
    JudgeReward,
    LengthReward,
    combine_advantages,
    range_reward,
    split_think_answer,
)
from longform.rewards.predict import LengthPredictor, parse_range

PROSE = ("Harbours grew where rivers met the sea. Traders came with salt and cloth, and towns rose "
         "around the quays. Each century rebuilt the docks in stone, then iron, then concrete, while "
         "the fishing fleets moved further out. Storms shaped the breakwaters; wars shaped the forts.")


VOCAB = "harbour tide quay ship rope sail mast gull wave dock".split()


def words(n: int) -> str:
    """n words (the benchmark's rule counts letters only, so no digits)."""
    return " ".join(VOCAB[i % len(VOCAB)] for i in range(n))


def wrapped(answer: str, think: str = "Plan: three parts.") -> str:
    return f"<think>{think}</think>\n<answer>{answer}</answer>"


# ------------------------------------------------------------------ length

def test_range_reward_inside_and_decay_outside():
    assert range_reward(100, 90, 110) == range_reward(90, 90, 110) == range_reward(110, 90, 110) == 1.0
    assert range_reward(60, 90, 110) == pytest.approx(length_score(90, 60) / 100) == pytest.approx(0.75)
    assert range_reward(220, 90, 110) == pytest.approx(1 - (2 - 1) / 3)
    assert range_reward(30, 90, 110) == 0.0 and range_reward(440, 90, 110) == 0.0  # a third / four times
    assert range_reward(80, 90, 110) > range_reward(70, 90, 110) > range_reward(50, 90, 110)


def test_length_reward_reads_the_stated_length_and_scores_only_the_answer():
    reward = LengthReward(tolerance=0.1, think=True)
    prompts = ["Write a 200-word note about ports."] * 4
    completions = [wrapped(words(200)), wrapped(words(150), think=words(500)), words(200), wrapped(words(400))]
    got = reward(prompts, completions)
    assert got[0] == 1.0
    assert got[1] == pytest.approx(range_reward(150, 180, 220))  # the 500 think words do not count
    assert got[2] == 0.0  # no tags: no answer, nothing counts as output
    assert got[3] == pytest.approx(range_reward(400, 180, 220))


def test_length_reward_prefers_dataset_columns_and_a_stated_range():
    reward = LengthReward()
    chat = [[{"role": "user", "content": "Write between 300 and 500 words on tides."}]]
    assert reward(chat, [[{"role": "assistant", "content": words(450)}]]) == [1.0]
    got = reward(["Write about tides."], [words(450)], target_low=[100], target_high=[120])
    assert got == [pytest.approx(range_reward(450, 100, 120))]
    assert reward(["Write about tides."], [words(450)]) == [None]  # no range anywhere: left out


def test_length_reward_counts_chinese_characters():
    reward = LengthReward(tolerance=0.1)
    text = "港口的历史很长。" * 125  # 875 characters, 125 of them "。"
    assert reward(["写一篇800字的文章，介绍港口。"], [text]) == [1.0]
    assert reward(["写一篇2000字的文章，介绍港口。"], [text])[0] == pytest.approx(range_reward(875, 1800, 2200))


def test_stated_range():
    assert stated_range("Write 2,000 to 3,000 words") == (2000, 3000)
    assert stated_range("a 5000-word essay") == (5000, 5000)
    assert stated_range("写一篇3000字的文章") == (3000, 3000)
    assert stated_range("Write a poem") is None


# ------------------------------------------------------------------ format

def test_think_answer_parsing():
    assert split_think_answer(wrapped("Body.")).problem is None
    assert split_think_answer(wrapped("Body.")).answer == "Body."
    bad = ["<answer>Body.</answer>", "<think>x</think>", "<think>x<answer>y</answer>",
           "<think>x</think><answer>y</answer> and more", "intro <think>x</think><answer>y</answer>",
           "<think>x</think><answer> </answer>", "<think>x</think><answer>a <think>b</answer>",
           "<answer>y</answer><think>x</think>", "plain text"]
    for text in bad:
        assert split_think_answer(text).problem, text


def test_format_reward():
    reward = FormatReward(think=True, free=0.1, full=0.5)
    loop = "The lighthouse stood on the rock. " * 20
    got = reward(["p"] * 4, [wrapped(PROSE), "<answer>" + PROSE + "</answer>", wrapped(loop),
                             wrapped(PROSE + " " + " ".join(PROSE.split()[:20]))])
    assert got[0] == 1.0
    assert got[1] == 0.0
    assert got[2] == 0.0  # almost all 4-grams repeat: the full penalty
    assert 0.0 < got[3] < 1.0  # a partial repeat: a partial penalty
    chat = FormatReward(think=False)
    assert chat(["p"] * 3, [PROSE, loop, "  "]) == [1.0, 0.0, 0.0]


# ------------------------------------------------------------------ quality

def scripted_judge(scores_by_words: dict[int, int]) -> LM:
    def respond(messages, config):
        answer_words = messages[-1]["content"].count("harbour") * len(VOCAB)  # answers are words(10 k)
        return json.dumps({d: scores_by_words.get(answer_words, 3) for d in DIMENSIONS})
    return LM(MockProvider(responder=respond))


def test_judge_reward_scores_the_answer_only():
    reward = JudgeReward("mock", think=True)
    reward._lm = scripted_judge({10: 5, 20: 1})
    from longform.evals.judge import JudgeTemplate

    reward._template = JudgeTemplate.load()
    got = reward(["Write."] * 3, [wrapped(words(10)), wrapped(words(20)), "untagged"])
    assert got == [1.0, 0.0, 0.0]
    assert pickle.loads(pickle.dumps(reward))._lm is None  # no backend travels with it


def test_rewards_pickle_and_have_names():
    for reward, name in ((LengthReward(), "length"), (FormatReward(), "format"),
                         (JudgeReward("mock"), "quality")):
        assert pickle.loads(pickle.dumps(reward)).__name__ == name


# ------------------------------------------------------------------ predicted lengths

def predictor_with(replies: list[str], cache) -> tuple[LengthPredictor, list]:
    asked = []

    def respond(messages, config):
        asked.append(messages[-1]["content"])
        return replies[min(len(asked), len(replies)) - 1]

    predictor = LengthPredictor("mock", cache=cache)
    predictor._lm = LM(MockProvider(responder=respond))
    return predictor, asked


def test_parse_range():
    assert parse_range("About 800-1,200 words.") == (800, 1200)
    assert parse_range("1500") == (1500, 1500)
    assert parse_range("no idea") is None and parse_range("3-5") is None  # below 20 words: not believed


def test_predictor_caches_per_prompt_across_instances(tmp_path):
    cache = tmp_path / "lengths.json"
    predictor, asked = predictor_with(["hmm", "600-900"], cache)
    assert predictor.predict("Write about bridges.") == (600, 900)
    assert len(asked) == 2  # the unparsable reply was asked again
    again, asked_again = predictor_with(["1-2"], cache)
    assert again.predict("Write about bridges.") == (600, 900) and asked_again == []
    reward = LengthReward(predictor=again)
    assert reward(["Write about bridges."], [words(700)]) == [1.0]


def test_prompt_set_builder(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "prompt": "Write a 1000-word story."}, {"id": "b", "prompt": "Write 300 to 500 words."},
        {"id": "c", "prompt": "Describe a harbour.", "words": 2000}, {"id": "d", "prompt": "Describe a dock."}]))
    predictor, _ = predictor_with(["1200-1500"], tmp_path / "cache.json")
    report = build_prompt_set(src, tmp_path / "set.jsonl", tolerance=0.1, predictor=predictor)
    rows = [json.loads(line) for line in (tmp_path / "set.jsonl").read_text().splitlines()]
    assert [(r["target_low"], r["target_high"], r["target_source"]) for r in rows] == [
        (900, 1100, "text"), (300, 500, "text"), (1800, 2200, "row"), (1200, 1500, "predicted")]
    assert report["sources"] == {"text": 2, "row": 1, "predicted": 1}
    build_prompt_set(src, tmp_path / "rule.jsonl", rule=LengthRule("700"))
    assert json.loads((tmp_path / "rule.jsonl").read_text().splitlines()[3])["target_low"] == 630
    with pytest.raises(UsageError, match="'d' states no length"):
        build_prompt_set(src, tmp_path / "none.jsonl")
    assert not (tmp_path / "none.jsonl").exists()


# ------------------------------------------------------------------ combination

def test_advantage_level_combination_by_hand():
    # One group of 4 completions, two rewards with very different spreads.
    length = [1.0, 0.5, 0.0, 0.5]
    quality = [10.0, 30.0, 20.0, 20.0]
    got = combine_advantages(torch.tensor([length, quality]).T, group_size=4)

    def z(values):
        mean = sum(values) / 4
        std = (sum((v - mean) ** 2 for v in values) / 3) ** 0.5
        return [(v - mean) / (std + 1e-4) for v in values]

    expected = [(a + b) / 2 for a, b in zip(z(length), z(quality))]
    assert got.tolist() == pytest.approx(expected, abs=1e-5)
    # quality's raw spread is 20x length's, yet after normalising both count alike: completion 0
    # is best on length and worst on quality and ends in the middle.
    assert abs(got[0]) < 0.3
    weighted = combine_advantages(torch.tensor([length, quality]).T, 4, torch.tensor([3.0, 1.0]))
    assert weighted.tolist() == pytest.approx([(3 * a + b) / 4 for a, b in zip(z(length), z(quality))], abs=1e-5)


def test_combination_is_per_group_and_skips_missing_values():
    rewards = torch.tensor([[1.0, 0.0], [0.0, float("nan")], [5.0, 1.0], [5.0, 3.0]])
    got = combine_advantages(rewards, group_size=2)
    # group 1: reward 2 has one value, so its spread is 0 and it contributes (0 - 0) / eps = 0
    assert got[0] == pytest.approx((0.7071 + 0.0) / 2, abs=1e-3)
    assert got[1] == pytest.approx(-0.7071, abs=1e-3)  # only reward 1 counts for it
    assert got[2:].tolist() == pytest.approx([-0.3535, 0.3535], abs=1e-3)  # reward 1 ties: 0 for both
    with pytest.raises(ValueError):
        combine_advantages(rewards, group_size=3)
