"""predictions.jsonl (append, torn lines, validation) and generation with the mock backend."""

from __future__ import annotations

import json

import pytest

from longform.backends import LM, load_backend
from longform.backends.mock import MockProvider
from longform.errors import UsageError
from longform.evals.data import EvalItem
from longform.evals.generate import EvalCallbacks, generate
from longform.evals.predictions import (
    FIELDS,
    append_prediction,
    read_predictions,
    repair,
)
from longform.text import count_words


def row(i: int, response: str = "Some words here.") -> dict:
    return {"id": i, "prompt": f"Write {i}", "type": "t", "length": 100, "language": "en",
            "system": "single", "response": response, "response_words": 3, "seconds": 0.1,
            "completion_tokens": 4}


# ------------------------------------------------------------------ predictions.jsonl


def test_append_then_read_round_trips(tmp_path):
    path = tmp_path / "predictions.jsonl"
    rows = [row(0), row(1, "潮水上涨。"), row(2, "")]
    for r in rows:
        append_prediction(path, r)
    assert read_predictions(path) == rows
    assert path.read_text(encoding="utf-8").count("\n") == 3
    assert "潮水" in path.read_text(encoding="utf-8")  # readable, not \u-escaped


@pytest.mark.parametrize("cut", [10, 40, -3])
def test_torn_last_line_is_reported_and_skipped(tmp_path, cut):
    path = tmp_path / "predictions.jsonl"
    append_prediction(path, row(0))
    whole = (json.dumps(row(1, "潮水上涨，灯塔亮了。"), ensure_ascii=False) + "\n").encode()
    with open(path, "ab") as fh:
        fh.write(whole[:cut])  # -3 cuts inside the UTF-8 bytes of a CJK character
    reported = []
    rows = read_predictions(path, on_torn=lambda where, text: reported.append(where))
    assert rows == [row(0)]
    assert reported == [f"{path}:2"]


def test_torn_line_warning_goes_to_stderr(tmp_path, capsys):
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps(row(0)) + "\n" + '{"id": 1, "prom', encoding="utf-8")
    assert len(read_predictions(path)) == 1
    assert f"{path}:2" in capsys.readouterr().err


def test_malformed_middle_line_is_an_error(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps(row(0)) + "\n{oops\n" + json.dumps(row(2)) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=rf"^{path}:2: invalid JSON"):
        read_predictions(path)


@pytest.mark.parametrize("change, message", [
    ({"response": None}, "field 'response' must be a string"),
    ({"length": "100"}, "field 'length' must be a positive integer"),
    ({"prompt": ""}, "field 'prompt' must be a non-empty string"),
    ({"type": 3}, "field 'type' must be a string"),
    ({"id": -1}, "field 'id' must be a non-negative integer"),
])
def test_rows_are_validated_with_file_and_line(tmp_path, change, message):
    path = tmp_path / "predictions.jsonl"
    bad = {**row(1), **change}
    path.write_text(json.dumps(row(0)) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=rf"^{path}:2: {message}"):
        read_predictions(path)


def test_missing_field_and_minimal_rows(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "Write", "length": 5, "response": "x"}\n{"prompt": "Write", "length": 5}\n')
    with pytest.raises(UsageError, match=rf"^{path}:2: field 'response' is missing"):
        read_predictions(path)


def test_repair_drops_the_torn_line_so_appends_stay_clean(tmp_path):
    path = tmp_path / "predictions.jsonl"
    append_prediction(path, row(0))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": 1, "prompt": "Wri')
    repair(path, on_torn=None)
    append_prediction(path, row(1))
    assert read_predictions(path, on_torn=None) == [row(0), row(1)]
    assert not list(tmp_path.glob(".*tmp"))  # the atomic rewrite left nothing behind


def test_repair_adds_a_missing_final_newline(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps(row(0)), encoding="utf-8")  # complete row, newline never written
    repair(path)
    append_prediction(path, row(1))
    assert read_predictions(path) == [row(0), row(1)]


def test_missing_predictions_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_predictions(tmp_path / "none.jsonl")


# ------------------------------------------------------------------ generate


ITEMS = [
    EvalItem(0, "Write a note of 300 words about tea", "Letter", 300, "en"),
    EvalItem(4, "Write a 900-word essay about harbors", "Essay", 900, "en"),
    EvalItem(7, "写一篇600字的文章，介绍灯塔", "Essay", 600, "zh"),
]


