"""The generated bad-input suite's cases (issue 25): each is an argv, plus files to spoil in a
copy of a small finished "world" (a written run, a data build, a scored eval, configs).

Every case must end with exit 2, one stderr line and no traceback, leaving every file of the
world as it was. Categories: numeric bounds (read off the parser itself, so a new option
is covered when it is added), unusable output paths, damaged run files on resume, serve
start-up, TRL values, huge integers, text that is not UTF-8, and malformed rows.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

from longform.cli import build_parser

MOCK = ["--backend", "mock:lorem"]
INSTRUCTIONS = [{"id": "tea", "instruction": "Write a 700-word essay about tea."},
                {"id": "rain", "instruction": "Write a 600-word story about rain."}]
PREDICTIONS = [{"prompt": "Write 300 words about tea.", "length": 300, "response": "Tea is old. " * 80},
               {"prompt": "Write 200 words about rain.", "length": 200, "response": "Rain falls. " * 60}]
BENCH = [{"prompt": "Write a 300-word note about tea.", "type": "Popular Science", "length": 300},
         {"prompt": "Write a 200-word note about rain.", "type": "Literature", "length": 200}]
SFT_CONFIG = {"model": "model", "data": ["sft.jsonl"], "output_dir": "trained", "max_steps": 1}
NOT_UTF8 = b"Write about \xff\xfe tea.\n"
BAD_ARG = "caf\udce9"  # what Python makes of the Latin-1 byte 0xE9 in argv


@dataclass
class Case:
    category: str
    argv: list[str]
    files: dict = field(default_factory=dict)  # world path -> bytes to write there (None: a folder)
    name: str = ""
    expect: str = ""  # the error line must name this (case-insensitive): failing for the wrong reason fails

    @property
    def id(self) -> str:
        return f"{self.category}:{self.name or ' '.join(self.argv)}"[:120]


# the commands of the suite, each with arguments that work in the world
COMMANDS = {
    "write": ["write", "Write a 700-word essay about tea.", "--out", "fresh", *MOCK],
    "eval score": ["eval", "score", "--predictions", "preds.jsonl", "--out", "fresh"],
    "eval longbench-write": ["eval", "longbench-write", "--data", "bench.jsonl", "--out", "fresh", *MOCK],
    "eval ruler": ["eval", "ruler", "--data", "bench.jsonl", "--out", "fresh", *MOCK],
    "data build": ["data", "build", "--instructions", "in.jsonl", "--out", "fresh", *MOCK],
    "data prefs": ["data", "prefs", "--instructions", "in.jsonl", "--out", "fresh", *MOCK, "--judge-backend", "panel"],
    "data prompts": ["data", "prompts", "--instructions", "in.jsonl", "--out", "fresh.jsonl"],
    "data references": ["data", "references", "--prompts", "in.jsonl", "--source", "mock:lorem", "--out", "fresh",
                        "--judge-backend", "panel"],
    "eval decay": ["eval", "decay", "run", "--out", "fresh"],
    "train curve": ["train", "curve", "run"],
}
BAD_NUMBERS = ["abc", "", "nan", "inf", "-inf", "1e999", "9" * 400, "0x10"]


def numeric_cases() -> list[Case]:
    """Every bounded option of every command above, with values no bound admits."""
    cases = []
    for command, argv in COMMANDS.items():
        for action in _actions(command):
            kind = getattr(action.type, "__name__", "")
            if kind not in ("whole number", "number"):
                continue
            values = BAD_NUMBERS + (["1.5"] if kind == "whole number" else []) + _beyond(action)
            option = action.option_strings[0]
            cases += [Case("bound", [*argv, f"{option}={v}"], name=f"{command} {option}={v[:12]!r}",
                           expect=f"argument {option}") for v in values]
    return cases


def _actions(command: str) -> list[argparse.Action]:
    parser = build_parser()
    for word in command.split():
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return [a for a in parser._actions if a.option_strings and a.type is not None]


def _beyond(action: argparse.Action) -> list[str]:
    """Just past each end of the bound, read from the converter's own error."""
    out = []
    for probe in ("-1e12", "1e12"):
        try:
            action.type(probe)
        except (argparse.ArgumentTypeError, ValueError):
            out.append(probe)
    return out


