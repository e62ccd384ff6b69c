"""The embedded backend for real: SmolLM2-135M-Instruct run by llama.cpp.

One model is loaded for the module. It runs with one thread: on this 2-core
machine, when other processes are busy, llama.cpp with 2 threads spin-waits on
a descheduled thread and can drop from ~50 to < 1 token/s; 1 thread stays
fast. Outputs depend only on the seed, not on what is in the KV cache (checked
below), so test order does not matter.
"""

from __future__ import annotations

import json
import os
import re

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from longform.backends import GenerationConfig, load_backend
from longform.backends.embedded import DEFAULTS, EmbeddedProvider, embedded_model_path
from longform.backends.sampling import NoRepeatNGram, ProseOnly
from longform.errors import BackendError, UsageError

pytest.importorskip("llama_cpp")
try:
    embedded_model_path()
except UsageError as exc:  # pragma: no cover - the package is a dependency
    pytest.skip(f"no embedded model: {exc}", allow_module_level=True)

QUESTION = [{"role": "user", "content": "Name three rivers in Europe."}]
LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-*•#>|])")


@pytest.fixture(scope="module")
def lm():
    return load_backend("embedded", threads=1)


@pytest.fixture(scope="module")
def provider(lm) -> EmbeddedProvider:
    return lm.provider


def new_ngrams_repeat(ids: list[int], start: int, n: int, exempt=frozenset()) -> list[tuple[int, ...]]:
    """n-grams ending at or after `start` that already occurred earlier in `ids`,
    except those whose last token is exempt from the ban (word continuations)."""
    seen: set[tuple[int, ...]] = set()
    repeats = []
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i : i + n])
        if i + n - 1 >= start and gram in seen and gram[-1] not in exempt:
            repeats.append(gram)
        seen.add(gram)
    return repeats


# loading and counting ------------------------------------------------------------

def test_default_spec_loads_smollm2_with_an_8k_window():
    lm = load_backend("embedded")
    assert lm.name == "embedded"
    assert lm.context_window == 8192
    assert lm.supports_prefill
    short = lm.count_tokens(QUESTION)
    longer = lm.count_tokens(QUESTION + [{"role": "assistant", "content": "The Danube, the Rhine and the Loire."},
                                         {"role": "user", "content": "Which is the longest?"}])
    assert 0 < short < longer


def test_missing_model_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_backend("embedded", model_path=str(tmp_path / "nope.gguf"))
    with pytest.raises(UsageError):
        load_backend(f"embedded:?model_path={tmp_path / 'missing.gguf'}")


# one completion ------------------------------------------------------------------

def test_short_completion_reports_tokens(lm):
    calls = lm.usage.calls
    c = lm.complete(QUESTION, GenerationConfig(max_tokens=40, seed=7))
    assert c.text.strip()
    assert c.finish_reason in {"stop", "length"}
    assert c.prompt_tokens == lm.count_tokens(QUESTION) > 0
    assert 0 < c.completion_tokens <= 42  # re-tokenised text: may differ by a token
    assert c.seconds > 0
    assert lm.usage.calls == calls + 1


def test_min_tokens_keeps_the_model_writing(lm):
    short = lm.complete(QUESTION, GenerationConfig(max_tokens=400, seed=7))
    assert short.finish_reason == "stop" and short.completion_tokens < 150  # it answers briefly by itself
    forced = lm.complete(QUESTION, GenerationConfig(max_tokens=400, min_tokens=200, seed=7))
    assert forced.completion_tokens >= 195  # re-tokenised text: may differ by a few tokens
    assert "<|im_end|>" not in forced.text


def test_a_prompt_continuing_the_reply_reuses_every_reply_token(lm):
    """"## Tides\n\n" alone ends in one "\n\n" token, but two "\n" tokens once text
    follows: the backend must reuse the reply's own tokens or it re-reads the reply."""
    first = [{"role": "user", "content": "Write about the sea."}, {"role": "assistant", "content": "## Tides\n\n"}]
    a = lm.complete(first, GenerationConfig(max_tokens=80, seed=3))
    after = [first[0], {"role": "assistant", "content": "## Tides\n\n" + a.text + "\n\n## Ships\n\n"}]
    b = lm.complete(after, GenerationConfig(max_tokens=8, seed=3))
    assert b.cached_tokens >= a.prompt_tokens + a.completion_tokens - 2
    assert b.prompt_tokens - b.cached_tokens <= 8  # only the new heading is read


def test_max_tokens_ends_with_length(lm):
    c = lm.complete(QUESTION, GenerationConfig(max_tokens=8, seed=7))
    assert c.finish_reason == "length"
    assert 6 <= c.completion_tokens <= 9
    assert c.text.strip()


def test_stop_strings_end_the_reply_and_are_not_returned(lm):
    c = lm.complete(QUESTION, GenerationConfig(max_tokens=60, seed=7, stop=("\n",)))
    assert c.finish_reason == "stop"
    assert "\n" not in c.text and c.text.strip()