class Recorder(EvalCallbacks):
    def __init__(self):
        self.events = []

    def on_start(self, total, done):
        self.events.append(("start", total, done))

    def on_item_words(self, item, words):
        self.events.append(("words", item.id, words))

    def on_item_done(self, item, row):
        self.events.append(("done", item.id))

    def on_end(self):
        self.events.append(("end",))


def check_rows(rows: list[dict], system: str, rule: str = "official") -> None:
    assert [r["id"] for r in rows] == [i.id for i in ITEMS]
    for r, item in zip(rows, ITEMS):
        assert set(r) == set(FIELDS)
        assert (r["prompt"], r["type"], r["length"], r["language"]) == (item.prompt, item.type, item.length,
                                                                       item.language)
        assert r["system"] == system
        assert r["response"].strip() and r["response_words"] == count_words(r["response"], rule)
        assert r["completion_tokens"] > 0 and r["seconds"] >= 0


@pytest.mark.parametrize("system", ["single", "agentwrite"])
def test_generate_writes_complete_rows(tmp_path, system):
    recorder = Recorder()
    rows = generate(ITEMS, system, load_backend("mock:lorem"), tmp_path, callbacks=[recorder])
    check_rows(rows, system)
    assert read_predictions(tmp_path / "predictions.jsonl") == rows
    assert recorder.events[0] == ("start", 3, 0) and recorder.events[-1] == ("end",)
    assert [e[1] for e in recorder.events if e[0] == "done"] == [0, 4, 7]
    if system == "agentwrite":
        assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["0", "4", "7"]
        document = (tmp_path / "runs" / "4" / "document.md").read_text(encoding="utf-8")
        assert document.strip() == rows[1]["response"].strip()
        assert any(e[0] == "words" and e[1] == 4 for e in recorder.events)
        # a 900-word target gives several sections; the row counts tokens of all of them
        assert rows[1]["response_words"] > 600
    else:
        assert rows[0]["response_words"] == 300  # mock:lorem writes the length the prompt asks for


def test_unicode_word_rule(tmp_path):
    rows = generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path, word_rule="unicode")
    check_rows(rows, "single", "unicode")


def test_rerun_skips_finished_items(tmp_path):
    first = generate(ITEMS[:2], "single", load_backend("mock:lorem"), tmp_path)
    lm = load_backend("mock:lorem")
    recorder = Recorder()
    rows = generate(ITEMS, "single", lm, tmp_path, callbacks=[recorder])
    assert rows[:2] == first
    assert len(lm.provider.calls) == 1  # only item 7 was generated
    assert recorder.events[0] == ("start", 3, 2)
    assert [r["id"] for r in read_predictions(tmp_path / "predictions.jsonl")] == [0, 4, 7]


def test_resume_after_a_torn_write(tmp_path):
    generate(ITEMS[:1], "single", load_backend("mock:lorem"), tmp_path)
    path = tmp_path / "predictions.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": 4, "prompt": "Write a 9')  # killed while writing item 4's row
    rows = generate(ITEMS, "single", load_backend("mock:lorem"), tmp_path)
    check_rows(rows, "single")
    assert [r["id"] for r in read_predictions(path, on_torn=None)] == [0, 4, 7]
    assert all(line.startswith("{") for line in path.read_text().splitlines())


def test_agentwrite_resumes_inside_a_document(tmp_path):
    generate(ITEMS[1:2], "agentwrite", load_backend("mock:lorem"), tmp_path)
    run = tmp_path / "runs" / "4"
    sections = sorted((run / "sections").glob("*.json"))
    assert len(sections) >= 2
    # as if killed after section 1: its row and later sections never got written
    (tmp_path / "predictions.jsonl").unlink()
    for extra in sections[1:]:
        extra.unlink()
    kept = sections[0].stat().st_mtime_ns
    lm = load_backend("mock:lorem")
    rows = generate(ITEMS[1:2], "agentwrite", lm, tmp_path)
    assert sections[0].stat().st_mtime_ns == kept  # section 1 reused, not rewritten
    plan_calls = [c for c in lm.provider.calls if "Make an outline" in c[1]["content"]]
    assert plan_calls == [] and len(lm.provider.calls) >= 1  # no new plan; only the missing sections
    assert rows[0]["response_words"] == count_words((run / "document.md").read_text(encoding="utf-8"))
    trace = json.loads((run / "trace.json").read_text())
    assert rows[0]["completion_tokens"] == trace["totals"]["completion_tokens"]


