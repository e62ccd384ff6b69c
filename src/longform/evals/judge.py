"""The LLM judge of LongBench-Write: six quality dimensions rated 1-5 → S_q.

A template is either the benchmark's own file (placeholders `$INST$` and
`$RESPONSE$`, plain substitution) or a Jinja template using `{{ instruction }}`
and `{{ response }}` (our built-in `prompts/judge.j2`). Judges answer in loose
JSON, so `parse_verdict` is forgiving about form but strict about content: every
dimension must be present and in 1..5, and an unreadable verdict is retried and
finally left unscored, never counted as a 0.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import meta

from ..backends.base import GenerationConfig
from ..errors import UsageError
from ..io import JsonlLog, read_user_text

DIMENSIONS: tuple[str, ...] = (
    "Relevance",
    "Accuracy",
    "Coherence",
    "Clarity",
    "Breadth and Depth",
    "Reading Experience",
)

# The benchmark judged with temperature 0.5; verdicts are short JSON objects.
DEFAULT_CONFIG = GenerationConfig(max_tokens=1024, temperature=0.5)

_OFFICIAL_FIELDS = re.compile(r"\$(INST|RESPONSE)\$")
_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _key(name: str) -> str:
    """'Breadth & Depth', 'breadth_and_depth', 'BreadthAndDepth' → 'breadthanddepth'."""
    return re.sub(r"[^a-z]", "", name.lower().replace("&", "and"))


_BY_KEY = {_key(d): d for d in DIMENSIONS}


# ------------------------------------------------------------------ templates


@dataclass(frozen=True)
class JudgeTemplate:
    """A loaded judge prompt; `source` names its file for error messages."""

    text: str
    source: str
    official: bool  # $INST$/$RESPONSE$ substitution rather than Jinja

    @classmethod
    def load(cls, path: str | Path | None = None) -> JudgeTemplate:
        """Read a template file; None → the built-in judge.j2 (LONGFORM_PROMPTS may override it)."""
        path = Path(path) if path is not None else _builtin_path()
        text = read_user_text(path, "judge template")
        if "$INST$" in text or "$RESPONSE$" in text:
            missing = [p for p in ("$INST$", "$RESPONSE$") if p not in text]
            if missing:
                raise UsageError(f"judge template {path}: has no {missing[0]} placeholder")
            return cls(text, str(path), official=True)
        _check_jinja(text, path)
        return cls(text, str(path), official=False)

    def render(self, instruction: str, response: str) -> str:
        """The judge's prompt for one request and response."""
        if self.official:
            # One pass, so a response that itself contains "$INST$" is left alone.
            values = {"INST": instruction, "RESPONSE": response}
            return _OFFICIAL_FIELDS.sub(lambda m: values[m.group(1)], self.text).strip()
        return _JINJA.from_string(self.text).render(instruction=instruction, response=response).strip()


def _builtin_path() -> Path:
    override = os.environ.get("LONGFORM_PROMPTS")
    if override and (Path(override) / "judge.j2").is_file():
        return Path(override) / "judge.j2"
    return Path(__file__).resolve().parent.parent / "prompts" / "judge.j2"


def _check_jinja(text: str, path: Path) -> None:
    """Fail at load time, not on the first row, for a template that cannot work."""
    try:
        names = meta.find_undeclared_variables(_JINJA.parse(text))
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"judge template {path}:{exc.lineno}: {exc.message}") from None
    missing = [n for n in ("instruction", "response") if n not in names]
    if missing:
        raise UsageError(
            f"judge template {path}: has no {{{{ {missing[0]} }}}} placeholder "
            "(use {{ instruction }} and {{ response }}, or $INST$ and $RESPONSE$)"
        )
    unknown = sorted(names - {"instruction", "response"})
    if unknown:
        raise UsageError(f"judge template {path}: unknown variable {unknown[0]!r}")


# ------------------------------------------------------------------ parsing


