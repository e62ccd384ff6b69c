"""Continuous batching for the hf backend: concurrent calls on one transformers model decoded together.

`HFBatchDecoder` runs one loop on its own thread over one batched KV cache:

- a call joins between steps: its prompt is read alone into a cache of its own, then that
  cache joins the batch's, padded on the left to the batch's length (or the batch's padded
  to it), and the attention mask hides the padding;
- every step decodes the next token of every active call in one forward pass, each row at
  its own position, then samples each row with its own logits processors and its own seeded
  generator (repetition penalty, n-gram ban, minimum length, temperature, top-p);
- a call that ends leaves between steps: its row is dropped from the cache, and columns
  that only ever held padding are cut away.

Greedy decoding in a batch gives the tokens of decoding alone: masked padding gets exactly
zero attention, and only a last-bit difference between batched and single matmuls could flip
an exact tie (the tests compare against `model.generate`). A sampled call draws from its own
generator, so its text does not depend on what else is in the batch beyond those last bits.
Caches of sliding-window or recurrent layers cannot be padded this way; such models are
refused with a clear error.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..errors import BackendError
from .decode_loop import DecodeLoop


@dataclass
class HFCall:
    """One generation. `on_token(token)` returns True when the call is over."""

    tokens: list[int]  # the prompt
    processors: object  # transformers LogitsProcessorList (penalties, bans, warpers)
    greedy: bool
    generator: object  # torch.Generator for this call's draws
    on_token: Callable[[int], bool]
    ids: list[int] = field(default_factory=list)  # prompt + generated: what the processors see
    pending: int | None = None  # sampled, not yet decoded
    position: int = 0  # position id of `pending`
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class HFBatchDecoder(DecodeLoop):
    def __init__(self, model, slots: int):
        import torch

        super().__init__("hf-batch")
        self.torch, self.model, self.slots = torch, model, slots
        # transformers renamed `past_key_values` to `cache` within 5.x; pass the one this model takes
        self.cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        self.cache = None  # the batch's DynamicCache, one row per active call
        self.mask = None  # (rows, columns) 1 where a row holds a real token
        self.active: list[HFCall] = []
        self.start()

    def submit(self, call: HFCall) -> None:
        call.ids = list(call.tokens)
        super().submit(call)

    # the loop, on its own thread (decode_loop.py) ----------------------------
    def _room(self) -> int:
        return self.slots - len(self.active)

    def _busy(self) -> bool:
        return bool(self.active)

    def _round(self, joining: list[HFCall]) -> None:
        with self.torch.no_grad():
            for call in joining:
                self._guarded(call, self._join)
            if self.active:
                self._step()

    def _join(self, call: HFCall) -> None:
        """Read the prompt alone, take its first token, and merge its cache into the batch's."""
        from transformers import DynamicCache

        own = DynamicCache()
        ids = self.torch.tensor([call.tokens], device=self.model.device)
        logits = self.model(input_ids=ids, **{self.cache_arg: own}, use_cache=True, logits_to_keep=1).logits[:, -1, :]
        self._merge(own, len(call.tokens))
        call.position = len(call.tokens)
        self.active.append(call)
        self._take(call, logits[0])

    def _merge(self, own, length: int) -> None:
        torch = self.torch
        row_mask = torch.ones((1, length), dtype=torch.long, device=self.model.device)
        if self.cache is None:
            self.cache, self.mask = own, row_mask
            return
        width = self.mask.shape[1]
        for batch_layer, own_layer in zip(self._layers(self.cache), self._layers(own)):
            for name in ("keys", "values"):
                ours, theirs = getattr(batch_layer, name), getattr(own_layer, name)
                wide = max(width, length)
                setattr(batch_layer, name, torch.cat([_pad_left(ours, wide), _pad_left(theirs, wide)], dim=0))
        wide = max(width, length)
        self.mask = torch.cat([_pad_left(self.mask, wide, dim=1), _pad_left(row_mask, wide, dim=1)], dim=0)

    def _layers(self, cache) -> list:
        from transformers.cache_utils import DynamicLayer

        layers = cache.layers
        if not all(type(layer) is DynamicLayer for layer in layers):
            raise BackendError("hf backend: batching needs a model whose cache layers are all full attention")
        return layers

    def _step(self) -> None:
        """One forward pass: the pending token of every active call, each at its own position."""
        torch, calls = self.torch, list(self.active)
        ids = torch.tensor([[c.pending] for c in calls], device=self.model.device)
        positions = torch.tensor([[c.position] for c in calls], device=self.model.device)
        self.mask = torch.cat([self.mask, torch.ones((len(calls), 1), dtype=self.mask.dtype,
                                                      device=self.mask.device)], dim=1)
        try:
            logits = self.model(input_ids=ids, attention_mask=self.mask, position_ids=positions,
                                **{self.cache_arg: self.cache}, use_cache=True).logits[:, -1, :]
        except BaseException as exc:  # noqa: BLE001 - every call in the batch fails with it
            for call in calls:
                call.error = exc
                self._leave(call)
            return
        for row, call in enumerate(calls):
            call.position += 1
            self._guarded(call, lambda c, row=row: self._take(c, logits[row]))

    def _take(self, call: HFCall, logits) -> None:
        token = self._sample(call, logits)
        call.ids.append(token)
        if call.on_token(token):
            self._leave(call)
        else:
            call.pending = token

    def _sample(self, call: HFCall, logits) -> int:
        torch = self.torch
        history = torch.tensor([call.ids], device=logits.device)
        scores = call.processors(history, logits[None].float())
        if call.greedy:
            return int(scores.argmax(dim=-1))
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs[0].cpu(), 1, generator=call.generator))

    def _leave(self, call: HFCall) -> None:
        if call in self.active:
            row = self.active.index(call)
            self.active.pop(row)
            keep = [i for i in range(self.mask.shape[0]) if i != row]
            if not keep:
                self.cache = self.mask = None
            else:
                self._keep_rows(keep)
        call.done.set()

    def _keep_rows(self, keep: list[int]) -> None:
        """Drop a row, then the leading columns no remaining row uses."""
        torch = self.torch
        index = torch.tensor(keep, device=self.mask.device)
        self.mask = self.mask[index]
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else 0
        self.mask = self.mask[:, first:]
        for layer in self._layers(self.cache):
            layer.keys, layer.values = layer.keys[index, :, first:], layer.values[index, :, first:]


def _pad_left(tensor, width: int, dim: int = 2):
    """`tensor` with zeros before it along `dim` up to `width`."""
    import torch

    missing = width - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=tensor.dtype, device=tensor.device), tensor], dim=dim)