UNUSABLE_OUT = {"a file": "afile.txt", "under a file": "afile.txt/sub", "a long name": "x" * 300,
                "under /proc": "/proc/longform-no-such/out", "a NUL byte": "out\x00put"}


def out_cases() -> list[Case]:
    cases = []
    for command, argv in COMMANDS.items():
        if "fresh" not in argv and "fresh.jsonl" not in argv:
            continue
        at = argv.index("fresh") if "fresh" in argv else argv.index("fresh.jsonl")
        for what, value in UNUSABLE_OUT.items():
            if what == "a file" and command == "data prompts":
                value = "run"  # a folder where a file is wanted
            cases.append(Case("out", [*argv[:at], value, *argv[at + 1:]], name=f"{command} --out {what}",
                              expect="argument --out"))
    others = {"serve --jobs-dir": ["serve", *MOCK, "--port", "0", "--jobs-dir"],
              "data stats --plot": ["data", "stats", "build/sft.jsonl", "--plot"],
              "model export --out": ["model", "export", "--out"],
              "data export target": ["data", "export", "build", "--to", "hf"]}
    for command, argv in others.items():
        cases += [Case("out", [*argv, value], name=f"{command} {what}", expect=f"argument {command.split()[-1]}")
                  for what, value in UNUSABLE_OUT.items() if not (what == "a file" and "--plot" in command)]
    cases.append(Case("out", ["data", "stats", "build/sft.jsonl", "--plot", "run"], name="stats --plot a folder",
                      expect="is a folder"))
    return cases


DAMAGE = {"cut short": b'{"index": 1, "te', "not an object": b"[1, 2]", "not UTF-8": b'{"a": "\xff"}',
          "empty": b"", "a folder": None, "null": b"null",
          "wrong types": b'{"index": "one", "point": 5, "budget": [], "text": 7, "words": "x", "rolls": 3}'}


def resume_cases() -> list[Case]:
    """Each file a resumed `write` reads, damaged each way."""
    resume = ["write", "--out", "run", "--resume", *MOCK]
    cases = []
    for file in ("run/run.json", "run/plan.json", "run/sections/001.json", "run/trace.json", "run/context.json"):
        for what, content in DAMAGE.items():
            cases.append(Case("resume", resume, {file: content}, name=f"write --resume, {file} {what}", expect=file))
    build_again = ["data", "build", "--instructions", "in.jsonl", "--out", "build", *MOCK]
    for what, content in DAMAGE.items():
        cases.append(Case("resume", build_again, {"build/docs/tea/result.json": content},
                          name=f"data build again, result.json {what}", expect="result.json"))
    cases.append(Case("resume", [*resume, "--words", "900"], name="write --resume --words another length",
                      expect="--words 900"))
    cases.append(Case("resume", ["write", "Write a 3000-word essay about tea.", "--out", "fresh", "--context", "800",
                                 *MOCK], name="write --context too small for the plan", expect="--context 800"))
    for what, content in {"a middle line cut": b'{"prompt": "x", "len\n{"prompt": "y"}\n',
                          "not UTF-8": b'{"prompt": "\xff"}\n{"a": 1}\n'}.items():
        cases.append(Case("resume", ["eval", "score", "--predictions", "lbw/predictions.jsonl", "--out", "fresh"],
                          {"lbw/predictions.jsonl": content}, name=f"eval score, predictions {what}",
                          expect="predictions.jsonl:1"))
        cases.append(Case("resume", [*COMMANDS["eval longbench-write"][:5], "lbw", *MOCK],
                          {"lbw/predictions.jsonl": content}, name=f"eval longbench-write --out, predictions {what}",
                          expect="predictions.jsonl:1"))
    return cases


