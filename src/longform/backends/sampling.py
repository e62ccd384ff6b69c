"""Sampling helpers that backends without native support plug into generation.

`NoRepeatNGram` is the loop guard for small models: it forbids any token that
would complete an n-gram (of tokens) already present in the context, prompt
included. A 135M model restarts every section with the same sentence and
falls into loops after a few hundred words; with n-gram blocking neither can
happen verbatim. Tokens that continue a Latin word (no leading space) are
exempt, or a repeated multi-token word ("light|houses") could not be finished
and comes out misspelt; the ban then falls on the next word start instead.
Incremental: each step only indexes the newest tokens, about 0.1 ms a token on
a 3,000-token context.
"""

from __future__ import annotations

import math


class NoRepeatNGram:
    """A llama.cpp-style logits processor: `(input_ids, scores) -> scores`."""

    def __init__(self, n: int, exempt: frozenset[int] = frozenset()):
        if n < 2:
            raise ValueError("no_repeat_ngram must be at least 2")
        self.n = n
        self.exempt = exempt
        self._next: dict[tuple[int, ...], set[int]] = {}
        self._indexed = 0  # start of the first n-gram not yet indexed

    def banned(self, ids: list[int]) -> set[int]:
        """Tokens that would repeat an n-gram, given the context `ids`."""
        n = self.n
        for i in range(self._indexed, len(ids) - n + 1):
            self._next.setdefault(tuple(ids[i : i + n - 1]), set()).add(ids[i + n - 1])
        self._indexed = max(self._indexed, len(ids) - n + 1)
        return self._next.get(tuple(ids[len(ids) - n + 1 :]), set()) - self.exempt

    def __call__(self, input_ids, scores):
        for token in self.banned(input_ids.tolist()):
            scores[token] = -math.inf
        return scores


class MinTokens:
    """Forbids the end-of-text tokens until `count` new tokens were generated."""

    def __init__(self, count: int, stop_ids: list[int]):
        self.count, self.stop_ids, self.start = count, list(stop_ids), None

    def __call__(self, input_ids, scores):
        if self.start is None:  # first step: the context is the prompt
            self.start = len(input_ids)
        if len(input_ids) - self.start < self.count:
            scores[self.stop_ids] = -math.inf
        return scores


LINE_MARKERS = set("0123456789-*•#|>[(")


def word_continuations(vocabulary: list[str]) -> frozenset[int]:
    """Ids of tokens that continue a Latin word: they start with an ASCII letter."""
    return frozenset(i for i, t in enumerate(vocabulary) if t[:1].isascii() and t[:1].isalpha())


class ProseOnly:
    """Forbids list markers, headings and table rows at the start of a line.

    Small models turn every section into a numbered or bulleted list; a long
    document should read as paragraphs. Built from the vocabulary once: the ids
    of tokens that end a line and of tokens that would open a list line.
    """

    def __init__(self, vocabulary: list[str]):
        # "\n", "\n\n", "\n    " all end a line; a lone " " or "\t" after one keeps us at its start
        self.line_ends = {i for i, t in enumerate(vocabulary) if t.rstrip(" \t").endswith("\n")}
        self.blanks = {i for i, t in enumerate(vocabulary) if t and not t.strip(" \t")}
        self.markers = [i for i, t in enumerate(vocabulary) if t.lstrip(" \t")[:1] in LINE_MARKERS]

    def at_line_start(self, ids: list[int]) -> bool:
        for token in reversed(ids[-8:]):
            if token not in self.blanks:
                return token in self.line_ends
        return False

    def __call__(self, input_ids, scores):
        if self.at_line_start(input_ids[-8:].tolist()):
            scores[self.markers] = -math.inf
        return scores
