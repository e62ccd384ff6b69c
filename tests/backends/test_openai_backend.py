"""The openai backend against a real OpenAI-compatible server (llama-cpp-python
serving SmolLM2-135M), directly and through a fault-injecting proxy.

One server runs for the whole module; every call asks for a few tokens so the
file takes 20-40 s on two free CPU cores (under 2 minutes when they are busy).
"""

from __future__ import annotations

import json
import time

import pytest

from helpers.servers import FaultProxy, free_port, llama_server
from longform.backends import GenerationConfig, load_backend
from longform.backends.base import TransientError
from longform.backends.openai_compat import OpenAIProvider
from longform.errors import BackendError
from longform.pipeline.drafts import SectionSettings
from longform.pipeline.events import Callbacks
from longform.pipeline.runner import AgentWrite, WriteSettings

HELLO = [{"role": "user", "content": "Say hello to a friend in one short sentence."}]
SHORT = GenerationConfig(max_tokens=24, seed=1)


@pytest.fixture(scope="module")
def server_url(llama_server_url):
    return llama_server_url


def make_lm(url: str, max_retries: int = 3, **options):
    lm = load_backend(f"openai:{url}#smollm2", max_retries=max_retries, **options)
    lm.backoff_base = 0.01  # retries in milliseconds, not seconds
    return lm


class Stream:
    """Collects streamed deltas the way a UI must: forget them when a retry starts."""

    def __init__(self):
        self.parts: list[str] = []
        self.discarded: list[str] = []  # text of attempts that failed
        self.retries: list[Exception] = []

    def delta(self, text: str) -> None:
        self.parts.append(text)

    def retry(self, attempt: int, error: Exception) -> None:
        self.discarded.append("".join(self.parts))
        self.parts.clear()
        self.retries.append(error)

    @property
    def text(self) -> str:
        return "".join(self.parts)


# -- the real server ---------------------------------------------------------


def test_non_streaming_completion_reports_real_usage(server_url):
    lm = make_lm(server_url, stream=False)
    c = lm.complete(HELLO, SHORT)
    assert c.text.strip()
    assert c.finish_reason in {"stop", "length"}
    assert c.prompt_tokens > 10  # counted by the server (chat template included), not estimated
    assert 0 < c.completion_tokens <= 24
    assert c.attempts == 1 and c.seconds > 0
    assert lm.usage.calls == 1 and lm.usage.completion_tokens == c.completion_tokens


def test_max_tokens_is_honoured_and_reported_as_length(server_url):
    lm = make_lm(server_url, stream=False)
    c = lm.complete([{"role": "user", "content": "Write a long story about a dragon."}], GenerationConfig(max_tokens=8))
    assert c.finish_reason == "length"
    assert c.completion_tokens == 8


def test_streaming_deltas_add_up_to_the_completion(server_url):
    lm = make_lm(server_url)
    stream = Stream()
    c = lm.complete(HELLO, SHORT, on_delta=stream.delta)
    assert c.text.strip()
    assert len(stream.parts) > 1  # it really streamed
    assert stream.text == c.text
    assert c.finish_reason in {"stop", "length"}
    # llama-cpp-python sends no usage in streams: the provider falls back to estimates.
    assert c.prompt_tokens > 0 and c.completion_tokens > 0


def test_same_seed_same_text_in_both_modes(server_url):
    config = GenerationConfig(max_tokens=16, seed=7, temperature=0.0)
    streamed = make_lm(server_url).complete(HELLO, config)
    plain = make_lm(server_url, stream=False).complete(HELLO, config)
    assert streamed.text == plain.text


def test_batch_runs_concurrently_and_keeps_order(server_url):
    # Prompts of growing length: the server's own prompt_tokens count tells the answers apart.
    batch = [[{"role": "user", "content": "Write one sentence about bread. " * n}] for n in (1, 3, 6, 10)]
    with FaultProxy(server_url) as proxy:
        lm = make_lm(proxy.url, stream=False)
        results = lm.chat(batch, GenerationConfig(max_tokens=12, seed=3))
        assert proxy.max_in_flight > 1  # the calls overlapped
    assert len(results) == 4 and all(r.text.strip() and r.attempts == 1 for r in results)
    tokens = [r.prompt_tokens for r in results]
    assert tokens == sorted(set(tokens))


def test_server_that_interrupts_streams_needs_serial_calls():
    """Stock llama-cpp-python cuts a running stream when a new request arrives;
    with concurrency=1 the provider never overlaps calls and nothing is cut."""
    batch = [[{"role": "user", "content": f"Write one sentence about the number {i}."}] for i in range(3)]
    with llama_server(interrupt_requests=True) as url, FaultProxy(url) as proxy:
        lm = make_lm(proxy.url, concurrency=1)
        results = lm.chat(batch, GenerationConfig(max_tokens=12))
        assert proxy.max_in_flight == 1
    assert [r.attempts for r in results] == [1, 1, 1] and all(r.text.strip() for r in results)


