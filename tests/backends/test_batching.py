"""Continuous batching in the embedded backend: concurrent calls on one model decoded together
(backends/batching.py), each with its own KV cells, sampler and guards, joining and leaving
between steps. The real SmolLM2 model, small token counts."""

from __future__ import annotations

import threading

import pytest

from longform.backends import GenerationConfig, load_backend
from longform.errors import BackendError

pytest.importorskip("llama_cpp")

TOPICS = ["tides", "ships", "gulls", "quays"]


def _messages(topic: str) -> list[dict]:
    return [{"role": "user", "content": f"Write a short paragraph about {topic}."}]


@pytest.fixture(scope="module")
def serial():
    return load_backend("embedded?threads=1")


@pytest.fixture(scope="module")
def batched():
    return load_backend("embedded?threads=1&parallel=4")


def _together(lm, calls: list[tuple[list[dict], GenerationConfig]]) -> list:
    """Run the calls at once from threads, as the pipeline's workers do."""
    out: list = [None] * len(calls)

    def one(i: int) -> None:
        out[i] = lm.complete(*calls[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return out


def test_the_batched_backend_says_how_many_calls_it_takes(batched, serial):
    assert batched.provider.max_concurrency == 4 and serial.provider.max_concurrency == 1


def test_a_call_alone_samples_what_the_serial_path_samples(serial, batched):
    config = GenerationConfig(max_tokens=32, seed=11)
    assert batched.complete(_messages("tides"), config).text == serial.complete(_messages("tides"), config).text


def test_concurrent_calls_each_write_their_own_text(serial, batched):
    """Each sequence has its own KV cells and its own sampler: four seeded calls at once give four
    different full-length texts, each opening as its serial text opens. Exact equality is not
    promised: with other rows in the batch llama.cpp may take another matmul kernel, and a last-bit
    change in the logits can flip a later sampled token (seen once in CI, after 9 tokens)."""
    calls = [(_messages(t), GenerationConfig(max_tokens=24, seed=5 + i)) for i, t in enumerate(TOPICS)]
    together = _together(batched, calls)
    alone = [serial.complete(*call) for call in calls]
    assert [c.completion_tokens for c in together] == [24] * len(TOPICS)
    assert len({c.text for c in together}) == len(TOPICS)  # four different texts, not one copied
    assert all(t.text.split()[:2] == a.text.split()[:2] for t, a in zip(together, alone))


def test_calls_join_and_leave_between_steps(batched):
    """A short call ends while long ones go on; more calls than slots wait and join as slots free up."""
    limits = [4, 40, 8, 40, 6, 12]
    calls = [(_messages(TOPICS[i % 4]), GenerationConfig(max_tokens=n, seed=i)) for i, n in enumerate(limits)]
    done = _together(batched, calls)
    assert [c.completion_tokens for c in done] == limits
    assert all(c.finish_reason == "length" and c.text.strip() for c in done)


def test_a_continuing_prompt_reuses_its_slots_cache(batched):
    first = batched.complete(_messages("harbours"), GenerationConfig(max_tokens=16, seed=1))
    follow = _messages("harbours") + [{"role": "assistant", "content": first.text}]
    again = batched.complete(follow, GenerationConfig(max_tokens=8, seed=2))
    assert again.cached_tokens >= first.prompt_tokens  # the prompt and the reply were not read again


def test_a_stream_consumer_that_raises_stops_only_its_own_call(batched):
    class Stop(Exception):
        pass

    def refuse(_text: str) -> None:
        raise Stop()

    results: dict = {}

    def cancelled() -> None:
        try:
            batched.provider.generate(_messages("gulls"), GenerationConfig(max_tokens=30, seed=3), on_delta=refuse)
        except Stop:
            results["cancelled"] = True

    thread = threading.Thread(target=cancelled)
    thread.start()
    other = batched.complete(_messages("ships"), GenerationConfig(max_tokens=20, seed=4))
    thread.join(120)
    assert results.get("cancelled") and other.completion_tokens == 20


def test_greedy_calls_decoded_together_match_one_at_a_time(serial, batched):
    """Greedy decoding has no draw to shift: each batched text equals its serial one. (An exact tie
    between the two best logits could still flip on a last-bit difference; none in these calls.)"""
    greedy = dict(temperature=0, repetition_penalty=1.0)
    limits = [24, 10, 24, 16, 20]  # five calls, four slots: one joins when the 10-token call leaves
    calls = [(_messages(t), GenerationConfig(max_tokens=n, min_tokens=n, **greedy))
             for t, n in zip(TOPICS + ["rope"], limits)]
    together = _together(batched, calls)
    assert [c.text for c in together] == [serial.complete(*call).text for call in calls]


def test_a_prompt_too_long_for_the_window_fails_alone(batched):
    huge = [{"role": "user", "content": "tide " * batched.context_window}]
    calls = [(_messages("ships"), GenerationConfig(max_tokens=12, seed=1)), (huge, GenerationConfig(max_tokens=8)),
             (_messages("quays"), GenerationConfig(max_tokens=12, seed=2))]
    out: list = [None] * 3

    def one(i: int) -> None:
        try:
            out[i] = batched.provider.generate(*calls[i])
        except BackendError as exc:
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert isinstance(out[1], BackendError) and "window" in str(out[1])
    assert out[0].completion_tokens == 12 and out[2].completion_tokens == 12


def test_batch_rows_run_in_sequence_id_order(batched, monkeypatch):
    """llama.cpp cuts a batch into micro-batches where sequence ids are out of order (P8: as slow as
    serial), so every batch the decoder builds lists its rows by slot, a slot's rows together."""
    decoder = batched.provider._batcher
    seen: list[list[int]] = []
    original = decoder._fill
    monkeypatch.setattr(decoder, "_fill", lambda rows: seen.append([r[2] for r in rows]) or original(rows))
    _together(batched, [(_messages(t), GenerationConfig(max_tokens=6 + 3 * i, seed=i)) for i, t in enumerate(TOPICS)])
    assert any(len(set(slots)) > 1 for slots in seen)  # calls were decoded together
    assert all(slots == sorted(slots) for slots in seen)


def test_more_calls_than_slots_wait_for_one_even_past_the_lm_wrapper(batched):
    """The LM wrapper lets only `slots` calls in; the decoder itself must also queue the rest, not
    hand a call a slot that is not free."""
    calls = [(_messages(t), GenerationConfig(max_tokens=6, seed=i)) for i, t in enumerate(TOPICS + TOPICS)]
    out: list = [None] * len(calls)

    def one(i: int) -> None:
        out[i] = batched.provider.generate(*calls[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert [c.completion_tokens for c in out] == [6] * len(calls)


def test_the_thread_count_holds_for_prompts_and_batches_too(batched):
    """llama.cpp reads prompts and decodes batched steps with its *batch* thread count, by default
    every core: with threads=1 beside another job, 8 batched streams ran 4x slower than one alone."""
    import llama_cpp

    provider = batched.provider
    assert llama_cpp.llama_n_threads(provider.llm.ctx) == 1
    assert llama_cpp.llama_n_threads_batch(provider.llm.ctx) == 1
    assert llama_cpp.llama_n_threads_batch(provider._batcher.ctx) == 1
