"""The transformers backend on a tiny random Llama with SmolLM2's tokenizer.

The weights are random, so the text is gibberish; these tests check the
plumbing: batching and padding, token counts, finish reasons, seeds, prefill,
stop strings and errors. Two models are built once per session (see
tests/tiny_model.py): `plain` practically never ends a reply on its own;
`eos` ends replies after a few dozen tokens, which keeps a whole AgentWrite run
fast.
"""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from helpers.tiny_model import build_tiny_model, load_smollm2_tokenizer
from longform.backends import GenerationConfig, load_backend
from longform.errors import UsageError

BATCH = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": "You are a careful writer who answers at length."},
     {"role": "user", "content": "Tell me a long story about a lighthouse keeper, his dog and a storm at sea."}],
    [{"role": "user", "content": "What is a river?"}],
]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = load_smollm2_tokenizer()  # the slow part (≈ 5-10 s): convert it once
    return {
        "plain": build_tiny_model(root / "plain", tokenizer=tokenizer),
        "eos": build_tiny_model(root / "eos", eos_logit=1.0, tokenizer=tokenizer),
    }


@pytest.fixture(scope="module")
def lm(tiny_models):
    return load_backend(f"hf:{tiny_models['plain']}")


@pytest.fixture(scope="module")
def eos_lm(tiny_models):
    return load_backend(f"hf:{tiny_models['eos']}")


def own_count(lm, messages) -> int:
    """Prompt tokens computed without the provider: the chat template, tokenised."""
    tok = lm.provider.tokenizer
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tok(text, add_special_tokens=False)["input_ids"])


def assert_consistent(c, max_tokens: int, stop: tuple[str, ...] = ()) -> None:
    """"length" means max_tokens were generated; "stop" means fewer (end of
    turn) or, with stop strings, possibly all of them with the last one
    completing a stop string."""
    assert c.finish_reason in {"stop", "length"}
    assert 0 <= c.completion_tokens <= max_tokens
    if c.finish_reason == "length":
        assert c.completion_tokens == max_tokens
    elif not stop:
        assert c.completion_tokens < max_tokens


# loading -----------------------------------------------------------------------------

