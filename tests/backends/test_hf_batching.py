"""Continuous batching in the hf backend (backends/hf_batching.py) on a tiny random Llama: concurrent
calls decoded together, each with its own cache rows, processors and generator, joining and leaving
between steps. Reference outputs come from transformers' own `generate`."""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from longform.backends import GenerationConfig, load_backend
from longform.errors import BackendError

TOPICS = ["tides", "a lighthouse keeper and his dog in a storm at sea", "gulls", "the harbour at dawn", "rope"]
GREEDY = dict(temperature=0, repetition_penalty=1.0, no_repeat_ngram=0)


def _messages(topic: str) -> list[dict]:
    return [{"role": "user", "content": f"Write about {topic}."}]


@pytest.fixture(scope="module")
def lm(tiny_model):
    return load_backend(f"hf:{tiny_model}", batch_size=4)


def _reference(lm, messages, max_tokens: int) -> str:
    """What transformers' `generate` writes greedily for `messages`, alone."""
    import torch

    provider = lm.provider
    ids = provider.tokenizer(provider._render(messages), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = provider.model.generate(ids, max_new_tokens=max_tokens, do_sample=False, min_new_tokens=max_tokens,
                                      pad_token_id=provider.tokenizer.pad_token_id)
    return provider.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def _together(lm, calls, start_gaps: float = 0.0) -> list:
    out: list = [None] * len(calls)

    def one(i: int) -> None:
        try:
            out[i] = lm.provider.generate(*calls[i])
        except BackendError as exc:
            out[i] = exc

    threads = []
    for i in range(len(calls)):
        threads.append(threading.Thread(target=one, args=(i,)))
        threads[-1].start()
        threading.Event().wait(start_gaps)  # later calls join a batch already running
    for t in threads:
        t.join(300)
    return out


def test_greedy_calls_decoded_together_write_what_generate_writes_alone(lm):
    limits = [12, 30, 6, 24, 18]  # five calls for four slots: one waits, joins when a short one leaves
    calls = [(_messages(t), GenerationConfig(max_tokens=n, min_tokens=n, **GREEDY)) for t, n in zip(TOPICS, limits)]
    together = _together(lm, calls, start_gaps=0.05)
    assert [c.completion_tokens for c in together] == limits
    assert [c.text for c in together] == [_reference(lm, m, n) for (m, _), n in zip(calls, limits)]
    assert len({c.text for c in together}) == len(TOPICS)


def test_a_sampled_call_draws_from_its_own_generator(lm):
    """A seeded call writes the same text alone and beside others: its draws are its own."""
    config = GenerationConfig(max_tokens=16, seed=9)
    alone = lm.complete(_messages("tides"), config).text
    others = [(_messages(t), GenerationConfig(max_tokens=20, seed=i)) for i, t in enumerate(TOPICS[1:])]
    together = _together(lm, [(_messages("tides"), config)] + others)
    assert together[0].text == alone
    assert len({c.text for c in together}) == len(together)


def test_a_cancelled_stream_leaves_and_the_others_finish(lm):
    class Cancelled(Exception):
        pass

    seen = []

    def cancel_after_three(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            raise Cancelled()

    outcome = {}

    def cancelled() -> None:
        try:
            lm.provider.generate(_messages("gulls"), GenerationConfig(max_tokens=40, **GREEDY), cancel_after_three)
        except Cancelled:
            outcome["cancelled"] = True

    thread = threading.Thread(target=cancelled)
    thread.start()
    other = lm.provider.generate(_messages("rope"), GenerationConfig(max_tokens=20, min_tokens=20, **GREEDY))
    thread.join(120)
    assert outcome.get("cancelled") and len(seen) == 3
    assert other.text == _reference(lm, _messages("rope"), 20)
    assert lm.provider._decoder.active == []  # nothing left behind in the batch


def test_a_prompt_that_overflows_the_window_fails_alone(lm):
    window = lm.context_window
    huge = [{"role": "user", "content": "word " * window}]
    calls = [(_messages("tides"), GenerationConfig(max_tokens=10, min_tokens=10, **GREEDY)),
             (huge, GenerationConfig(max_tokens=10)),
             (_messages("gulls"), GenerationConfig(max_tokens=10, min_tokens=10, **GREEDY))]
    out = _together(lm, calls)
    assert isinstance(out[1], BackendError) and "window" in str(out[1])
    assert [out[0].text, out[2].text] == [_reference(lm, _messages(t), 10) for t in ("tides", "gulls")]


def test_a_reply_stops_at_the_models_window(tiny_model):
    lm = load_backend(f"hf:{tiny_model}")
    window = lm.context_window
    messages = [{"role": "user", "content": "word " * (window - 40)}]
    room = window - lm.count_tokens(messages)
    c = lm.complete(messages, GenerationConfig(max_tokens=500, min_tokens=500, **GREEDY))
    assert c.finish_reason == "length" and c.completion_tokens == room
