"""The quality panel: what long texts fail at, measured for a document and each of its sections.

    from longform.quality import measure
    panel = measure(text, instruction, sections=[...], points=[...])   # a dict, JSON-ready
    panel["quality_score"], panel["grades"], panel["by_decile"]["on_topic"]

Measures (each also by decile of the document, and per section):
  on_topic         mean similarity of the parts to the instruction
  off_topic_share  parts close neither to the instruction nor to the rest of the text, or far from
                   the document's topic (instruction + opening)
  decay            on_topic of the last third ÷ the first third (1 = holds up)
  drift            the same for the similarity to the document's own topic (the instruction plus its
                   opening), which a short instruction alone measures poorly (Chinese especially)
  restated_share   parts that paraphrase an earlier, non-adjacent part
  disorder         broken order rules (order.py) ÷ what a random order of the same paragraphs breaks:
                   0 in order, about 1 shuffled
  meta_share       sentences about the writing itself
  unfinished       the text ends inside a sentence; unfinished_share: paragraphs that stop short
  debris_share     list debris and stray labels per paragraph
  function_words   share of function words: is it prose at all, or a string of nouns
  plan             with plan points: adherence (sections closest to their own point) and similarity

Which measures apply where: every measure is computed for English and Chinese. The embedding
measures use all-MiniLM-L6-v2 for English and content-character bigrams for Chinese (encoders.py),
so their raw values are not comparable across languages; the grades below are set per language.

quality_score (0-100): each measure becomes a grade g in [0, 1] by a ramp between a bad and a good
value (GRADES, chosen on the labelled set in tests/quality/labelled so that good texts of every genre
grade 1; `benchmarks/q1_calibration.py` prints how well each grade and the score separate them
from each corruption), and quality_score = 100 · Π g_k^w_k with weights summing to 1 (a zero grade
counts as 0.01). A text that fails one measure outright loses about half its score; one that is
merely weaker on several loses a little on each.
"""

from __future__ import annotations

import numpy as np

from ..text import detect_language, split_sections
from . import lexical, measures, order, units
from .encoders import encoder_for

VERSION = 1
# (bad, good) per measure and language: the grade is 0 at `bad`, 1 at `good`, linear between.
GRADES = {
    "en": {"on_topic": (0.08, 0.2), "off_topic_share": (0.2, 0.0), "decay": (0.4, 0.7), "drift": (0.4, 0.7),
           "restated_share": (0.15, 0.0), "disorder": (0.7, 0.1), "meta_share": (0.05, 0.0), "unfinished": (1, 0),
           "unfinished_share": (0.3, 0.0), "debris_share": (0.2, 0.0), "plan_adherence": (0.3, 0.8),
           "function_words": (0.1, 0.25)},
    "zh": {"on_topic": (0.02, 0.06), "off_topic_share": (0.2, 0.0), "decay": (0.1, 0.3), "drift": (0.35, 0.55),
           "restated_share": (0.15, 0.0), "disorder": (0.7, 0.1), "meta_share": (0.05, 0.0), "unfinished": (1, 0),
           "unfinished_share": (0.3, 0.0), "debris_share": (0.2, 0.0), "plan_adherence": (0.3, 0.8),
           "function_words": (0.08, 0.18)},
}
# part similarity below which a part belongs neither to the request nor to the text
OFF_TOPIC_FLOOR = {"en": 0.2, "zh": 0.1}  # on the calibration set: good texts' weakest part 0.26 / 0.11
# similarity to the document's topic (instruction + opening) below which a part has left it
TOPIC_FLOOR = {"en": 0.15, "zh": 0.07}  # good texts' weakest part: 0.21 / 0.073
RESTATED_AT = {"en": 0.8, "zh": 0.48}  # similarity to an earlier part that makes a paraphrase
WEIGHTS = {"on_topic": 1, "off_topic_share": 2, "decay": 1, "drift": 1, "restated_share": 2, "disorder": 1,
           "meta_share": 2, "unfinished": 1, "unfinished_share": 1, "debris_share": 1, "plan_adherence": 1,
           "function_words": 2}


def grade(name: str, value, language: str) -> float | None:
    if value is None:
        return None
    bad, good = GRADES[language][name]
    share = (float(value) - bad) / (good - bad)
    return float(min(1.0, max(0.0, share)))


def score(grades: dict[str, float | None]) -> float:
    """100 · Π g^w over the grades present, weights renormalised to sum to 1."""
    present = {k: g for k, g in grades.items() if g is not None}
    total = sum(WEIGHTS[k] for k in present)
    if not total:
        return 0.0
    log = sum(WEIGHTS[k] / total * np.log(max(g, 0.01)) for k, g in present.items())
    return round(100 * float(np.exp(log)), 2)


