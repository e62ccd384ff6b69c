"""`longform eval` end to end with the mock backend: kill and resume, score, compare, judge, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.paths import LONGBENCH_WRITE
from longform.backends import LM, load_backend
from longform.backends.mock import MockProvider
from longform.cli import build_parser, main
from longform.cli.eval import cmd_longbench, cmd_score
from longform.evals.judge import DIMENSIONS

DATA = LONGBENCH_WRITE
PROMPTS = [("Write a 900-word essay about harbors", 900), ("Write a 1200-word story about a lighthouse", 1200),
           ("写一篇800字的文章，介绍茶的历史", 800), ("Write a 1000-word guide to winter gardens", 1000)]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "longform", "eval", *args]


def longform(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def data_file(folder: Path, prompts=PROMPTS) -> Path:
    path = folder / "items.jsonl"
    path.write_text("".join(json.dumps({"prompt": p, "type": "Essay", "length": n}, ensure_ascii=False) + "\n"
                            for p, n in prompts), encoding="utf-8")
    return path


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit directly
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, contains: str) -> None:
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("longform: error: "), err
    assert contains in lines[0], lines[0]
    assert "Traceback" not in err and out == ""


def predictions(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------ kill and resume


def test_killed_eval_resumes_without_duplicates(tmp_path):
    data, out = data_file(tmp_path), tmp_path / "out"
    argv = command("longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem?delay=0.2",
                   "--system", "agentwrite")
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    file, in_flight = out / "predictions.jsonl", out / "runs" / "1" / "sections" / "001.json"
    deadline = time.monotonic() + 60
    # Kill once item 0 is saved and item 1 is part-written, so the rerun must resume inside a document.
    while not (file.exists() and file.read_bytes().endswith(b"\n") and in_flight.exists()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the eval never reached item 1"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    first_line = file.read_bytes().splitlines()[0]
    assert [r["id"] for r in predictions(out)] == [0]
    section_stamp = in_flight.stat().st_mtime_ns
    assert not (out / "report.json").exists()

    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = predictions(out)
    assert sorted(r["id"] for r in rows) == [0, 1, 2, 3]  # every item exactly once
    assert file.read_bytes().splitlines()[0] == first_line
    assert in_flight.stat().st_mtime_ns == section_stamp  # section 1 of item 1 was not rewritten
    assert "1 already done" in done.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["overall"]["count"] == 4
    assert done.stdout.strip() == str(out / "report.md")


def test_two_processes_split_one_eval_by_language(tmp_path, capsys):
    # a long evaluation can use every core: one process per --subset, one folder;
    # each skips the other's rows, and appends are whole lines
    data, out = data_file(tmp_path, PROMPTS * 3), tmp_path / "out"
    argv = ["longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem?delay=0.02",
            "--system", "single"]
    procs = [subprocess.Popen(command(*argv, "--subset", lang), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for lang in ("en", "zh")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    rows = predictions(out)
    assert sorted(r["id"] for r in rows) == list(range(12))  # every item once, none torn
    code, _, err = run_main(["eval", "score", "--predictions", str(out / "predictions.jsonl"),
                             "--out", str(tmp_path / "scored")], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "scored" / "report.json").read_text(encoding="utf-8"))
    assert report["overall"]["count"] == 12 and report["by_language"]["zh"]["count"] == 3


def test_three_shards_split_one_eval(tmp_path, capsys):
    # --shard K/N splits any run N ways (processes or machines sharing a folder)
    data, out = data_file(tmp_path, PROMPTS * 3), tmp_path / "out"
    argv = ["longbench-write", "--data", str(data), "--out", str(out), "--backend", "mock:lorem?delay=0.02",
            "--system", "single", "--order", "spread"]
    procs = [subprocess.Popen(command(*argv, "--shard", f"{k}/3"), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for k in (1, 2, 3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert b"over 4 items" in err  # each shard reports its own third
    assert sorted(r["id"] for r in predictions(out)) == list(range(12))


# ------------------------------------------------------------------ longbench-write, score, compare, ruler


def test_failed_items_leave_a_report_of_the_rest_and_exit_1(tmp_path, capsys):
    from longform.backends.mock import MockProvider
    from longform.errors import BackendError

    def respond(messages, config):
        if "lighthouse" in messages[0]["content"]:
            raise BackendError("server said 500 three times")
        return "Fine words."

    data, out = data_file(tmp_path), tmp_path / "out"
    args = build_parser().parse_args(["eval", "longbench-write", "--data", str(data), "--out", str(out),
                                      "--system", "single"])
    assert cmd_longbench(args, lm=LM(MockProvider(responder=respond))) == 1
    err = capsys.readouterr().err
    assert "item 1 failed (server said 500 three times)" in err  # as it happens, in the progress lines
    assert "1 of 4 items failed (ids 1)" in err and "errors.jsonl" in err  # and at the end
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["overall"]["count"] == 3


def test_single_system_on_the_real_data_with_limit(tmp_path, capsys):
    out = tmp_path / "single"
    code, stdout, err = run_main(["eval", "longbench-write", "--data", str(DATA / "longbench_write.jsonl"),
                                  "--subset", "zh", "--limit", "3", "--out", str(out), "--backend", "mock:lorem",
                                  "--system", "single", "--quiet"], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out / "report.md")
    assert err.strip().startswith("S_l ") and "over 3 items" in err
    rows = predictions(out)
    assert len(rows) == 3 and {r["language"] for r in rows} == {"zh"} and rows[0]["id"] > 0
    for name in ("report.json", "report.md", "scores.jsonl", "length_scatter.png", "sl_by_bucket.png"):
        assert (out / name).is_file(), name


def write_predictions(path: Path) -> None:
    rows = [{"prompt": "Write a 100-word note", "length": 100, "response": " ".join(["word"] * 100)},
            {"prompt": "Write a 600-word note", "length": 600, "response": " ".join(["word"] * 300),
             "type": "Note"},
            {"prompt": "写一篇3000字的文章", "length": 3000, "response": "好" * 6000}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_score_a_hand_written_predictions_file(tmp_path, capsys):
    file, out = tmp_path / "mine.jsonl", tmp_path / "scored"
    write_predictions(file)
    code, stdout, err = run_main(["eval", "score", "--predictions", str(file), "--out", str(out)], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out / "report.md")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    # S_l: exact 100, half the length 50, double the length 100*(1-1/3)
    assert report["overall"]["count"] == 3
    assert report["overall"]["S_l"] == pytest.approx((100 + 50 + 100 * 2 / 3) / 3, abs=0.01)
    assert report["by_language"]["zh"]["count"] == 1
    assert "S_l 72.2 over 3 items" in err
    assert (out / "report.md").read_text(encoding="utf-8").startswith("#")


def test_compare_two_runs(tmp_path, capsys):
    file = tmp_path / "mine.jsonl"
    write_predictions(file)
    for name in ("a", "b"):
        assert run_main(["eval", "score", "--predictions", str(file), "--out", str(tmp_path / name),
                         "--title", f"run {name}"], capsys)[0] == 0
    code, stdout, err = run_main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")], capsys)
    assert code == 0, err
    header = stdout.splitlines()[0]
    assert "run a" in header and "run b" in header
    assert any(line.startswith("| S_l |") for line in stdout.splitlines())
    code, again, err = run_main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                                 str(tmp_path / "cmp")], capsys)
    assert code == 0 and again == stdout, err
    assert (tmp_path / "cmp" / "compare.md").read_text().endswith(stdout)
    assert (tmp_path / "cmp" / "compare_sl.png").read_bytes().startswith(b"\x89PNG")


def test_the_comparison_plot_has_a_bar_per_run_and_bucket():
    from longform.evals.plots import comparison_figure

    reports = [{"overall": {"S_l": s}, "by_bucket": {"[0, 500)": {"S_l": s}, "[500, 2000)": {"S_l": s - 10}}}
               for s in (80.0, 90.0)]
    ax = comparison_figure(["run a", "run b"], reports, ["[0, 500)", "[500, 2000)"]).axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run a (S_l 80.0)", "run b (S_l 90.0)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["[0, 500)", "[500, 2000)"]


def test_ruler_with_a_small_subset(tmp_path, capsys):
    out = tmp_path / "ruler"
    code, stdout, err = run_main(["eval", "ruler", "--data", str(DATA / "longwrite_ruler.jsonl"), "--limit", "2",
                                  "--out", str(out), "--backend", "mock:lorem", "--quiet"], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out / "ruler.md")
    assert {r["system"] for r in predictions(out)} == {"agentwrite"}  # the ruler's default system
    summary = json.loads((out / "ruler.json").read_text(encoding="utf-8"))
    assert summary["max_words"] == max(r["response_words"] for r in predictions(out)) > 0
    assert "longest output" in err


# ------------------------------------------------------------------ judge (Python level: mock:lorem writes no JSON)


def verdict(messages, config) -> str:
    return "Analysis: fine.\n" + json.dumps({d: 4 for d in DIMENSIONS})


def test_longbench_with_a_judge(tmp_path, capsys):
    out = tmp_path / "judged"
    data = data_file(tmp_path, PROMPTS[:2])
    args = build_parser().parse_args(["eval", "longbench-write", "--data", str(data), "--out", str(out),
                                      "--system", "single", "--backend", "mock:lorem", "--quiet",
                                      "--judge-template", str(DATA / "judge.txt")])
    judge = MockProvider(responder=verdict)
    assert cmd_longbench(args, lm=load_backend("mock:lorem"), judge_lm=LM(judge)) == 0
    assert len(judge.calls) == 2
    assert PROMPTS[0][0] in judge.calls[0][0]["content"]  # the official template got the instruction
    overall = json.loads((out / "report.json").read_text(encoding="utf-8"))["overall"]
    assert overall["judged"] == 2 and overall["S_q"] == 75.0
    assert overall["S"] == pytest.approx((overall["S_l"] + 75.0) / 2, abs=0.01)
    assert "S_q 75.0" in capsys.readouterr().err


def test_score_with_an_unusable_judge_leaves_rows_unscored(tmp_path, capsys):
    file, out = tmp_path / "mine.jsonl", tmp_path / "scored"
    write_predictions(file)
    args = build_parser().parse_args(["eval", "score", "--predictions", str(file), "--out", str(out),
                                      "--judge-attempts", "2", "--judge-concurrency", "3", "--quiet"])
    judge = MockProvider(responder=lambda messages, config: "I liked it.")
    assert cmd_score(args, judge_lm=LM(judge)) == 0
    assert len(judge.calls) == 3 * 2  # every row retried, then left unscored
    overall = json.loads((out / "report.json").read_text(encoding="utf-8"))["overall"]
    assert overall["unscored"] == 3 and overall["S_q"] is None and overall["S"] is None
    assert "3 unscored" in capsys.readouterr().err


def test_judge_verdicts_are_saved_and_reused(tmp_path, capsys):
    file, out = tmp_path / "mine.jsonl", tmp_path / "scored"
    write_predictions(file)
    argv = ["eval", "score", "--predictions", str(file), "--out", str(out), "--judge-attempts", "1", "--quiet"]
    seen = []

    def judge_once_then_fail(messages, config):  # the second row's verdict cannot be parsed the first time
        seen.append(messages[0]["content"])
        return "no verdict" if len(seen) == 2 else verdict(messages, config)

    first = MockProvider(responder=judge_once_then_fail)
    assert cmd_score(build_parser().parse_args(argv), judge_lm=LM(first)) == 0
    assert len(first.calls) == 3
    saved = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(saved) == 2  # the unscored row is not saved
    again = MockProvider(responder=verdict)
    assert cmd_score(build_parser().parse_args(argv), judge_lm=LM(again)) == 0
    assert len(again.calls) == 1  # only the row left unscored is judged again
    overall = json.loads((out / "report.json").read_text(encoding="utf-8"))["overall"]
    assert overall["judged"] == 3 and overall["unscored"] == 0
    other = MockProvider(responder=verdict)  # another judge (name) judges everything itself
    other.name = "another-judge"
    assert cmd_score(build_parser().parse_args(argv), judge_lm=LM(other)) == 0
    assert len(other.calls) == 3


# ------------------------------------------------------------------ bad input: one line, exit 2


def test_bad_inputs_from_a_real_process(tmp_path):
    done = longform("longbench-write", "--data", "missing.jsonl", "--out", "o", "--backend", "mock:lorem",
                    cwd=tmp_path)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "missing.jsonl does not exist")
    done = longform("compare", str(tmp_path), cwd=tmp_path)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "no report.json")


@pytest.mark.parametrize("argv, contains", [
    (["longbench-write", "--data", "{bad}", "--out", "o", "--limit", "0"], "argument --limit: must be from 1"),
    (["longbench-write", "--data", "{bad}", "--out", "o", "--concurrency", "0"],
     "argument --concurrency: must be from 1 to 1,024, got 0"),
    (["longbench-write", "--data", "{bad}", "--out", "o"], "{bad}:2: field 'length' must be a positive integer"),
    (["longbench-write", "--data", "{good}", "--out", "o", "--judge-template", "t.j2"],
     "--judge-template needs --judge-backend"),
    (["longbench-write", "--data", "{good}", "--out", "o", "--judge-backend", "mock:lorem",
      "--judge-model", "m"], "need an openai judge backend"),
    (["longbench-write", "--data", "{good}", "--out", "o", "--system", "triple"], "invalid choice: 'triple'"),
    (["longbench-write", "--out", "o"], "--data"),
    (["longbench-write", "--data", "{good}", "--out", "o", "--shard", "3/2"], "--shard"),
    (["ruler", "--data", "{good}", "--out", "o", "--shard", "half"], "expected K/N"),
    (["ruler", "--data", "{good}", "--out", "{good}"], "is a file, not a folder"),
    (["score", "--predictions", "{bad}", "--out", "o"], "{bad}:2: field 'length' must be a positive integer"),
    (["score", "--predictions", "{torn_middle}", "--out", "o"], "{torn_middle}:1: invalid JSON"),
    (["score", "--predictions", "nope.jsonl", "--out", "o"], "does not exist"),
    (["score", "--predictions", "{good}", "--out", "o", "--judge-backend", "mock:lorem", "--judge-concurrency", "0"],
     "argument --judge-concurrency: must be from 1 to 1,024"),
    (["compare", "{empty_dir}"], "no report.json"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, monkeypatch, argv, contains):
    monkeypatch.chdir(tmp_path)
    files = {"good": tmp_path / "good.jsonl", "bad": tmp_path / "bad.jsonl",
             "torn_middle": tmp_path / "torn.jsonl", "empty_dir": tmp_path / "empty"}
    files["good"].write_text('{"prompt": "Write a note", "length": 100, "response": "x"}\n')
    files["bad"].write_text('{"prompt": "Write a note", "length": 100, "response": "x"}\n'
                            '{"prompt": "Write a note", "length": 0, "response": "x"}\n')
    files["torn_middle"].write_text('{"prompt": "Wri\n{"prompt": "Write a note", "length": 100, "response": "x"}\n')
    files["empty_dir"].mkdir()
    argv = [a.format(**files) if "{" in a else a for a in argv]
    contains = contains.format(**files)
    code, out, err = run_main(["eval", *argv, "--backend", "mock:lorem"] if argv[0] in ("longbench-write", "ruler")
                              else ["eval", *argv], capsys)
    assert_one_line_error(code, out, err, contains)
    assert not (tmp_path / "o" / "predictions.jsonl").exists()  # nothing ran


def test_progress_bar_on_a_terminal(tmp_path):
    import io

    from rich.console import Console

    from longform.cli.eval_progress import ItemBar
    from longform.evals.data import load_items
    from longform.evals.generate import generate

    screen = io.StringIO()
    bar = ItemBar(console=Console(file=screen, force_terminal=True, width=120))
    rows = generate(load_items(data_file(tmp_path, PROMPTS[:2])), "agentwrite", load_backend("mock:lorem"),
                    tmp_path / "out", callbacks=[bar])
    text = screen.getvalue()
    assert "2/2" in text and f"{sum(r['response_words'] for r in rows):,} words" in text
