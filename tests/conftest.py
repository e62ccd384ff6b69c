"""Fixtures shared across the suite: a tiny random model, the mock backend, a real local
OpenAI-compatible server. Tests mirror src/longform/ (tests/pipeline/ tests pipeline/, …);
helpers they import live in tests/helpers/."""

from __future__ import annotations

import pytest

from helpers.engine import mock_lm as _mock_lm


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random Llama folder (built once per session: every user only reads it)."""
    from helpers.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny")


@pytest.fixture
def mock_lm():
    """The mock backend, as `mock_lm(spec="mock:lorem", **provider_attributes)`."""
    return _mock_lm


@pytest.fixture(scope="module")
def llama_server_url():
    """llama-cpp-python's real OpenAI-compatible server on the embedded model, one per module."""
    from helpers.servers import llama_server

    with llama_server() as url:
        yield url