def measure(text: str, instruction: str, *, sections: list[str] | None = None, points: list[str] | None = None,
            language: str | None = None) -> dict:
    """The panel of one document. `sections` is the document cut into its sections, in order (by
    default its markdown-heading sections, else thirds); with `points`, the plan point of each
    section, plan adherence is measured too. A text with no prose scores 0."""
    language = language or detect_language(instruction or text)
    language = language if language in GRADES else "en"
    encoder = encoder_for(language)
    paras = units.paragraphs(text, sections or split_sections(text))
    ps = units.parts(paras, language)
    vectors = encoder.vectors([instruction or "", *[p.text for p in ps], *(points or [])])
    part_vectors, point_vectors = vectors[1 : 1 + len(ps)], vectors[1 + len(ps) :]
    per_part, values, violations = _measures(paras, ps, vectors[0], part_vectors, language)
    plan = _plan(ps, part_vectors, point_vectors) if points and sections else None
    if plan:
        values["plan_adherence"] = plan["adherence"]
    grades = {k: grade(k, v, language) for k, v in values.items()}
    positions = per_part["positions"]
    return {
        "version": VERSION, "language": language, "encoder": encoder.name,
        "parts": len(ps), "words": sum(p.words for p in ps), **{k: _round(v) for k, v in values.items()},
        "quality_score": score(grades) if ps else 0.0, "grades": {k: _round(g) for k, g in grades.items()},
        "order_violations": violations, "plan": plan,
        "by_decile": {name: _deciles(per_part[name], positions) for name in ("on_topic", "off_topic", "restated",
                                                                           "meta")},
        "examples": {"meta": per_part["meta_found"][:5], "debris": per_part["debris_found"][:5]},
        "sections": _sections(ps, per_part, plan, prose_by_section(paras), language),
    }


def _measures(paras, ps, q, part_vectors, language: str) -> tuple[dict, dict, dict]:
    """(per-part arrays, the document's measures, its order violations)."""
    prose = [p.text for p in units.prose(paras)]
    total = sum(p.words for p in ps)
    positions = np.array([p.position(total) for p in ps])
    on = measures.similarities(part_vectors, q)
    topic = measures.topic_similarity(part_vectors, q, positions)
    off = measures.off_topic(on, measures.fit_to_rest(part_vectors), OFF_TOPIC_FLOOR[language]) | (
        topic < TOPIC_FLOOR[language])
    restated = measures.restatements(part_vectors) >= RESTATED_AT[language]
    meta, meta_found = lexical.meta_share(prose, language)
    ends_open, open_share = lexical.unfinished(prose, language)
    debris, debris_found = lexical.debris_share(prose)
    in_order = order.order_check(prose, language, _paragraph_leads(ps, on, len(prose)))
    share = lambda flags: float(flags.mean()) if len(flags) else None  # noqa: E731
    values = {
        "on_topic": share(on), "off_topic_share": share(off), "decay": measures.decay(on, positions),
        "drift": measures.decay(topic, positions), "restated_share": share(restated),
        "disorder": in_order["disorder"], "meta_share": meta, "unfinished": int(ends_open),
        "unfinished_share": open_share, "debris_share": debris,
        "function_words": lexical.function_word_share(prose, language),
    }
    per_part = {"positions": positions, "on_topic": on, "off_topic": off, "restated": restated,
                "meta": [lexical.meta_share([p.text], language)[0] for p in ps],
                "meta_found": meta_found, "debris_found": debris_found}
    return per_part, values, in_order["violations"]


def _paragraph_leads(ps, on, count: int) -> list[float]:
    """Each prose paragraph's similarity to the instruction, through the part that holds it."""
    lead = [0.0] * count
    for part, similarity in zip(ps, on):
        for i in part.paragraphs:
            lead[i] = float(similarity)
    return lead


def prose_by_section(paras: list[units.Paragraph]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for p in units.prose(paras):
        out.setdefault(p.section, []).append(p.text)
    return out


def _plan(ps, part_vectors, point_vectors) -> dict | None:
    """Plan adherence from section vectors (the mean of each section's parts), section s against
    point s; a section with no prose has no vector and is left out. Per-section results by section."""
    by_section: dict[int, list[int]] = {}
    for i, p in enumerate(ps):
        if p.section < len(point_vectors):
            by_section.setdefault(p.section, []).append(i)
    if not by_section:
        return None
    owners = sorted(by_section)
    means = np.stack([part_vectors[by_section[s]].mean(axis=0) for s in owners])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)
    adherence, hits, own = measures.plan_adherence(means, point_vectors, owners)
    return {"adherence": round(adherence, 4), "point_similarity": round(float(np.mean(own)), 4),
            "sections": [{"section": s, "on_own_point": h, "point_similarity": round(x, 4)}
                         for s, h, x in zip(owners, hits, own)]}


def _sections(ps, per_part: dict, plan, prose_of, language) -> list[dict]:
    on, off, restated = per_part["on_topic"], per_part["off_topic"], per_part["restated"]
    planned = {row["section"]: row for row in (plan or {}).get("sections", [])}
    rows = []
    for s in sorted({p.section for p in ps}):
        idx = [i for i, p in enumerate(ps) if p.section == s]
        text = prose_of.get(s, [])
        row = {"section": s, "words": sum(ps[i].words for i in idx), "on_topic": _round(float(on[idx].mean())),
               "off_topic_share": _round(float(off[idx].mean())), "restated_share": _round(float(restated[idx].mean())),
               "meta_share": _round(lexical.meta_share(text, language)[0]),
               "unfinished_share": _round(lexical.unfinished(text, language)[1])}
        if s in planned:
            row.update(point_similarity=planned[s]["point_similarity"], on_own_point=planned[s]["on_own_point"])
        rows.append(row)
    return rows


def _deciles(values, positions) -> list[float | None]:
    return [_round(v) for v in measures.by_position(np.asarray(values, dtype=float), positions)]


def _round(value):
    return round(float(value), 4) if isinstance(value, (float, np.floating)) else value