# prefix cache ----------------------------------------------------------------------

def test_prefix_cache_is_reported_when_a_call_extends_the_last_one(lm):
    first = lm.complete(QUESTION, GenerationConfig(max_tokens=30, seed=3))
    follow_up = QUESTION + [{"role": "assistant", "content": first.text},
                            {"role": "user", "content": "Which of them is the longest?"}]
    second = lm.complete(follow_up, GenerationConfig(max_tokens=20, seed=3))
    assert second.cached_tokens > 0
    assert second.cached_tokens >= first.prompt_tokens - 1
    assert second.cached_tokens < second.prompt_tokens
    assert second.prefill_tokens == second.prompt_tokens - second.cached_tokens


def test_a_different_first_message_shares_only_the_framing(lm):
    lm.complete(QUESTION, GenerationConfig(max_tokens=10, seed=3))
    other = [{"role": "system", "content": "You are a pirate who answers in rhymes."}, *QUESTION]
    c = lm.complete(other, GenerationConfig(max_tokens=10, seed=3))
    assert c.cached_tokens < 10  # "<|im_start|>system\n" and little else
    assert c.cached_tokens < c.prompt_tokens // 3


# prefill and streaming ---------------------------------------------------------------

def test_a_final_assistant_message_is_continued(lm, provider):
    prefilled = QUESTION + [{"role": "assistant", "content": "1."}]
    tokens, _ = provider._prompt(prefilled)
    prompt = provider.llm.detokenize(tokens, special=True).decode("utf-8")
    assert prompt.endswith("<|im_start|>assistant\n1.")  # no end-of-turn after the prefill
    c = lm.complete(prefilled, GenerationConfig(max_tokens=30, seed=5))
    assert c.text.strip()
    assert not c.text.lstrip().startswith("1.")  # continues the item instead of restarting the list
    assert c.prompt_tokens == lm.count_tokens(prefilled) > lm.count_tokens(QUESTION)


def test_streamed_pieces_make_up_the_text(lm):
    pieces: list[str] = []
    c = lm.complete(QUESTION, GenerationConfig(max_tokens=30, seed=11), on_delta=pieces.append)
    assert len(pieces) > 3  # it really streamed, piece by piece
    assert "".join(pieces) == c.text


# determinism -------------------------------------------------------------------------

def test_the_seed_fixes_the_text_whatever_the_cache_holds(lm):
    config = GenerationConfig(max_tokens=40, seed=1234)
    first = lm.complete(QUESTION, config).text
    again = lm.complete(QUESTION, config)  # the whole prompt is cached now
    assert again.cached_tokens >= again.prompt_tokens - 1
    lm.complete([{"role": "user", "content": "Say something about cats."}], GenerationConfig(max_tokens=15, seed=9))
    after_other = lm.complete(QUESTION, config).text  # cache holds an unrelated prompt
    fresh = load_backend("embedded", threads=1).complete(QUESTION, config).text  # empty cache
    assert first == again.text == after_other == fresh


# n-gram blocking -----------------------------------------------------------------------

def test_default_blocks_every_repeated_token_ngram(lm, provider):
    # The default n-gram ban (DEFAULTS.no_repeat_ngram) spares tokens that
    # continue a word, so a repeated n-gram may end only in such a token.
    n = DEFAULTS.no_repeat_ngram
    assert n and n >= 2
    exempt = provider._continuations
    messages = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]
    c = lm.complete(messages, GenerationConfig(max_tokens=300, seed=5))
    assert c.completion_tokens >= 200
    prompt_ids, _ = provider._prompt(messages)
    # what llama.cpp actually evaluated: the prompt and every generated token but the last
    evaluated = provider.llm.input_ids[: provider.llm.n_tokens].tolist()
    assert evaluated[: len(prompt_ids)] == prompt_ids
    assert len(evaluated) > len(prompt_ids) + 200
    assert new_ngrams_repeat(evaluated, len(prompt_ids), n, exempt) == []
    # and the returned text, tokenised again after the prompt
    retokenized = prompt_ids + provider.llm.tokenize(c.text.encode("utf-8"), add_bos=False, special=False)
    assert new_ngrams_repeat(retokenized, len(prompt_ids), n, exempt) == []


def test_word_continuations_are_the_tokens_starting_with_a_letter(provider):
    exempt = provider._continuations
    tok = lambda s: provider.llm.tokenize(s.encode(), add_bos=False, special=False)  # noqa: E731
    assert len(exempt) > 1000
    assert tok("The")[0] in exempt and tok("ing")[0] in exempt
    assert tok(" the")[0] not in exempt and tok(".")[0] not in exempt and tok("\n")[0] not in exempt


