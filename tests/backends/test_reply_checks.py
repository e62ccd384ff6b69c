"""Backend replies are checked, not taken at face value (issue 25, D1-D3): a fake OpenAI server
answers with a lone surrogate, invalid UTF-8 or empty content, and none of it reaches a document."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from longform.backends import load_backend
from longform.errors import BackendError
from longform.pipeline.runner import AgentWrite, WriteSettings

GOOD = "Tides rise and fall twice a day. The moon pulls the sea."


class FakeServer:
    """/v1/chat/completions answering each request with the next of `replies` (raw bytes of the
    content field, JSON-escaped or not), then GOOD."""

    def __init__(self, replies: list[bytes], stream: bool = False):
        self.replies, self.stream, self.requests = list(replies), stream, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                fake.requests += 1
                content = fake.replies.pop(0) if fake.replies else json.dumps(GOOD).encode()
                if fake.stream:
                    body = (b'data: {"choices": [{"delta": {"content": ' + content + b'}, "finish_reason": "stop"}]}'
                            b"\n\ndata: [DONE]\n\n")
                    kind = "text/event-stream"
                else:
                    body = b'{"choices": [{"message": {"content": ' + content + b'}, "finish_reason": "stop"}]}'
                    kind = "application/json"
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def lm(self, retries: int = 2):
        lm = load_backend(f"openai:{self.url}#fake", max_retries=retries, stream=self.stream)
        lm.backoff_base = 0.001
        return lm


BAD = {"surrogate": b'"tides \\ud800 rise"', "invalid utf-8": b'"tides \xff\xfe rise"', "not text": b"5"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_reply_is_a_failed_attempt_and_the_retry_is_kept(kind, stream):
    fake = FakeServer([BAD[kind]], stream=stream)
    completion = fake.lm().complete([{"role": "user", "content": "Write about tides."}])
    assert completion.text == GOOD and fake.requests == 2 and completion.attempts == 2


def test_bad_replies_to_the_end_are_a_clear_backend_error():
    fake = FakeServer([BAD["surrogate"]] * 5)
    with pytest.raises(BackendError, match="lone surrogate"):
        fake.lm(retries=2).complete([{"role": "user", "content": "x"}])


def test_a_run_that_wrote_nothing_fails_and_is_not_done(tmp_path):
    fake = FakeServer([b'""'] * 100)
    with pytest.raises(BackendError, match="wrote no text"):
        AgentWrite(fake.lm(), WriteSettings(target_words=200, plan_attempts=1)).run("Write about tides.",
                                                                                  tmp_path / "run")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] != "done"
