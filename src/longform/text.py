"""Word counting, language detection, sentence trimming and repetition measures.

`count_words` follows the LongBench-Write rule by default so that lengths are
comparable with published numbers: CJK ideographs count one each, and every run
of ASCII letters between word boundaries counts one ("don't" is 2, "café" is 0).
The `unicode` rule counts words of any script and is offered for other languages.
"""

from __future__ import annotations

import re
from itertools import pairwise

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ASCII_WORD = re.compile(r"\b[a-zA-Z]+\b")
_UNICODE_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？…])[\"'”’)\]]*\s+|(?<=[。！？])")

WORD_RULES = ("official", "unicode")
# half of a UTF-16 pair on its own: JSON's "\ud800" decodes to it, and no UTF-8 file can hold it
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def count_words(text: str, rule: str = "official") -> int:
    """Words in `text` by the named rule (see module docstring)."""
    if rule == "official":
        return len(_CJK.findall(text)) + len(_ASCII_WORD.findall(text))
    if rule == "unicode":
        cjk = len(_CJK.findall(text))
        others = _UNICODE_WORD.findall(_CJK.sub(" ", text))
        return cjk + len(others)
    raise ValueError(f"unknown word rule {rule!r}; choose one of {', '.join(WORD_RULES)}")


def detect_language(text: str) -> str:
    """'zh' when CJK ideographs outnumber ASCII words, else 'en'."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk and cjk >= len(_ASCII_WORD.findall(text)) else "en"


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace kept, so ''.join() restores the text."""
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            parts.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return parts


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip()
    return bool(stripped) and stripped[-1] in ".!?。！？…\"'”’)*"


def trim_to_sentence(text: str) -> str:
    """Drop a trailing unfinished sentence (e.g. cut off by a token limit).

    Keeps the text unchanged when it has no complete sentence at all, because an
    empty section is worse than a ragged one.
    """
    stripped = text.rstrip()
    if not stripped or ends_sentence(stripped):
        return stripped
    sentences = split_sentences(stripped)
    if len(sentences) < 2:
        return stripped
    return "".join(sentences[:-1]).rstrip()


def trim_to_words(text: str, max_words: int, rule: str = "official") -> str:
    """The longest run of whole sentences from the start that fits in `max_words`."""
    kept: list[str] = []
    total = 0
    for sentence in split_sentences(text):
        n = count_words(sentence, rule)
        if kept and total + n > max_words:
            break
        kept.append(sentence)
        total += n
    return "".join(kept).rstrip()


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens; CJK characters are tokens of their own.

    The tokenizer behind every repetition measure, public so that evaluation
    metrics (distinct-n) count n-grams exactly as `repeated_ngram_share` does.
    """
    return re.findall(r"[\u4e00-\u9fff]|[^\W_]+", text.lower())


def repeated_ngram_share(text: str, n: int = 4) -> float:
    """Share of word n-grams that repeat an n-gram seen earlier in the text.

    Ordinary prose scores about 0.005-0.09; a small model stuck in a loop 0.3-0.9.
    """
    tokens = word_tokens(text)
    total = len(tokens) - n + 1
    if total <= 0:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for i in range(total):
        gram = tuple(tokens[i : i + n])
        if gram in seen:
            repeats += 1
        else:
            seen.add(gram)
    return repeats / total


def overlap_with(text: str, earlier: str, n: int = 4) -> float:
    """Share of `text`'s n-grams that already occur in `earlier` (restarts, copies)."""
    grams = lambda toks: {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}  # noqa: E731
    mine = grams(word_tokens(text))
    if not mine:
        return 0.0
    return len(mine & grams(word_tokens(earlier))) / len(mine)


