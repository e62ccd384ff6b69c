"""A local transformers model folder, generating natively in batches.

    load_backend("hf:/models/my-sft-checkpoint")

Conversations are rendered with the tokenizer's own chat template and padded on
the left so a batch decodes together with the KV cache on. Useful for checking
a freshly trained checkpoint without starting a server.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UsageError
from .base import Completion, DeltaSink, GenerationConfig, Messages


class HFProvider:
    name = "hf"
    supports_prefill = True
    max_concurrency = 1  # one batch at a time; batching happens inside generate_batch

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

    def _render(self, messages: Messages) -> str:
        if messages and messages[-1]["role"] == "assistant":  # continue the reply (prefill)
            return self.tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(self._render(messages), add_special_tokens=False)["input_ids"])

    def generate(self, messages: Messages, config: GenerationConfig, on_delta: DeltaSink | None = None) -> Completion:
        completion = self.generate_batch([messages], config)[0]
        if on_delta and completion.text:
            on_delta(completion.text)
        return completion

    def generate_batch(self, batch: list[Messages], config: GenerationConfig) -> list[Completion]:
        results: list[Completion] = []
        for start in range(0, len(batch), self.batch_size):
            results.extend(self._run(batch[start : start + self.batch_size], config))
        return results

    def _sampling(self, config: GenerationConfig) -> dict:
        temperature = 0.7 if config.temperature is None else config.temperature
        args = {"do_sample": temperature > 0, "max_new_tokens": config.max_tokens,
                "repetition_penalty": config.repetition_penalty or 1.1, "use_cache": True,
                "pad_token_id": self.tokenizer.pad_token_id}
        if temperature > 0:
            args.update(temperature=temperature, top_p=config.top_p or 0.9)
        if config.min_tokens:
            args["min_new_tokens"] = config.min_tokens
        if config.no_repeat_ngram:
            args["no_repeat_ngram_size"] = config.no_repeat_ngram
        if config.stop:
            args.update(stop_strings=list(config.stop), tokenizer=self.tokenizer)
        return args

    def _run(self, batch: list[Messages], config: GenerationConfig) -> list[Completion]:
        started = time.perf_counter()
        if config.seed is not None:
            self.torch.manual_seed(config.seed)
        texts = [self._render(m) for m in batch]
        inputs = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with self.torch.no_grad():
            output = self.model.generate(**inputs, **self._sampling(config))
        new = output[:, inputs["input_ids"].shape[1]:]
        seconds = (time.perf_counter() - started) / len(batch)
        prompt_lens = inputs["attention_mask"].sum(dim=1).tolist()
        return [self._completion(row, n, config, seconds) for row, n in zip(new, prompt_lens)]

    def _completion(self, row, prompt_tokens: int, config: GenerationConfig, seconds: float) -> Completion:
        ids = row.tolist()
        special = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
        ended = any(t in special for t in ids)
        count = next((i for i, t in enumerate(ids) if t in special), len(ids))
        text = self.tokenizer.decode(ids[:count], skip_special_tokens=True)
        # transformers stops after the token that completes a stop string but keeps
        # it; cut it off, as llama.cpp and OpenAI-compatible servers do
        cuts = [i for i in (text.find(s) for s in config.stop if s) if i >= 0]
        if cuts:
            text, ended = text[: min(cuts)], True
        reason = "stop" if ended or count < config.max_tokens else "length"
        return Completion(text=text, finish_reason=reason, prompt_tokens=int(prompt_tokens),
                          completion_tokens=count, seconds=seconds)
