"""The server probed as an attacker would: each reproduction from issue 24 (D4, D6, D7, D8, D15,
D16, D22) as a test, and the headers every response carries."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys

import httpx
import pytest

from helpers.servers import running
from longform.serve.jobs import JobManager

L = [sys.executable, "-m", "longform"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("jobs"), workers=2) as (url, manager):
        yield url, manager


def _job(url: str, **extra) -> dict:
    return httpx.post(f"{url}/v1/jobs", json={"instruction": "Write about tea.", "target_words": 50},
                      **extra).json()


def test_d4_event_positions_outside_the_list_are_refused(server):
    url, _ = server
    job = _job(url)
    for start in ("-100000000000000000000", "-3", "99999999999999", "x"):
        response = httpx.get(f"{url}/v1/jobs/{job['id']}/events", params={"start": start}, timeout=10)
        assert response.status_code == 400 and response.json()["error"]["param"] == "start"


def test_d6_a_chunked_body_is_refused_once_past_the_limit_without_being_held(server):
    url, _ = server
    piece = b" " * (1 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, this process holds the server

    def body():
        yield b"{"
        for _ in range(300):  # 300 MB, sent chunked: no Content-Length to refuse it by
            yield piece

    try:
        response = httpx.post(f"{url}/v1/chat/completions", content=body(),
                              headers={"content-type": "application/json"}, timeout=60)
        assert response.status_code == 413
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server answered 413 and closed while the client was still sending
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"\npeak memory growth under a 300 MB chunked body: {grown_mb:.1f} MB")
    assert grown_mb < 50


def test_d7_damaged_job_files_are_moved_aside_and_the_rest_load(tmp_path, capsys):
    root = tmp_path / "jobs"
    damaged = {"torn": b'{"id": "j1", "request": {', "keys": b'{"id": "j2", "status": "done"}',
               "bytes": b'\xff\xfe{"id": 1}', "list": b"[1, 2]"}
    for name, content in damaged.items():
        (root / name).mkdir(parents=True)
        (root / name / "job.json").write_bytes(content)
    (root / "good").mkdir()
    (root / "good" / "job.json").write_text(json.dumps(
        {"id": "good", "status": "done", "created": 1.0, "request": {"instruction": "x", "target_words": 10}}))
    manager = JobManager(root, lm=None)
    try:
        assert list(manager.jobs) == ["good"]
        for name in damaged:
            assert not (root / name / "job.json").exists() and list((root / name).glob("job.json.damaged-*"))
        assert capsys.readouterr().err.count("damaged job file") == len(damaged)
    finally:
        manager.shutdown()


def test_d8_without_a_key_only_json_from_the_bound_host_is_served(tmp_path):
    with running(tmp_path / "jobs", allowed_hosts=("writer.lan",)) as (url, _):
        body = json.dumps({"instruction": "x", "target_words": 50})
        rebound = httpx.get(f"{url}/v1/jobs", headers={"Host": "evil.example"})
        assert rebound.status_code == 421
        assert httpx.get(f"{url}/", headers={"Host": "evil.example:8080"}).status_code == 421
        assert httpx.get(f"{url}/v1/jobs", headers={"Host": "writer.lan:8080"}).status_code == 200
        for kind in ("text/plain", None):
            headers = {"content-type": kind} if kind else {}
            response = httpx.post(f"{url}/v1/jobs", content=body.encode(), headers=headers)
            assert response.status_code == 415, kind
        assert httpx.post(f"{url}/v1/jobs", content=body.encode(),
                          headers={"content-type": "application/json"}).status_code == 201


def test_security_headers_and_a_keyed_openapi(tmp_path):
    with running(tmp_path / "jobs", api_key="s3cret") as (url, _):
        for path in ("/", "/healthz", "/v1/models"):
            headers = httpx.get(f"{url}{path}").headers
            assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert httpx.get(f"{url}/openapi.json").status_code == 401
        assert httpx.get(f"{url}/openapi.json", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("body, param", [
    (b"[" * 100_000 + b"]" * 100_000, None),
    (json.dumps({"model": "longform", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}),
     "messages[0].content"),
    (json.dumps({"model": "longform", "messages": [{"role": "user", "content": "x"}], "stream": True,
                 "stream_options": "yes"}), "stream_options"),
    (json.dumps({"model": "longform", "messages": [{"role": "user", "content": "x"}], "n": 0}), "n"),
    (json.dumps({"model": "longform", "messages": ["hi"]}), "messages"),
])
def test_d15_malformed_chat_bodies_are_400_naming_the_field(server, body, param):
    url, _ = server
    response = httpx.post(f"{url}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_d15_zero_words_for_a_job_is_refused(server):
    url, _ = server
    response = httpx.post(f"{url}/v1/jobs", json={"instruction": "x", "target_words": 0})
    assert response.status_code == 400 and response.json()["error"]["param"] == "target_words"


def test_d16_a_bad_host_or_a_taken_port_is_one_line_and_exit_2(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        for flags in (["--host", "no.such.host.invalid"], ["--port", str(taken.getsockname()[1])],
                      ["--port", "70000"]):
            done = subprocess.run([*L, "serve", "--backend", "mock:lorem", "--jobs-dir", str(tmp_path), *flags],
                                  capture_output=True, text=True, timeout=60)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    finally:
        taken.close()


def test_d22_each_key_sees_only_its_own_jobs(tmp_path):
    with running(tmp_path / "jobs", api_keys={"ann": "key-a", "bob": "key-b"}) as (url, _):
        ann, bob = ({"Authorization": f"Bearer {k}"} for k in ("key-a", "key-b"))
        job = _job(url, headers=ann)
        assert [j["id"] for j in httpx.get(f"{url}/v1/jobs", headers=ann).json()["data"]] == [job["id"]]
        assert httpx.get(f"{url}/v1/jobs", headers=bob).json()["data"] == []
        for method, path in (("GET", ""), ("GET", "/events"), ("POST", "/cancel"), ("GET", "/document")):
            response = httpx.request(method, f"{url}/v1/jobs/{job['id']}{path}", headers=bob, json={})
            assert response.status_code == 404, path
        assert httpx.get(f"{url}/v1/jobs/{job['id']}", headers=ann).status_code == 200


def _serve(tmp_path, *flags) -> tuple[subprocess.Popen, str]:
    import os
    import time

    from helpers.servers import free_port

    port = free_port()
    proc = subprocess.Popen([*L, "serve", "--backend", "mock:lorem", "--port", str(port), "--jobs-dir",
                             str(tmp_path / "jobs"), *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stderr.read().decode())


def test_d21_idle_connections_are_closed_and_the_server_keeps_answering(tmp_path):
    import time
    from concurrent.futures import ThreadPoolExecutor

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    proc, url = _serve(tmp_path, "--workers", "8")
    port = int(url.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(1100)]
    try:
        started = time.perf_counter()
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        latency = time.perf_counter() - started

        def ask(i: int) -> int:
            return httpx.post(f"{url}/v1/jobs", json={"instruction": f"Note {i}.", "target_words": 30},
                              timeout=60).status_code

        with ThreadPoolExecutor(200) as pool:  # 200 clients at once
            statuses = list(pool.map(ask, range(200)))
        time.sleep(7)  # past the idle limit (5 s)
        closed = 0
        for sock in idle:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except (TimeoutError, OSError):
                pass
        print(f"\n/healthz under 1,100 idle connections: {latency * 1000:.0f} ms; {closed} of them closed "
              f"by the server after 7 s")
        assert latency < 2.0 and statuses == [201] * 200 and closed == len(idle)
    finally:
        for sock in idle:
            sock.close()
        proc.terminate()
        proc.wait(10)


def test_finished_jobs_leave_memory_but_stay_reachable(tmp_path):
    import time

    from longform.backends import load_backend
    from longform.serve.jobs import JobRequest

    manager = JobManager(tmp_path / "jobs", load_backend("mock:lorem"), keep_finished=2)
    try:
        jobs = [manager.create(JobRequest(f"Write about {w}.", 40)) for w in ("ash", "elm", "oak", "yew")]
        deadline = time.time() + 60
        while any(j.status != "done" for j in jobs) and time.time() < deadline:
            time.sleep(0.05)
        assert len(manager.jobs) == 2
        back = manager.get(jobs[0].id)
        assert back is not None and back.status == "done" and back.document() == jobs[0].document() != ""
        assert manager.get("../jobs") is None
    finally:
        manager.shutdown()
