"""The parts a request names, and a plan made to cover them.

"Write about the history of lighthouses: how they were built, who kept them, and why many still
stand today" names three parts. The 135M model's eight-point outline for it covered none of the
last two and had "Building Families: How to Build Lighthouses" and "Building a Lifecycle"
instead; the text then followed its plan, not the request ("…lifeCyresCycle"). Given a plan
written by hand that covered the three parts, the same model opened on the Pharos of
Alexandria instead of Atlantis. So the plan stage checks the outline against the named parts:
a part no point covers takes the place of the point that adds least (one sharing no term with
the request first, then the one whose terms earlier points already hold).
"""

from __future__ import annotations

import re

from .plan import Section
from .terms import key_terms, request_subject

MIN_FACETS, MAX_FACETS = 2, 8
MAX_FACET_WORDS = 12
# where a request lists its parts: after a colon, or after "including" / "covering" / "such as"
_LIST_START = re.compile(r":\s+|\b(?:including|covering|such as)\s+|[：]|包括", re.IGNORECASE)
_SPLIT_EN = re.compile(r",\s*(?:and|or)\s+|,\s*|;\s*|\s+and\s+(?=(?:how|why|what|who|when|where|which)\b)",
                       re.IGNORECASE)
_SPLIT_ZH = re.compile(r"[、，；]|以及|和")
# a list of requirements, not of parts: "at least 2,000 words, a formal tone, three sections"
_REQUIREMENT = re.compile(r"\b(words?|tone|style|format|paragraphs?|sections?|length|audience|markdown|bullet|"
                          r"headings?|first person|third person)\b|\d+\s*字|字数|段落|语气|风格|格式",
                          re.IGNORECASE)
_ENUMERATOR = re.compile(r"^\s*(?:\(?\d+[.)]|\(?[a-z][)]|[-*•])\s*")
_SENTENCE_END = re.compile(r"[.!?。！？]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PRONOUNS = re.compile(r"\b(they|them|it)\b", re.IGNORECASE)
_POSSESSIVES = re.compile(r"\b(their|its)\b", re.IGNORECASE)
_QUANTIFIER = re.compile(r"\b(many|most|some|few|all|so many)\b", re.IGNORECASE)


def _part_terms(text: str) -> frozenset[str]:
    """Key terms with irregular stems ("built" is "build"): a plan's "Building…" covers "how they were built"."""
    return key_terms(text, irregular=True)


def request_facets(instruction: str) -> list[str]:
    """The parts `instruction` lists, as headings ("Who kept lighthouses"), or [] when it
    lists none, or a list too short, too long or made of whole sentences to be parts."""
    match = _LIST_START.search(instruction)
    if not match:
        return []
    head, rest = instruction[:match.start()], instruction[match.end():]
    end = _SENTENCE_END.search(rest)
    listed = rest[:end.start()] if end else rest
    chinese = bool(_CJK.search(listed))  # any ideograph: "iPhone、iPad和Mac" splits on 、 and 和
    pieces = [_ENUMERATOR.sub("", p).strip(" .") for p in (_SPLIT_ZH if chinese else _SPLIT_EN).split(listed)]
    pieces = [p for p in pieces if p]
    if not MIN_FACETS <= len(pieces) <= MAX_FACETS or any(_REQUIREMENT.search(p) for p in pieces):
        return []
    if any(len(p.split()) > MAX_FACET_WORDS or not _part_terms(p) for p in pieces if not chinese):
        return []
    subject = request_subject(head)
    return [_heading(p, subject) for p in pieces]


def _heading(piece: str, subject: str) -> str:
    """The part as a heading that names the subject: "who kept them" -> "Who kept lighthouses",
    "why many still stand today" -> "Why many lighthouses still stand today"."""
    if subject:
        owner = f"{subject}'" if subject.endswith("s") else f"{subject}'s"  # lighthouses', treatment's
        piece = _POSSESSIVES.sub(owner, _PRONOUNS.sub(subject, piece))
        if not _part_terms(subject) & _part_terms(piece):
            piece = _QUANTIFIER.sub(lambda m: f"{m.group(0)} {subject}", piece, count=1)
    return piece[:1].upper() + piece[1:]


def cover_facets(sections: list[Section], instruction: str, fixed: frozenset[int] = frozenset()) -> list[str]:
    """Rewrite plan points in place so every part the request names has one; returns notes.
    Points at positions in `fixed` (0-based: a fallback plan's introduction and conclusion)
    are never replaced. A part counts as covered when a point holds one of its own terms,
    the ones it does not share with the rest of the request ("kept" in "who kept them")."""
    facets = request_facets(instruction)
    if not facets:
        return []
    own = {f: _own_terms(f, facets) for f in facets}
    missing = [f for f in facets if not any(own[f] & _part_terms(s.point) for s in sections)]
    notes = []
    for facet in missing:
        victim = _least_needed(sections, instruction, fixed, own)
        if victim is None:
            break
        notes.append(f"point {victim.index} {victim.point!r} gave way to a part the request names: {facet!r}")
        victim.point = facet
    return notes


def _own_terms(facet: str, facets: list[str]) -> frozenset[str]:
    others = set().union(*(_part_terms(f) for f in facets if f != facet))
    return _part_terms(facet) - others or _part_terms(facet)


def _least_needed(sections, instruction, fixed, own: dict[str, frozenset[str]]) -> Section | None:
    """The point that adds least: one not about the request, else the one with the fewest terms
    no earlier point holds; never the only point covering a named part."""
    request, seen, scores = _part_terms(instruction), set(), []
    covering = [[i for i, s in enumerate(sections) if part & _part_terms(s.point)] for part in own.values()]
    needed = {c[0] for c in covering if len(c) == 1}
    for position, section in enumerate(sections):
        terms = _part_terms(section.point)
        if position not in fixed and position not in needed:
            about = bool(terms & request)  # points off the request go first, in order
            scores.append(((about, len(terms - seen) if about else 0), position))
        seen |= terms
    if not scores:
        return None
    return sections[min(scores)[1]]
