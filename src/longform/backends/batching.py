"""Continuous batching for the embedded backend: concurrent calls on one model decoded together.

The 135M model is cheap to run for several sequences at once: one `llama_decode` of N tokens
(one token of each of N sequences) costs far less than N decodes of one. `BatchDecoder`
keeps one llama.cpp context with `slots` sequence ids, each with its own KV cells, and one
thread that runs the loop:

- a call waiting for a slot joins between steps: it takes the free slot whose cached
  tokens share the longest start with its prompt (a document's next call lands where its
  last one left its prefix), drops the rest of that slot's cache, and reads only what is new;
- every step decodes the next token of every active call in one batch, then samples each
  from its own logits with its own sampler chain (seed, penalties, our guards);
- a call that ends leaves between steps and frees its slot (its tokens stay cached there).

Each call's sampler chain is the one llama-cpp-python builds for `Llama.generate` (guards,
penalties, top-k, typical, top-p, min-p, temperature, seeded draw), over its own token
history, so a call alone in the decoder samples what the serial path samples. With other
calls in the same batch its logits can differ in the last bits (llama.cpp may take another
matmul kernel for a larger batch), so a seeded text then matches the serial one only until a
sampled token sits on such a tie: mostly the whole text, not always (one of four 24-token
calls parted after 9 tokens in one test run).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import BackendError
from .decode_loop import DecodeLoop

PENALTY_LAST_N = 64  # llama-cpp-python's last_n_tokens_size
COMPACT_BELOW = 64  # shared tokens under which a call takes the lowest free slot instead (a system prompt)


def shared_start(a: list[int], b: list[int]) -> int:
    """How many tokens `a` and `b` share from the start: what a KV cache holding `a` can reuse for `b`."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass
class Call:
    """One generation in the decoder. `on_token(token)` returns True when the call is over."""

    tokens: list[int]  # the prompt
    sampler: object  # llama_cpp._internals.LlamaSampler
    on_token: Callable[[int], bool]
    ids: list[int] = field(default_factory=list)  # prompt + generated: what the guards see (the sampler's list)
    cached: int = 0  # prompt tokens the slot already held
    slot: int = -1
    unread: list[int] = field(default_factory=list)  # prompt tokens not yet in the slot's KV cells
    pending: int | None = None  # sampled, not yet decoded
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def sampler_chain(n_vocab: int, processors: list | None, ids: list[int], *, temp: float, top_p: float,
                  min_p: float, top_k: int, repeat_penalty: float, seed: int):
    """The chain `Llama._init_sampler` builds, its guards reading this call's own `ids`."""
    from llama_cpp import _internals, llama_token_data

    chain = _internals.LlamaSampler()
    if processors:
        def apply(token_data_array) -> None:
            size = token_data_array.contents.size
            address = ctypes.addressof(token_data_array.contents.data.contents)
            rows = np.recarray((size,), dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)],
                                                       align=True), buf=(llama_token_data * size).from_address(address))
            history = np.asarray(ids, dtype=np.intc)
            for processor in processors:
                rows.logit[:] = processor(history, rows.logit)

        chain.add_custom(apply)
    chain.add_penalties(n_vocab=n_vocab, penalty_last_n=PENALTY_LAST_N, penalty_repeat=repeat_penalty,
                        penalty_freq=0.0, penalty_present=0.0)
    if temp < 0:
        chain.add_dist(seed)
    elif temp == 0:
        chain.add_greedy()
    else:
        chain.add_top_k(top_k)
        chain.add_typical(1.0, 1)
        chain.add_top_p(top_p, 1)
        chain.add_min_p(min_p, 1)
        chain.add_temp(temp)
        chain.add_dist(seed)
    return chain


