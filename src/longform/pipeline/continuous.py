"""The continuous layout's section writer: one growing reply, held to its budget.

A section is written in as many calls as it takes (at most `LengthPolicy.max_calls`):
each call continues the document where it stands, end-of-text forbidden until
about the missing number of tokens, at most a little more than that. After each
call the new text is checked for a loop (a sentence that repeats earlier text);
the loop is cut off and the next call, with another seed, writes on from the
cut. When the context would outgrow the working window it rolls first (see
rolling.py). At the end the section is cut at the sentence nearest its budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..backends import LM, GenerationConfig
from ..backends.base import Completion
from ..errors import UsageError
from ..text import count_words, cut_near_words, find_loop, trim_to_sentence
from .length import LengthPolicy, TokenRate
from .rolling import RollingContext
from .write import _META, clean_section, drop_meta_paragraphs

LOOP_LOOKBACK = 6000  # characters of earlier text a new passage is compared with
SUMMARY_TOKENS = 240
SUMMARY_RESERVE = SUMMARY_TOKENS + 96  # kept free in every prompt: the summary branch must fit too
MIN_CHUNK = 128  # a call with less room than this rolls the context first
FINAL_STEP = 40  # words the last section asks for at least, so a call a few words short can end its sentence


@dataclass
class SectionDraft:
    """What writing one section produced, before it becomes a SectionRecord."""

    text: str
    completions: list[Completion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated_words: int = 0  # what the calls wrote, cut text included: the token rate learns from it

    @property
    def finish_reason(self) -> str:
        return self.completions[-1].finish_reason if self.completions else "stop"


@dataclass
class Hooks:
    """How the writer reports: every call (stage, section, attempt, completion),
    a new roll, and streamed text (delta / reset, as in pipeline.events)."""

    on_call: Callable[[str, int, int, Completion], None] = lambda *a: None
    on_roll: Callable[[RollingContext], None] = lambda c: None
    on_delta: Callable[[str], None] = lambda t: None
    on_reset: Callable[[str], None] = lambda r: None


class ContinuousWriter:
    def __init__(self, lm: LM, context: RollingContext, generation: GenerationConfig, rate: TokenRate,
                 window: int, policy: LengthPolicy | None = None, word_rule: str = "official"):
        self.lm, self.context, self.generation, self.rate = lm, context, generation, rate
        self.window, self.policy, self.rule = window, policy or LengthPolicy(), word_rule

    def write(self, index: int, budget: int, heading: str, before: str, seed: int, hooks: Hooks,
              final: bool = False) -> SectionDraft:
        """Section `index` with a `budget` of words, after the document text `before`.

        The `final` section is held to its whole budget, not `policy.low` of it:
        its budget is what the document still lacks, and a user who asks for
        20,000 words expects at least 20,000, so it is written on until its
        complete sentences reach the budget."""
        draft = SectionDraft(heading)
        prefix = before + ("\n\n" if before else "")
        if heading:
            hooks.on_delta(heading)
        stalls = 0
        enough = 0 if final else budget * (1 - self.policy.low)
        while len(draft.completions) < self.policy.max_calls:
            # complete sentences only: _finish drops an unfinished last one
            missing = budget - count_words(trim_to_sentence(draft.text) if final else draft.text, self.rule)
            if missing <= 0 or missing < enough:
                break
            if final:  # room to end a sentence; _finish cuts at the first sentence end past the budget
                missing = max(missing, FINAL_STEP)
            added = self._chunk(index, prefix, heading, draft, missing, seed, hooks)
            stalls = stalls + 1 if added < 3 else 0
            if stalls >= 2:  # the model keeps ending or looping right away: take what we have
                draft.notes.append("stopped early: no new text twice")
                break
        self._finish(draft, budget, hooks)
        return draft

    def _chunk(self, index: int, prefix: str, heading: str, draft: SectionDraft, missing: int, seed: int,
               hooks: Hooks) -> int:
        """One call on the section; returns the words it added once loops and talk about the task are cut."""
        document = prefix + draft.text
        before = count_words(draft.text, self.rule)
        messages = self._fitting(document, index, hooks)
        room = self.window - self.lm.count_tokens(messages) - SUMMARY_RESERVE
        max_tokens = max(16, min(room, self.rate.tokens_for(round(missing * self.policy.overshoot)) + 8))
        attempt = len(draft.completions) + 1
        config = self.generation.merged(max_tokens=max_tokens, seed=seed + 7919 * (attempt - 1), prose=True,
                                        min_tokens=max(1, min(max_tokens, round(self.rate.tokens_for(missing)
                                                                                * self.policy.floor))))
        completion = self.lm.complete(messages, config, on_delta=hooks.on_delta,
                                      on_retry=lambda _n, err: self._replay(draft, hooks, f"retrying after: {err}"))
        draft.completions.append(completion)
        draft.generated_words += count_words(completion.text, self.rule)
        hooks.on_call("section", index, attempt, completion)
        # a headless piece may open with chatter
        new = completion.text if draft.text else clean_section(completion.text)
        loop = find_loop(new, document[-LOOP_LOOKBACK:])
        if loop is not None:
            new = new[:loop]
            draft.notes.append(f"call {attempt}: cut a repeated passage")
            draft.text += new
            self._replay(draft, hooks, "cut a repeated passage")
        else:
            draft.text += new
        self._drop_meta(draft, heading, attempt, hooks)
        return count_words(draft.text, self.rule) - before

    def _drop_meta(self, draft: SectionDraft, heading: str, attempt: int, hooks: Hooks) -> None:
        """Remove talk about the task as soon as it appears, so the length controller
        sees the words that remain and writes on (the heading is never touched)."""
        body = draft.text[len(heading):]
        if not _META.search(body):
            return
        kept = drop_meta_paragraphs(body)
        if kept != body:
            draft.text = heading + kept
            draft.notes.append(f"call {attempt}: dropped text about the task")
            self._replay(draft, hooks, "dropped text about the task")

    def _fitting(self, document: str, index: int, hooks: Hooks):
        """The call's messages, rolling the context first when too little room is left."""
        messages = self.context.messages(document)
        if self._fits(messages):
            return messages
        summary_call = self.context.summary_messages(document)
        config = self.generation.merged(max_tokens=SUMMARY_TOKENS, seed=index * 31 + len(self.context.rolls),
                                        prose=True)
        completion = self.lm.complete(summary_call, config)
        hooks.on_call("summary", index, len(self.context.rolls) + 1, completion)
        summary = trim_to_sentence(clean_section(completion.text))
        self.context.roll(document, index, summary, self.rule)
        messages = self.context.messages(document)
        while not self._fits(messages) and self.context.last.kept_from < len(document):
            self.context.shrink(document, self.rule)  # the kept words were many tokens
            messages = self.context.messages(document)
        hooks.on_roll(self.context)
        if not self._fits(messages):
            raise UsageError(f"the task and outline leave no room in a {self.window}-token window; "
                             "use a shorter outline or a model with a larger window")
        return messages

    def _fits(self, messages) -> bool:
        return self.lm.count_tokens(messages) + SUMMARY_RESERVE + MIN_CHUNK <= self.window

    def _finish(self, draft: SectionDraft, budget: int, hooks: Hooks) -> None:
        text = draft.text
        if count_words(text, self.rule) > budget * self.policy.cut_over:
            text = cut_near_words(text, budget, self.rule)
        elif draft.finish_reason == "length":
            text = trim_to_sentence(text)
        if text != draft.text:
            draft.text = text
            self._replay(draft, hooks, "trimmed to length")

    @staticmethod
    def _replay(draft: SectionDraft, hooks: Hooks, reason: str) -> None:
        """Tell a stream that what it shows is void and send the section as it now stands."""
        hooks.on_reset(reason)
        if draft.text:
            hooks.on_delta(draft.text)