def test_context_overflow_is_a_backend_error_not_text(server_url):
    too_long = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(BackendError, match=r"HTTP 400.*context"):
        make_lm(server_url, stream=False).complete(too_long, GenerationConfig(max_tokens=8))
    # Streaming, llama-cpp-python answers 200 with an empty body (its own bug); the
    # provider cannot tell that from a dropped connection, retries, then gives up.
    with pytest.raises(BackendError, match="gave up after 2 attempts"):
        make_lm(server_url, max_retries=1).complete(too_long, GenerationConfig(max_tokens=8))


# -- faults through the proxy ---------------------------------------------------


@pytest.mark.parametrize(
    "stream, fault",
    [(True, 503), (True, 429), (True, "drop"), (True, "interrupt"), (True, "garbage"),
     (False, 503), (False, 502), (False, "drop"), (False, "garbage")],
)
def test_transient_fault_is_retried(server_url, stream, fault):
    with FaultProxy(server_url, faults={1: fault}) as proxy:
        lm = make_lm(proxy.url, stream=stream)
        out = Stream()
        c = lm.complete(HELLO, SHORT, on_delta=out.delta, on_retry=out.retry)
        assert c.text.strip() and c.attempts == 2
        assert [r.number for r in proxy.chat_requests] == [1, 2]
        assert proxy.chat_requests[1].fault is None
    assert len(out.retries) == 1 and isinstance(out.retries[0], TransientError)
    assert lm.usage.retries == 1 and lm.usage.calls == 1
    if stream:
        assert out.text == c.text  # only the successful attempt's deltas survive a reset
    if stream and fault == "drop":
        assert out.discarded[0]  # the cut came mid-stream, after some text had arrived
    assert "FaultProxy" not in c.text and "not json" not in c.text


def test_read_timeout_is_retried(server_url):
    with FaultProxy(server_url, faults={1: "stall"}, stall_seconds=60) as proxy:
        lm = make_lm(proxy.url, timeout=1.0)
        out = Stream()
        c = lm.complete(HELLO, SHORT, on_retry=out.retry)
        assert c.attempts == 2 and c.text.strip()
        assert "ReadTimeout" in str(out.retries[0])  # gave up after 1 s, not after the 60 s stall
        assert proxy.statuses == [0, 200]


def test_more_faults_than_retries_raise_backend_error(server_url):
    with FaultProxy(server_url, faults={1: 503, 2: "drop", 3: 429}) as proxy:
        lm = make_lm(proxy.url, max_retries=2)
        with pytest.raises(BackendError, match="gave up after 3 attempts.*HTTP 429") as info:
            lm.complete(HELLO, SHORT)
        assert len(proxy.chat_requests) == 3  # no fourth try
    assert isinstance(info.value.__cause__, TransientError)
    assert lm.usage.calls == 0


@pytest.mark.parametrize("stream", [True, False])
def test_client_error_is_not_retried(server_url, stream):
    with FaultProxy(server_url, faults={1: 400}) as proxy:
        lm = make_lm(proxy.url, max_retries=5, stream=stream)
        retried = []
        with pytest.raises(BackendError, match="HTTP 400") as info:
            lm.complete(HELLO, SHORT, on_retry=lambda *a: retried.append(a))
        assert proxy.statuses == [400] and not retried
    assert "fault injected by FaultProxy" in str(info.value)  # the server's own message is kept


def test_unreachable_server_fails_fast():
    url = f"http://127.0.0.1:{free_port()}/v1"
    provider = OpenAIProvider(base_url=url, model="m")
    started = time.perf_counter()
    with pytest.raises(BackendError, match="cannot reach"):
        provider.check()
    lm = make_lm(url, max_retries=1)
    with pytest.raises(BackendError, match="gave up after 2 attempts.*ConnectError"):
        lm.complete(HELLO, SHORT)
    assert time.perf_counter() - started < 5


# -- completions mode: the chat template rendered on our side -----------------


