"""`longform serve` against real clients: the openai SDK (whole and streamed), the jobs API,
auth and bad requests, 50 concurrent clients, and jobs that survive a killed server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from helpers.servers import client, free_port, running
from longform.text import count_words


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("jobs"), workers=8) as (url, manager):
        yield url, manager


def test_models_and_a_whole_document(server):
    url, manager = server
    sdk = client(url)
    assert {m.id for m in sdk.models.list()} == {"longform", "longform:single"}
    reply = sdk.chat.completions.create(model="longform", messages=[{"role": "user", "content": "Write about tides."}],
                                        extra_body={"max_words": 600})
    text = reply.choices[0].message.content
    assert abs(count_words(text) - 600) <= 600 * 0.15  # the length controller's tolerance
    assert reply.usage.completion_tokens > 0 and reply.usage.total_tokens > reply.usage.completion_tokens
    job = manager.get(reply.id.removeprefix("chatcmpl-"))
    assert job.status == "done" and job.document() == text  # the run directory holds the same document


def test_streamed_document_equals_the_saved_one(server):
    url, manager = server
    stream = client(url).chat.completions.create(
        model="longform", messages=[{"role": "user", "content": "Write a 700-word piece about gulls."}],
        stream=True, stream_options={"include_usage": True})
    chunks, usage, job_id = [], None, None
    for chunk in stream:
        job_id = chunk.id.removeprefix("chatcmpl-")
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices and chunk.choices[0].delta.content:
            chunks.append(chunk.choices[0].delta.content)
    assert len(chunks) >= 2  # a chunk per section, as each was finished
    assert "".join(chunks) == manager.get(job_id).document()
    assert usage is not None and usage.completion_tokens > 0


def test_single_system(server):
    url, _ = server
    reply = client(url).chat.completions.create(
        model="longform:single", messages=[{"role": "user", "content": "Write a 200-word note about quays."}])
    assert 100 < count_words(reply.choices[0].message.content) < 300


def test_bad_requests_are_clear_4xx(server):
    url, _ = server
    sdk = client(url)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        sdk.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="messages"):
        sdk.chat.completions.create(model="longform", messages=[])
    with pytest.raises(openai.BadRequestError, match="max_words"):
        sdk.chat.completions.create(model="longform", messages=[{"role": "user", "content": "x"}],
                                    extra_body={"max_words": -3})
    big = httpx.post(f"{url}/v1/chat/completions", content=b"{" + b" " * 1_100_000 + b"}",
                     headers={"content-type": "application/json"})
    assert big.status_code == 413 and "body over" in big.json()["error"]["message"]
    bad_json = httpx.post(f"{url}/v1/chat/completions", content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_json"
    assert httpx.get(f"{url}/v1/jobs/nope").status_code == 404


def test_jobs_api_and_cancel(server, tmp_path):
    url, manager = server
    job = httpx.post(f"{url}/v1/jobs", json={"instruction": "Write about lanterns.", "target_words": 400}).json()
    assert job["status"] in ("queued", "running") and job["request"]["target_words"] == 400
    kinds = []
    with httpx.stream("GET", f"{url}/v1/jobs/{job['id']}/events", timeout=60) as events:
        for line in events.iter_lines():
            if line.startswith("event: "):
                kinds.append(line[7:])
    assert kinds[0] == "snapshot" and "plan" in kinds and "section" in kinds and kinds[-1] == "done"
    snap = httpx.get(f"{url}/v1/jobs/{job['id']}").json()
    assert snap["status"] == "done" and snap["plan"] and len(snap["sections"]) == len(snap["plan"])
    doc = httpx.get(f"{url}/v1/jobs/{job['id']}/document")
    assert doc.status_code == 200 and doc.text.rstrip("\n") == manager.get(job["id"]).document()
    listed = httpx.get(f"{url}/v1/jobs").json()["data"]
    assert job["id"] in [j["id"] for j in listed]


def test_cancel_stops_a_running_job(tmp_path):
    with running(tmp_path / "jobs", "mock:lorem?delay=0.3", workers=1) as (url, manager):
        job = httpx.post(f"{url}/v1/jobs", json={"instruction": "Write about sails.", "target_words": 3000}).json()
        while manager.get(job["id"]).status != "running":
            time.sleep(0.05)
        assert httpx.post(f"{url}/v1/jobs/{job['id']}/cancel", json={}).json()["id"] == job["id"]
        deadline = time.time() + 30
        while manager.get(job["id"]).status == "running" and time.time() < deadline:
            time.sleep(0.05)
        assert manager.get(job["id"]).status == "cancelled"
        saved = json.loads((tmp_path / "jobs" / job["id"] / "job.json").read_text())
        assert saved["status"] == "cancelled"


def test_api_key(tmp_path):
    with running(tmp_path / "jobs", api_key="s3cret") as (url, _):
        for key in ("wrong", "none"):
            with pytest.raises(openai.AuthenticationError):
                client(url, key).models.list()
        assert httpx.get(f"{url}/v1/jobs").status_code == 401
        assert [m.id for m in client(url, "s3cret").models.list()]
        assert httpx.get(f"{url}/").status_code == 200  # the page itself has no secret; its calls need the key


def test_fifty_concurrent_clients_all_complete(tmp_path):
    with running(tmp_path / "jobs", "mock:lorem?delay=0.01", workers=8) as (url, manager):
        sdk = client(url)

        def one(i: int):
            started = time.perf_counter()
            reply = sdk.chat.completions.create(
                model="longform", messages=[{"role": "user", "content": f"Write a 300-word note, number {i}."}])
            return count_words(reply.choices[0].message.content), time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
        wall = time.perf_counter() - started
        assert all(250 <= words <= 350 for words, _ in results), [w for w, _ in results]
        assert sum(j.status == "done" for j in manager.list()) == 50
        latencies = sorted(t for _, t in results)
        print(f"\n50 clients, 8 workers: {wall:.1f} s wall, {50 / wall:.1f} documents/s, "
              f"latency median {latencies[25]:.2f} s, max {latencies[-1]:.2f} s")


def test_jobs_survive_a_killed_server(tmp_path):
    jobs = tmp_path / "jobs"

    def start(port: int) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "longform", "serve", "--backend", "mock:lorem?delay=0.15",
                                 "--port", str(port), "--jobs-dir", str(jobs), "--workers", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        deadline = time.time() + 60
        while time.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return proc
            time.sleep(0.1)
        raise AssertionError(proc.stderr.read().decode() if proc.poll() is not None else "server did not start")

    port = free_port()
    proc = start(port)
    job = httpx.post(f"http://127.0.0.1:{port}/v1/jobs",
                     json={"instruction": "Write about harbours.", "target_words": 2500}).json()
    sections = jobs / job["id"] / "run" / "sections"
    deadline = time.time() + 60
    while not (sections.exists() and len(list(sections.iterdir())) >= 2) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # finished sections, not a temporary file the kill left (the resume removes those: D18)
    before = {p.name: p.read_bytes() for p in sections.iterdir() if not p.name.startswith(".")}
    assert 2 <= len(before)
    port = free_port()
    proc = start(port)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            state = httpx.get(f"http://127.0.0.1:{port}/v1/jobs/{job['id']}").json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert state["status"] == "done", state
        assert len(state["sections"]) == len(state["plan"]) > len(before)
        for name, content in before.items():  # what was written before the kill was kept as it was
            assert (sections / name).read_bytes() == content
        assert abs(count_words((jobs / job["id"] / "run" / "document.md").read_text()) - 2500) <= 2500 * 0.15
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.mark.slow
def test_real_model_behind_the_server(tmp_path):
    """The embedded SmolLM2 writing through the server for the openai SDK, streamed."""
    with running(tmp_path / "jobs", "embedded", workers=1) as (url, manager):
        stream = client(url).chat.completions.create(
            model="longform", messages=[{"role": "user", "content": "Write a 300-word note about lighthouses."}],
            stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        job = manager.list()[0]
        assert job.status == "done" and text == job.document()
        assert abs(count_words(text) - 300) <= 300 * 0.15


def test_a_stopped_server_leaves_running_jobs_to_the_next(tmp_path):
    jobs = tmp_path / "jobs"
    with running(jobs, "mock:lorem?delay=0.2", workers=1) as (url, manager):
        first = httpx.post(f"{url}/v1/jobs", json={"instruction": "Write about tides.", "target_words": 2500}).json()
        second = httpx.post(f"{url}/v1/jobs", json={"instruction": "Write about gulls.", "target_words": 300}).json()
        while manager.get(first["id"]).status != "running":
            time.sleep(0.05)
        time.sleep(0.5)
    # a stop is not a cancel: both wait on disk for the next server
    for job in (first, second):
        assert json.loads((jobs / job["id"] / "job.json").read_text())["status"] == "queued"
    with running(jobs, "mock:lorem", workers=2) as (url, manager):
        assert manager.recovered == 2
        deadline = time.time() + 60
        while any(manager.get(j["id"]).status != "done" for j in (first, second)) and time.time() < deadline:
            time.sleep(0.1)
        assert [manager.get(j["id"]).status for j in (first, second)] == ["done", "done"]