class BatchDecoder(DecodeLoop):
    def __init__(self, model, base_params, slots: int, slot_tokens: int):
        """`base_params`: the serial context's llama_context_params, copied so both contexts
        compute alike (flash attention, KV types, threads); only the size and sequences change."""
        import llama_cpp as L

        super().__init__("embedded-batch")
        params = L.llama_context_params()
        ctypes.memmove(ctypes.byref(params), ctypes.byref(base_params), ctypes.sizeof(params))
        n_batch = params.n_batch
        params.n_ctx, params.n_seq_max = slots * slot_tokens, slots
        params.kv_unified = False  # a KV stream per slot: each call's attention reads only its own cells
        self.ctx = L.llama_init_from_model(model, params)
        if not self.ctx:
            raise BackendError(f"llama.cpp could not make a context of {slots} x {slot_tokens} tokens")
        self.L, self.slot_tokens, self.n_batch = L, slot_tokens, n_batch
        self.memory = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(max(n_batch, slots), 0, 1)
        self.held: list[list[int]] = [[] for _ in range(slots)]  # the tokens in each slot's KV cells
        self.free = list(range(slots))
        self.reading: list[Call] = []  # joined, their prompts read a chunk a step
        self.active: list[Call] = []  # generating
        self.start()

    def run(self, call: Call) -> Call:
        if len(call.tokens) >= self.slot_tokens:
            raise BackendError(f"prompt of {len(call.tokens)} tokens does not fit a {self.slot_tokens}-token slot")
        return super().run(call)

    # the loop, on its own thread (decode_loop.py) ----------------------------
    def _room(self) -> int:
        return len(self.free)

    def _busy(self) -> bool:
        return bool(self.active or self.reading)

    def _round(self, joining: list[Call]) -> None:
        for call in joining:
            self._guarded(call, self._join)
        self._step()

    def _join(self, call: Call) -> None:
        """Take a slot and drop what of its cache the prompt does not share; the rest of the
        prompt is read in the coming steps, beside the other calls' tokens."""
        call.slot = self._slot_for(call.tokens)
        keep = shared_start(self.held[call.slot], call.tokens[:-1])  # the last prompt token is always read
        self.L.llama_memory_seq_rm(self.memory, call.slot, keep, -1)
        call.cached, call.unread = keep, list(call.tokens[keep:])
        self.held[call.slot] = list(call.tokens[:keep])
        self.reading.append(call)

    def _step(self) -> None:
        """One decode: the next token of every generating call, then as many prompt tokens of
        joining calls as the batch has room for (a prompt's logits only at its last token)."""
        pieces = [(c, [c.pending], True) for c in self.active]  # (call, tokens, generating)
        room = self.n_batch - len(pieces)
        for call in self.reading:
            if room <= 0:
                break
            pieces.append((call, call.unread[:room], False))
            room -= len(pieces[-1][1])
        if not pieces:
            return
        # Rows in sequence-id order, a slot's rows together: with a KV stream per sequence llama.cpp
        # cuts a batch into micro-batches wherever the ids do not run 0, 1, 2, … in order (measured:
        # 8 rows out of order 83 ms a step, in order 55; slots 0, 2, 4, 6 cost as much as 0-7).
        pieces.sort(key=lambda piece: piece[0].slot)
        rows, last = [], []
        for call, tokens, generating in pieces:
            start, ends = len(self.held[call.slot]), generating or len(tokens) == len(call.unread)
            rows += [(t, start + i, call.slot, ends and i == len(tokens) - 1) for i, t in enumerate(tokens)]
            last.append(len(rows) - 1)
        self._fill(rows)
        try:
            self._decode()
        except BaseException as exc:  # noqa: BLE001 - every call in the batch fails with it
            for call, _, _ in pieces:
                call.error = exc
                self._leave(call)
            return
        for (call, tokens, generating), row in zip(pieces, last):
            self.held[call.slot].extend(tokens)
            if not generating:
                call.unread = call.unread[len(tokens):]
                if call.unread:
                    continue
                self.reading.remove(call)  # the whole prompt is read: its first token comes from its last row
                self.active.append(call)
            self._guarded(call, lambda c, row=row: self._take(c, self._sample(c, row)))

    def _slot_for(self, tokens: list[int]) -> int:
        """The free slot whose cached tokens share the longest start with `tokens`; with little to
        share (a new document), the lowest free one, so busy slots stay a compact run of ids."""
        with self.cond:
            shares = {free: shared_start(self.held[free], tokens) for free in self.free}
            best = max(shares, key=lambda free: (shares[free], -free))
            slot = best if shares[best] >= COMPACT_BELOW else min(self.free)
            self.free.remove(slot)
        return slot

    def _sample(self, call: Call, index: int) -> int:
        return int(self.L.llama_sampler_sample(call.sampler.sampler, self.ctx, index))

    def _take(self, call: Call, token: int) -> None:
        if call.on_token(token):
            self._leave(call)
        else:
            call.pending = token
            call.ids.append(token)

    def _leave(self, call: Call) -> None:
        for queue in (self.active, self.reading):
            if call in queue:
                queue.remove(call)
        with self.cond:
            if call.slot >= 0 and call.slot not in self.free:
                self.free.append(call.slot)
        call.sampler.close()
        call.done.set()

    def _fill(self, rows: list[tuple[int, int, int, bool]]) -> None:
        batch = self.batch
        batch.n_tokens = len(rows)
        for i, (token, pos, seq, logits) in enumerate(rows):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, logits

    def _decode(self) -> None:
        status = self.L.llama_decode(self.ctx, self.batch)
        if status != 0:
            raise BackendError(f"llama_decode failed (status {status}): the batch did not fit the context")
