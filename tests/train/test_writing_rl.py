"""Writing-RL: reference ladders ranked by the judge, margin-aware selection, the pairwise reward
(mapping, both orders, repetition, unparsed verdicts) with a scripted judge, the ladder climbing
only on wins and surviving a kill, and a 2-step curriculum run on a tiny model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from longform.backends import LM
from longform.backends.mock import MockProvider
from longform.data.instructions import Instruction
from longform.data.references import Source, collect_references, parse_source
from longform.data.select import choose, distribution, select
from longform.errors import UsageError
from longform.evals.judge import DIMENSIONS, JudgeTemplate
from longform.rewards.ladder import LadderReward, ReferenceLadder
from longform.rewards.pairwise import PairwiseJudge, parse_winner


def prose(n: int, offset: int = 0) -> str:
    """n words of varied prose (no looping, so the repetition guard stays out of the way)."""
    import random

    from longform.backends.mock import lorem_words

    return lorem_words(n, random.Random(offset))


def writer(words: int) -> LM:
    return LM(MockProvider(responder=lambda messages, config: prose(words, offset=words)))


def length_judge() -> LM:
    """Six-dimension verdicts that grow with the answer's length: 5 words → 1 ... 80+ → 5."""
    def respond(messages, config):
        answer = messages[-1]["content"].split("<response>")[1].split("</response>")[0]
        score = max(1, min(5, len(answer.split()) // 20 + 1))
        return json.dumps({d: score for d in DIMENSIONS})
    return LM(MockProvider(responder=respond))


ITEMS = [Instruction(f"p{i}", f"Write about topic {i}.", 100, "row") for i in range(4)]


# ------------------------------------------------------------------ references and selection

def test_references_are_ranked_weakest_to_strongest(tmp_path):
    sources = [Source("single:big", "single", writer(90)), Source("single:small", "single", writer(10)),
               Source("single:mid", "single", writer(45))]
    report = collect_references(ITEMS, sources, length_judge(), JudgeTemplate.load(), tmp_path / "refs")
    rows = [json.loads(line) for line in (tmp_path / "refs" / "references.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    assert [r["system"] for r in rows[0]["references"]] == ["single:small", "single:mid", "single:big"]
    scores = [r["score"] for r in rows[0]["references"]]
    assert scores == sorted(scores) and scores[0] < scores[-1]
    assert report["strongest"] == {"single:big": 4} and report["unscored"] == 0
    assert parse_source("agentwrite:openai:http://h/v1#m") == ("agentwrite", "openai:http://h/v1#m")
    assert parse_source("embedded") == ("single", "embedded")


def test_selection_on_crafted_margins():
    rows = [{"id": "a", "margin": 40.0}, {"id": "b", "margin": -5.0}, {"id": "c", "margin": 12.5},
            {"id": "d", "margin": None}, {"id": "e", "margin": 25.0}]
    assert [r["id"] for r in choose(rows, top=2)] == ["a", "e"]
    assert [r["id"] for r in choose(rows, min_margin=12.5)] == ["a", "e", "c"]
    assert [r["id"] for r in choose(rows, top=1, min_margin=30)] == ["a"]
    with pytest.raises(UsageError):
        choose(rows)
    dist = distribution([40.0, -5.0, 12.5, 25.0])
    assert dist["count"] == 4 and dist["min"] == -5.0 and dist["max"] == 40.0
    assert dist["histogram"] == {"[-10,0)": 1, "[10,20)": 1, "[20,30)": 1, "[40,50)": 1}


def test_select_keeps_the_prompts_where_the_policy_trails_most(tmp_path):
    sources = [Source("single:small", "single", writer(10)), Source("single:big", "single", writer(90))]
    collect_references(ITEMS, sources, length_judge(), JudgeTemplate.load(), tmp_path / "refs")
    # the policy writes 90 words for p0/p1 (no margin) and 10 for p2/p3 (a large one)
    policy = LM(MockProvider(responder=lambda m, c: prose(90 if ("0." in m[-1]["content"] or "1." in
                                                                   m[-1]["content"]) else 10)))
    report = select(tmp_path / "refs", policy, "single", length_judge(), JudgeTemplate.load(), tmp_path / "sel",
                    top=2)
    kept = [json.loads(line) for line in (tmp_path / "sel" / "selected.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in kept) == ["p2", "p3"]
    assert all(r["margin"] > 0 for r in kept) and report["margins"]["count"] == 4
    assert report["margins"]["min"] == 0.0 and report["kept"] == 2


# ------------------------------------------------------------------ pairwise reward

def scripted(answers: list[str] | None = None, rule=None, calls: list | None = None) -> LM:
    """A judge replying from a list (in order) or by `rule(first, second)`."""
    replies = iter(answers or [])

    def respond(messages, config):
        text = messages[0]["content"]
        first = text.split("[Response A]")[1].split("[Response B]")[0].strip()
        second = text.split("[Response B]")[1].strip()
        if calls is not None:
            calls.append((first, second))
        return next(replies) if answers is not None else rule(first, second)
    return LM(MockProvider(responder=respond))


GOOD = prose(60)
REF = prose(30, offset=3)


def test_parse_winner():
    assert parse_winner('{"winner": "B"}') == "B" and parse_winner('Sure. {"winner":"tie"}') == "tie"
    assert parse_winner("winner: a") == "A" and parse_winner("I like both") is None


def test_outcomes_map_to_rewards_reference_first(tmp_path):
    calls = []
    judge = PairwiseJudge(scripted(['{"winner": "B"}', '{"winner": "tie"}', '{"winner": "A"}'], calls=calls))
    assert [judge.compare("Write.", REF, GOOD).outcome for _ in range(3)] == ["win", "tie", "loss"]
    assert all(first == REF for first, _ in calls)  # the reference is shown first (as A)


def test_both_orders_cancel_a_position_bias():
    biased = PairwiseJudge(scripted(rule=lambda a, b: '{"winner": "A"}'), both_orders=True)
    assert biased.compare("Write.", REF, GOOD).outcome == "tie"  # A then A: one loss, one win
    fair = PairwiseJudge(scripted(rule=lambda a, b: '{"winner": "%s"}' % ("A" if a == GOOD else "B")),
                         both_orders=True)
    result = fair.compare("Write.", REF, GOOD)
    assert result.outcome == "win" and result.verdicts == ["B", "A"]
    worse = PairwiseJudge(scripted(rule=lambda a, b: '{"winner": "%s"}' % ("A" if a == REF else "B")),
                          both_orders=True)
    assert worse.compare("Write.", REF, GOOD).outcome == "loss"


def test_repetition_loses_without_the_judge_and_unparsed_is_retried_then_counted():
    calls = []
    judge = PairwiseJudge(scripted(rule=lambda a, b: "no idea", calls=calls), attempts=3)
    loop = "the quay and the ship and the rope. " * 20
    assert judge.compare("Write.", REF, loop).outcome == "loss" and calls == []
    result = judge.compare("Write.", REF, GOOD)
    assert result.outcome is None and len(calls) == 3


def write_refs(path, heights: dict[str, int]) -> None:
    rows = [{"id": pid, "instruction": f"Write about {pid}.",
             "references": [{"system": f"s{k}", "score": 10.0 * k, "response": prose(20 + 10 * k, k)}
                            for k in range(n)]} for pid, n in heights.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_reward_values_and_unparsed_count(tmp_path):
    write_refs(tmp_path / "refs.jsonl", {"a": 2})
    reward = LadderReward("mock", tmp_path / "refs.jsonl", tmp_path / "ladder.json",
                          values={"win": 2.0}, attempts=1)
    replies = iter(['{"winner": "B"}', '{"winner": "tie"}', '{"winner": "A"}', "hmm"])
    reward.open(scripted(rule=lambda a, b: next(replies)))
    metrics = {}
    got = reward(["p"] * 4, [GOOD] * 4, id=["a"] * 4, log_metric=lambda k, v: metrics.__setitem__(k, v))
    assert got == [2.0, 0.55, 0.1, None]
    assert reward.unparsed == 1 and metrics["pairwise/unparsed"] == 0.25 and metrics["ladder/moved"] == 1


# ------------------------------------------------------------------ the ladder

def test_ladder_climbs_on_wins_only_and_never_back(tmp_path):
    ladder = ReferenceLadder(tmp_path / "l.json", {"a": 3, "b": 3, "c": 1})
    assert ladder.advance({"a": 1, "b": 0, "c": 1}) == ["a"]  # c has one rung: nowhere to go
    assert ladder.advance({"a": 0, "b": 0}) == []  # no wins (ties/losses): nobody moves, nobody falls
    assert ladder.advance({"a": 2, "b": 1}) == ["a", "b"]
    assert ladder.advance({"a": 1}) == []  # at the top it stays
    assert ladder.rungs == {"a": 2, "b": 1, "c": 0} and ladder.counts() == {"0": 1, "1": 1, "2": 1}
    again = ReferenceLadder(tmp_path / "l.json", {"a": 3, "b": 3, "c": 1})
    assert again.rungs == ladder.rungs and again.updates == 4
    strict = ReferenceLadder(tmp_path / "s.json", {"a": 3})
    assert strict.advance({"a": 1}, min_wins=2) == []


def test_ladder_survives_a_kill_and_resumes(tmp_path):
    write_refs(tmp_path / "refs.jsonl", {f"p{i}": 50 for i in range(3)})
    script = textwrap.dedent(f"""
        import itertools, time
        from longform.backends import LM
        from longform.backends.mock import MockProvider
        from longform.rewards.ladder import LadderReward
        reward = LadderReward("mock", {str(tmp_path / "refs.jsonl")!r}, {str(tmp_path / "ladder.json")!r})
        reward.open(LM(MockProvider(responder=lambda m, c: '{{"winner": "B"}}')))
        for step in itertools.count():
            reward(["p"] * 3, ["{GOOD}"] * 3, id=["p0", "p1", "p2"])
            time.sleep(0.01)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    state = tmp_path / "ladder.json"
    deadline = time.time() + 60
    while time.time() < deadline and not (state.exists() and json.loads(state.read_text())["updates"] >= 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = json.loads(state.read_text())  # whole: written atomically, whenever the kill came
    assert 5 <= saved["updates"] < 49 and len(set(saved["rungs"].values())) == 1
    resumed = LadderReward("mock", tmp_path / "refs.jsonl", state)
    resumed.open(scripted(rule=lambda a, b: '{"winner": "B"}'))
    before = resumed.ladder.current("p0")
    assert before == saved["rungs"]["p0"]
    resumed(["p"], [GOOD], id=["p0"])
    assert resumed.ladder.current("p0") == before + 1  # continues from the saved rung, upward


# ------------------------------------------------------------------ training

def test_two_step_curriculum_run(tmp_path, tiny_model):
    import torch
    import yaml

    from longform.train.config import load_config
    from longform.train.sft import train_and_save
    from longform.train.writing_rl import build_writing_rl_trainer

    write_refs(tmp_path / "refs.jsonl", {"a": 3, "b": 3})
    values = dict(model=str(tiny_model), data="refs.jsonl", judge="mock", output_dir="run",
                  per_device_train_batch_size=4, num_generations=4, max_completion_length=16, max_steps=2,
                  learning_rate=1e-3, seed=0)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(values))
    config = load_config(tmp_path / "c.yaml", "writing-rl")
    trainer, summary = build_writing_rl_trainer(config)
    reward = trainer.reward_funcs[0]
    # the judge prefers the first-listed completion of every batch: wins and losses in each group
    seen = []

    def rule(first, second):
        policy = second  # reference first
        seen.append(policy)
        return '{"winner": "%s"}' % ("B" if len(seen) % 4 == 1 else "A")

    reward.open(scripted(rule=rule))
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    result = train_and_save(trainer, summary, resume=False)
    assert result["steps"] == 2
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    state = json.loads((tmp_path / "run" / "ladder.json").read_text())
    assert state["updates"] == 2 and sum(state["rungs"].values()) == 2  # one win per step: one rung up each
    assert any("ladder/mean_rung" in row for row in result["log"])
    with pytest.raises(UsageError, match="pass --resume"):
        build_writing_rl_trainer(config)


def test_prompts_without_any_scored_answer_get_no_ladder(tmp_path):
    def judge(messages, config):
        return "cannot say" if "topic 3" in messages[-1]["content"] else json.dumps({d: 3 for d in DIMENSIONS})

    sources = [Source("single:a", "single", writer(10)), Source("single:b", "single", writer(20))]
    report = collect_references(ITEMS, sources, LM(MockProvider(responder=judge)), JudgeTemplate.load(),
                                tmp_path / "refs")
    assert report["no_ladder"] == ["p3"] and report["ladders"] == 3 and report["unscored"] == 2
    assert len((tmp_path / "refs" / "references.jsonl").read_text().splitlines()) == 3


def test_cli_needs_a_judge_and_a_rule(tmp_path, capsys):
    from longform.cli import main

    (tmp_path / "p.jsonl").write_text('{"prompt": "Write 100 words."}\n')
    assert main(["data", "references", "--prompts", str(tmp_path / "p.jsonl"), "--source", "mock:lorem",
                 "--source", "single:mock:lorem?delay=0", "--out", str(tmp_path / "r")]) == 2
    assert "needs a judge" in capsys.readouterr().err
    assert main(["data", "select", "--references", str(tmp_path / "r"), "--policy", "mock:lorem",
                 "--judge-backend", "mock:lorem", "--out", str(tmp_path / "s")]) == 2
    assert "--top N or --min-margin M" in capsys.readouterr().err


def _ladder_rank(rank: int, world: int, port: int, folder: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    from pathlib import Path

    reward = LadderReward("mock", Path(folder) / "refs.jsonl", Path(folder) / "ladder.json")
    # rank 0 wins once on "a"; rank 1 wins once on "b": together both must climb, on both ranks
    reward.open(scripted(rule=lambda a, b: '{"winner": "%s"}' % ("B" if rank == 0 else "A")))
    reward(["p"], [GOOD], id=["a" if rank == 0 else "b"])
    reward.judge = PairwiseJudge(scripted(rule=lambda a, b: '{"winner": "%s"}' % ("A" if rank == 0 else "B")))
    reward(["p"], [GOOD], id=["b" if rank == 0 else "a"])
    (Path(folder) / f"rungs{rank}.json").write_text(json.dumps(reward.ladder.rungs))
    dist.destroy_process_group()


def test_ladder_is_shared_by_training_processes(tmp_path):
    import torch.multiprocessing as mp

    from helpers.servers import free_port

    write_refs(tmp_path / "refs.jsonl", {"a": 4, "b": 4})
    mp.spawn(_ladder_rank, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    rungs = [json.loads((tmp_path / f"rungs{r}.json").read_text()) for r in (0, 1)]
    # step 1: a won on rank 0, b lost on rank 1; step 2: b lost on rank 0, a won on rank 1
    assert rungs[0] == rungs[1] == {"a": 2, "b": 0}
    assert json.loads((tmp_path / "ladder.json").read_text())["rungs"] == {"a": 2, "b": 0}
