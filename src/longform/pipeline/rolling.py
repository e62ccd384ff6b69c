"""The continuous layout's conversation, and how it rolls when it outgrows the window.

Every call continues one assistant reply that holds the document itself:

    system · user(task, outline) · assistant(## Part 1 … ## Part 2 … <- written on)

so each prompt is the previous prompt plus what the model just wrote (plus a
heading): a prefix cache (llama.cpp, vLLM) reads almost nothing twice. When the
prompt would outgrow the working window the context *rolls*: the model sums up
the document so far in a branch off the cached conversation (only the short
request is new to it), and the conversation restarts as

    system · user(task, the next parts of the outline, the summary) · assistant(last paragraphs …)

which is a fraction of the window, so rolls are rare and each costs one short
prefill. Every roll is saved (`context.json`) so a resumed run restores the
context an uninterrupted one had.

Steered (`steer=True`): after every `STEER_WORDS` words of a part the reply is cut
at a paragraph end and a short user turn names the part's plan point again, right
where the model writes, instead of thousands of tokens up. The turns are read off
the text alone (headings and paragraph ends), so a prompt is still the previous one
plus new text when each call ends at a paragraph end, and a resumed run sees the
turns an uninterrupted one saw.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .. import prompts
from ..backends.base import Messages
from ..text import count_words, split_sentences
from .plan import Plan

# Words of a part between two steering turns: each turn costs ~30 prompt tokens, so a
# turn per ~250 written tokens keeps P2's share of it near 0.1. A CJK word is a character.
STEER_WORDS = {"en": 200, "zh": 400}
_HEADING = re.compile(r"(?:^|\n\n)## ")


@dataclass
class Roll:
    section: int  # the section being written when the context rolled
    kept_from: int  # character offset in the document where the kept text starts
    summary: str  # the model's summary of the document before that offset (and earlier summaries)
    words_before: int  # words the summary stands for
    recap: bool = False  # a fresh part's head: `summary` is where the writing stands, read off the plan


class RollingContext:
    def __init__(self, instruction: str, plan: Plan, lang: str, rolls: list[Roll] | None = None,
                 keep_words: int = 120, outline_ahead: int = 8, summary_words: int = 120, steer: bool = False,
                 fresh: bool = False):
        self.instruction, self.plan, self.lang, self.steer, self.fresh = instruction, plan, lang, steer, fresh
        self.rolls = list(rolls or [])
        self.keep_words, self.outline_ahead, self.summary_words = keep_words, outline_ahead, summary_words

    @property
    def last(self) -> Roll | None:
        return self.rolls[-1] if self.rolls else None

    def restored(self, finished_sections: int, document: str) -> "RollingContext":
        """This context as it stood when section `finished_sections + 1` began: rolls
        made during a section that was lost to a crash are forgotten."""
        kept = [r for r in self.rolls if r.section <= finished_sections and r.kept_from <= len(document)]
        return RollingContext(self.instruction, self.plan, self.lang, kept,
                              self.keep_words, self.outline_ahead, self.summary_words, self.steer, self.fresh)

    def _head(self) -> Messages:
        roll = self.last
        sections = self.plan.sections
        if len(sections) == 1:
            outline = ""
        elif roll is None or self.fresh:  # fresh parts: the same outline in every head, so it stays cached
            outline = self.plan.as_numbered_text(with_words=False)
        else:  # the parts still to come: the rolled head stays small on a 60-part plan
            ahead = sections[roll.section - 1: roll.section - 1 + self.outline_ahead]
            outline = "\n".join(f"{s.index}. {s.point}" for s in ahead)
            if len(sections) > roll.section - 1 + self.outline_ahead:
                outline += "\n…" if self.lang == "zh" else "\n…and more parts after these."
        recap = roll is not None and roll.recap
        task = prompts.render("continuous_task", lang=self.lang, instruction=self.instruction, outline=outline,
                              summary=roll.summary if roll and not recap else "",
                              recap=roll.summary if recap else "")
        return [{"role": "system", "content": prompts.render("system", lang=self.lang)},
                {"role": "user", "content": task}]

    def messages(self, document: str) -> Messages:
        """The call that continues `document` (the whole text so far, headings included).
        Steered, it may end with a user turn: the next paragraph starts a new reply."""
        start = self.last.kept_from if self.last else 0
        if not self.steer:
            return self._head() + [{"role": "assistant", "content": document[start:]}]
        return self._head() + self._steered(document, start)

    def _steered(self, document: str, start: int) -> Messages:
        """The kept text as replies cut by steering turns (see the module docstring)."""
        turns, group, _ = self._groups(document, start)
        if group != [""]:  # "": the document ends at a paragraph end right after a turn
            turns.append({"role": "assistant", "content": "\n\n".join(group)})
        return turns

    def _groups(self, document: str, start: int) -> tuple[Messages, list[str], int]:
        """(the turns before the open reply, the open reply's paragraphs, words since the last
        turn or heading). A turn comes before a paragraph once `steer_words` words follow the
        last turn or heading; a heading stays with the text before it, as it steers by itself."""
        part = len(_HEADING.findall(document[:start]))  # headings so far: the part being written
        turns: Messages = []
        group: list[str] = []
        words = 0
        for paragraph in document[start:].split("\n\n"):
            heading = paragraph.startswith("## ")
            if heading:
                part += 1
            elif group and words >= self.steer_words:
                turns += [{"role": "assistant", "content": "\n\n".join(group)}, self._steer_turn(part)]
                group, words = [], 0
            group.append(paragraph)
            words = 0 if heading else words + count_words(paragraph)
        return turns, group, words

    @property
    def steer_words(self) -> int:
        return STEER_WORDS.get(self.lang, STEER_WORDS["en"])

    def words_to_turn(self, document: str) -> int:
        """Steered: words still to write before the next paragraph end brings a steering turn
        (0: the paragraph being written is the last before one)."""
        start = self.last.kept_from if self.last else 0
        return max(0, self.steer_words - self._groups(document, start)[2])

    def _steer_turn(self, part: int) -> dict:
        sections = self.plan.sections
        point = sections[min(max(part, 1), len(sections)) - 1].point
        return {"role": "user", "content": prompts.render("steer", lang=self.lang, point=point)}

    def recap(self, index: int) -> str:
        """Where the writing stands when part `index` begins: a summary that needs no call and
        cannot leak a small model's chatter into the prompt. It names only numbers, and comes last
        in the head, so the heads of all parts share everything before it in a prefix cache (the
        part's point is its heading, right after)."""
        return prompts.render("recap", lang=self.lang, done=index - 1, index=index)

    def summary_messages(self, document: str) -> Messages:
        """A branch off the current conversation asking for a summary of everything so far."""
        request = prompts.render("summary_request", lang=self.lang, words=self.summary_words)
        messages = self.messages(document)
        if messages[-1]["role"] == "user":  # a steering turn: the summary request takes its place
            messages = messages[:-1]
        return messages + [{"role": "user", "content": request}]

    def roll(self, document: str, section: int, summary: str, rule: str = "official") -> Roll:
        """Restart the conversation after `document`'s last `keep_words` words."""
        kept_from = keep_point(document, self.keep_words, rule)
        roll = Roll(section, kept_from, summary.strip(), count_words(document[:kept_from], rule))
        self.rolls.append(roll)
        return roll

    def fresh_start(self, document: str, section: int, rule: str = "official") -> Roll:
        """Restart the conversation where part `section` begins, keeping none of `document`:
        after a few hundred words the 135M model follows its own text more than the task, and
        text it kept carried its drift into the next part (measured in the README)."""
        roll = Roll(section, len(document), self.recap(section), count_words(document, rule), recap=True)
        self.rolls.append(roll)
        return roll

    def shrink(self, document: str, rule: str = "official") -> Roll:
        """Halve the text the last roll keeps, starting at a sentence where there is one.

        `keep_words` words are usually a few hundred tokens, but text the word rule
        barely counts (symbols, full-width letters, a garbled script: a small model
        writes pages of them) can keep thousands; the caller shrinks until it fits."""
        roll = self.rolls[-1]
        middle = roll.kept_from + max(1, (len(document) - roll.kept_from) // 2)
        pieces = split_sentences(document[middle:])
        start = _text_start(document, middle + (len(pieces[0]) if len(pieces) > 1 else 0))
        roll.kept_from, roll.words_before = start, count_words(document[:start], rule)
        return roll

    def to_dict(self) -> dict:
        return {"rolls": [asdict(r) for r in self.rolls]}

    @staticmethod
    def rolls_from(data: dict) -> list[Roll]:
        return [Roll(**r) for r in data.get("rolls", [])]


def keep_point(document: str, words: int, rule: str = "official") -> int:
    """Offset of the sentence start from which about `words` words remain."""
    sentences = split_sentences(document)
    offset, total = len(document), 0
    for sentence in reversed(sentences):
        if total >= words:
            break
        offset -= len(sentence)
        total += count_words(sentence, rule)
    return _text_start(document, offset)


def _text_start(document: str, offset: int) -> int:
    """`offset` moved past whitespace: kept text starts on text, not between paragraphs."""
    while offset < len(document) and document[offset].isspace():
        offset += 1
    return offset