def _objects(text: str) -> list[str]:
    """Top-level {...} spans in order. Braces inside quoted strings do not count,
    so an analysis that mentions "{" cannot cut an object short."""
    spans, i = [], text.find("{")
    while i != -1:
        end = _match(text, i, quotes=True)
        if end is None:  # an unescaped quote inside a string: match braces only
            end = _match(text, i, quotes=False)
        if end is None:
            i = text.find("{", i + 1)
            continue
        spans.append(text[i : end + 1])
        i = text.find("{", end + 1)
    return spans


def _match(text: str, start: int, quotes: bool) -> int | None:
    depth, quote, escaped = 0, None, False
    for j in range(start, len(text)):
        ch = text[j]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif quotes and (ch == '"' or (ch == "'" and not text[j - 1].isalnum())):  # "'" after a letter: apostrophe
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return j
    return None


_PAIR = re.compile(
    r"""["']?([A-Za-z][A-Za-z _&\-]*?)["']?\s*[:：]\s*["']?(\d+(?:\.\d+)?(?:\s*/\s*5(?:\.0+)?)?)"""
)


def _load(span: str) -> dict | None:
    """A dict from loose JSON: strict first, then trailing commas and single quotes,
    then bare `key: number` pairs as a last resort."""
    no_trailing = re.sub(r",\s*(?=[}\]])", "", span)
    for attempt in (lambda: json.loads(span, strict=False), lambda: json.loads(no_trailing, strict=False),
                    lambda: ast.literal_eval(span)):
        try:
            value = attempt()
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    pairs = {key.strip(): value for key, value in _PAIR.findall(span)}
    return pairs or None


def _scores_in(obj: dict) -> dict | None:
    """The object's dimension values by canonical name, if all six are there;
    else those of the last nested object that has them ({"verdict": {...}})."""
    found = {_BY_KEY[_key(k)]: v for k, v in obj.items() if isinstance(k, str) and _key(k) in _BY_KEY}
    if len(found) == len(DIMENSIONS):
        return found
    for value in reversed(list(obj.values())):
        if isinstance(value, dict) and (nested := _scores_in(value)) is not None:
            return nested
    return None


def _score(value) -> int | None:
    """4, 4.0, "4", "4/5", {"score": 4} → 4; anything else (4.5, "good") → None."""
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if str(k).lower() in ("score", "rating")), None)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*5(?:\.0+)?)?\s*(?:分|points?)?\s*", value)
        value = float(m.group(1)) if m else None
    if isinstance(value, float) and value.is_integer():  # also rejects inf and nan
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= 5 else None


def parse_verdict(text: str) -> dict[str, int] | None:
    """The six scores from a judge's answer, or None when it has none usable.

    The last object carrying all six dimensions is the verdict (judges sometimes
    echo the requested format first); if any of its scores is not an integer in
    1..5 the verdict is None: out-of-range scores are not clamped.
    """
    if not isinstance(text, str):
        return None
    for span in reversed(_objects(text)):
        obj = _load(span)
        found = _scores_in(obj) if obj else None
        if found is None:
            continue
        scores = {d: _score(found[d]) for d in DIMENSIONS}
        return None if None in scores.values() else scores
    return None


def quality_score(scores: dict[str, int]) -> float:
    """S_q in 0..100: the mean over dimensions of (score - 1) * 25."""
    missing = [d for d in DIMENSIONS if d not in scores]
    if missing:
        raise ValueError(f"scores lack {', '.join(missing)}")
    return sum((scores[d] - 1) * 25.0 for d in DIMENSIONS) / len(DIMENSIONS)


# ------------------------------------------------------------------ judging


@dataclass
class Verdict:
    scores: dict[str, int] | None  # None: unscored after every attempt
    raw: str  # the judge's text from the last attempt
    attempts: int
    S_q: float | None


