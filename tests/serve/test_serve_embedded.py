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
