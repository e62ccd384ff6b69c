"""How llama.cpp's KV cache was filled, so that a resumed process can fill it the same way.

llama.cpp's logits depend, in their last bits, on the batches in which earlier tokens were
evaluated: measured on SmolLM2-135M, a 565-token prompt read in one batch, as 552 + 13 or
as 512 + 53 gives bit-identical logits, but with one token of it read alone in the middle
(as every generated token is) the logits move by up to 0.48. A killed run's KV cache held
its replies' tokens, each read alone; a fresh process reading the same tokens as one
prompt batch samples different text from there on. So the provider records the chunks it
evaluated (`EvalLog`), a run saves them beside each section, and a resumed process replays
them (`replay`) before its first call: the same tokens in the same chunks, the same cache.
"""

from __future__ import annotations


class EvalLog:
    """The chunk sizes in which the context's held tokens were evaluated, from position 0.
    Installed over `llm.eval`, which every prompt and every sampled token goes through."""

    def __init__(self, llm):
        self.llm = llm
        self.sizes: list[int] = []
        self._eval = llm.eval
        llm.eval = self.eval

    def eval(self, tokens) -> None:
        self._keep(self.llm.n_tokens)  # llama-cpp-python drops the cache after the shared prefix first
        step = self.llm.n_batch
        self.sizes += [min(step, len(tokens) - i) for i in range(0, len(tokens), step)]
        self._eval(tokens)

    def _keep(self, count: int) -> None:
        kept, total = [], 0
        for size in self.sizes:
            if total >= count:
                break
            kept.append(min(size, count - total))
            total += kept[-1]
        self.sizes = kept

    def held(self) -> int:
        return sum(self.sizes)


def replay(llm, log: EvalLog, tokens: list[int], sizes: list[int], keep: int) -> int:
    """Evaluate the first `keep` of `tokens` in the recorded chunk `sizes` (cut at `keep`), from an
    empty cache. Returns how many tokens were evaluated, which the caller counts as computed."""
    llm.reset()
    log.sizes = []
    start = 0
    for size in sizes:
        size = min(size, keep - start)
        if size <= 0:
            break
        llm.eval(tokens[start:start + size])
        start += size
    return start