def test_other_system_or_other_prompts_are_refused(tmp_path):
    generate(ITEMS[:1], "single", load_backend("mock:lorem"), tmp_path)
    with pytest.raises(UsageError, match="'single' predictions, not 'agentwrite'"):
        generate(ITEMS, "agentwrite", load_backend("mock:lorem"), tmp_path)
    changed = [EvalItem(0, "Write about something else", "Letter", 300, "en")]
    with pytest.raises(UsageError, match="different prompt"):
        generate(changed, "single", load_backend("mock:lorem"), tmp_path)


def test_concurrent_items_match_sequential_ones(tmp_path):
    items = [EvalItem(i, f"Write a {100 + 50 * i}-word note number {i}", "t", 100 + 50 * i, "en") for i in range(8)]
    sequential = generate(items, "single", load_backend("mock:lorem"), tmp_path / "a")
    concurrent = generate(items, "single", load_backend("mock:lorem?delay=0.05"), tmp_path / "b", concurrency=4)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(concurrent) == strip(sequential)
    ids = [r["id"] for r in read_predictions(tmp_path / "b" / "predictions.jsonl")]
    assert sorted(ids) == list(range(8))


def failing_on(*words):
    """A mock model whose calls fail for good on prompts containing any of `words`."""
    from longform.errors import BackendError

    def respond(messages, config):
        if any(w in messages[0]["content"] for w in words):
            raise BackendError("server said 500 three times")
        return "Fine words for the note."
    return MockProvider(responder=respond)


def test_a_failed_item_is_logged_and_the_run_goes_on(tmp_path):
    recorder = Recorder()
    recorder.on_item_failed = lambda item, error: recorder.events.append(("failed", item.id, str(error)))
    rows = generate(ITEMS, "single", LM(failing_on("harbors")), tmp_path, callbacks=[recorder])
    assert [r["id"] for r in rows] == [0, 7]  # item 4 failed; the others are there
    assert [r["id"] for r in read_predictions(tmp_path / "predictions.jsonl")] == [0, 7]
    assert ("failed", 4, "server said 500 three times") in recorder.events and recorder.events[-1] == ("end",)
    logged = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(e["id"], e["error"]) for e in logged] == [(4, "BackendError: server said 500 three times")]
    # the next run retries only the failed item
    lm = load_backend("mock:lorem")
    rows = generate(ITEMS, "single", lm, tmp_path)
    assert [r["id"] for r in rows] == [0, 4, 7] and len(lm.provider.calls) == 1


@pytest.mark.parametrize("concurrency", [1, 3])
def test_three_failures_in_a_row_stop_the_run(tmp_path, concurrency):
    from longform.errors import BackendError

    items = [EvalItem(i, f"Write note {i}", "t", 100, "en") for i in range(6)]
    with pytest.raises(BackendError, match="500 three times"):
        generate(items, "single", LM(failing_on("note")), tmp_path, concurrency=concurrency)
    assert len((tmp_path / "errors.jsonl").read_text().splitlines()) >= 3
    assert not (tmp_path / "predictions.jsonl").exists() or not read_predictions(tmp_path / "predictions.jsonl")


class Windowed(MockProvider):
    context_window = 500


@pytest.mark.parametrize("asked", [None, 100, 10_000])
def test_single_max_tokens_is_capped_by_the_window(tmp_path, asked):
    seen = []
    provider = Windowed(responder=lambda messages, config: seen.append(config.max_tokens) or "Fine words.")
    generate(ITEMS[:1], "single", LM(provider), tmp_path, single_max_tokens=asked)
    room = 500 - provider.count_tokens([{"role": "user", "content": ITEMS[0].prompt}]) - 16
    assert 400 < room < 500
    assert seen == [room if asked is None else min(asked, room)]


def test_unknown_window_uses_the_default(tmp_path):
    seen = []
    provider = MockProvider(responder=lambda messages, config: seen.append(config.max_tokens) or "Words.")
    generate(ITEMS[:1], "single", LM(provider), tmp_path)
    assert seen == [8192]


@pytest.mark.parametrize("kwargs, message", [
    ({"system": "triple"}, "unknown system"),
    ({"concurrency": 0}, "concurrency must be at least 1"),
    ({"single_max_tokens": 0}, "single_max_tokens must be at least 1"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    options = {"system": "single", **kwargs}
    system = options.pop("system")
    with pytest.raises(UsageError, match=message):
        generate(ITEMS, system, load_backend("mock:lorem"), tmp_path, **options)
