"""The request's key terms: content words, crudely stemmed, or Chinese character bigrams.

Used wherever the engine asks "is this about the request?" without an embedding model: plan
points (planner.py), headings (cleaning.py) and the lexical candidate judge (candidates.py).
"""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
about above after again against also among an and any are around because been before being below
between both but came can could did does doing down during each even every few from further had has
have having here how into its itself just like made make many more most much must near never next
not now off once only other others our ours out over own part same should since some such than that
the their theirs them then there these they this those through today under until upon very was were
what when where which while who whom whose why will with within without would write writing words
word article essay story piece your yours you
""".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# irregular forms a request and a plan use for one idea ("how they were built" / "Building"); only the
# plan's coverage check reads them: to the lexical judge "building a life cycle" is not the request
_IRREGULAR = {"built": "build", "kept": "keep", "stood": "stand", "made": "make", "grew": "grow", "grown": "grow",
              "began": "begin", "begun": "begin", "fought": "fight", "taught": "teach", "brought": "bring",
              "thought": "think", "found": "find", "held": "hold", "told": "tell", "sold": "sell",
              "written": "write", "wrote": "write", "spoke": "speak", "spoken": "speak", "chose": "choose",
              "chosen": "choose", "children": "child", "women": "woman"}
_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "ies", "ied", "ed", "es", "er", "ly", "s")


def stem(word: str, irregular: bool = False) -> str:
    """A crude stem: enough for "lighthouses" to match "lighthouse" and "keepers" to match "keeper";
    with `irregular`, "built" is "build" and "kept" is "keep"."""
    word = word.lower().strip("'-")
    if irregular and word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:8]


def key_terms(text: str, irregular: bool = False) -> frozenset[str]:
    """The content terms of `text`: stems of its longer non-stopwords, or its Chinese character bigrams."""
    if _CJK.search(text):
        chars = _CJK.findall(text)
        return frozenset(a + b for a, b in zip(chars, chars[1:]))
    return frozenset(stem(w, irregular) for w in _WORD.findall(text) if len(w) >= 4 and w.lower() not in STOPWORDS)


# "…the history of lighthouses: how…" -> "lighthouses"; "a story about a dragon." -> "dragon"
_SUBJECT = re.compile(r"\b(?:about|on|of)\s+(?:the\s+|a\s+|an\s+)?([A-Za-z][\w' -]*?)\s*(?:[:.,;!?]|$)",
                      re.IGNORECASE)


def request_subject(instruction: str) -> str:
    """The request's subject, crudely: the last word of its first "about/on/of …" phrase, or ""."""
    found = _SUBJECT.search(instruction.strip())
    words = found.group(1).split() if found else []
    return words[-1] if words else ""


def names_subject(point: str, instruction: str) -> bool:
    """Whether a point names the request's subject itself, not just a word of the request."""
    subject = key_terms(request_subject(instruction))
    return bool(subject & key_terms(point)) if subject else about_request(point, instruction)


def about_request(point: str, instruction: str) -> bool:
    """Whether a plan point shares a key term with the request. A small model's plan can wander
    ("Building Families"), and the search must not pull the text after such a point."""
    return bool(key_terms(point) & key_terms(instruction))


# "Write a 5000-word story…", "help me write a 6000 word novel", "Write a scene of a fight…", "写一篇…的故事"
# the words between the verb and the story must not make it an essay *about* one ("an essay on the novel")
_NARRATIVE = re.compile(r"\b(?:write|writing|tell|compose|create)\b"
                        r"(?:(?!\b(?:about|on|of|essay|article|review|report|analysis|summary)\b)[^.!?\n]){0,60}?"
                        r"\b(?:story|stories|novel|novella|scene|tale|fable|fairy tale|fiction|screenplay)\b"
                        r"|(?:写|创作|编)[^。！？\n]{0,30}?(?:故事|小说|剧本|童话|寓言)", re.IGNORECASE)


def is_narrative(instruction: str) -> bool:
    """Whether the request asks for a story (a novel, a scene, a tale), not an essay about one:
    a story's plan is a sequence of events, and essay angles ("causes, mechanisms and consequences",
    the fallback's until 2026-12-04) gave a zombie story nothing to tell."""
    return bool(_NARRATIVE.search(instruction))