def test_the_tiny_model_folder_has_weights_tokenizer_and_template(tiny_models, lm):
    names = {p.name for p in tiny_models["plain"].iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    tokenizer = lm.provider.tokenizer
    assert "<|im_start|>" in tokenizer.chat_template  # SmolLM2's template, read from the GGUF
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.padding_side == "left"
    assert len(tokenizer) == lm.provider.model.config.vocab_size == 49152


def test_loads_and_counts_tokens(lm):
    assert lm.name.startswith("hf:")
    assert lm.context_window == 2048
    assert lm.supports_prefill
    counts = [lm.count_tokens(m) for m in BATCH]
    assert all(n > 0 for n in counts)
    assert counts == [own_count(lm, m) for m in BATCH]
    assert len(set(counts)) == 3  # the batch below really mixes lengths


@pytest.mark.parametrize("spec", ["hf:/nonexistent/tiny-model", "hf:", "hf"])
def test_a_missing_folder_is_a_usage_error(spec):
    with pytest.raises(UsageError):
        load_backend(spec)


def test_a_folder_without_weights_is_a_usage_error(tiny_models, tmp_path):
    import shutil

    broken = tmp_path / "no-weights"
    shutil.copytree(tiny_models["plain"], broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(UsageError, match="no-weights"):
        load_backend(f"hf:{broken}")


# batches ---------------------------------------------------------------------------------

def test_a_batch_returns_completions_in_order_with_own_prompt_counts(lm):
    calls = lm.usage.calls
    out = lm.chat(BATCH, GenerationConfig(max_tokens=6, seed=1))
    assert len(out) == 3
    for messages, c in zip(BATCH, out):
        assert c.prompt_tokens == lm.count_tokens(messages)  # padding excluded
        assert c.cached_tokens == 0
        assert_consistent(c, 6)
        assert c.text  # gibberish, but something
    assert lm.usage.calls == calls + 3
    assert lm.usage.completion_tokens >= sum(c.completion_tokens for c in out)


def test_batched_greedy_output_matches_one_by_one(lm):
    # Greedy decoding is deterministic, so each row of a left-padded batch must
    # equal the same conversation generated alone: order and padding are right.
    config = GenerationConfig(max_tokens=8, temperature=0)
    batched = lm.chat(BATCH, config)
    alone = [lm.complete(m, config) for m in BATCH]
    assert [c.text for c in batched] == [c.text for c in alone]
    assert [c.prompt_tokens for c in batched] == [c.prompt_tokens for c in alone]
    assert len({c.text for c in batched}) == 3  # three different answers, not one repeated


def test_batches_larger_than_batch_size_are_split(tiny_models):
    small = load_backend(f"hf:{tiny_models['plain']}", batch_size=2)
    config = GenerationConfig(max_tokens=4, temperature=0)
    out = small.chat(BATCH, config)
    alone = [small.complete(m, config) for m in BATCH]
    assert [c.text for c in out] == [c.text for c in alone]


def test_max_tokens_gives_length(lm):
    for c in lm.chat(BATCH, GenerationConfig(max_tokens=5, seed=3)):
        assert_consistent(c, 5)
        assert c.finish_reason == "length"  # a random model all but never samples end-of-turn


def test_end_of_turn_ends_a_row_and_is_not_in_the_text(eos_lm):
    out = eos_lm.chat(BATCH * 2, GenerationConfig(max_tokens=200, seed=1))
    assert len(out) == 6
    for c in out:
        assert_consistent(c, 200)
        assert "<|im_end|>" not in c.text and "<|im_start|>" not in c.text
    assert any(c.finish_reason == "stop" for c in out)
    stopped = [c for c in out if c.finish_reason == "stop"]
    assert all(c.completion_tokens < 200 for c in stopped)
    # rows that ended early were padded; the padding is not counted
    assert len({c.completion_tokens for c in out}) > 1


# sampling settings ---------------------------------------------------------------------------

def test_the_seed_makes_generation_reproducible(lm):
    config = GenerationConfig(max_tokens=12, seed=42)
    first = [c.text for c in lm.chat(BATCH, config)]
    lm.chat(BATCH, GenerationConfig(max_tokens=3, seed=7))  # move the RNG on in between
    again = [c.text for c in lm.chat(BATCH, config)]
    other = [c.text for c in lm.chat(BATCH, config.merged(seed=43))]
    assert first == again
    assert other != first
    assert lm.complete(BATCH[0], config).text == lm.complete(BATCH[0], config).text


def test_no_repeat_ngram_bans_every_repeated_bigram(lm, monkeypatch):
    decoder = lm.provider._decoder
    seen = []
    original = decoder.run
    monkeypatch.setattr(decoder, "run", lambda call: seen.append(original(call)) or seen[-1])
    c = lm.complete(BATCH[1], GenerationConfig(max_tokens=40, temperature=0, no_repeat_ngram=2, repetition_penalty=1.0))
    ids, prompt = seen[-1].ids, c.prompt_tokens  # prompt + generated, as the processors saw them
    assert len(ids) > prompt + 10
    grams = [tuple(ids[i : i + 2]) for i in range(len(ids) - 1)]
    for end in range(prompt, len(ids)):  # no bigram ending in the reply occurred before
        assert tuple(ids[end - 1 : end + 1]) not in grams[: end - 1]
    from transformers.generation import NoRepeatNGramLogitsProcessor

    kinds = lambda n: {type(p) for p in lm.provider._processors(GenerationConfig(no_repeat_ngram=n), 10)}  # noqa: E731
    assert NoRepeatNGramLogitsProcessor in kinds(2) and NoRepeatNGramLogitsProcessor not in kinds(0)


def test_stop_strings_end_the_reply_and_are_not_returned(lm):
    # A random model emits word pieces; almost all contain an "e" soon.
    out = lm.chat(BATCH, GenerationConfig(max_tokens=40, seed=5, stop=("e",)))
    assert any(c.finish_reason == "stop" for c in out)
    for c in out:
        assert_consistent(c, 40, stop=("e",))
        if c.finish_reason == "stop":
            assert "e" not in c.text  # like llama.cpp and OpenAI servers: the stop string is cut


# prefill ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefill", ["1.", "## Rivers\n\n", "The river"])
def test_prefill_renders_as_the_start_of_the_reply(lm, prefill):
    messages = BATCH[2] + [{"role": "assistant", "content": prefill}]
    rendered = lm.provider._render(messages)
    assert rendered.endswith("<|im_start|>assistant\n" + prefill)
    assert rendered.count("<|im_end|>") == lm.provider._render(BATCH[2]).count("<|im_end|>")
    c = lm.complete(messages, GenerationConfig(max_tokens=4, seed=1))
    assert c.prompt_tokens == lm.count_tokens(messages) > lm.count_tokens(BATCH[2])
    assert_consistent(c, 4)


def test_streaming_sends_the_whole_text_once(lm):
    pieces: list[str] = []
    c = lm.complete(BATCH[0], GenerationConfig(max_tokens=5, seed=2), on_delta=pieces.append)
    assert "".join(pieces) == c.text and c.text


# the engine --------------------------------------------------------------------------------------

def test_agentwrite_runs_to_the_end_on_the_tiny_model(eos_lm, tmp_path):
    from longform.pipeline.runner import AgentWrite, WriteSettings

    out = tmp_path / "run"
    result = AgentWrite(eos_lm, WriteSettings(target_words=600, seed=1)).run("Write a short essay about rivers", out)
    assert result.document == out / "document.md" and result.document.exists()
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "done" and meta["backend"].startswith("hf:")
    plan = json.loads((out / "plan.json").read_text())
    assert len(plan["sections"]) == len(result.sections) >= 1
    assert len(list((out / "sections").glob("*.json"))) == len(result.sections)
    trace = json.loads((out / "trace.json").read_text())
    assert trace["totals"]["calls"] == len(trace["calls"]) >= 2
    assert {c["stage"] for c in trace["calls"]} == {"plan", "section"}
    assert trace["totals"]["completion_tokens"] > 0


@pytest.mark.slow
def test_agentwrite_on_the_plain_random_model_falls_back_and_finishes(lm, tmp_path):
    # Never ends a reply: every plan attempt runs to 1024 tokens of gibberish,
    # the plan is rejected on every attempt and the fallback plan is written
    # (≈ 40 s on a free CPU, minutes on a busy one).
    from longform.pipeline.runner import AgentWrite, WriteSettings

    out = tmp_path / "run"
    # 900 words: three sections, so an outline is asked for (a one-section text gets no plan call)
    settings = WriteSettings(target_words=900, seed=1)
    result = AgentWrite(lm, settings).run("Write a short essay about rivers", out)
    assert any("fallback" in note for note in result.plan.notes)
    assert json.loads((out / "run.json").read_text())["status"] == "done"
    trace = json.loads((out / "trace.json").read_text())
    plan_calls = [c for c in trace["calls"] if c["stage"] == "plan"]
    assert len(plan_calls) == settings.plan_attempts
    assert all(c["finish_reason"] == "length" for c in plan_calls)
    assert len(result.plan.sections) == 3  # the fallback's three ~300-word sections…
    assert result.document.read_text().startswith("## Introduction")  # …each under its heading
    assert result.words > 0
