"""Real servers for tests: llama-cpp-python's OpenAI-compatible server, and a
fault-injecting reverse proxy to put in front of it.

    with llama_server() as url, FaultProxy(url, faults={2: 503, 4: "drop"}) as proxy:
        lm = load_backend(f"openai:{proxy.url}#smollm")
        ...
        assert proxy.statuses == [200, 503, 200, 200]  # request 4 was cut after its 200

Only the standard library and packages the dev extra installs are used.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_path() -> str:
    from longform.backends.embedded import embedded_model_path

    return str(embedded_model_path())


@contextlib.contextmanager
def llama_server(
    n_ctx: int = 4096, extra_args: tuple[str, ...] = (), interrupt_requests: bool = False,
    threads: int | None = None, timeout: float = 120.0,
) -> Iterator[str]:
    """Run `python -m llama_cpp.server` on a free port; yield `http://127.0.0.1:PORT/v1`.

    llama-cpp-python's default `interrupt_requests=True` ends a running stream
    as soon as another request arrives: made for one-user chat UIs, it turns a
    concurrent client into a retry storm. We turn it off unless asked.

    Threads default to half the cores for prompt *and* generation: llama.cpp's
    threads spin-wait on each other, and its default (all cores for prompts)
    made every call take 8-16 s instead of 0.5 s on a 2-core machine as soon as
    another process used the CPU. `extra_args` come last and win; logging is off
    (`extra_args=("--verbose", "True")` turns it back on).
    """
    port = free_port()
    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", model_path(), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx), "--interrupt_requests", str(interrupt_requests),
           "--n_threads", str(threads), "--n_threads_batch", str(threads), "--verbose", "False", *extra_args]
    # stderr goes to a file, not a pipe: the verbose server would fill a pipe and block.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            _wait_ready(proc, url, log, timeout)
            yield url
        finally:
            _stop(proc)


def _log_tail(log, limit: int = 4000) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-limit:]


def _wait_ready(proc: subprocess.Popen, url: str, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama server exited with {proc.returncode}:\n{_log_tail(log)}")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    _stop(proc)
    raise RuntimeError(f"llama server not ready after {timeout:.0f} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------
# FaultProxy


@dataclass
class ProxiedRequest:
    number: int | None  # 1-based count among (chat) completion POSTs; None for other requests
    method: str
    path: str
    status: int  # the status line the client got (200 for "drop"/"interrupt", 0 for "stall")
    fault: str | int | None  # the fault applied, None when passed through untouched
    body: bytes = b""  # what the client sent

    def json(self) -> dict:
        return json.loads(self.body)


# Faults, keyed by the 1-based number of a POST to .../chat/completions or .../completions:
#   int (e.g. 503, 429, 400)  answer with that status and a JSON error body; 429 carries Retry-After
#   "drop"                    forward the start of the response, then cut the TCP connection
#   "interrupt"               forward the start, then end the stream cleanly with `data: [DONE]` and no
#                             finish reason (what llama-cpp-python does when a second request arrives)
#   "garbage"                 answer 200 with a body that is not JSON
#   "stall"                   wait `stall_seconds` without answering, then close (client timeouts)
FAULT_KINDS = ("drop", "interrupt", "garbage", "stall")


class FaultProxy:
    """A threaded reverse proxy that forwards to `upstream` and fails scripted requests.

    `faults` maps request numbers to faults (see FAULT_KINDS); `requests` records
    every request seen, `chat_requests` the counted ones. Use as a context manager.
    """

    def __init__(self, upstream: str, faults: dict[int, str | int] | None = None,
                 keep_bytes: int = 600, stall_seconds: float = 3.0, retry_after: int = 1):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.upstream_prefix = parts.path.rstrip("/")  # e.g. "/v1"
        self.faults = dict(faults or {})
        for fault in self.faults.values():
            if not isinstance(fault, int) and fault not in FAULT_KINDS:
                raise ValueError(f"unknown fault {fault!r}")
        self.keep_bytes = keep_bytes  # bytes forwarded before a "drop" or "interrupt"
        self.stall_seconds = stall_seconds
        self.retry_after = retry_after
        self.requests: list[ProxiedRequest] = []
        self.in_flight = self.max_in_flight = 0  # chat requests being answered at once
        self._count = 0
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.upstream_prefix}"

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def chat_requests(self) -> list[ProxiedRequest]:
        """The counted requests, in the order they arrived."""
        with self._lock:
            return sorted((r for r in self.requests if r.number is not None), key=lambda r: r.number)

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.chat_requests]

    def _next(self, method: str, path: str) -> tuple[int | None, str | int | None]:
        """Number this request if it is a (chat) completion, and look up its fault."""
        if method != "POST" or not path.rstrip("/").endswith("/completions"):
            return None, None
        with self._lock:
            self._count += 1
            return self._count, self.faults.get(self._count)

    def _log(self, record: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(record)

    @contextlib.contextmanager
    def _tracking(self, counted: bool):
        with self._lock:
            self.in_flight += counted
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= counted


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that timed out or a cut we made ourselves is expected, not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _handler_for(proxy: FaultProxy):
    class Handler(_ProxyHandler):
        pass

    Handler.proxy = proxy
    return Handler


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # needed for chunked pass-through and keep-alive
    proxy: FaultProxy

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, body: bytes) -> None:
        number, fault = self.proxy._next(self.command, self.path)
        # Logged before answering, with the status set before the first byte goes out:
        # a client that has its answer always finds its request in the log.
        record = ProxiedRequest(number, self.command, self.path, 0, fault, body)
        self.proxy._log(record)
        with self.proxy._tracking(number is not None):
            self._respond(body, record)

    def _respond(self, body: bytes, record: ProxiedRequest) -> None:
        fault = record.fault
        if isinstance(fault, int):
            record.status = fault
            self._send_error(fault)
        elif fault == "garbage":
            record.status = 200
            self._send(200, b"<html>not json</html>", "text/html")
        elif fault == "stall":
            time.sleep(self.proxy.stall_seconds)
            self.close_connection = True
        else:
            self._forward(body, record)

    def _send(self, status: int, payload: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, status: int) -> None:
        body = {"error": {"message": f"fault injected by FaultProxy: HTTP {status}", "code": status}}
        headers = {"Retry-After": str(self.proxy.retry_after)} if status == 429 else {}
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _forward(self, body: bytes, record: ProxiedRequest) -> None:
        fault = record.fault
        upstream = http.client.HTTPConnection(self.proxy.upstream_host, self.proxy.upstream_port, timeout=600)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            record.status = response.status
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            if response.getheader("Content-Length") is not None and fault is None:
                payload = response.read()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._pass_chunks(response, fault)
        finally:
            upstream.close()  # for a cut stream this tells the server its client is gone

    def _pass_chunks(self, response: http.client.HTTPResponse, fault: str | None) -> None:
        """Relay the body piece by piece as it arrives, so streams stay streams."""
        sent = b""
        while data := response.read1(65536):
            if fault and len(sent) + len(data) > self.proxy.keep_bytes:
                return self._fault_after(sent, data, fault)
            self._write_chunk(data)
            sent = sent + data if fault else sent
        if fault:  # a body shorter than keep_bytes: fail at its very end
            return self._fault_after(sent, b"", fault)
        self._end_chunks()

    def _fault_after(self, sent: bytes, data: bytes, fault: str) -> None:
        head = (sent + data)[: self.proxy.keep_bytes]
        if fault == "interrupt":  # a server ends on an event boundary
            head = head[: max(len(sent), head.rfind(b"\n\n") + 2)]
        self._write_chunk(head[len(sent):])
        if fault == "drop":
            # Close the socket mid-body: the client sees an incomplete chunked read.
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            # End cleanly without a finish reason, as an interrupted llama-cpp-python does.
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_chunks()
        self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        if data:  # an empty chunk would end the body
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@contextlib.contextmanager
def running(jobs_dir, spec: str = "mock:lorem", workers: int = 4, **settings):
    """The app on a free port in this process (uvicorn in a thread); yields the base URL."""
    import uvicorn

    from longform.backends import load_backend
    from longform.serve.app import ServeSettings, create_app
    from longform.serve.jobs import JobManager

    manager = JobManager(jobs_dir, load_backend(spec), concurrency=workers)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(manager, ServeSettings(**settings)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", manager
    finally:
        server.should_exit = True
        thread.join(10)
        manager.shutdown()


def client(url: str, key: str = "none"):
    """The openai SDK on a `running` server, with no retries: a test sees each failure."""
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)
