"""`longform serve` on the real embedded model with continuous batching: 20 clients at once, eight
documents decoded together on one model (the rest queued), every one of them finished."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers.servers import client, running
from longform.text import count_words

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

TOPICS = ["tides", "ferries", "gulls", "quays", "sea fog", "rope", "harbours", "lighthouses", "nets", "buoys",
          "sails", "anchors", "storms", "piers", "canals", "locks", "reefs", "dunes", "estuaries", "boatyards"]


def test_twenty_concurrent_requests_on_the_embedded_model_all_complete(tmp_path):
    with running(tmp_path / "jobs", spec="embedded?parallel=8", workers=8) as (url, manager):
        sdk = client(url)

        def ask(i: int):
            return sdk.chat.completions.create(
                model="longform", extra_body={"max_words": 40}, timeout=600,
                messages=[{"role": "user", "content": f"Write a short note about {TOPICS[i]}."}])

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(ask, range(20)))
        assert manager.lm.provider.max_concurrency == 8
    texts = [r.choices[0].message.content for r in replies]
    assert all(count_words(t) >= 20 for t in texts), [count_words(t) for t in texts]
    assert len({r.id for r in replies}) == 20 and len(set(texts)) == 20  # twenty jobs, twenty documents


def test_a_stream_sends_final_paragraphs_long_before_the_end(tmp_path, monkeypatch):
    """Streamed, a job writes in short calls and sends each paragraph once no later step can
    change it: the first content comes well before the document ends, keep-alives fill the
    quiet (here every 2 s instead of 10), and the chunks joined are the saved document."""
    import json
    import time

    import httpx

    monkeypatch.setattr("longform.serve.openai.KEEPALIVE", 2.0)
    with running(tmp_path / "jobs", spec="embedded", workers=1) as (url, manager):
        body = {"model": "longform", "stream": True, "max_words": 700,
                "messages": [{"role": "user", "content": "Write about the history of lighthouses."}]}
        started, first, parts, keepalives = time.monotonic(), None, [], 0
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as response:
            for line in response.iter_lines():
                keepalives += line == ": keep-alive"
                if line.startswith("data: {"):
                    chunk = json.loads(line[6:])
                    content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
                    if content:
                        first = first if first is not None else time.monotonic() - started
                        parts.append(content)
        total = time.monotonic() - started
        job = manager.list()[0]
        print(f"\nfirst content after {first:.1f} s of {total:.1f} s ({first / total:.2f}); {len(parts)} chunks, "
              f"{keepalives} keep-alives")
        assert "".join(parts) == job.document() and job.status == "done"
        sections = len(list((job.run_dir / "sections").glob("*.json")))
        assert len(parts) > sections  # paragraphs, not only whole sections
        assert first < 0.5 * total and keepalives >= 1
