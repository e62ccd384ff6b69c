"""Cleaning what a model writes into document text: assistant chatter, bare part
labels, talk about the task itself, and headings from plan lines.

One place for these rules: every layout and the stages after them clean the same way.
"""

from __future__ import annotations

import re

from ..quality.lexical import is_meta
from ..text import count_words, detect_language, split_sentences
from .terms import names_subject

_CHATTER = re.compile(
    r"^\s*(sure|certainly|of course|here is|here's|okay|ok|great|好的|当然|以下是|下面是)\b.*?[:：!！.。]?\s*$",
    re.IGNORECASE,
)
META = re.compile(
    r"^\s*(here is|here's|below is)\b|\b(copy-paste|this (part|section|essay|article|outline|text) (will|is|follows)"
    r"|in this (part|section)\b|part \d+ of\b|\d+ (words|sentences)\b|as an ai\b"
    r"|\b(the|this) \d[\d,]*-word (essay|article|story|piece|text|section|part)\b)"
    r"|(以下是|这一部分将|本部分|\d+\s*字)",
    re.IGNORECASE,
)
_TITLE_SPLIT = re.compile(r"\s*[:：]\s*|\s+[-–—]\s+")
# "Part 2", "**Section 3:**", "第二部分": a bare label, not content
_PART_LABEL = re.compile(
    r"^\s*(\**\s*)?(part|section|paragraph|第)\s*[\d一二三四五六七八九十]+\s*(部分)?\s*\**\s*[:：.]?\s*\**\s*$",
    re.IGNORECASE,
)

# "Original:", "Rewritten text:": a label a small model puts before a part it was not asked
# to rewrite (seen when a part starts a fresh conversation); the text after it stays
_REWRITE_LABEL = re.compile(
    r"^\s*\**(original|rewritten|revised|continued)( text| version| part \d+)?\**\s*(:\s*|$)", re.IGNORECASE)

# A paragraph about the task is usually one or two short lines ("Here is part 2:");
# in a longer one only the sentences that talk about the task go, since a small
# model often writes a whole section as one paragraph with such a sentence in it.
META_PARAGRAPH_WORDS = 40


def drop_meta_paragraphs(text: str) -> str:
    """Remove what the model says about its task instead of writing it ("Here is
    a copy of the text:", "In this part we will…", "about 400 words"): the whole
    paragraph when it is short, else only the sentences that say it. Small models
    drift into this at the end of a long reply. Text without any comes back as is."""
    parts = re.split(r"(\n\s*\n)", text) + [""]
    # kept paragraphs keep their own separators: the text before the first dropped
    # paragraph stays byte-identical, and so does its prefix-cache entry
    kept = [_without_meta(p) + sep for p, sep in zip(parts[::2], parts[1::2])]
    if "".join(kept) == text:
        return text
    return "".join(k for k in kept if k.strip()).strip("\n")


def about_task(text: str) -> bool:
    """Whether `text` talks about the task or the piece instead of its subject: the chatter
    above, or a sentence the quality panel counts as meta-talk ("This is another part of the
    article on…", "if you wanted me to continue"), which the 135M model writes between parts.
    Dropping those too took the demo's meta-talk share from ~0.04 to ~0 (README)."""
    return bool(META.search(text)) or is_meta(text, detect_language(text))


def _without_meta(paragraph: str) -> str:
    if not about_task(paragraph):
        return paragraph
    if count_words(paragraph) <= META_PARAGRAPH_WORDS:
        return ""
    return "".join(s for s in split_sentences(paragraph) if not about_task(s))


def clean_section(text: str) -> str:
    """Strip assistant chatter ("Sure, here is part 2:") and bare part labels
    from the start of a draft; they are not part of the document."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or _CHATTER.match(lines[0]) or _PART_LABEL.match(lines[0])):
        lines.pop(0)
    if lines:
        lines[0] = _REWRITE_LABEL.sub("", lines[0])
    return "\n".join(lines).strip()


def section_heading(point: str, instruction: str = "") -> str:
    """A markdown heading from the plan line; starting the reply with it anchors
    a small model on this section's subject instead of restarting the piece.
    "Title: long description" keeps just the title, unless only the description names
    the request's subject: "Building Families: How to Build Lighthouses" became the
    heading "Building Families", and the 135M model wrote about families."""
    parts = _TITLE_SPLIT.split(point.strip(), maxsplit=1)
    title = parts[0]
    if _PART_LABEL.match(title) and len(parts) > 1:  # "Part 2: Trade" → "Trade"
        title = parts[1]
    elif len(title.split()) < 2 and len(title) < 4:  # "Intro: …" → the whole point
        title = point.strip()
    elif len(parts) > 1 and instruction and not names_subject(title, instruction) and names_subject(
            parts[1], instruction):
        title = parts[1]
    title = title.rstrip(".:：。")
    return f"## {title[:1].upper()}{title[1:]}\n\n"  # "Part 4: causes, …" is a heading "Causes, …"