def judge_response(lm, template: JudgeTemplate, instruction: str, response: str, *,
                   attempts: int = 3, config: GenerationConfig | None = None) -> Verdict:
    """Ask the judge up to `attempts` times, a new seed each, until a verdict parses.

    A `BackendError` from the LM propagates: a judge that cannot be reached is a
    failed run, not an unscored item. `lm` may also be a judge that rates without a
    model call and says so with a `verdict(instruction, response)` method (the
    `panel` proxy judge, longform.quality.judge).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    if callable(getattr(lm, "verdict", None)):
        return lm.verdict(instruction or "", response or "")
    config = config or DEFAULT_CONFIG
    messages = [{"role": "user", "content": template.render(instruction or "", response or "")}]
    raw = ""
    for attempt in range(1, attempts + 1):
        # A different seed, or a deterministic judge would repeat the same bad answer.
        raw = lm.complete(messages, config.merged(seed=(config.seed or 0) + attempt - 1)).text
        scores = parse_verdict(raw)
        if scores is not None:
            return Verdict(scores, raw, attempt, quality_score(scores))
    return Verdict(None, raw, attempts, None)


def _judged(row: dict, verdict: Verdict) -> dict:
    if verdict.scores is None:
        judge = {"scores": None, "S_q": None, "raw": verdict.raw, "attempts": verdict.attempts}
    else:
        judge = {"scores": verdict.scores, "S_q": verdict.S_q, "attempts": verdict.attempts}
    return {**row, "judge": judge}


def judge_rows(lm, template: JudgeTemplate, rows: list[dict], *, attempts: int = 3, concurrency: int = 1,
               on_done: Callable[[int, dict], None] | None = None,
               config: GenerationConfig | None = None, cache: "VerdictCache | None" = None) -> list[dict]:
    """New rows with "judge" filled, in input order. `on_done(i, row)` is called
    from this thread as each row finishes (in completion order when concurrent).
    With a `cache`, saved verdicts are reused and new ones saved as they arrive."""

    def one(row: dict) -> dict:
        saved = cache.get(row) if cache is not None else None
        if saved is not None:
            return {**row, "judge": saved}
        verdict = judge_response(lm, template, row.get("prompt") or "", row.get("response") or "",
                                 attempts=attempts, config=config)
        judged = _judged(row, verdict)
        if cache is not None:
            cache.put(judged)
        return judged

    results: list[dict | None] = [None] * len(rows)
    if concurrency <= 1:
        for i, row in enumerate(rows):
            results[i] = one(row)
            if on_done:
                on_done(i, results[i])
        return results
    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        futures = {pool.submit(one, row): i for i, row in enumerate(rows)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()  # re-raises a BackendError here
            if on_done:
                on_done(i, results[i])
    finally:
        # On an error, drop the rows not started yet instead of judging them for nothing.
        pool.shutdown(wait=True, cancel_futures=True)
    return results


class VerdictCache:
    """Parsed verdicts saved as they arrive (`judgments.jsonl` in the report folder), so a
    killed or repeated `eval score` does not pay the judge twice. A verdict is keyed by
    the judge's name, the template text, the prompt and the response; unscored items
    are not saved, so a rerun tries them again."""

    def __init__(self, path: str | Path, judge_name: str, template: JudgeTemplate):
        self.log, self.prefix = JsonlLog(path), f"{judge_name}\0{template.text}\0"
        self.path = self.log.path
        self.saved: dict[str, dict] = {}
        self.log.repair(on_torn=None)  # a kill mid-append tears at most the last line
        for number, row in self._rows():
            try:
                self.saved[row["key"]] = row["judge"]
            except (KeyError, TypeError):
                raise UsageError(f"{self.path}:{number}: not a saved verdict; delete the file to judge "
                                 "everything again") from None

    def _rows(self) -> list[tuple[int, dict]]:
        try:
            return self.log.numbered(on_torn=None)
        except UsageError as exc:
            raise UsageError(f"{exc}; not a saved verdict: delete the file to judge everything again") from None

    def key(self, row: dict) -> str:
        text = self.prefix + (row.get("prompt") or "") + "\0" + (row.get("response") or "")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, row: dict) -> dict | None:
        return self.saved.get(self.key(row))

    def put(self, row: dict) -> None:
        judge = row.get("judge") or {}
        if judge.get("S_q") is None:
            return
        key = self.key(row)
        self.saved[key] = judge
        self.log.append({"key": key, "judge": judge})
