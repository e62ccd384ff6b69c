"""P8, the ceiling: what batched decoding can give on this machine, with no engine around it.

A bare loop on llama.cpp's own API: one context, N sequences (one sequence id each, each
with its own KV cells), every step decodes one token of every sequence in one
`llama_decode` and picks each sequence's next token greedily from its own logits.
Aggregate output tokens per second at N = 1, 2, 4, 8 are divided by N = 1's, in one
process. This is the number an engine that batches concurrent calls can approach, never
pass: the batching the backends do (issue 22) is measured against it.

    python benchmarks/p8_batch_ceiling.py [--tokens 128] [--prompt-tokens 256] [--threads 2]

Measured on this 2-core CPU (2026-12-02), 256-token prompt, 128 new tokens a sequence:
1 / 2 / 4 / 8 streams gave 54.7 / 75.6 / 92.5 / 120.9 tok/s, so 1.38 / 1.69 / 2.21 ×; 16 streams
2.10 × (96 tokens). `llama_decode` itself is 97-98 % of each step at N = 1 and 8, so the cap is
llama.cpp's batched compute here, not the loop around it. With one KV cache shared by all
sequences (kv_unified) N = 8 gave only 1.74 ×: every sequence's attention then reads every cell.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _context(llm, n_seq: int, n_ctx: int, threads: int):
    import llama_cpp as L

    params = L.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, 512, 512
    params.n_seq_max, params.n_threads, params.n_threads_batch = n_seq, threads, threads
    params.kv_unified = False  # a KV stream per sequence: attention reads only its own cells
    ctx = L.llama_init_from_model(llm.model, params)
    if not ctx:
        raise SystemExit(f"llama.cpp could not make a context for {n_seq} sequences of {n_ctx} tokens")
    return ctx


def _fill(batch, tokens: list[int], positions: list[int], seqs: list[int], logits: list[bool]) -> None:
    batch.n_tokens = len(tokens)
    for i, (token, pos, seq, want) in enumerate(zip(tokens, positions, seqs, logits)):
        batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
        batch.seq_id[i][0], batch.logits[i] = seq, want


def run(llm, prompt: list[int], n_seq: int, new_tokens: int, threads: int) -> tuple[float, float]:
    """(prefill seconds, decode tokens per second over all sequences) for `n_seq` sequences."""
    import llama_cpp as L

    ctx = _context(llm, n_seq, n_seq * (len(prompt) + new_tokens + 8), threads)
    vocab = L.llama_n_vocab(L.llama_model_get_vocab(llm.model))
    batch = L.llama_batch_init(max(512, n_seq), 0, n_seq)
    try:
        started = time.perf_counter()
        for seq in range(n_seq):  # each sequence reads the prompt itself: its own KV cells
            for start in range(0, len(prompt), 512):
                chunk = prompt[start:start + 512]
                _fill(batch, chunk, list(range(start, start + len(chunk))), [seq] * len(chunk),
                      [start + i == len(prompt) - 1 for i in range(len(chunk))])
                if L.llama_decode(ctx, batch) != 0:
                    raise SystemExit("llama_decode failed on the prompt")
        prefill = time.perf_counter() - started
        last = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(vocab,))
        current = [int(last.argmax())] * n_seq
        started = time.perf_counter()
        for step in range(new_tokens):
            _fill(batch, current, [len(prompt) + step] * n_seq, list(range(n_seq)), [True] * n_seq)
            if L.llama_decode(ctx, batch) != 0:
                raise SystemExit("llama_decode failed while decoding")
            for i in range(n_seq):
                logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, i), shape=(vocab,))
                # a small offset per sequence, so the sequences do not all write the same text
                current[i] = int((logits + 1e-3 * i * (np.arange(vocab) % 7)).argmax())
        seconds = time.perf_counter() - started
        return prefill, n_seq * new_tokens / seconds
    finally:
        L.llama_batch_free(batch)
        L.llama_free(ctx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per sequence")
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    from llama_cpp import Llama

    from longform.backends.model_file import embedded_model_path

    llm = Llama(model_path=str(embedded_model_path()), n_ctx=512, verbose=False, n_threads=args.threads)
    text = ("The lighthouse keeper climbed the stairs at dusk and lit the lamp. " * 200).encode()
    prompt = llm.tokenize(text, add_bos=True)[: args.prompt_tokens]
    rows = []
    for n in args.streams:
        rows.append((n, *run(llm, prompt, n, args.tokens, args.threads)))
    base = rows[0][2]
    print(f"bare batched decode, SmolLM2-135M Q4_1, {args.threads} threads, prompt {len(prompt)} tokens, "
          f"{args.tokens} new tokens a sequence")
    print("streams  prefill s  aggregate tok/s  ÷ one stream")
    for n, prefill, rate in rows:
        print(f"{n:7d}  {prefill:9.2f}  {rate:15.1f}  {rate / base:12.2f}")
    print(json.dumps({"benchmark": "P8 ceiling", "streams": rows[-1][0], "ratio": round(rows[-1][2] / base, 3),
                      "tokens_per_second": {str(n): round(rate, 1) for n, _, rate in rows}}))


if __name__ == "__main__":
    main()