def test_no_repeat_ngram_option_is_honoured(provider):
    default = provider._processors(GenerationConfig())
    assert [type(p) for p in default] == [NoRepeatNGram] and default[0].n == DEFAULTS.no_repeat_ngram
    assert default[0].exempt == provider._continuations
    assert provider._processors(GenerationConfig(no_repeat_ngram=0)) is None
    three = provider._processors(GenerationConfig(no_repeat_ngram=3))
    assert len(three) == 1 and three[0].n == 3
    both = provider._processors(GenerationConfig(no_repeat_ngram=4, prose=True))
    assert [type(p) for p in both] == [NoRepeatNGram, ProseOnly] and both[0].n == 4
    assert provider._processors(GenerationConfig(no_repeat_ngram=0, prose=True)) == [provider._prose]
    assert provider._processors(GenerationConfig(no_repeat_ngram=1)) is None  # below 2 means off
    assert provider._sampling(GenerationConfig(no_repeat_ngram=0))["logits_processor"] is None


def test_a_short_ngram_limit_really_acts_inside_llama_cpp(lm, provider):
    # English repeats 3-grams of tokens within a hundred tokens; with the limit
    # at 3 no 3-gram ending in the reply may occur earlier in the context
    # (unless it ends in an exempt word-continuation token).
    messages = [{"role": "user", "content": "Describe a busy harbour in the morning."}]
    config = GenerationConfig(max_tokens=120, seed=2, no_repeat_ngram=3)
    c = lm.complete(messages, config)
    assert c.completion_tokens > 40
    prompt_ids, _ = provider._prompt(messages)
    evaluated = provider.llm.input_ids[: provider.llm.n_tokens].tolist()
    assert new_ngrams_repeat(evaluated, len(prompt_ids), 3, provider._continuations) == []


# prose mode --------------------------------------------------------------------------------

def test_prose_vocabulary_covers_smollm2_list_tokens(provider):
    provider._processors(GenerationConfig(prose=True))
    prose = provider._prose
    tok = lambda s: provider.llm.tokenize(s.encode(), add_bos=False, special=False)  # noqa: E731
    for marker in ["1", "-", "*", "#", "##", "["]:
        ids = tok(marker)
        assert len(ids) == 1 and ids[0] in prose.markers, marker
    assert tok("\n")[0] in prose.line_ends
    assert tok("The")[0] not in prose.markers


def test_prose_mode_writes_no_list_lines(lm):
    messages = [{"role": "user", "content": "List ten tips for healthy sleep."}]
    plain = lm.complete(messages, GenerationConfig(max_tokens=30, seed=3))
    assert any(LIST_MARKER.match(line) for line in plain.text.splitlines())  # the prompt invites a list
    c = lm.complete(messages, GenerationConfig(max_tokens=150, seed=3, prose=True))
    lines = [line for line in c.text.splitlines() if line.strip()]
    assert lines
    assert [line for line in lines if LIST_MARKER.match(line)] == []


# errors ----------------------------------------------------------------------------------------

def test_a_prompt_larger_than_the_window_is_a_backend_error(lm):
    huge = [{"role": "user", "content": "river " * 9000}]
    assert lm.count_tokens(huge) > lm.context_window
    with pytest.raises(BackendError, match="does not fit"):
        lm.complete(huge, GenerationConfig(max_tokens=10))
    # the provider is still usable afterwards
    assert lm.complete(QUESTION, GenerationConfig(max_tokens=5, seed=1)).text


def test_max_tokens_is_capped_by_the_room_left():
    small = EmbeddedProvider(n_ctx=256, threads=1)
    messages = [{"role": "user", "content": "Tell me about the sea. " * 20}]
    room = small.context_window - small.count_tokens(messages)
    assert 16 <= room < 200
    c = small.generate(messages, GenerationConfig(max_tokens=5000, min_tokens=5000, seed=1))
    assert c.completion_tokens == room and c.finish_reason == "length"
    c = small.generate(messages, GenerationConfig(max_tokens=12, min_tokens=12, seed=1))
    assert c.completion_tokens == 12


# the real engine ---------------------------------------------------------------------------------

def test_agentwrite_end_to_end(lm, tmp_path):
    from longform.pipeline.runner import AgentWrite, WriteSettings
    from longform.text import detect_language, repeated_ngram_share

    # 600 words: two sections, so a plan is asked for (one section's length gets none)
    # and the second section's prompt can reuse the first one's cache.
    result = AgentWrite(lm, WriteSettings(target_words=600, seed=0)).run(
        "Write a short essay about rivers", tmp_path / "run")
    assert 560 <= result.words <= 690  # the length controller: within S_l's 95-point band
    assert len(result.sections) == len(result.plan.sections) >= 2
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["status"] == "done" and meta["backend"] == "embedded"
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert trace["totals"]["calls"] >= 2
    assert trace["totals"]["cached_tokens"] > 0
    assert trace["totals"]["completion_tokens"] > 0
    text = (tmp_path / "run" / "document.md").read_text()
    assert text.strip() == result.text.strip() != ""
    assert detect_language(text) == "en"
    assert len(re.findall(r"\b(the|and|of|a|to|in|is)\b", text.lower())) > 10  # English words
    assert repeated_ngram_share(text) < 0.2
