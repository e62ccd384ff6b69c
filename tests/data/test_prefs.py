"""`longform data prefs`: k answers per instruction, scored by w·S_l + (1-w)·S_q,
with a scripted writer and a scripted judge so every choice is known in advance."""

from __future__ import annotations

import json

import pytest

from longform.backends import LM
from longform.backends.mock import MockProvider, lorem_words
from longform.data.instructions import Instruction
from longform.data.prefs import PrefSettings, build_prefs, choose_pair
from longform.evals.judge import DIMENSIONS, JudgeTemplate

WORDS_BY_SEED = [100, 300, 500, 240]  # sample j writes this many words; the target is 300
ITEM = Instruction("sea", "Write a 300-word piece about the sea.", 300, "text")


def writer(calls: list | None = None) -> LM:
    import random

    def respond(messages, config):
        if calls is not None:
            calls.append(config.seed)
        return lorem_words(WORDS_BY_SEED[config.seed % 1000], random.Random(config.seed))

    return LM(MockProvider(responder=respond))


def judge(quality_of_words: dict[int, int] | None = None, garbage_for: int | None = None) -> LM:
    """Rates every dimension by the answer's word count (3 unless listed); 'garbage_for' words: no verdict."""
    def respond(messages, config):
        words = len(messages[-1]["content"].split("Response:")[-1].split())
        found = min(WORDS_BY_SEED, key=lambda w: abs(w - words))
        if found == garbage_for:
            return "I cannot decide."
        return json.dumps({d: (quality_of_words or {}).get(found, 3) for d in DIMENSIONS})

    return LM(MockProvider(responder=respond))


TEMPLATE = JudgeTemplate("Instruction: {{ instruction }}\nResponse: {{ response }}", "test", official=False)


def test_length_only_picks_the_answer_on_target(tmp_path):
    report = build_prefs([ITEM], writer(), judge(), TEMPLATE, tmp_path, PrefSettings(k=4, length_weight=1.0))
    pair = json.loads((tmp_path / "prefs.jsonl").read_text())
    assert report["pairs"] == 1
    assert abs(pair["chosen_words"] - 300) <= 10 and pair["chosen_score"] == pytest.approx(100, abs=3)
    assert pair["rejected_score"] < pair["chosen_score"]
    assert pair["prompt"] == [{"role": "user", "content": ITEM.text}]
    assert pair["chosen"][0]["role"] == "assistant" and len(pair["scores"]) == 4


def test_quality_weight_lets_the_judge_overrule_length(tmp_path):
    # The 500-word answer is rated 5 everywhere (S_q 100), the rest 1 (S_q 0): with w = 0.2 it wins.
    build_prefs([ITEM], writer(), judge({500: 5, 100: 1, 300: 1, 240: 1}), TEMPLATE, tmp_path,
                PrefSettings(k=4, length_weight=0.2, max_tokens=2000))
    pair = json.loads((tmp_path / "prefs.jsonl").read_text())
    assert abs(pair["chosen_words"] - 500) <= 10


def test_unscored_answers_take_no_part(tmp_path):
    settings = PrefSettings(k=4, length_weight=1.0, max_tokens=2000, judge_attempts=2)
    build_prefs([ITEM], writer(), judge(garbage_for=300), TEMPLATE, tmp_path, settings)
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert sum(s["score"] is None for s in samples) == 1
    pair = json.loads((tmp_path / "prefs.jsonl").read_text())
    assert abs(pair["chosen_words"] - 240) <= 10  # the on-target answer was unscored; next best wins


def test_no_pair_reasons():
    same = [{"sample": j, "score": 50.0} for j in range(3)]
    assert choose_pair(same, __import__("random").Random(0)) == "all_scores_equal"
    assert choose_pair([{"sample": 0, "score": 50.0}, {"sample": 1, "score": None}],
                       __import__("random").Random(0)) == "fewer_than_two_scored"


def test_rerun_makes_only_missing_samples_and_ignores_a_torn_line(tmp_path):
    build_prefs([ITEM], writer(), judge(), TEMPLATE, tmp_path, PrefSettings(k=4))
    lines = (tmp_path / "samples.jsonl").read_text().splitlines()
    (tmp_path / "samples.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:30])  # killed mid-line
    calls: list = []
    report = build_prefs([ITEM], writer(calls), judge(), TEMPLATE, tmp_path, PrefSettings(k=4))
    assert sorted(s % 1000 for s in calls) == [2, 3]
    assert report["pairs"] == 1 and report["samples"] == 4


def test_cli_needs_a_judge_and_k_of_two(tmp_path, capsys):
    from longform.cli import main

    (tmp_path / "i.txt").write_text("Write about the sea.\n")
    base = ["data", "prefs", "--instructions", str(tmp_path / "i.txt"), "--out", str(tmp_path / "p"),
            "--backend", "mock:lorem"]
    assert main(base) == 2
    assert "needs a judge" in capsys.readouterr().err
    assert main([*base, "--length-weight", "1", "--k", "2", "--quiet", "--default-words", "50"]) == 0  # length only
    assert (tmp_path / "p" / "report.json").exists()
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main([*base, "--k", "1", "--judge-backend", "mock:lorem"])
    assert done.value.code == 2 and "argument --k: must be from 2 to 64" in capsys.readouterr().err


def test_a_resumed_cli_run_counts_on_from_the_kept_samples(tmp_path, capsys):
    from longform.cli import main

    (tmp_path / "i.txt").write_text("Write about the sea.\nWrite about the hills.\n")
    argv = ["data", "prefs", "--instructions", str(tmp_path / "i.txt"), "--out", str(tmp_path / "p"),
            "--backend", "mock:lorem", "--length-weight", "1", "--k", "2", "--default-words", "50"]
    assert main(argv) == 0
    samples = tmp_path / "p" / "samples.jsonl"
    samples.write_text("\n".join(samples.read_text().splitlines()[:3]) + "\n")  # one sample lost
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "resuming: 3 of 4 samples already in samples.jsonl"
    assert err[1].startswith("[4/4] ")
    assert len([line for line in err if line.startswith("[")]) == 1
