"""The continuous layout's section writer: one growing reply, held to its budget.

A section is written in as many calls as it takes (at most `LengthPolicy.max_calls`):
each call continues the document where it stands, end-of-text forbidden until
about the missing number of tokens, at most a little more than that. After each
call the new text is checked for a loop (a sentence that repeats earlier text);
the loop is cut off and the next call, with another seed, writes on from the
cut. When the context would outgrow the working window it rolls first (see
rolling.py); with fresh parts it also restarts at every part. At the end the
section is cut at the sentence nearest its budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...backends.base import Completion
from ...errors import UsageError
from ...text import count_words, ends_sentence, find_loop, trim_to_sentence
from ..candidates import best_of, make_judge
from ..cleaning import about_task, clean_section, drop_meta_paragraphs
from ..document import SectionRecord
from ..events import SectionReport
from ..length import TokenRate
from ..plan import Section
from ..rolling import RollingContext
from ..terms import about_request
from ..topic_guard import MAX_CUTS, REPAIR_CANDIDATES, Cut, TopicGuard
from .base import RunState, SectionLayout, record_section

LOOP_LOOKBACK = 6000  # characters of earlier text a new passage is compared with
SUMMARY_TOKENS = 240
SUMMARY_RESERVE = SUMMARY_TOKENS + 96  # kept free in every prompt: the summary branch must fit too
MIN_CHUNK = 128  # a call with less room than this rolls the context first
CANDIDATE_TOKENS = 160  # with candidate search, a call writes about a paragraph, so the choice comes often
PARAGRAPH = "\n\n"  # where a steered call due for a turn ends, and a fresh part's opening call
STEER_CALLS = 4  # steered, calls are shorter: this many times the policy's calls per section
MIN_STEER_CALL = 24  # tokens: a call that stops short of a turn writes at least this much
RESAMPLE_ROUNDS = 1  # extra rounds of candidates when the best one fails the judge
OPENING_PROBES = 2  # fresh parts: calls that may write only the opening paragraph (see _opening)


@dataclass
class SectionDraft:
    """What writing one section produced, before it becomes a SectionRecord."""

    text: str  # as the model wrote it (loops cut): what its next call continues, so the KV cache holds it
    heading: str = ""
    completions: list[Completion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated_words: int = 0  # what the calls wrote, cut text included: the token rate learns from it
    guard_cuts: int = 0  # paragraphs the topic guard cut off (topic_guard.py)
    repair: bool = False  # the last call ended in a guard's cut: the next one writes that paragraph as candidates

    @property
    def finish_reason(self) -> str:
        return self.completions[-1].finish_reason if self.completions else "stop"

    @property
    def kept(self) -> str:
        """The section as the document gets it: talk about the task dropped (the heading never)."""
        body = self.text[len(self.heading):]
        return self.heading + drop_meta_paragraphs(body) if about_task(body) else self.text


class ContinuousLayout(SectionLayout):
    """Keeps between sections: the rolling context and the token rate learnt so far."""

    name = "continuous"

    def resume(self, state: RunState) -> None:
        saved = RollingContext.rolls_from(state.run_dir.load_context())
        self.steer = state.settings.steer
        self.fresh = state.settings.fresh_parts
        context = RollingContext(state.meta.instruction, state.plan, state.meta.language, saved,
                                 steer=self.steer, fresh=self.fresh)
        self.context = context.restored(len(state.done), state.raw_text())
        self.rate = TokenRate(state.section_settings.tokens_per_word)
        for record in state.done:  # a resumed run knows the rate an uninterrupted one would have
            self.rate.add(record.completion_tokens, record.generated_words)
        self.lm, self.generation, self.window = state.lm, state.settings.generation, state.window()
        self.length, self.rule = state.length, state.meta.word_rule
        self.candidates = state.settings.candidates
        self.live = state.settings.live_tokens
        if self.candidates > 1:
            self.judge = make_judge(state.settings.candidate_judge, state.meta.instruction, state.meta.language)
        self.guard = TopicGuard(state.meta.instruction, state.meta.language) if state.settings.topic_guard else None

    def write(self, state: RunState, section: Section, budget: int, final: bool) -> SectionRecord:
        for judge in (self.judge if self.candidates > 1 else None, self.guard and self.guard.judge):
            if judge:
                judge.for_section(section.point, about_request(section.point, state.meta.instruction))
        draft = self._section(section.index, budget, state.heading(section), state.raw_text(),
                              state.seed(section), state.report(section), final)
        record = record_section(state, section, budget, draft.text, draft.completions, draft.notes)
        record.generated_words = draft.generated_words
        # learnt per finished section only, so a resumed run sizes its calls as an uninterrupted one
        self.rate.add(record.completion_tokens, record.generated_words)
        return record

    def _section(self, index: int, budget: int, heading: str, before: str, seed: int, report: SectionReport,
                 final: bool) -> SectionDraft:
        """Section `index` with a `budget` of words, after the document text `before`;
        written on until the length controller has enough (see LengthController.missing)."""
        draft = SectionDraft(heading, heading)
        prefix = before + ("\n\n" if before else "")
        if heading:
            report.delta(heading)
        if self.fresh and before:  # a new conversation: the task, the outline, a recap, this heading
            self.context.fresh_start(prefix, index, self.rule)
            report.roll(self.context)
        stalls = 0
        calls = self.length.policy.max_calls * self._calls_factor()
        while len(draft.completions) < calls:
            missing = self.length.missing(draft.kept, budget, final)
            if not missing:
                break
            probe, cuts = self._opening(draft, heading), draft.guard_cuts
            added = self._chunk(index, prefix, heading, draft, missing, seed, report)
            # a probe or a guard's cut may add nothing on purpose: the next call samples that text anew
            stalls = stalls + 1 if added < 3 and not probe and draft.guard_cuts == cuts else 0
            if self.live:
                report.settled(settled_prefix(draft.kept, budget, self.rule))
            if stalls >= 2:  # the model keeps ending or looping right away: take what we have
                draft.notes.append("stopped early: no new text twice")
                break
        self._finish(draft, budget, report, final)
        return draft

    def _opening(self, draft: SectionDraft, heading: str) -> bool:
        """Whether the next call writes only a fresh part's opening paragraph. That is where a small
        model, in a new conversation, most often talks about the task ("This is another part of the
        article on…"); dropped there it costs a paragraph of decoding, dropped from a whole call's text
        it cost recomputing everything after it (P2)."""
        return self.fresh and not self.steer and draft.text == heading and len(draft.completions) < OPENING_PROBES

    def _repairing(self, draft: SectionDraft) -> bool:
        """Whether the next call rewrites the paragraph the guard just cut as REPAIR_CANDIDATES
        candidates (topic_guard.py): with plain resampling a third of Q2's sections still
        used up their cuts. Steered and candidate-search calls keep their own ends and judges."""
        repair, draft.repair = draft.repair, False
        return repair and self.candidates == 1 and not self.steer

    def _calls_factor(self) -> int:
        """How many more calls a section may take when calls are short."""
        if self.steer:
            return STEER_CALLS
        return 1 if self.candidates == 1 and not self.live else 3

    def _chunk(self, index: int, prefix: str, heading: str, draft: SectionDraft, missing: int, seed: int,
               report: SectionReport) -> int:
        """One call on the section; returns the words it added once loops and talk about the task are cut."""
        document = prefix + draft.text
        before = count_words(draft.kept, self.rule)
        messages = self._fitting(document, index, report)
        room = self.window - self.lm.count_tokens(messages) - SUMMARY_RESERVE
        max_tokens, min_tokens = self.length.call_limits(self.rate, missing, room)
        short_calls = [t for t in (CANDIDATE_TOKENS if self.candidates > 1 else None, self.live) if t]
        if short_calls:
            max_tokens = min(max_tokens, *short_calls)
            min_tokens = min(min_tokens, max_tokens)
        attempt = len(draft.completions) + 1
        opening, repair = self._opening(draft, heading), self._repairing(draft)
        if repair:  # one paragraph, where the cut one stood
            max_tokens, min_tokens = min(max_tokens, CANDIDATE_TOKENS), min(min_tokens, CANDIDATE_TOKENS)
        stop = (PARAGRAPH,) if opening or repair else None
        if self.steer:
            max_tokens, stop = self._steer_limits(document, max_tokens)
            min_tokens = min(min_tokens, max_tokens)
        config = self.generation.merged(max_tokens=max_tokens, seed=seed + 7919 * (attempt - 1), prose=True,
                                        min_tokens=min_tokens, stop=stop)
        repaired = None  # with a repair: the rating of the candidate kept
        if self.candidates > 1:
            completion, _ = self._best_candidate(messages, config, document, attempt, draft, report,
                                                 self.judge, self.candidates, RESAMPLE_ROUNDS)
        elif repair:
            completion, repaired = self._best_candidate(messages, config, document, attempt, draft, report,
                                                        self.guard.judge, REPAIR_CANDIDATES, 0)
        else:
            completion = self.lm.complete(messages, config, on_delta=report.delta,
                                          on_retry=lambda _n, err: report.replay(f"retrying after: {err}", draft.text))
        draft.completions.append(completion)
        draft.generated_words += count_words(completion.text, self.rule)
        report.call("section", attempt, completion)
        # a headless piece may open with chatter, and so may a paragraph after a steering turn
        # (and a fresh part right after its heading)
        new = completion.text
        if not draft.text:
            new = clean_section(new)
        elif (self.steer and document.endswith(PARAGRAPH)) or (self.fresh and draft.text == heading):
            cleaned = clean_section(new)  # only when it drops chatter: the model's own leading space stays,
            new = new if cleaned == new.strip() else cleaned  # or its tokens no longer match the KV cache
        cut = self._cut(new, document, draft, attempt, repaired)
        new = new[:cut[0]] if cut else new  # what follows judges the text kept, as before the guard
        draft.text += new
        if cut:
            report.replay(cut[1], draft.text)
        elif config.stop and new.strip() and completion.finish_reason == "stop":
            draft.text += PARAGRAPH  # the stop string was the paragraph end
        if opening and about_task(new):  # the whole opening goes: the next call samples it anew from the heading
            draft.text = heading
            draft.notes.append(f"call {attempt}: dropped an opening about the task")
            report.replay("dropped an opening about the task", draft.text)
        elif about_task(new):  # gone from the document (draft.kept), but left in the model's view until the
            # section ends: dropped at once, all text after it was computed again (demo: 0.14 of its 0.29 P2)
            draft.notes.append(f"call {attempt}: dropped text about the task")
        return count_words(draft.kept, self.rule) - before

    def _cut(self, new: str, document: str, draft: SectionDraft, attempt: int, repaired=None) -> tuple[int, str] | None:
        """(offset, why) where `new` is cut: at a loop (a passage repeating earlier text), else at the
        first paragraph the topic guard rejects, or whole when `new` is a repair (`repaired`: the
        judge's rating of it) and even the best candidate failed; None to keep it whole."""
        loop = find_loop(new, document[-LOOP_LOOKBACK:])
        if loop is not None:
            draft.notes.append(f"call {attempt}: cut a repeated passage")
            return loop, "cut a repeated passage"
        if self.guard is None or draft.guard_cuts >= MAX_CUTS:
            return None
        if repaired is not None:  # its candidates were judged already
            bad = None if not repaired.failed else Cut(0, f"failed as every candidate did ({repaired.describe()})")
        else:
            bad = self.guard.first_bad(new, document)
        if bad is None:
            return None
        draft.guard_cuts += 1
        draft.repair = True
        draft.notes.append(f"call {attempt}: cut a paragraph that {bad.why}")
        return bad.at, "cut a paragraph that " + bad.why

    def _steer_limits(self, document: str, max_tokens: int) -> tuple[int, tuple[str, ...] | None]:
        """(max tokens, stop strings) of a steered call. Due for a steering turn, it ends at the
        paragraph end where the turn comes; before that, about where the turn falls due, so that
        every turn sits at the end of a call and no prompt cuts into text the cache holds whole.
        Stopping at every paragraph end instead taught the model one-sentence paragraphs."""
        to_turn = self.context.words_to_turn(document)
        if not to_turn:
            return max_tokens, (PARAGRAPH,)
        return min(max_tokens, max(MIN_STEER_CALL, self.rate.tokens_for(to_turn))), None

    def _best_candidate(self, messages, config, document: str, attempt: int, draft: SectionDraft,
                        report: SectionReport, judge, k: int, rounds: int) -> tuple[Completion, object]:
        """`k` continuations at once, each with its own seed; the judge's best is kept and streamed,
        the others are traced as stage "candidate" (their tokens are the search's cost). While even
        the best one fails the judge, up to `rounds` more rounds are sampled and the best of all kept."""
        rate = lambda texts: judge.rate(texts, document)  # noqa: E731
        results, rated = [], []
        for round_ in range(rounds + 1):
            calls = [lambda i=i: self.lm.complete(messages, config.merged(seed=config.seed + 104729 * i))
                     for i in range(round_ * k, (round_ + 1) * k)]
            _, more, more_rated = best_of(calls, rate, lambda c: c.text)
            results, rated = results + more, rated + more_rated
            chosen = max(range(len(results)), key=lambda i: (rated[i].score, -i))
            if not rated[chosen].failed:
                break
        for i, completion in enumerate(results):
            if i != chosen:
                report.call("candidate", attempt, completion)
        others = ", ".join(r.describe() for i, r in enumerate(rated) if i != chosen)
        resampled = f"; {round_} more round(s)" if round_ else ""
        draft.notes.append(f"call {attempt}: kept candidate {chosen + 1} of {len(rated)} "
                           f"(score {rated[chosen].describe()}; others {others}{resampled})")
        report.delta(results[chosen].text)
        return results[chosen], rated[chosen]

    def _fitting(self, document: str, index: int, report: SectionReport):
        """The call's messages, rolling the context first when too little room is left."""
        messages = self.context.messages(document)
        if self._fits(messages):
            return messages
        summary_call = self.context.summary_messages(document)
        config = self.generation.merged(max_tokens=SUMMARY_TOKENS, seed=index * 31 + len(self.context.rolls),
                                        prose=True)
        completion = self.lm.complete(summary_call, config)
        report.call("summary", len(self.context.rolls) + 1, completion)
        summary = trim_to_sentence(clean_section(completion.text))
        self.context.roll(document, index, summary, self.rule)
        messages = self.context.messages(document)
        while not self._fits(messages) and self.context.last.kept_from < len(document):
            self.context.shrink(document, self.rule)  # the kept words were many tokens
            messages = self.context.messages(document)
        report.roll(self.context)
        if not self._fits(messages):
            raise UsageError(f"the task and outline leave no room in a {self.window}-token window; "
                             "use a shorter outline or a model with a larger window")
        return messages

    def _fits(self, messages) -> bool:
        return self.lm.count_tokens(messages) + SUMMARY_RESERVE + MIN_CHUNK <= self.window

    def _finish(self, draft: SectionDraft, budget: int, report: SectionReport, final: bool) -> None:
        kept = draft.kept
        text = self.length.fit(kept.rstrip() if self.steer else kept, budget, draft.finish_reason, final)
        if text != draft.text:
            why = "trimmed to length" if kept == draft.text else "dropped text about the task"
            draft.text = text
            report.replay(why, draft.text)


def settled_prefix(text: str, budget: int, rule: str) -> str:
    """The part of a section's text that no later step can change, so a stream may send it now:
    whole paragraphs ending in a sentence end, within `budget` words. Later calls only add text
    (a loop cut trims the new call's text), meta-talk is dropped per paragraph and these were
    checked, and the length fit cuts at a sentence end nearest the budget, never before a
    sentence end that lies within it."""
    end = text.rfind("\n\n")
    while end > 0:
        prefix = text[:end].rstrip()
        if ends_sentence(prefix) and count_words(prefix, rule) <= budget:
            return prefix
        end = text.rfind("\n\n", 0, end)
    return ""
