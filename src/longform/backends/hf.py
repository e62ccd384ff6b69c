"""A local transformers model folder, generating natively in batches.

    load_backend("hf:/models/my-sft-checkpoint")

Conversations are rendered with the tokenizer's own chat template. Concurrent
calls (threads, or `LM.chat`'s batch) are decoded together, `batch_size` at a time,
by one continuous-batching loop (hf_batching.py): each call with its own KV cache
rows, sampler and seeded generator, joining and leaving between steps. Useful for
checking a freshly trained checkpoint without starting a server.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from ..errors import BackendError, UsageError
from .base import Completion, DeltaSink, GenerationConfig, Messages
from .decoding import TextStream


class HFProvider:
    name = "hf"
    supports_prefill = True
    max_concurrency = 8  # calls decoded together (hf_batching.py); `batch_size` sets it

    def __init__(self, path: str | None = None, device: str = "cpu", dtype: str = "auto",
                 gguf_file: str | None = None, batch_size: int = 8):
        if not path or not Path(path).exists():
            raise UsageError(f"hf backend: model folder {path!r} does not exist")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, **extra)
        except OSError as exc:  # files missing or unreadable: the user's folder, not a bug
            raise UsageError(f"hf backend: cannot load a tokenizer from {path}: {exc}") from None
        if not self.tokenizer.chat_template:
            raise UsageError(f"hf backend: {path} has no chat template in its tokenizer")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        try:
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **extra).to(device).eval()
        except OSError as exc:  # e.g. config.json without weights
            raise UsageError(f"hf backend: cannot load a model from {path}: {exc}") from None
        self.device = device
        self.batch_size = batch_size
        self.name = f"hf:{path}"
        self.context_window = getattr(self.model.config, "max_position_embeddings", None)
        self._end_ids = self._end_tokens()
        from .hf_batching import HFBatchDecoder

        self.max_concurrency = batch_size
        self._decoder = HFBatchDecoder(self.model, batch_size)

    def _render(self, messages: Messages) -> str:
        if messages and messages[-1]["role"] == "assistant":  # continue the reply (prefill)
            return self.tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(self._render(messages), add_special_tokens=False)["input_ids"])

    def generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None) -> Completion:
        call, reply = self._call(messages, config, on_delta)
        self._decoder.run(call)
        return reply.completion()

    def generate_batch(self, batch: list[Messages], config: GenerationConfig) -> list[Completion]:
        """All conversations into the decoder at once; it takes `batch_size` at a time."""
        pairs = [self._call(m, config, None) for m in batch]
        for call, _ in pairs:
            self._decoder.submit(call)
        for call, _ in pairs:
            self._decoder.wait(call)
        return [reply.completion() for _, reply in pairs]

    def _call(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None):
        from .hf_batching import HFCall

        tokens = self.tokenizer(self._render(messages), add_special_tokens=False)["input_ids"]
        reply = _Reply(self, tokens, config, on_delta)
        seed = config.seed if config.seed is not None else random.randrange(2**32)
        generator = self.torch.Generator().manual_seed(seed)
        return HFCall(tokens, self._processors(config, len(tokens)), _temperature(config) <= 0, generator,
                      reply.take), reply

    def _processors(self, config: GenerationConfig, prompt_tokens: int):
        """transformers' own processors, in the order `generate` applies them (top-k 50 is its default)."""
        from transformers import generation as g

        temperature = _temperature(config)
        chain = g.LogitsProcessorList()
        penalty = config.repetition_penalty or 1.1
        if penalty != 1.0:
            chain.append(g.RepetitionPenaltyLogitsProcessor(penalty))
        if config.no_repeat_ngram:
            chain.append(g.NoRepeatNGramLogitsProcessor(config.no_repeat_ngram))
        if config.min_tokens:
            chain.append(g.MinNewTokensLengthLogitsProcessor(prompt_tokens, config.min_tokens, sorted(self._end_ids)))
        if temperature > 0:
            chain.extend([g.TemperatureLogitsWarper(temperature), g.TopKLogitsWarper(50),
                          g.TopPLogitsWarper(config.top_p or 0.9)])
        return chain

    def _end_tokens(self) -> frozenset[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        return frozenset(i for i in ids if i is not None)


def _temperature(config: GenerationConfig) -> float:
    return 0.7 if config.temperature is None else config.temperature


class _Reply:
    """One call's sampled tokens turned into text as they come: an end token or a stop string
    ends it ("stop"), else the token limit or the model's window ("length")."""

    def __init__(self, provider: HFProvider, tokens: list[int], config: GenerationConfig,
                 on_delta: DeltaSink | None):
        window = provider.context_window
        room = config.max_tokens if not window else min(config.max_tokens, window - len(tokens))
        if room < 1:
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit the {window}-token window")
        self.provider, self.prompt_tokens, self.limit = provider, len(tokens), room
        self.stream = TextStream(list(config.stop))
        self.emit = on_delta or (lambda _text: None)
        self.ids: list[int] = []
        self.shown = 0  # tokens whose text is out
        self.reason, self.started = "length", time.perf_counter()

    def take(self, token: int) -> bool:
        """Add a sampled token; True when the reply is over."""
        if token in self.provider._end_ids:
            self.reason = "stop"
            return True
        self.ids.append(token)
        self.emit(self.stream.feed(self._new_text()))
        if self.stream.stopped:
            self.reason = "stop"
            return True
        return len(self.ids) >= self.limit

    def _new_text(self) -> bytes:
        """The text the newest tokens add, once it is whole characters: the last few tokens are
        decoded with the one before them for context (byte-level pieces merge across tokens)."""
        decode = self.provider.tokenizer.decode
        start = max(0, self.shown - 1)
        before = decode(self.ids[start:self.shown], skip_special_tokens=True)
        now = decode(self.ids[start:], skip_special_tokens=True)
        if now.endswith("\ufffd") or not now.startswith(before):
            return b""
        self.shown = len(self.ids)
        return now[len(before):].encode("utf-8")

    def completion(self) -> Completion:
        if self.shown < len(self.ids):  # a character the model never finished: decoded as it stands
            self.emit(self.stream.feed(self.provider.tokenizer.decode(
                self.ids[self.shown:], skip_special_tokens=True).replace("\ufffd", "").encode("utf-8")))
        self.emit(self.stream.finish())
        return Completion(text=self.stream.text, finish_reason=self.reason, prompt_tokens=self.prompt_tokens,
                          completion_tokens=len(self.ids), seconds=time.perf_counter() - self.started)
