"""A labelled set of good texts, read from a folder, and their corrupted variants.

Layout (tests/quality/labelled/ is the one the project ships):

    heldout/en, heldout/zh       texts written after the panel's rules were set, to check them on
    en/<name>.md, zh/<name>.md   one good text each: a front matter (genre, instruction, restate),
                                 its paragraphs, then "=== restatements" and three paraphrases of
                                 paragraph `restate` (counted from 0)
    meta_talk.txt                meta-talk sentences; "# en" / "# zh" lines switch language
    off_topic.md                 unrelated paragraphs under "# en" / "# zh"

Every good text yields one original and, per corruption kind and seed, one corrupted variant.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .corrupt import KINDS, Material, corrupt


@dataclass(frozen=True)
class Text:
    name: str
    genre: str
    language: str
    instruction: str
    paragraphs: tuple[str, ...]
    restate: int
    restated: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    text: Text
    kind: str  # "original" or a corruption kind
    seed: int
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def _blocks(text: str) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]


def read_text(path: Path) -> Text:
    raw = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", raw, re.S)
    if not match:
        raise UsageError(f"{path}:1: a labelled text starts with a '---' front matter block")
    fields = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    body, _, restated = match.group(2).partition("=== restatements")
    for key in ("genre", "instruction", "restate"):
        if key not in fields:
            raise UsageError(f"{path}: front matter has no '{key}'")
    return Text(path.stem, fields["genre"], path.parent.name, fields["instruction"], tuple(_blocks(body)),
                int(fields["restate"]), tuple(_blocks(restated)))


def _by_language(path: Path, splitter) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    language = None
    for chunk in splitter(path.read_text(encoding="utf-8")):
        if chunk.startswith("# ") and chunk[2:].strip() in ("en", "zh"):
            language = chunk[2:].strip()
        elif language and not chunk.startswith("#"):
            out.setdefault(language, []).append(chunk)
    return out


def load_set(folder: str | Path, material: str | Path | None = None
             ) -> tuple[list[Text], dict[str, list[str]], dict[str, list[str]]]:
    """(texts, meta sentences by language, off-topic paragraphs by language). `material` is the folder
    holding meta_talk.txt and off_topic.md when it is not `folder` itself (a held-out set)."""
    folder = Path(folder)
    texts = [read_text(p) for p in sorted(folder.glob("*/*.md"))]
    if not texts:
        raise UsageError(f"{folder}: no labelled texts (expected en/*.md or zh/*.md)")
    material = Path(material) if material is not None else folder
    meta = _by_language(material / "meta_talk.txt",
                        lambda s: [line.strip() for line in s.splitlines() if line.strip()])
    off_topic = _by_language(material / "off_topic.md",
                             lambda s: [b for line_block in _blocks(s) for b in _split_headers(line_block)])
    return texts, meta, off_topic


def _split_headers(block: str) -> list[str]:
    """'# en\\nParagraph' → ['# en', 'Paragraph'] (a header line may sit on top of a paragraph)."""
    lines = block.splitlines()
    out, body = [], []
    for line in lines:
        if line.startswith("# "):
            if body:
                out.append("\n".join(body))
                body = []
            out.append(line)
        else:
            body.append(line)
    if body:
        out.append("\n".join(body))
    return out


def examples(folder: str | Path, seeds: int = 3, kinds: tuple[str, ...] = KINDS,
             material: str | Path | None = None) -> list[Example]:
    """Every original, then `seeds` corrupted variants of it per kind. The donor text for a text is
    the next one in the same language with another genre, so no text donates to itself."""
    texts, meta, off_topic = load_set(folder, material)
    out: list[Example] = []
    for i, text in enumerate(texts):
        same = [t for t in texts[i + 1 :] + texts[:i] if t.language == text.language and t.genre != text.genre]
        material = Material(text.restate, list(text.restated), list(same[0].paragraphs) if same else [],
                            off_topic.get(text.language, []), meta.get(text.language, []))
        out.append(Example(text, "original", 0, text.paragraphs))
        for kind in kinds:
            for seed in range(seeds):
                rng = random.Random(f"{text.name}/{kind}/{seed}")
                out.append(Example(text, kind, seed, tuple(corrupt(kind, list(text.paragraphs), material, rng))))
    return out