def test_completions_mode_continues_an_assistant_reply(server_url):
    lm = make_lm(server_url, template="embedded", stream=False)
    assert lm.supports_prefill
    prefix = "My favourite fruit is the"
    c = lm.complete([{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": prefix}],
                    GenerationConfig(max_tokens=12, seed=1, temperature=0.0))
    assert c.text.strip() and not c.text.startswith(prefix)  # only the new text comes back
    assert c.text[0] == " "  # it goes on from "the", mid-sentence, not as a new reply
    assert c.prompt_tokens > 20  # the server counted the rendered template, system prompt included


def test_completions_mode_sends_min_tokens_which_the_server_honours(server_url):
    lm = make_lm(server_url, template="embedded", stream=False)
    question = [{"role": "user", "content": "Is water wet? Answer with one word."}]
    free = lm.complete(question, GenerationConfig(max_tokens=80, seed=1, temperature=0.0))
    held = lm.complete(question, GenerationConfig(max_tokens=80, min_tokens=45, seed=1, temperature=0.0))
    assert free.finish_reason == "stop" and free.completion_tokens < 45
    assert held.completion_tokens >= 45
    assert held.text.startswith(free.text.rstrip()[:20])  # same greedy start, kept going


def test_chat_mode_cannot_continue_a_reply(server_url):
    assert not make_lm(server_url).supports_prefill


# -- the whole engine through the proxy -------------------------------------


class Recorder(Callbacks):
    def __init__(self):
        self.resets: list[tuple[int, str]] = []

    def on_section_reset(self, section, reason):
        self.resets.append((section.index, reason))


ENGINE_FAULTS = {2: 503, 3: "drop"}  # call 1 is the plan; 2 and 3 are tries of section 1


@pytest.fixture(scope="module")
def engine_run(server_url, tmp_path_factory):
    """One AgentWrite run over the openai backend whose first section call fails twice."""
    settings = WriteSettings(
        target_words=600, seed=5, plan_attempts=1,  # one plan call (two sections), so call 2 is a section
        # The runner overrides generation.max_tokens: 1024 for the plan, and for a
        # section budget × tokens_per_word × headroom, here 1.5 × its words.
        generation=GenerationConfig(max_tokens=256),
        section=SectionSettings(attempts=1, headroom=1.0),  # one draft a section: no regeneration
    )
    recorder = Recorder()
    with FaultProxy(server_url, faults=ENGINE_FAULTS) as proxy:
        lm = make_lm(proxy.url, max_retries=3)
        writer = AgentWrite(lm, settings, callbacks=[recorder])
        out = tmp_path_factory.mktemp("run") / "bees"
        result = writer.run("Write a 600-word article about how bees make honey.", out)
    return result, proxy, lm, recorder


def test_engine_survives_faults_with_real_text(engine_run):
    result, proxy, lm, _ = engine_run
    assert result.sections and all(s.text.strip() for s in result.sections)
    assert result.words > 0
    assert [r.fault for r in proxy.chat_requests[1:3]] == [503, "drop"]
    assert lm.usage.retries == 2
    document = result.document.read_text()
    assert document.strip() == result.text.strip()
    for leak in ("FaultProxy", "HTTP 503", '"error"', "RemoteProtocolError", "Traceback", "[DONE]"):
        assert leak not in document
    trace = json.loads((result.path / "trace.json").read_text())
    # one record per successful call: the two failed tries of section 1 leave none
    assert len(trace["calls"]) == len(proxy.chat_requests) - 2
    stages = [c["stage"] for c in trace["calls"]]
    # the last section may take a second call to write on to the target
    assert stages[0] == "plan" and set(stages[1:]) == {"section"} and len(stages) > len(result.sections)


def test_trace_records_transport_retries(engine_run):
    result, *_ = engine_run
    trace = json.loads((result.path / "trace.json").read_text())
    first_section = trace["calls"][1]
    assert first_section["stage"] == "section" and first_section["retries"] == 2
    assert trace["totals"]["retries"] == 2


def test_stream_consumers_hear_of_the_retry(engine_run):
    _, _, _, recorder = engine_run
    assert any(index == 1 for index, _ in recorder.resets)


def test_engine_over_completions_mode_extends_one_prompt(server_url, tmp_path):
    """With a template the engine picks the continuous layout: every section's
    prompt starts with the previous one, which a server's prefix cache can reuse."""
    settings = WriteSettings(target_words=600, seed=3, plan_attempts=1)  # two sections: a plan call first
    with FaultProxy(server_url) as proxy:
        lm = make_lm(proxy.url, template="embedded")
        result = AgentWrite(lm, settings).run("Write a 600-word note about tides.", tmp_path / "tides")
    prompts = [r.json()["prompt"] for r in proxy.chat_requests[1:]]  # after the plan
    assert len(prompts) >= 2 and all(r.path.endswith("/v1/completions") for r in proxy.chat_requests)
    for earlier, later in zip(prompts, prompts[1:]):
        assert later.startswith(earlier)
    assert result.words > 0 and all(s.text.strip() for s in result.sections)