def serve_cases() -> list[Case]:
    base = ["serve", *MOCK, "--port", "0", "--jobs-dir", "jobs"]
    keys = {"missing": None, "a folder": "run", "not UTF-8": "keys-latin1.txt", "one field": "keys-short.txt",
            "a key twice": "keys-twice.txt", "empty": "keys-empty.txt"}
    cases = [Case("serve", [*base, "--api-keys-file", path if path else "no-such-keys.txt"], name=f"keys file {what}",
                  expect=path or "no-such-keys.txt") for what, path in keys.items()]
    cases += [
        Case("serve", [*base, "--server-key-env", "LONGFORM_SUITE_UNSET"], name="key variable unset",
             expect="LONGFORM_SUITE_UNSET"),
        Case("serve", [*base, "--host", "no-such-host.invalid"], name="unknown host", expect="--host"),
        Case("serve", [*base, "--host", ""], name="empty host", expect="--host"),
        Case("serve", [*base, "--host", "256.1.1.1"], name="bad address", expect="--host"),
        Case("serve", ["serve", "--backend", "nonsense", "--port", "0", "--jobs-dir", "jobs"], name="unknown backend",
             expect="nonsense"),
        Case("serve", [*base, "--context", "300"], name="context too small", expect="--context"),
        Case("serve", [*base, "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
             name="unreachable backend", expect="127.0.0.1:9"),
    ]
    return cases


TRL_VALUES = {"learning_rate": ["big", "nan", -1.0, [1]], "beta": ["big", "1e999"], "num_train_epochs": [-1, "x"],
              "per_device_train_batch_size": [0, 1.5, "two", 10**30], "max_steps": [0, "many", 10**30],
              "gradient_accumulation_steps": [0], "lr_scheduler_type": ["bogus"], "seed": [-5, "x"],
              "logging_steps": [0], "bf16": ["maybe"], "report_to": [5], "no_such_key": [1]}
KINDS = ("sft", "dpo", "rm", "grpo")


def train_cases() -> list[Case]:
    cases = []
    for kind in KINDS:
        for key, values in TRL_VALUES.items():
            if key == "beta" and kind in ("sft", "rm"):
                continue
            for value in values:
                config = {**SFT_CONFIG, key: value}
                cases.append(Case("train", ["train", kind, "--config", "bad.yaml"], {"bad.yaml": _yaml(config)},
                                  name=f"{kind} {key}={str(value)[:12]}", expect=key if key != "lr_scheduler_type"
                                  else "bogus"))
        broken = {"not YAML": b"model: [unclosed\n", "a list": b"- 1\n- 2\n", "not UTF-8": b"model: \xff\n",
                  "no model": _yaml({k: v for k, v in SFT_CONFIG.items() if k != "model"}),
                  "model missing": _yaml({**SFT_CONFIG, "model": "no-such-model"}),
                  "data missing": _yaml({**SFT_CONFIG, "data": ["no-such.jsonl"]}), "empty": b""}
        cases += [Case("train", ["train", kind, "--config", "bad.yaml"], {"bad.yaml": content}, name=f"{kind} {what}",
                       expect="bad.yaml") for what, content in broken.items()]
        cases.append(Case("train", ["train", kind, "--config", "run"], name=f"{kind} config is a folder", expect="run"))
    return cases


def _yaml(values: dict) -> bytes:
    return json.dumps(values).encode()  # JSON is YAML


HUGE = 10**40


def huge_and_text_cases() -> list[Case]:
    """Huge numbers and text that is not UTF-8, in rows and in arguments."""
    rows = {
        "preds length huge": ("preds.jsonl", {**PREDICTIONS[0], "length": HUGE}),
        "preds length float": ("preds.jsonl", {**PREDICTIONS[0], "length": 1e300}),
        "preds surrogate": ("preds.jsonl", {**PREDICTIONS[0], "response": "\ud800 tea"}),
        "preds no prompt": ("preds.jsonl", {"length": 300, "response": "x"}),
        "preds length zero": ("preds.jsonl", {**PREDICTIONS[0], "length": 0}),
        "preds length text": ("preds.jsonl", {**PREDICTIONS[0], "length": "300"}),
        "preds id negative": ("preds.jsonl", {**PREDICTIONS[0], "id": -3}),
        "bench length huge": ("bench.jsonl", {**BENCH[0], "length": HUGE}),
        "bench surrogate": ("bench.jsonl", {**BENCH[0], "prompt": "tea \udfff"}),
        "bench no length": ("bench.jsonl", {"prompt": "x"}),
        "instr words huge": ("in.jsonl", {**INSTRUCTIONS[0], "words": HUGE}),
        "instr surrogate": ("in.jsonl", {**INSTRUCTIONS[0], "instruction": "\ud83d tea"}),
        "instr id dots": ("in.jsonl", {**INSTRUCTIONS[0], "id": ".."}),
        "instr empty": ("in.jsonl", {"id": "e", "instruction": "  "}),
        "instr not text": ("in.jsonl", {"id": "n", "instruction": 42}),
    }
    readers = {"preds.jsonl": COMMANDS["eval score"], "bench.jsonl": COMMANDS["eval longbench-write"],
               "in.jsonl": COMMANDS["data build"]}
    cases = []
    for what, (file, row) in rows.items():
        content = "\n".join(json.dumps(r) for r in [row, *_rows(file)]).encode() + b"\n"
        cases.append(Case("rows", readers[file], {file: content}, name=what, expect=f"{file}:1"))
        if file == "in.jsonl":
            for command in ("data prefs", "data prompts", "data references"):
                cases.append(Case("rows", COMMANDS[command], {file: content}, name=f"{command} {what}",
                                  expect=f"{file}:1"))
    for file, argv in readers.items():
        cases.append(Case("utf8", argv, {file: NOT_UTF8 + b"\n" + json.dumps(_rows(file)[0]).encode() + b"\n"},
                          name=f"{file} not UTF-8", expect=f"{file}:1"))
    cases += [
        Case("utf8", ["write", BAD_ARG, "--out", "fresh", *MOCK], name="instruction argument", expect="UTF-8"),
        Case("utf8", ["write", "x", "--out", f"out-{BAD_ARG}", *MOCK], name="out argument", expect="UTF-8"),
        Case("utf8", ["write", "--file", "latin1.txt", "--out", "fresh", *MOCK], name="instruction file",
             expect="latin1.txt:1"),
        Case("utf8", ["eval", "score", "--predictions", "preds.jsonl", "--out", "fresh", "--title", BAD_ARG],
             name="title argument", expect="UTF-8"),
        Case("utf8", ["eval", "score", "--predictions", "preds.jsonl", "--out", "fresh", "--judge-backend",
                      "mock:lorem", "--judge-template", "latin1.txt"], name="judge template", expect="latin1.txt"),
        Case("utf8", ["serve", *MOCK, "--port", "0", "--jobs-dir", "jobs", "--allowed-hosts", BAD_ARG],
             name="serve argument", expect="UTF-8"),
        Case("utf8", ["data", "build", "--instructions", f"in-{BAD_ARG}.jsonl", "--out", "fresh", *MOCK],
             name="instructions path", expect="UTF-8"),
        Case("huge", ["write", "x" * 10, "--words", str(HUGE), "--out", "fresh", *MOCK], name="write --words",
             expect="--words"),
        Case("huge", ["data", "build", "--instructions", "in.jsonl", "--out", "fresh", "--default-words", str(HUGE),
                      *MOCK], name="data build --default-words", expect="200,000"),
        Case("huge", ["data", "prompts", "--instructions", "in.jsonl", "--out", "fresh.jsonl", "--default-words",
                      f"1-{HUGE}"], name="data prompts --default-words range", expect="200,000"),
        Case("huge", ["eval", "longbench-write", "--data", "bench.jsonl", "--out", "fresh", "--shard",
                      f"{HUGE}/2", *MOCK], name="--shard huge", expect="--shard"),
        Case("huge", ["serve", *MOCK, f"--port={HUGE}"], name="serve --port", expect="--port"),
    ]
    return cases


def _rows(file: str) -> list[dict]:
    return {"preds.jsonl": PREDICTIONS, "bench.jsonl": BENCH, "in.jsonl": INSTRUCTIONS}[file]


def all_cases() -> list[Case]:
    cases = numeric_cases() + out_cases() + resume_cases() + serve_cases() + train_cases() + huge_and_text_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "two cases with one id"
    return cases
