"""The LLM judge: verdict parsing, S_q, templates, retries and concurrent judging."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from longform.backends import LM, GenerationConfig
from longform.backends.mock import MockProvider
from longform.errors import BackendError, UsageError
from longform.evals.judge import (
    DIMENSIONS,
    JudgeTemplate,
    judge_response,
    judge_rows,
    parse_verdict,
    quality_score,
)

OFFICIAL_JUDGE = Path("/work/shared/data/longbench_write/judge.txt")

GOOD = '{"Analysis": "Solid.", "Relevance": 5, "Accuracy": 4, "Coherence": 4, "Clarity": 3, ' \
       '"Breadth and Depth": 2, "Reading Experience": 1}'
GOOD_SCORES = dict(zip(DIMENSIONS, (5, 4, 4, 3, 2, 1)))
ALL_FOURS = dict.fromkeys(DIMENSIONS, 4)


def obj(**overrides) -> str:
    """A verdict with every dimension 4 unless overridden (None drops a key)."""
    values = {**ALL_FOURS, **overrides}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in values.items() if v is not None) + "}"


# ------------------------------------------------------------------ parse_verdict


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(GOOD, GOOD_SCORES, id="bare"),
        pytest.param(f"```json\n{GOOD}\n```", GOOD_SCORES, id="fenced"),
        pytest.param(f"Here is my evaluation:\n\n{GOOD}\n\nI hope this helps!", GOOD_SCORES, id="prose-around"),
        pytest.param(f"Format: {obj(Relevance=1)}\nMy verdict: {GOOD}", GOOD_SCORES, id="last-of-two"),
        pytest.param(f"{GOOD}\nAlso: {{\"Analysis\": \"x\", \"Relevance\": 5}}", GOOD_SCORES,
                     id="last-incomplete-skipped"),
        pytest.param(f"{obj(Clarity=2)} then {obj(Clarity=6)}", None, id="last-complete-out-of-range"),
        pytest.param(GOOD.replace("1}", "1,\n}"), GOOD_SCORES, id="trailing-comma"),
        pytest.param(GOOD.replace('"', "'"), GOOD_SCORES, id="single-quotes"),
        pytest.param(obj(Relevance='"4/5"', Clarity='"3 / 5"'), {**ALL_FOURS, "Clarity": 3}, id="slash-five"),
        pytest.param(obj(Accuracy="4.0", Coherence='"2"'), {**ALL_FOURS, "Coherence": 2}, id="float-and-string"),
        pytest.param('{"relevance": 4, "ACCURACY": 4, "coherence ": 4, "Clarity": 4, "breadth_and_depth": 2, '
                     '"reading experience": 4}', {**ALL_FOURS, "Breadth and Depth": 2}, id="key-case-underscore"),
        pytest.param(obj(**{"Breadth and Depth": None}).replace("}", ', "Breadth & Depth": 3}'),
                     {**ALL_FOURS, "Breadth and Depth": 3}, id="ampersand-key"),
        pytest.param('{"Analysis": "Uses {braces} and a stray } and {{ too", ' + obj()[1:], ALL_FOURS,
                     id="braces-in-analysis"),
        pytest.param(obj()[:-1] + ', "Analysis": "opens { and never closes it"}', ALL_FOURS,
                     id="open-brace-in-analysis"),
        pytest.param('{"Analysis": "结构清晰，但内容略显单薄。", ' + obj(Clarity=5)[1:], {**ALL_FOURS, "Clarity": 5},
                     id="chinese-analysis"),
        pytest.param('{"verdict": ' + obj(Relevance=2) + "}", {**ALL_FOURS, "Relevance": 2}, id="nested-object"),
        pytest.param('{"Analysis": "He said "fine" twice", ' + obj()[1:], ALL_FOURS, id="unescaped-quotes"),
        pytest.param(obj(Relevance=6), None, id="six-out-of-range"),
        pytest.param(obj(Clarity=0), None, id="zero-out-of-range"),
        pytest.param(obj(Accuracy=4.5), None, id="half-point"),
        pytest.param(obj(Coherence='"good"'), None, id="word-score"),
        pytest.param(obj(Coherence=None), None, id="missing-dimension"),
        pytest.param(obj(Coherence="true"), None, id="boolean-score"),
        pytest.param("", None, id="empty"),
        pytest.param("I cannot evaluate this response.", None, id="no-object"),
        pytest.param("Relevance: 4\nAccuracy: 4\nCoherence: 4\nClarity: 4\nBreadth and Depth: 4\n"
                     "Reading Experience: 4", None, id="prose-scores-without-object"),
        pytest.param('{"Analysis": "cut off by the token limit", "Relevance": 4, "Accura', None, id="truncated"),
    ],
)
def test_parse_verdict(text, expected):
    assert parse_verdict(text) == expected


def test_parse_verdict_returns_canonical_keys_in_order():
    scores = parse_verdict('{"reading_experience": 1, "breadth & depth": 2, "clarity": 3, "coherence": 4, '
                           '"accuracy": 5, "relevance": 5}')
    assert list(scores) == list(DIMENSIONS)
    assert all(type(v) is int for v in scores.values())


# ------------------------------------------------------------------ quality_score


@pytest.mark.parametrize(
    "scores, expected",
    [
        (dict.fromkeys(DIMENSIONS, 5), 100.0),
        (dict.fromkeys(DIMENSIONS, 1), 0.0),
        (GOOD_SCORES, 13 * 25 / 6),  # 5,4,4,3,2,1 → (4+3+3+2+1+0)*25 / 6
        (dict(zip(DIMENSIONS, (4, 4, 4, 4, 3, 3))), (3 * 4 + 2 * 2) * 25 / 6),
    ],
)
def test_quality_score(scores, expected):
    assert quality_score(scores) == pytest.approx(expected)


def test_quality_score_needs_every_dimension():
    with pytest.raises(ValueError, match="Clarity"):
        quality_score({d: 3 for d in DIMENSIONS if d != "Clarity"})


# ------------------------------------------------------------------ templates


def test_official_template_substitutes_both_fields():
    if not OFFICIAL_JUDGE.is_file():
        pytest.skip("benchmark data not available")
    template = JudgeTemplate.load(OFFICIAL_JUDGE)
    assert template.official
    prompt = template.render("Write about tides.", "The tide rises $INST$ twice a day.")
    assert "Write about tides." in prompt and "The tide rises $INST$ twice a day." in prompt
    assert "$RESPONSE$" not in prompt and prompt.count("$INST$") == 1  # only the one inside the response
    assert prompt.index("Write about tides.") < prompt.index("The tide rises")


def test_builtin_template_renders_and_names_every_dimension():
    template = JudgeTemplate.load()
    assert not template.official and template.source.endswith("judge.j2")
    prompt = template.render("Write about tides {{ x }}.", "Water moves.")
    assert "Write about tides {{ x }}." in prompt and "Water moves." in prompt
    for dimension in DIMENSIONS:
        assert f'"{dimension}"' in prompt and f"- {dimension}:" in prompt
    assert "length" in prompt.lower() and "JSON" in prompt


def test_custom_jinja_template(tmp_path):
    path = tmp_path / "mine.j2"
    path.write_text("Q: {{ instruction }}\nA: {{ response }}\nRate it.", encoding="utf-8")
    assert JudgeTemplate.load(path).render("q?", "a!") == "Q: q?\nA: a!\nRate it."


@pytest.mark.parametrize(
    "content, message",
    [
        ("Rate this text from 1 to 5.", "placeholder"),
        ("Only {{ instruction }} here.", "response"),
        ("Only $INST$ here.", "RESPONSE"),
        ("{{ instruction }} {{ response }} {{ rubric }}", "rubric"),
        ("{{ instruction }} {% if %}", "judge"),
    ],
)
def test_bad_template_is_a_usage_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as info:
        JudgeTemplate.load(path)
    assert str(path) in str(info.value)


def test_missing_template_file(tmp_path):
    with pytest.raises(UsageError, match="nope.txt"):
        JudgeTemplate.load(tmp_path / "nope.txt")


# ------------------------------------------------------------------ judging


def scripted(responses: list[str], **kw) -> tuple[LM, MockProvider]:
    provider = MockProvider(responses=list(responses), **kw)
    return LM(provider, max_retries=0), provider


def test_judge_response_retries_garbage_with_new_seeds():
    seen = []
    answers = iter(["I think it is good.", "```json\n" + GOOD + "\n```"])
    provider = MockProvider(responder=lambda messages, config: seen.append(config) or next(answers))
    verdict = judge_response(LM(provider), JudgeTemplate.load(), "Write.", "Text.")
    assert verdict.scores == GOOD_SCORES and verdict.attempts == 2
    assert verdict.S_q == pytest.approx(quality_score(GOOD_SCORES))
    assert GOOD in verdict.raw
    assert [c.seed for c in seen] == [0, 1]
    assert all(c.temperature == 0.5 for c in seen)
    assert "Text." in provider.calls[0][0]["content"]


def test_judge_response_unscored_after_all_attempts():
    lm, provider = scripted(["nope", "still nope", '{"Relevance": 9}', "never asked"])
    verdict = judge_response(lm, JudgeTemplate.load(), "Write.", "Text.", attempts=3)
    assert verdict.scores is None and verdict.S_q is None  # unscored, not 0
    assert verdict.attempts == 3 and len(provider.calls) == 3
    assert verdict.raw == '{"Relevance": 9}'


def test_judge_response_config_override():
    seen = []
    provider = MockProvider(responder=lambda m, c: seen.append(c) or GOOD)
    judge_response(LM(provider), JudgeTemplate.load(), "W", "T", config=GenerationConfig(max_tokens=64, seed=7))
    assert seen[0].max_tokens == 64 and seen[0].seed == 7


def test_judge_response_backend_error_propagates():
    lm, _ = scripted([GOOD], fail=1)  # one transient failure and no retries left: a BackendError
    with pytest.raises(BackendError):
        judge_response(lm, JudgeTemplate.load(), "Write.", "Text.")


def test_judge_rows_keeps_order_under_concurrency():
    release = threading.Event()  # row 0 answers only after row 2 is done: completion order != input order

    def respond(messages, config):
        content = messages[0]["content"]
        if "response 0" in content:
            assert release.wait(5)
            return obj(Relevance=1)
        return "garbage" if "response 1" in content else obj(Relevance=3)

    def on_done(i, row):
        done.append(i)
        if i == 2:
            release.set()

    rows = [{"id": i, "prompt": f"prompt {i}", "response": f"response {i}"} for i in range(3)]
    done = []
    lm = LM(MockProvider(responder=respond, concurrency=4))
    judged = judge_rows(lm, JudgeTemplate.load(), rows, attempts=2, concurrency=2, on_done=on_done)
    assert [r["id"] for r in judged] == [0, 1, 2]
    assert judged[0]["judge"]["scores"]["Relevance"] == 1 and judged[0]["judge"]["S_q"] is not None
    assert judged[1]["judge"]["scores"] is None and judged[1]["judge"]["raw"] == "garbage"
    assert judged[1]["judge"]["S_q"] is None and judged[1]["judge"]["attempts"] == 2
    assert judged[2]["judge"]["scores"]["Relevance"] == 3
    assert done[-1] == 0 and sorted(done) == [0, 1, 2]
    assert "judge" not in rows[0]  # inputs untouched


def test_judge_rows_sequential_calls_on_done_in_order():
    lm, _ = scripted([GOOD, GOOD])
    done = []
    judged = judge_rows(lm, JudgeTemplate.load(), [{"prompt": "a", "response": "b"}, {"prompt": "c"}],
                        on_done=lambda i, row: done.append((i, row["judge"]["S_q"])))
    assert [i for i, _ in done] == [0, 1]
    assert all(r["judge"]["scores"] == GOOD_SCORES for r in judged)
