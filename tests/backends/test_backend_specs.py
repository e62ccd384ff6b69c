"""Backend spec strings: 'kind', 'kind:target', 'kind?options', 'kind:target?options'."""

import pytest

from longform.backends import load_backend, parse_spec
from longform.errors import UsageError


@pytest.mark.parametrize("spec, parsed", [
    ("embedded", ("embedded", "", {})),
    ("embedded?threads=1", ("embedded", "", {"threads": 1})),
    ("mock:lorem?delay=0.5&fail=2", ("mock", "lorem", {"delay": 0.5, "fail": 2})),
    ("openai:http://127.0.0.1:8000/v1#my-model", ("openai", "http://127.0.0.1:8000/v1#my-model", {})),
    ("openai:http://h:1/v1#m?concurrency=4&stream=false",
     ("openai", "http://h:1/v1#m", {"concurrency": 4, "stream": False})),
    ("hf:/models/x", ("hf", "/models/x", {})),
    ("MOCK", ("mock", "", {})),
])
def test_parse_spec(spec, parsed):
    assert parse_spec(spec) == parsed


def test_options_without_a_target_reach_the_provider():
    lm = load_backend("mock?delay=0.25&concurrency=3")
    assert lm.provider.delay == 0.25 and lm.provider.max_concurrency == 3


def test_openai_target_gives_url_and_model():
    lm = load_backend("openai:http://127.0.0.1:9/v1#tiny?concurrency=2")
    assert lm.provider.base_url == "http://127.0.0.1:9/v1" and lm.provider.model == "tiny"
    assert lm.provider.max_concurrency == 2


@pytest.mark.parametrize("spec", ["nope", "embeded", "mock:nope", "mock?unknown_option=1"])
def test_bad_specs_are_usage_errors(spec):
    with pytest.raises(UsageError):
        load_backend(spec)
