"""Jobs tied to their clients, and the standard chat-completions fields, against the real openai
SDK and httpx: a timed-out or hung-up client cancels its job, a retry joins it, and max_tokens,
n, stop, temperature, top_p and system messages all do what the API says."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from helpers.servers import client, running
from longform.text import count_words

SLOW_MOCK = "mock:lorem?delay=1.0"  # a second a call: a 3,000-word job runs for many seconds


def _wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_timed_out_call_with_retries_makes_one_job_and_leaves_none_running(tmp_path):
    with running(tmp_path / "jobs", SLOW_MOCK, workers=2, detach_grace=2.0) as (url, manager):
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=2, timeout=1.0)
        ask = {"model": "longform", "messages": [{"role": "user", "content": "Write about sails."}],
               "extra_body": {"max_words": 3000}}
        with pytest.raises(openai.APITimeoutError):
            sdk.chat.completions.create(**ask)
        assert len(manager.list()) == 1  # three tries, one job
        job = manager.list()[0]
        assert _wait_for(lambda: job.status == "cancelled", 15), job.status
        assert job.error == "client went away" and job.run_dir.exists()
        # asked again, the same request picks the job up where it stopped and finishes it
        sections_before = len(list((job.run_dir / "sections").glob("*.json")))
        reply = client(url).chat.completions.create(**ask, timeout=300)
        assert reply.id == f"chatcmpl-{job.id}" and job.status == "done" and len(manager.list()) == 1
        assert len(list((job.run_dir / "sections").glob("*.json"))) >= sections_before


def test_a_stream_whose_client_hangs_up_is_cancelled(tmp_path):
    with running(tmp_path / "jobs", SLOW_MOCK, workers=1, detach_grace=0.5) as (url, manager):
        body = {"model": "longform", "stream": True, "max_words": 3000,
                "messages": [{"role": "user", "content": "Write about ropes."}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as response:
            first = next(response.iter_lines())
        assert first.startswith("data: ")
        job = manager.list()[0]
        assert _wait_for(lambda: job.status == "cancelled", 15), job.status
        assert job.error == "client went away"


def test_an_idempotency_key_joins_the_first_job_and_a_new_body_starts_another(tmp_path):
    with running(tmp_path / "jobs", workers=2) as (url, manager):
        sdk = client(url)
        ask = lambda text, **kw: sdk.chat.completions.create(  # noqa: E731
            model="longform", messages=[{"role": "user", "content": text}], extra_body={"max_words": 200}, **kw)
        first = ask("Write about kelp.", extra_headers={"Idempotency-Key": "k-1"})
        again = ask("Write about kelp, please.", extra_headers={"Idempotency-Key": "k-1"})
        assert again.id == first.id and again.choices[0].message.content == first.choices[0].message.content
        same_body = [ask("Write about moss.").id for _ in range(2)]
        assert same_body[0] == same_body[1] != first.id
        assert ask("Write about lichen.").id not in (first.id, same_body[0])
        assert len(manager.list()) == 3


def test_max_tokens_caps_the_document_and_says_length(tmp_path):
    with running(tmp_path / "jobs") as (url, _):
        reply = client(url).chat.completions.create(
            model="longform", max_tokens=50, messages=[{"role": "user", "content": "Write a 2,000-word essay on oak."}])
        text = reply.choices[0].message.content
        assert 0 < count_words(text) <= 50 / 1.3 and reply.choices[0].finish_reason == "length"
        whole = client(url).chat.completions.create(
            model="longform", max_tokens=100_000, messages=[{"role": "user", "content": "Write 300 words on ash."}])
        assert whole.choices[0].finish_reason == "stop" and count_words(whole.choices[0].message.content) > 200


def test_n_gives_that_many_documents_and_stop_ends_one_early(tmp_path):
    with running(tmp_path / "jobs") as (url, manager):
        sdk = client(url)
        messages = [{"role": "user", "content": "Write 300 words on elm."}]
        two = sdk.chat.completions.create(model="longform", n=2, messages=messages)
        texts = [c.message.content for c in two.choices]
        assert [c.index for c in two.choices] == [0, 1] and texts[0] != texts[1]
        assert sorted(j.request.seed for j in manager.list()) == [0, 1]
        stop = texts[0].split()[40]
        cut = sdk.chat.completions.create(model="longform", stop=[stop], messages=messages)
        assert cut.choices[0].finish_reason == "stop"
        assert cut.choices[0].message.content == texts[0][:texts[0].find(stop)]
        streamed = sdk.chat.completions.create(model="longform", stop=stop, stream=True, messages=messages,
                                               extra_body={"seed": 0, "max_words": 300})
        parts = [(c.choices[0].delta.content or "", c.choices[0].finish_reason) for c in streamed if c.choices]
        assert "".join(p for p, _ in parts) == texts[0][:texts[0].find(stop)] and parts[-1][1] == "stop"


def test_sampling_fields_and_system_messages_reach_the_job(tmp_path):
    with running(tmp_path / "jobs") as (url, manager):
        client(url).chat.completions.create(
            model="longform", temperature=0.3, top_p=0.8, extra_body={"max_words": 100},
            messages=[{"role": "system", "content": "You write for gardeners."},
                      {"role": "user", "content": "Name a tree."}, {"role": "assistant", "content": "Yew."},
                      {"role": "user", "content": "Write about it."}])
        request = manager.list()[0].request
        assert (request.temperature, request.top_p) == (0.3, 0.8)
        assert request.instruction.startswith("You write for gardeners.")
        assert "User: Name a tree.\nAssistant: Yew." in request.instruction
        assert request.instruction.endswith("Write about it.")


def test_streams_send_keep_alives_while_a_section_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr("longform.serve.openai.KEEPALIVE", 0.5)
    with running(tmp_path / "jobs", "mock:lorem?delay=1.5", workers=1) as (url, _):
        body = {"model": "longform", "stream": True, "max_words": 700,
                "messages": [{"role": "user", "content": "Write about dunes."}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
            lines = list(response.iter_lines())
    assert ": keep-alive" in lines
    assert [line for line in lines if line][-1] == "data: [DONE]"


def test_routes_it_does_not_serve_answer_in_openai_shape(tmp_path):
    with running(tmp_path / "jobs", SLOW_MOCK, workers=1, max_queue=1) as (url, _):
        assert httpx.get(f"{url}/v1/models/longform").json()["id"] == "longform"
        for response, status in ((httpx.get(f"{url}/v1/models/gpt-9"), 404),
                                 (httpx.post(f"{url}/v1/completions", json={}), 404),
                                 (httpx.get(f"{url}/v1/chat/completions"), 405)):
            assert response.status_code == status and set(response.json()["error"]) >= {"message", "code"}
        job = {"instruction": "Write about reeds.", "target_words": 3000}
        statuses = [httpx.post(f"{url}/v1/jobs", json=job) for _ in range(3)]
        full = [r for r in statuses if r.status_code == 429]
        assert full and full[0].headers["retry-after"].isdigit()
