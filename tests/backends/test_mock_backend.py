"""The mock backend: deterministic lorem prose and plans, scripts, responders, injected failures."""

from __future__ import annotations

import pytest

from longform.backends import GenerationConfig, TransientError, load_backend
from longform.backends.mock import MockProvider
from longform.errors import BackendError, UsageError
from longform.pipeline.plan import parse_plan

SYSTEM = {"role": "system", "content": "You are a careful writer."}


def ask(text: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": text}]


def words(text: str) -> int:
    return len(text.split())


def test_deterministic_across_instances():
    messages = ask("Write a scene in a harbor. Write about 300 words.")
    config = GenerationConfig(seed=42)
    a = MockProvider().generate(messages, config).text
    b = MockProvider().generate(list(messages), config).text
    assert a == b
    assert words(a) == 300
    # the seed and the conversation both change the text
    assert MockProvider().generate(messages, GenerationConfig(seed=43)).text != a
    assert MockProvider().generate(ask("Write a scene in a harbor. Write about 300 words!"), config).text != a


def test_deterministic_through_load_backend():
    messages = ask("Describe the winter market in about 120 words.")
    one = load_backend("mock:lorem").complete(messages, GenerationConfig(seed=1))
    two = load_backend("mock:lorem").complete(messages, GenerationConfig(seed=1))
    assert one.text == two.text and words(one.text) == 120


@pytest.mark.parametrize("total", [1200, 3000, 10000])
def test_plan_request_gives_a_parsable_plan(total):
    messages = ask(f"Make an outline for this writing task.\n\nTask: a story.\n\n"
                   f"Split the text into parts, about {total:,} words in total. Write one line per part, like this:\n"
                   f"1. What this part covers - 300 words\nOutput only the numbered outline, nothing else.")
    text = MockProvider().generate(messages, GenerationConfig(seed=3)).text
    sections = parse_plan(text)
    assert len(sections) >= 2
    assert [s.index for s in sections] == list(range(1, len(sections) + 1))
    assert all(s.words for s in sections)
    assert sum(s.words for s in sections) == total
    assert len({s.point for s in sections}) == len(sections)


@pytest.mark.parametrize("n", [1, 17, 250, 700])
def test_about_n_words(n):
    c = MockProvider().generate(ask(f"Now write part 2. Write about {n} words in flowing paragraphs."),
                                GenerationConfig(max_tokens=2000, seed=5))
    assert words(c.text) == n
    assert c.finish_reason == "stop"
    assert c.text.endswith(".")
    assert c.completion_tokens == round(n / 0.75)


def test_default_length_when_none_is_asked():
    c = MockProvider(default_words=55).generate(ask("Tell me about lighthouses."), GenerationConfig())
    assert words(c.text) == 55


def test_max_tokens_caps_with_length_finish():
    c = MockProvider().generate(ask("Write about 500 words."), GenerationConfig(max_tokens=100, seed=1))
    assert c.finish_reason == "length"
    assert words(c.text) == 75  # 100 tokens × 0.75 words per token
    assert c.completion_tokens == 100


def test_prompt_tokens_are_counted():
    p = MockProvider()
    messages = ask("Write about 10 words.")
    assert p.generate(messages, GenerationConfig()).prompt_tokens == p.count_tokens(messages) > 0


def test_scripted_responses_in_order():
    p = MockProvider(mode="script", responses=["first answer", "second answer", "third"])
    got = [p.generate(ask(f"q{i}"), GenerationConfig()).text for i in range(3)]
    assert got == ["first answer", "second answer", "third"]
    assert len(p.calls) == 3 and p.calls[1][-1]["content"] == "q1"


def test_scripted_responses_are_still_capped():
    p = MockProvider(responses=["one two three four five six seven eight"])
    c = p.generate(ask("x"), GenerationConfig(max_tokens=4))
    assert c.text == "one two three" and c.finish_reason == "length"


def test_responder_sees_messages_and_config():
    seen = []

    def responder(messages, config):
        seen.append((messages[-1]["content"], config.seed))
        return f"reply to {messages[-1]['content']}"

    p = MockProvider(responder=responder)
    assert p.generate(ask("hello"), GenerationConfig(seed=9)).text == "reply to hello"
    assert p.generate(ask("again"), GenerationConfig(seed=10)).text == "reply to again"
    assert seen == [("hello", 9), ("again", 10)]


def test_unknown_mode():
    with pytest.raises(ValueError):
        MockProvider(mode="nope")
    with pytest.raises(UsageError):
        load_backend("mock:nope")
    with pytest.raises(UsageError, match="bad option"):
        load_backend("mock:lorem?bogus=1")


def test_spec_options_are_parsed():
    lm = load_backend("mock:lorem?delay=0.01&fail=3&default_words=42")
    assert lm.provider.delay == 0.01
    assert lm.provider.fails_left == 3
    assert lm.provider.default_words == 42
    assert lm.name == "mock" and lm.supports_prefill


def test_fail_n_raises_transient_error_n_times():
    p = MockProvider(fail=2)
    messages = ask("Write about 20 words.")
    for _ in range(2):
        with pytest.raises(TransientError):
            p.generate(messages, GenerationConfig())
    assert p.calls == []  # failed calls are not recorded
    assert words(p.generate(messages, GenerationConfig()).text) == 20
    assert len(p.calls) == 1


def test_fail_is_retried_by_lm():
    lm = load_backend("mock:lorem?fail=2")
    lm.backoff_base = 0.001
    retries = []
    c = lm.complete(ask("Write about 20 words."), GenerationConfig(), on_retry=lambda a, e: retries.append(a))
    assert c.attempts == 3 and retries == [1, 2]
    assert lm.usage.retries == 2 and lm.usage.calls == 1


def test_fail_beyond_max_retries_is_backend_error():
    lm = load_backend("mock:lorem?fail=5", max_retries=2)
    lm.backoff_base = 0.001
    with pytest.raises(BackendError, match="gave up after 3 attempts"):
        lm.complete(ask("Write about 20 words."))
    assert lm.provider.fails_left == 2


def test_prefill_plan_continues_the_list():
    messages = ask("Make an outline for this writing task. About 2000 words in total.") + [
        {"role": "assistant", "content": "1."}]
    text = MockProvider().generate(messages, GenerationConfig(seed=2)).text
    assert not text.startswith("1.")  # only the continuation comes back
    assert text.startswith(" Section")
    sections = parse_plan("1." + text)
    assert sections[0].index == 1 and sum(s.words for s in sections) == 2000


def test_prefill_prose_is_not_repeated():
    heading = "## The Harbor\n\n"
    messages = ask("Write about 80 words.") + [{"role": "assistant", "content": heading}]
    text = MockProvider().generate(messages, GenerationConfig(seed=2)).text
    assert "##" not in text and "Harbor\n" not in text
    assert words(text) == 80


def test_deltas_concatenate_to_text():
    deltas: list[str] = []
    c = MockProvider().generate(ask("Write about 100 words."), GenerationConfig(seed=4), on_delta=deltas.append)
    assert len(deltas) > 1
    assert "".join(deltas) == c.text


def test_delay(monkeypatch):
    slept = []
    monkeypatch.setattr("longform.backends.mock.time.sleep", slept.append)
    MockProvider(delay=0.25).generate(ask("Write about 5 words."), GenerationConfig())
    assert slept == [0.25]
