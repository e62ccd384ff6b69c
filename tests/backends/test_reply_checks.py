"""Backend replies are checked, not taken at face value (issue 25, D1-D3): a fake OpenAI server
answers with a lone surrogate, invalid UTF-8 or empty content, and none of it reaches a document."""

from __future__ import annotations

import json
import threading
import time
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
                if fake.trickle:
                    return self._trickle()
                content = fake.replies.pop(0) if fake.replies else json.dumps(GOOD).encode()
                if content in STATUS:  # an HTTP error instead of a reply
                    self.send_response(STATUS[content])
                    self.send_header("content-length", "2")
                    self.send_header("retry-after", "0")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
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

            def _trickle(self):  # a byte every 0.2 s: each read is quick, the whole reply never comes
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                try:
                    for byte in b'{"choices": [{"message": {"content": "' + b"x" * 10_000:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass

        self.trickle = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def lm(self, retries: int = 2, **options):
        lm = load_backend(f"openai:{self.url}#fake", max_retries=retries, stream=self.stream, **options)
        lm.backoff_base = 0.001
        return lm


BAD = {"surrogate": b'"tides \\ud800 rise"', "invalid utf-8": b'"tides \xff\xfe rise"', "not text": b"5"}
STATUS = {b"HTTP 500": 500, b"HTTP 429": 429}
FAULTS = [*BAD.values(), b'""', *STATUS]  # and the trickle, tested on its own below


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


@pytest.mark.parametrize("stream", [False, True])
def test_the_timeout_is_a_deadline_for_a_trickling_server(stream):
    fake = FakeServer([], stream=stream)
    fake.trickle = True
    started = time.perf_counter()
    with pytest.raises(BackendError, match="deadline"):
        fake.lm(retries=0, timeout=1.0).complete([{"role": "user", "content": "x"}])
    assert time.perf_counter() - started < 3.0


def test_each_retry_is_told_in_one_line_and_kept_in_the_trace_with_its_time():
    from longform.pipeline.document import CallRecord

    fake = FakeServer([BAD["surrogate"], BAD["invalid utf-8"]])
    lm, lines = fake.lm(retries=3), []
    lm.on_retry_line = lines.append
    completion = lm.complete([{"role": "user", "content": "x"}])
    assert [line.split(":")[0] for line in lines] == ["retry 1/3 in 0.0 s", "retry 2/3 in 0.0 s"]
    assert "surrogate" in completion.retry_errors[0] and "UTF-8" in completion.retry_errors[1]
    record = CallRecord.of("section", 1, 1, completion)
    assert record.retries == 2 and record.retry_errors == completion.retry_errors
    assert record.seconds >= record.retry_seconds > 0


def test_data_build_keeps_going_past_a_document_of_bad_replies_and_retries_it_next_run(tmp_path):
    from longform.data.build import BuildSettings, build
    from longform.data.instructions import Instruction

    items = [Instruction("bad", "Write about tides.", 150, "row"),
             Instruction("good", "Write about gulls.", 150, "row")]
    settings = BuildSettings(write=WriteSettings(plan_attempts=1), concurrency=1)
    fake = FakeServer([BAD["surrogate"]] * 3)  # the first document's first call fails on every try
    build(items, [fake.lm(retries=2)], tmp_path / "out", settings)
    results = {i.id: json.loads((tmp_path / "out" / "docs" / i.id / "result.json").read_text()) for i in items}
    assert results["bad"]["status"] == "failed" and "surrogate" in results["bad"]["error"]
    assert results["good"]["status"] in ("kept", "filtered")
    rows = (tmp_path / "out" / "sft.jsonl").read_text(encoding="utf-8")
    assert "\ufffd" not in rows and "\\ufffd" not in rows  # neither the character nor its JSON escape
    build(items, [fake.lm(retries=2)], tmp_path / "out", settings)  # the server is well now
    again = json.loads((tmp_path / "out" / "docs" / "bad" / "result.json").read_text())
    assert again["status"] in ("kept", "filtered")


def test_a_faulty_server_never_puts_a_replacement_character_or_an_empty_document_in_any_output(tmp_path):
    """30 % of replies are faults of every kind (surrogate, invalid UTF-8, non-text, empty, 500,
    429), in a seeded random order: every document that is written, and every SFT row, is text the
    server really sent; a document whose retries ran out fails and is tried again next run."""
    import random

    from longform.data.build import BuildSettings, build
    from longform.data.instructions import Instruction

    rng = random.Random(11)
    replies = [rng.choice(FAULTS) if rng.random() < 0.3 else json.dumps(GOOD).encode() for _ in range(400)]
    fake = FakeServer(replies)
    items = [Instruction(f"d{i}", f"Write about tides, part {i}.", 150, "row") for i in range(16)]
    settings = BuildSettings(write=WriteSettings(plan_attempts=1), concurrency=2)
    build(items, [fake.lm(retries=3)], tmp_path / "out", settings)
    served = replies[: fake.requests]
    assert sum(r in FAULTS for r in served) >= 10 and {r for r in served if r in FAULTS} == set(FAULTS), served
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file()
             and p.suffix in (".md", ".json", ".jsonl")]
    assert texts and not any("\ufffd" in text or "\\ufffd" in text or "\\ud800" in text for text in texts)
    statuses = {}
    for item in items:
        result = json.loads((tmp_path / "out" / "docs" / item.id / "result.json").read_text())
        statuses[item.id] = result["status"]
        document = tmp_path / "out" / "docs" / item.id / "document.md"
        if result["status"] != "failed":
            assert document.read_text(encoding="utf-8").strip(), item.id
    assert set(statuses.values()) <= {"kept", "filtered", "failed"}
    assert sum(s != "failed" for s in statuses.values()) >= 8, statuses  # retries carried most documents through
    for row in (tmp_path / "out" / "sft.jsonl").read_text(encoding="utf-8").splitlines():
        assert json.loads(row)["messages"][-1]["content"].strip()