def cut_near_words(text: str, words: int, rule: str = "official", over: float = 0.12) -> str:
    """`text` cut at the sentence end that best lands on `words`.

    A length score forgives running over (a third of the ratio) more than falling
    short (half of it), so the first sentence end at or past `words` wins when it
    is within `over` of the target; otherwise the closest one. An unfinished last
    sentence (no end mark) is never a place to cut. Text without a sentence end, or
    already short enough, comes back unchanged.
    """
    total = 0
    ends: list[tuple[int, int]] = []  # (words up to this sentence end, character offset)
    offset = 0
    sentences = split_sentences(text)
    for sentence in sentences:
        offset += len(sentence)
        total += count_words(sentence, rule)
        ends.append((total, offset))
    if sentences and not ends_sentence(sentences[-1]):
        ends.pop()  # the fragment a token limit cut off: cutting there leaves the text mid-sentence
    if total <= words or not ends or (len(ends) < 2 and len(ends) == len(sentences)):
        return text.rstrip()
    after = [(n, o) for n, o in ends if n >= words]
    if after and after[0][0] <= words * (1 + over):
        return text[: after[0][1]].rstrip()
    best = min(ends, key=lambda e: abs(e[0] - words))
    return text[: best[1]].rstrip()


def _sentence_key(sentence: str) -> str:
    return " ".join(word_tokens(sentence))


def find_loop(text: str, earlier: str = "", min_words: int = 5, overlap: float = 0.8) -> int | None:
    """Character offset in `text` where it starts repeating itself or `earlier`, or None.

    A loop starts at the first sentence (of at least `min_words` word tokens) that
    repeats an earlier sentence word for word, or whose 4-grams mostly (`overlap`)
    occur already: the shape a small model's loop takes once exact n-gram repeats
    are banned. Cutting there and writing on with another seed breaks the loop.
    """
    seen = {_sentence_key(s) for s in split_sentences(earlier)}
    grams = lambda toks: {tuple(toks[i : i + 4]) for i in range(len(toks) - 3)}  # noqa: E731
    known = grams(word_tokens(earlier))
    offset = 0
    for sentence in split_sentences(text):
        tokens = word_tokens(sentence)
        mine = grams(tokens)
        if len(tokens) >= min_words:
            if _sentence_key(sentence) in seen or (mine and len(mine & known) / len(mine) >= overlap):
                return offset
        seen.add(_sentence_key(sentence))
        known |= mine
        offset += len(sentence)
    return None


_HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _heading_sections(text: str) -> list[str]:
    """Sections starting at markdown headings. Text before the first heading and
    headings with no body (a document title) join the section that follows, so a
    title line does not count as a section of its own."""
    starts = [m.start() for m in _HEADING.finditer(text)]
    cuts = sorted({0, *starts, len(text)})
    sections: list[str] = []
    pending = ""
    for chunk in (text[a:b] for a, b in pairwise(cuts)):
        is_heading = bool(_HEADING.match(chunk))
        body = chunk.partition("\n")[2] if is_heading else ""
        if not body.strip():  # the preamble, or a heading with nothing under it
            pending += chunk
            continue
        sections.append((pending + chunk).strip())
        pending = ""
    if pending.strip():
        if sections:
            sections[-1] = (sections[-1] + "\n\n" + pending.strip()).strip()
        else:
            sections.append(pending.strip())
    return sections


def _thirds(units: list[str], sep: str) -> list[str]:
    """Group consecutive units into up to three runs of about equal word count."""
    groups = min(3, len(units))
    weights = [max(1, len(word_tokens(u))) for u in units]
    total = sum(weights)
    buckets: list[list[str]] = [[] for _ in range(groups)]
    done = 0
    for unit, weight in zip(units, weights):
        # Place each unit by its midpoint so one huge unit cannot empty the others' share.
        index = min(groups - 1, int((done + weight / 2) * groups / total))
        buckets[index].append(unit)
        done += weight
    return [sep.join(b).strip() for b in buckets if b]


def split_sections(text: str) -> list[str]:
    """Markdown-heading sections when there are at least two; otherwise about equal
    thirds by paragraphs (by sentences when the text has fewer than 3 paragraphs)."""
    text = (text or "").strip()
    if not text:
        return []
    if len(_HEADING.findall(text)) >= 2:
        sections = _heading_sections(text)
        if len(sections) >= 2:
            return sections
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    if len(paragraphs) >= 3:
        return _thirds(paragraphs, "\n\n")
    return _thirds(split_sentences(text), "")
