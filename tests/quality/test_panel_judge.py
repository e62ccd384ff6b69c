"""The `panel` proxy judge: ratings and comparisons from the quality panel and the length score, used
where a judge backend is asked for (eval, references, select, the Writing-RL reward) with no model."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sentence_transformers")

from helpers.paths import LABELLED
from longform.backends import LM
from longform.backends.mock import MockProvider
from longform.cli import main
from longform.data.instructions import Instruction
from longform.data.references import Source, collect_references
from longform.errors import UsageError
from longform.evals.judge import JudgeTemplate, judge_response
from longform.quality.judge import PanelJudge, is_panel, load_judge
from longform.quality.labelled import read_text
from longform.rewards.ladder import LadderReward

DATA = LABELLED
GOOD = read_text(DATA / "en" / "guide_balcony.md")
GOOD_TEXT = "\n\n".join(GOOD.paragraphs)
BAD_TEXT = ("I'm going to tell you about this in the next part. " * 2 + "\n\n") + \
           "\n\n".join([GOOD.paragraphs[2]] * 5) + "\n\nAnd so the"
INSTRUCTION = "Write a 700-word beginner's guide to starting a vegetable garden on a small balcony."


def test_specs_and_options():
    assert is_panel("panel") and is_panel("panel?length_weight=0.5") and not is_panel("embedded")
    judge = load_judge("panel?length_weight=0.5&margin=2")
    assert isinstance(judge, PanelJudge) and judge.length_weight == 0.5 and judge.margin == 2.0
    with pytest.raises(UsageError, match="length_weight"):
        load_judge("panel?length_weight=3")
    with pytest.raises(UsageError, match="bad option"):
        load_judge("panel?colour=red")


def test_ratings_are_labelled_proxies_and_order_good_above_bad():
    judge = PanelJudge()
    good, bad = judge.rate(INSTRUCTION, GOOD_TEXT), judge.rate(INSTRUCTION, BAD_TEXT)
    assert good["proxy"] == "panel" and good["S_l"] is not None
    assert good["S_q"] > bad["S_q"] + 20
    verdict = judge_response(judge, JudgeTemplate.load(), INSTRUCTION, GOOD_TEXT)
    assert verdict.S_q == good["S_q"] and verdict.scores["proxy"] == "panel"
    assert judge.rate(INSTRUCTION, "")["S_q"] == 0.0
    no_length = judge.rate("Write about balcony gardens.", GOOD_TEXT)
    assert no_length["S_l"] is None and no_length["S_q"] == no_length["quality_score"]


def test_comparisons_win_tie_and_lose():
    judge = PanelJudge()
    assert judge.compare(INSTRUCTION, BAD_TEXT, GOOD_TEXT).outcome == "win"
    assert judge.compare(INSTRUCTION, GOOD_TEXT, BAD_TEXT).outcome == "loss"
    assert judge.compare(INSTRUCTION, GOOD_TEXT, GOOD_TEXT).outcome == "tie"
    assert judge.compare(INSTRUCTION, GOOD_TEXT, "  ").outcome == "loss"


def test_eval_score_with_the_panel_judge(tmp_path, capsys):
    rows = [{"id": 0, "prompt": INSTRUCTION, "length": 700, "response": GOOD_TEXT},
            {"id": 1, "prompt": INSTRUCTION, "length": 700, "response": BAD_TEXT}]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["eval", "score", "--predictions", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "r"),
                 "--judge-backend", "panel"])
    assert code == 0, capsys.readouterr().err
    good, bad = [json.loads(line)["judge"] for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    assert good["scores"]["proxy"] == "panel" and good["S_q"] > bad["S_q"]
    code = main(["eval", "score", "--predictions", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "r2"),
                 "--judge-backend", "panel", "--judge-template", str(tmp_path / "p.jsonl")])
    assert code == 2 and "does not apply to the panel judge" in capsys.readouterr().err


def test_references_ranked_by_the_panel_judge(tmp_path):
    weak = LM(MockProvider(responder=lambda m, c: BAD_TEXT))
    strong = LM(MockProvider(responder=lambda m, c: GOOD_TEXT))
    items = [Instruction("p0", INSTRUCTION, 700, "row")]
    collect_references(items, [Source("single:strong", "single", strong), Source("single:weak", "single", weak)],
                       PanelJudge(), JudgeTemplate.load(), tmp_path / "refs", judge_name="panel")
    (row,) = [json.loads(line) for line in (tmp_path / "refs" / "references.jsonl").read_text().splitlines()]
    assert [r["system"] for r in row["references"]] == ["single:weak", "single:strong"]


def test_the_writing_rl_reward_climbs_with_the_panel_judge(tmp_path):
    refs = tmp_path / "references.jsonl"
    refs.write_text(json.dumps({"id": "p0", "instruction": INSTRUCTION,
                                "references": [{"system": "weak", "response": BAD_TEXT},
                                               {"system": "strong", "response": GOOD_TEXT}]}) + "\n")
    reward = LadderReward("panel", refs, tmp_path / "ladder.json")
    values = reward(["x", "x"], [GOOD_TEXT, BAD_TEXT], id=["p0", "p0"], instruction=[INSTRUCTION, INSTRUCTION])
    assert values == [1.1, 0.55]  # a win over the weak rung, then a tie with itself
    assert reward.ladder.current("p0") == 1
    assert reward([" x"], [GOOD_TEXT], id=["p0"], instruction=[INSTRUCTION]) == [0.55]  # ties the strong rung
