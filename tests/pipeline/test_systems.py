"""The one writer protocol: AgentWrite and a single call behind `Writer.write`, both
reporting through Callbacks and returning their usage, so no caller re-reads trace.json."""

from __future__ import annotations

import json

import pytest

from longform.errors import UsageError
from longform.evals.data import EvalItem
from longform.evals.generate import generate
from longform.pipeline.drafts import SectionSettings
from longform.pipeline.events import Callbacks
from longform.pipeline.settings import WriteSettings
from longform.pipeline.systems import AgentWriteSystem, SingleCall, make_writer


class Heard(Callbacks):
    def __init__(self):
        self.events = []

    def on_plan(self, plan):
        self.events.append(("plan", len(plan.sections)))

    def on_section_start(self, section):
        self.events.append(("start", section.index))

    def on_section_end(self, record):
        self.events.append(("end", record.index))

    def on_call(self, record):
        self.events.append(("call", record.stage))


def test_agentwrite_result_carries_the_usage_of_its_trace(tmp_path, mock_lm):
    result = AgentWriteSystem(mock_lm(), WriteSettings()).write(
        "Write a 300-word note about gulls.", tmp_path / "run", target_words=300, seed=3)
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())["totals"]
    assert result.usage.calls == trace["calls"] > 1
    assert result.usage.completion_tokens == trace["completion_tokens"] > 0
    assert result.usage.prompt_tokens == trace["prompt_tokens"]
    assert result.text + "\n" == (tmp_path / "run" / "document.md").read_text()


def test_a_resumed_run_counts_the_calls_of_the_earlier_process(tmp_path, mock_lm):
    writer = AgentWriteSystem(mock_lm(), WriteSettings())
    first = writer.write("Write a 300-word note about gulls.", tmp_path / "run", target_words=300, seed=3)
    again = writer.write("Write a 300-word note about gulls.", tmp_path / "run", target_words=300, seed=3,
                         resume=True)
    assert again.usage == first.usage and again.text == first.text


def test_single_call_is_a_one_section_run_with_usage(tmp_path, mock_lm):
    heard = Heard()
    result = SingleCall(mock_lm()).write("Write a 120-word note about quays.", tmp_path / "one",
                                         target_words=120, seed=1, callbacks=[heard])
    assert heard.events == [("plan", 1), ("start", 1), ("call", "section"), ("end", 1)]
    assert result.usage.calls == 1 and result.usage.completion_tokens > 0
    assert result.words == len(result.text.split()) > 0
    assert (tmp_path / "one" / "document.md").read_text() == result.text + "\n"
    assert SingleCall(mock_lm()).write("Write about quays.", None, seed=1).document is None


def test_single_call_max_tokens_is_one_rule_capped_by_the_window(mock_lm):
    lm = mock_lm(context_window=500)
    messages = [{"role": "user", "content": "Write about tides."}]
    room = 500 - lm.count_tokens(messages) - 16
    assert SingleCall(lm).max_tokens_for(messages) == room  # no cap given: all the room
    assert SingleCall(lm, max_tokens=50).max_tokens_for(messages) == 50
    assert SingleCall(lm, max_tokens=10_000).max_tokens_for(messages) == room
    with pytest.raises(UsageError, match="max_tokens must be at least 1"):
        SingleCall(lm, max_tokens=0)


def test_make_writer_names_the_systems(mock_lm):
    assert make_writer("single", mock_lm()).name == "single"
    assert make_writer("agentwrite", mock_lm()).name == "agentwrite"
    with pytest.raises(UsageError, match="unknown system 'both'"):
        make_writer("both", mock_lm())


def _section_tokens(mock_lm, out, section_settings) -> tuple[list[int], list[int]]:
    item = EvalItem(0, "Write a 600-word note about harbours.", "Note", 600, "en")
    settings = WriteSettings(layout="turns", control_length=False, section=section_settings)
    generate([item], "agentwrite", mock_lm(), out, settings=settings)
    run = out / "runs" / "0"
    limits = [SectionSettings().max_tokens(json.loads(p.read_text())["budget"]) // 2
              for p in sorted((run / "sections").glob("*.json"))]
    calls = json.loads((run / "trace.json").read_text())["calls"]
    return [c["completion_tokens"] for c in calls if c["stage"] == "section"], limits


def test_evals_keep_the_callers_section_settings(tmp_path, mock_lm):
    """Half the headroom halves every draft's token limit; the evals used to drop the caller's
    SectionSettings and write with the defaults."""
    halved, limits = _section_tokens(mock_lm, tmp_path / "half", SectionSettings(headroom=0.6))
    assert len(halved) == len(limits) and all(t <= max(64, limit) for t, limit in zip(halved, limits))
    full, limits = _section_tokens(mock_lm, tmp_path / "full", SectionSettings())
    assert any(t > max(64, limit) for t, limit in zip(full, limits))
