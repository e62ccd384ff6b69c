"""`--backend openai` without `--model` (issue 26): the server's only model is used; a server with
several is an error naming them, before any run directory exists."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from longform.backends import load_backend
from longform.cli import main


def serve_models(ids: list[str]):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = json.dumps({"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}).encode()
            self._send(body)

        def do_POST(self):
            seen.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self._send(json.dumps({"choices": [{"message": {"content": "Tea is old."}, "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": 5, "completion_tokens": 3}}).encode())

        def _send(self, body: bytes):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1", seen


def test_the_only_model_of_the_server_is_picked(monkeypatch):
    monkeypatch.delenv("LONGFORM_MODEL", raising=False)
    url, seen = serve_models(["smollm2-135m"])
    lm = load_backend("openai", base_url=url, stream=False)
    lm.provider.check()
    assert lm.name.endswith("#smollm2-135m")
    lm.complete([{"role": "user", "content": "Write about tea."}])
    assert seen[-1]["model"] == "smollm2-135m"


def test_several_models_and_no_model_is_one_line_before_any_run_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LONGFORM_MODEL", raising=False)
    url, _ = serve_models(["a", "b"])
    code = main(["write", "Write about tea.", "--backend", "openai", "--base-url", url, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "serves 2 models (a, b)" in err[0] and "--model" in err[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("model", ["b", "anything"])
def test_a_named_model_is_sent_as_given(model, monkeypatch):
    url, seen = serve_models(["a", "b"])
    lm = load_backend("openai", base_url=url, model=model, stream=False)
    lm.provider.check()
    lm.complete([{"role": "user", "content": "Write about tea."}])
    assert seen[-1]["model"] == model
