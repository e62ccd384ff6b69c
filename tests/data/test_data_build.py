"""`longform data build`: instruction loading, filters, exports, failures and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longform.backends import load_backend
from longform.backends.mock import MockProvider, lorem_words
from longform.data.build import BuildSettings, build
from longform.data.filters import FilterSettings, document_reason, near_duplicates
from longform.data.instructions import LengthRule, load_instructions
from longform.errors import UsageError

INSTRUCTIONS = [
    "Write a 600-word story about a lighthouse keeper",
    "Write an essay on the history of tea",
    "Write a 500-word report on coastal erosion",
    "Write a 700-word guide to planting an orchard",
    "Write a travel diary of a week in the mountains",
    "Write an essay on the history of tea.",  # a near copy of the second
]


def jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def mock_lm(**attrs):
    lm = load_backend("mock:lorem")
    lm.backoff_base = 0.001
    for name, value in attrs.items():
        setattr(lm.provider, name, value)
    return lm


# ------------------------------------------------------------------ instructions


def test_instructions_from_jsonl_csv_and_text(tmp_path):
    rule = LengthRule("900")
    a = load_instructions(jsonl(tmp_path / "a.jsonl", [
        {"instruction": "Write a 600-word story"}, {"prompt": "An essay on tea", "words": 450},
        {"text": "A poem", "id": "poem-1"}]), rule)
    assert [(i.target_words, i.target_source) for i in a] == [(600, "text"), (450, "row"), (900, "rule")]
    assert a[2].id == "poem-1" and a[0].id.startswith("000000-")
    (tmp_path / "b.csv").write_text('instruction,length\n"Write about rivers, lakes",1200\nAn essay,\n', "utf-8")
    b = load_instructions(tmp_path / "b.csv", rule)
    assert [(i.text, i.target_words) for i in b] == [("Write about rivers, lakes", 1200), ("An essay", 900)]
    (tmp_path / "c.txt").write_text("写一篇3000字的文章\n\nWrite about tea\n", "utf-8")
    c = load_instructions(tmp_path / "c.txt", rule, limit=1)
    assert [(i.text, i.target_words) for i in c] == [("写一篇3000字的文章", 3000)]
    # ids are stable across loads: a rerun maps each instruction to the same folder
    assert [i.id for i in load_instructions(tmp_path / "a.jsonl", rule)] == [i.id for i in a]


def test_length_rule_range_is_a_fixed_pick():
    rule = LengthRule("2000-6000")
    picks = {rule.pick(f"id{i}") for i in range(50)}
    assert all(2000 <= p <= 6000 and p % 100 == 0 for p in picks) and len(picks) > 10
    assert rule.pick("x") == LengthRule("2000-6000").pick("x")


@pytest.mark.parametrize("rows, message", [
    ([{"question": "x"}], "a.jsonl:1: no instruction field"),
    ([{"instruction": "  "}], "a.jsonl:1: field 'instruction' is empty"),
    ([{"instruction": "x", "words": "many"}], "a.jsonl:1: target length 'many'"),
    ([{"instruction": "x", "words": -3}], "a.jsonl:1: target length must be from 1 to 200,000 words"),
    ([{"instruction": "x", "id": "../etc"}], "a.jsonl:1: id '../etc'"),
    ([{"instruction": "x", "id": "a"}, {"instruction": "y", "id": "a"}], "a.jsonl:2: id 'a' appears twice"),
])
def test_bad_instruction_rows(tmp_path, rows, message):
    with pytest.raises(UsageError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_instructions(jsonl(tmp_path / "a.jsonl", rows), LengthRule("900"))


def test_bad_sources(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_instructions(tmp_path / "none.jsonl", LengthRule("900"))
    (tmp_path / "bad.jsonl").write_text('{"instruction": "x"}\n{oops\n', "utf-8")
    with pytest.raises(UsageError, match="bad.jsonl:2: invalid JSON"):
        load_instructions(tmp_path / "bad.jsonl", LengthRule("900"))
    with pytest.raises(UsageError, match="length rule"):
        LengthRule("lots")


# ------------------------------------------------------------------ filters


def prose(words: int, seed: int = 0) -> str:
    return lorem_words(words, random.Random(seed))


@pytest.mark.parametrize("sections, target, reason", [
    (["## A\n\n" + prose(300, 1), "## B\n\n" + prose(300, 2)], 600, None),
    (["## A\n\n" + prose(300, 1), "## B\n\n"], 300, "empty_section"),
    ([], 300, "empty_section"),
    (["## A\n\n" + prose(300, 1)], 600, "length"),
    (["## A\n\n" + prose(900, 1)], 600, "length"),
    (["## A\n\n" + "The lamp turns slowly over the dark water tonight. " * 60], 600, "repetition"),
    (["## A\n\n" + "".join(chr(0x4E00 + random.Random(i).randrange(3000)) + ("。" if i % 17 == 16 else "")
                            for i in range(600))], 600, "language"),
])
def test_document_filters(sections, target, reason):
    assert document_reason("Write a story about a harbor", target, sections, FilterSettings()) == reason


def test_near_duplicate_instructions():
    copies = near_duplicates(INSTRUCTIONS, 0.9)
    assert copies == {5: 1}
    assert near_duplicates(["a b c d", "a b c e"], 0.5) == {1: 0}


# ------------------------------------------------------------------ builds


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_round_trip_with_the_mock(tmp_path):
    items = load_instructions(jsonl(tmp_path / "i.jsonl", [{"instruction": t} for t in INSTRUCTIONS]),
                              LengthRule("500-800"))
    stats = build(items, [mock_lm()], tmp_path / "out", BuildSettings(concurrency=3, seed=1))
    out = tmp_path / "out"
    sft, meta = read_jsonl(out / "sft.jsonl"), read_jsonl(out / "meta.jsonl")
    assert stats["kept"] == len(sft) == len(meta) == 5 and stats["reasons"] == {"duplicate_instruction": 1}
    assert [m["id"] for m in meta] == [i.id for i in items[:5]]  # instruction order, whatever finished first
    for row, item, m in zip(sft, items, meta):
        user, assistant = row["messages"]
        assert user == {"role": "user", "content": item.text} and assistant["role"] == "assistant"
        assert abs(m["words"] - item.target_words) <= 0.2 * item.target_words
        assert m["backend"] == "mock" and m["sections"] >= 1 and m["repetition"] < 0.2
    assert read_jsonl(out / "rejected.jsonl") == [
        {"id": items[5].id, "status": "filtered", "reason": "duplicate_instruction", "duplicate_of": items[1].id,
         "target_words": items[5].target_words}]
    again = build(items, [mock_lm()], out, BuildSettings(concurrency=3, seed=1))  # a finished build: no calls
    assert again["kept"] == 5


def test_failures_never_reach_the_data_and_are_retried(tmp_path):
    from longform.errors import BackendError

    def respond(messages, config):
        if "coastal" in messages[1]["content"]:
            raise BackendError("HTTP 400 from the server: model overloaded, request rejected")
        return MockProvider()._answer(messages, config)

    items = load_instructions(jsonl(tmp_path / "i.jsonl", [{"instruction": t} for t in INSTRUCTIONS[:4]]),
                              LengthRule("600"))
    stats = build(items, [mock_lm(responder=respond)], tmp_path / "out", BuildSettings(concurrency=2))
    assert stats["failed"] == 1 and stats["kept"] == 3
    sft_text = (tmp_path / "out" / "sft.jsonl").read_text()
    assert "overloaded" not in sft_text and "HTTP" not in sft_text and "coastal" not in sft_text
    rejected = read_jsonl(tmp_path / "out" / "rejected.jsonl")
    assert rejected[0]["reason"] == "failed" and "overloaded" in rejected[0]["error"]
    # the server is back: the next run writes the failed document and keeps the rest as they were
    stats = build(items, [mock_lm()], tmp_path / "out", BuildSettings(concurrency=2))
    assert stats["failed"] == 0 and stats["kept"] == 4


def test_round_robin_over_several_backends(tmp_path):
    a, b = mock_lm(), mock_lm()
    a.provider.name, b.provider.name = "mock-a", "mock-b"
    items = load_instructions(jsonl(tmp_path / "i.jsonl", [{"instruction": t} for t in INSTRUCTIONS[:4]]),
                              LengthRule("500"))
    build(items, [a, b], tmp_path / "out", BuildSettings(concurrency=2))
    assert [m["backend"] for m in read_jsonl(tmp_path / "out" / "meta.jsonl")] == ["mock-a", "mock-b"] * 2
    assert a.usage.calls > 0 and b.usage.calls > 0


# ------------------------------------------------------------------ SIGKILL and resume


def cli(args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "longform", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def build_args(instructions: Path, out: Path, backend: str) -> list[str]:
    return ["data", "build", "--instructions", str(instructions), "--out", str(out), "--backend", backend,
            "--default-words", "400-900", "--concurrency", "3", "--seed", "4", "--quiet"]


def test_kill_at_random_points_then_resume_gives_the_uninterrupted_bytes(tmp_path):
    rows = [{"instruction": f"Write a piece about harbor number {i} and its boats"} for i in range(8)]
    instructions = jsonl(tmp_path / "i.jsonl", rows)
    reference = cli(build_args(instructions, tmp_path / "ref", "mock:lorem"), tmp_path)
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "run"
    rng = random.Random(11)
    total_sections = sum(1 for _ in (tmp_path / "ref" / "docs").glob("*/sections/*.json"))
    points = sorted(rng.sample(range(1, total_sections), 4))  # kill after this many sections exist
    for point in points:
        proc = subprocess.Popen([sys.executable, "-m", "longform", *build_args(instructions, out,
                                 "mock:lorem?delay=0.03")], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(1 for _ in out.glob("docs/*/sections/*.json")) < point and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the build finished before its kill point"
    done = cli(build_args(instructions, out, "mock:lorem"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "sft.jsonl").read_bytes() == (tmp_path / "ref" / "sft.jsonl").read_bytes()
    sft = read_jsonl(out / "sft.jsonl")
    assert len(sft) == len({row["messages"][0]["content"] for row in sft}) == 8  # each document exactly once


def test_cli_bad_input(tmp_path):
    instructions = jsonl(tmp_path / "i.jsonl", [{"instruction": "x", "words": 0}])
    done = cli(["data", "build", "--instructions", str(instructions), "--out", str(tmp_path / "o"),
                "--backend", "mock:lorem"], tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "i.jsonl:1: target length must be from 1 to 200,000 words" in done.stderr and "Traceback" not in done.stderr
    done = cli(["data", "build", "--instructions", str(instructions), "--out", str(tmp_path / "o"),
                "--backend", "mock:lorem", "--tolerance", "3"], tmp_path)
    assert done.returncode == 2 and "--tolerance" in done.stderr


# ------------------------------------------------------------------ stats and export


@pytest.fixture(scope="module")
def finished_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    items = load_instructions(jsonl(root / "i.jsonl", [{"instruction": t} for t in INSTRUCTIONS]), LengthRule("600"))
    build(items, [mock_lm()], root / "out", BuildSettings(concurrency=2))
    return root / "out"


def test_stats_command(finished_build, tmp_path):
    from longform.cli import main

    plot = tmp_path / "hist.png"
    assert main(["data", "stats", str(finished_build / "sft.jsonl"), "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from longform.data.report import sft_stats

    stats = sft_stats(finished_build / "sft.jsonl")
    assert stats["documents"] == 5 and stats["languages"] == {"en": 5}
    assert stats["reasons"] == {"duplicate_instruction": 1}
    assert stats["min"] <= stats["median"] <= stats["max"] and stats["words"] == sum(stats["lengths"])


def test_stats_of_a_broken_file(tmp_path):
    bad = tmp_path / "sft.jsonl"
    bad.write_text('{"messages": [{"role": "assistant", "content": "x"}]}\n')
    done = cli(["data", "stats", str(bad)], tmp_path)
    assert done.returncode == 2 and "sft.jsonl:1: not an SFT row" in done.stderr


def test_export_to_a_datasets_folder_and_read_back(finished_build, tmp_path):
    from datasets import load_dataset, load_from_disk

    from longform.cli import main

    target = tmp_path / "hf"
    assert main(["data", "export", str(finished_build), "--to", "hf", str(target)]) == 0
    saved = load_from_disk(str(target))
    assert list(saved) == ["train"]  # a DatasetDict with a train split, as TRL's dataset_name expects
    data = saved["train"]
    assert load_dataset(str(target), cache_dir=str(tmp_path / "cache"))["train"].to_list() == data.to_list()
    rows = read_jsonl(finished_build / "sft.jsonl")
    assert len(data) == len(rows) and data[0]["messages"] == rows[0]["messages"]
    assert set(data.column_names) == {"messages", "id", "target_words", "words"}
    assert main(["data", "export", str(finished_build), "--to", "hf", str(target)]) == 2  # never overwrites
    # an exported dataset is also an instruction source for the next build
    items = load_instructions(target, LengthRule("900"))
    assert [i.id for i in items] == [r["id"] for r in data]


def test_round_trip_with_a_real_local_server(tmp_path, llama_server_url):
    """Two short documents written by SmolLM2 behind a real llama-cpp-python server."""
    rows = [{"instruction": "Write a short note about rivers", "words": 150},
            {"instruction": "Write a short note about mountains", "words": 150}]
    done = cli(["data", "build", "--instructions", str(jsonl(tmp_path / "i.jsonl", rows)), "--out",
                str(tmp_path / "out"), "--backend", "openai", "--base-url", llama_server_url, "--model", "smollm2",
                "--concurrency", "2", "--tolerance", "0.5", "--quiet"], tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["finished"] == 2 and stats["failed"] == 0
    results = [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "docs").glob("*/result.json"))]
    assert all(r["backend"].startswith("openai") and r["words"] > 0 for r in results)
    sft = read_jsonl(tmp_path / "out" / "sft.jsonl")
    assert len(sft) == stats["kept"]
    for row in sft:
        assert row["messages"][1]["content"].strip() and "error" not in row["messages"][1]["content"].lower()


def test_the_quality_panel_filters_documents_when_asked(tmp_path):
    pytest.importorskip("sentence_transformers")
    items = load_instructions(jsonl(tmp_path / "i.jsonl", [{"instruction": INSTRUCTIONS[0]}]), LengthRule("400"))
    lenient = build(items, [mock_lm()], tmp_path / "a", BuildSettings(filters=FilterSettings(min_quality=0)))
    (result,) = [json.loads(p.read_text()) for p in (tmp_path / "a" / "docs").glob("*/result.json")]
    assert lenient["kept"] == 1 and 0 <= result["quality_score"] < 90  # mock prose is lorem, not on topic
    strict = build(items, [mock_lm()], tmp_path / "b",
                   BuildSettings(filters=FilterSettings(min_quality=result["quality_score"] + 1)))
    assert strict["kept"] == 0 and strict["reasons"] == {"quality": 1}
    unasked = build(items, [mock_lm()], tmp_path / "c", BuildSettings())
    assert unasked["kept"] == 1
    (plain,) = [json.loads(p.read_text()) for p in (tmp_path / "c" / "docs").glob("*/result.json")]
    assert plain["quality_score"] is None  # the panel runs only when a minimum is set


def test_min_quality_out_of_range_is_one_line(tmp_path, capsys):
    from longform.cli import main

    path = jsonl(tmp_path / "i.jsonl", [{"instruction": INSTRUCTIONS[0]}])
    with pytest.raises(SystemExit) as done:
        main(["data", "build", "--instructions", str(path), "--out", str(tmp_path / "o"), "--backend", "mock:lorem",
              "--min-quality", "150"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1 and "--min-quality: must be in [0, 100]" in err
