"""Plans: parse what a model wrote into sections with word budgets.

AgentWrite first asks the model for a numbered outline, one line per section with
its main point and a word count. Real models, down to 135M ones, answer in many
shapes: `1.`, `(1)`, `Step 1:`, `Part IV`, `第一部分`, `一、`, markdown headings,
bullets, bold labels, counts such as `~500 words`, `300-400 words`, `约500字`,
sections spread over several lines, plus preamble and closing chatter.

- `parse_plan` turns that text into `Section`s (budget None where none was given);
- `target_words_from_instruction` (from `longform.lengths`) reads the length a task asks for;
- `finalize_plan` fills missing budgets and rescales them to sum to the target;
- `plan_is_usable` says whether a parsed plan is worth running;

Pure standard library: parsing must never depend on the backend installed.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

from ..lengths import AMOUNT, UNIT, target_words_from_instruction, to_number  # noqa: F401 (re-export)


@dataclass
class Section:
    index: int  # 1-based position in the plan
    point: str  # what the section covers, one line
    words: int | None  # word budget; None only before `finalize_plan`


@dataclass
class Plan:
    sections: list[Section]
    target_words: int
    raw: str = ""  # the model's text the plan was parsed from ("" for a fallback plan)
    source: str = "model"  # "model" | "fallback" | "short" (one section, no outline call) | "chapters"
    notes: list[str] = field(default_factory=list)  # what repair did (rescaled, filled counts…)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        sections = [Section(**s) for s in data["sections"]]
        return cls(**{**data, "sections": sections})

    @classmethod
    def load(cls, data, where: str) -> "Plan":
        """A saved plan, checked field by field (`where` names the file in any error)."""
        from ..errors import UsageError
        from ..typecheck import build

        sections = data.get("sections") if isinstance(data, dict) else None
        if not isinstance(sections, list) or not sections:
            raise UsageError(f"{where}: damaged run file (no list of sections)")
        checked = [build(Section, s, f"{where}: sections[{i}]") for i, s in enumerate(sections)]
        return build(cls, {**data, "sections": checked}, where)

    def as_numbered_text(self, with_words: bool = True) -> str:
        if not with_words:
            return "\n".join(f"{s.index}. {s.point}" for s in self.sections)
        return "\n".join(f"{s.index}. {s.point} ({s.words} words)" for s in self.sections)


MAX_SECTIONS = 60
SINGLE_SECTION_LIMIT = 1200  # one section cannot carry a longer text: it needs a plan

# ---------------------------------------------------------------- numbers and counts

_CJK = re.compile(r"[\u4e00-\u9fff]")

# "Word Count: 400 words", "字数要求：300字" — preferred over a bare "400 words" on the
# same line, because a point may itself mention words ("the 3 words of the motto").
_COUNT_LABELLED = re.compile(
    rf"(?:word\s*count(?:\s*requirement)?|words|length|字数(?:要求)?|篇幅)"
    rf"\s*(?:[:：=]|\s-\s|is)?\s*{AMOUNT}(?:\s*{UNIT})?(?:\s*左右)?",
    re.I,
)
_COUNT_PLAIN = re.compile(rf"{AMOUNT}\s*-?\s*{UNIT}(?:\s*左右)?", re.I)

# ---------------------------------------------------------------- line structure

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.S | re.I)  # reasoning models' scratchpad
_IGNORED = re.compile(r"^(?:`{3}.*|[-=_*]{3,}|\|?[-:| ]+\|)$")  # code fences, rules, table rules
_HEADING = re.compile(r"^#{1,6}\s*")
_SUBNUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3})+\.?\s+")
_BULLET = re.compile(r"^(?:[-*+–—]\s+|[•·●▪◦]\s*)")
_ROMAN = r"(?=[ivxl])(?:xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_NUMBERED = re.compile(
    rf"""^(?:[-*+•·]\s*)?(?:
        (?:step|paragraph|para\.?|section|part|chapter|point|stage)
            \s*(?:\d{{1,3}}\b|(?<=\s){_ROMAN}\b|(?<=\s)(?:one|two|three|four|five|six|seven|eight|nine|ten)\b)
            \s*[:.)\-–—]?
      | (?:段落|步骤|部分|第)\s*\d{{1,3}}\s*(?:段|部分|章|节|步|点)?\s*[:：、.．\-–—]?
      | 第[一二三四五六七八九十百]{{1,4}}(?:(?:部分|章|节|段|部|点|步|篇|幕)\s*[:：、.．\-–—]?|\s*[:：、.．])
      | [(（\[]\s*(?:\d{{1,3}}|[一二三四五六七八九十]{{1,3}})\s*[)）\]]
      | \d{{1,3}}\s*(?:[.)、:：．](?!\d)|\s[-–—]\s)
      | {_ROMAN}[.)](?=\s)
      | [一二三四五六七八九十]{{1,3}}\s*[、.．]
    )\s*""",
    re.I | re.X,
)
_LABEL = re.compile(
    r"\s*[-–—|,;]?\s*(?:(?:main|key)\s+(?:point|idea)s?\s*(?:[:：]|\s-\s)|(?:word\s*count|point|topic|title"
    r"|content|description|focus|summary|heading|主要内容|主要观点|核心内容|要点|内容|主题|标题)\s*[:：])\s*",
    re.I,
)
_CHATTER = re.compile(
    r"^[(（]?\s*(?:i\s+hope|hope\s+(?:this|that|it)|let\s+me\s+know|feel\s+free|good\s+luck|happy\s+writing"
    r"|i\s+(?:cannot|can't|can\s+not|am\s+unable|'m\s+unable|won't)|sorry|as\s+an\s+ai|notes?\s*[:：]|note\s+that"
    r"|this\s+(?:plan|outline|structure)\b|in\s+total\b"
    r"|(?:the\s+)?(?:total|overall|target)(?:\s+(?:word\s*count|words|length))?\s*[:：=≈]"
    r"|希望|以上|总计|合计|共计|总字数|注[:：]"
    r"|抱歉|对不起|我无法|我不能)",
    re.I,
)
_PREAMBLE = re.compile(
    r"^(?:sure|certainly|okay|ok|of\s+course|absolutely|great|here(?:'s|\s+is|\s+are)|below\s+(?:is|are)"
    r"|the\s+following|i\s+will|i'll|i\s+would|let's|let\s+me|as\s+requested|好的|以下是|下面是|当然|这是)\b",
    re.I,
)
_TITLE = re.compile(
    r"^(?:(?:the|my|a|an|your)\s+)?(?:(?:proposed|detailed|final|revised|writing|essay|article|story|content)\s+)*"
    r"(?:plan|outline|structure|breakdown)$|^(?:写作|文章)?(?:计划|提纲|大纲|规划|结构)$",
    re.I,
)
_FILLER = re.compile(r"^(?:[.…。\s]*|etc\.?|and\s+so\s+on|等等?|\[?\.\.\.\]?)$", re.I)
_EMPTY_BRACKETS = re.compile(r"[(（\[【]\s*[)）\]】]")
_EDGE_JUNK_START = re.compile(r"^[\s\-–—:：,，;；|.、)）]+")
_EDGE_JUNK_END = re.compile(r"[\s\-–—:：,，;；|/(（\[.。、…]+$")


@dataclass
class _Line:
    kind: str  # "num" | "head" | "bullet" | "plain": which marker opened the line
    indent: int
    point: str  # cleaned text, "" when the line only gave a count
    count: int | None
    gap: bool  # a blank line came right before it
    labelled: bool  # "Main Point:" / "Word Count:" style, so it belongs to a section
    lead_in: bool  # "Here is the plan:" style sentence


@dataclass
class _Draft:
    head: str
    count: int | None
    details: list[str] = field(default_factory=list)
    sub_count: int | None = None  # sum of counts given on continuation lines

    def add(self, line: _Line) -> None:
        if line.point:
            self.details.append(line.point)
        if line.count:
            self.sub_count = (self.sub_count or 0) + line.count

    def budget(self) -> int | None:
        return self.count or self.sub_count

    def point(self) -> str:
        cjk = bool(_CJK.search(self.head + "".join(self.details)))
        parts = [p for p in [self.head, ("；" if cjk else "; ").join(self.details)] if p]
        return ("：" if cjk else ": ").join(parts)


# ---------------------------------------------------------------- public API


def parse_plan(text: str) -> list[Section]:
    """Sections from a model's plan text, numbered 1..n; `words` None where no count was given."""
    lines = _scan(text)
    mode = _primary_kind(lines)
    drafts = _group_plain(lines) if mode == "plain" else _group_marked(lines, mode)
    sections: list[Section] = []
    seen: set[str] = set()
    for draft in drafts:
        point = draft.point()
        if not point or point.casefold() in seen:
            continue  # a repeated line is a small model looping, not a new section
        seen.add(point.casefold())
        sections.append(Section(len(sections) + 1, point, draft.budget()))
    return sections


def finalize_plan(
    sections: list[Section],
    target_words: int,
    *,
    raw: str = "",
    min_words: int = 100,
    max_words: int = 1200,
) -> Plan:
    """A `Plan` whose budgets are all set and sum exactly to `target_words`; repairs go in `notes`.

    Budgets above `max_words` are kept (the runner splits long sections) but noted.
    """
    if not sections:
        raise ValueError("cannot finalize a plan without sections")
    if target_words < len(sections):
        raise ValueError(f"{target_words} words cannot be shared by {len(sections)} sections")
    notes: list[str] = []
    weights = _filled_budgets([s.words for s in sections], target_words, min_words, notes)
    if round(sum(weights)) != target_words:
        notes.append(f"rescaled from {round(sum(weights))} to {target_words} words")
    budgets = distribute_budget(weights, target_words)
    over = sum(b > max_words for b in budgets)
    if over:
        notes.append(f"{over} section{'s' if over > 1 else ''} over {max_words} words")
    final = [Section(i, s.point, b) for i, (s, b) in enumerate(zip(sections, budgets), 1)]
    return Plan(final, target_words, raw=raw, notes=notes)


def plan_is_usable(sections: list[Section], target_words: int) -> bool:
    """Whether a parsed plan is worth writing from, rather than falling back."""
    if not sections or len(sections) > min(MAX_SECTIONS, target_words):
        return False  # more sections than words could not be finalized
    if len(sections) == 1 and target_words > SINGLE_SECTION_LIMIT:
        return False
    return any(_substantive(s.point, min_words=2, min_cjk=3) for s in sections)


# ---------------------------------------------------------------- reading lines


def _scan(text: str) -> list[_Line]:
    lines: list[_Line] = []
    gap = False
    for raw in _THINK.sub("", text).splitlines():
        body = raw.expandtabs(4).replace("**", "").replace("__", "")
        stripped = body.strip()
        if not stripped or _IGNORED.match(stripped):
            gap = gap or not stripped
            continue
        line = _read_line(stripped, len(body) - len(body.lstrip()), gap)
        gap = False
        if line is not None:
            lines.append(line)
    return lines


def _read_line(body: str, indent: int, gap: bool) -> _Line | None:
    kind, body = _strip_marker(body)
    if _CHATTER.match(body) or _FILLER.match(body):
        return None
    count, rest = _take_count(body)
    point = _clean(rest)
    if _TITLE.match(point):
        return None  # "Plan:", "## Outline" head the list, they are not in it
    point = "" if _FILLER.match(point) else point
    if not point and count is None:
        return None
    lead_in = count is None and (bool(_PREAMBLE.match(point)) or rest.rstrip().endswith((":", "：")))
    return _Line(kind, indent, point, count, gap, bool(_LABEL.search(rest)) or count is not None, lead_in)


def _strip_marker(body: str) -> tuple[str, str]:
    heading = _HEADING.match(body)
    if heading:
        body = body[heading.end() :]
    if match := _NUMBERED.match(body):
        return "num", body[match.end() :]
    if heading:
        return "head", body
    if match := _BULLET.match(body):
        return "bullet", body[match.end() :]
    return "plain", _SUBNUMBER.sub("", body)  # "1.2 Detail" belongs to section 1


def _take_count(body: str) -> tuple[int | None, str]:
    """The line's word budget (last one given; midpoint of a range) and the line without it."""
    found = list(_COUNT_LABELLED.finditer(body)) or list(_COUNT_PLAIN.finditer(body))
    if not found:
        return None, body
    match = found[-1]
    low = to_number(match["a"])
    high = to_number(match["b"]) if match["b"] else low
    return int((low + high) / 2 + 0.5) or None, body[: match.start()] + " " + body[match.end() :]


_TRAILING_NUMBER = re.compile(r"\s*[:：\-–—]\s*\d{1,2}\s*$")


def _clean(text: str) -> str:
    text = _EMPTY_BRACKETS.sub(" ", re.sub(r"[*#`]+", "", text))
    text = _LABEL.sub(_label_joint, text.strip())
    text = _EDGE_JUNK_END.sub("", _EDGE_JUNK_START.sub("", text))
    text = _TRAILING_NUMBER.sub("", text)  # "The origins of tea: 1" (a list number after the title)
    if text[:1] in "(（" and text[-1:] in ")）" and text.count("(") + text.count("（") == 1:
        text = text[1:-1].strip()
    return re.sub(r"\s+", " ", text)


def _label_joint(match: re.Match) -> str:
    """A label at the start just goes; one mid-line ("Intro - Main Point: …") becomes a colon."""
    if match.start() == 0:
        return ""
    return "：" if _CJK.match(match.string[match.start() - 1]) else ": "


# ---------------------------------------------------------------- grouping lines into sections


def _primary_kind(lines: list[_Line]) -> str:
    """The kind of line that opens sections: the first used at least twice, in reading order.

    Outer structure comes first (headings above numbered sub-points; budgeted lines above
    bullets), and a kind seen once is a title or a stray note, except a lone number (a
    one-section plan). Unmarked lines compete only when they carry a budget.
    """
    kinds = [ln.kind for ln in lines if ln.kind != "plain" or (ln.point and ln.count)]
    return next((k for k in kinds if kinds.count(k) >= 2), "num" if "num" in kinds else "plain")


def _group_marked(lines: list[_Line], mode: str) -> list[_Draft]:
    drafts: list[_Draft] = []
    base: int | None = None
    for line in lines:
        opens = line.kind == mode and (base is None or line.indent <= base + 1)
        if opens and not line.point and drafts and not drafts[-1].budget():
            opens = False  # "- Word Count: 300" right under "- Main Point: …" completes that one
        if opens:
            base = line.indent if base is None else base
            drafts.append(_Draft(line.point, line.count))
        elif drafts and _continues(line, mode):
            drafts[-1].add(line)
    return drafts


def _continues(line: _Line, mode: str) -> bool:
    """Whether an unmarked line adds to the section above it rather than being chatter."""
    if line.lead_in:
        return False
    return line.labelled or not line.gap or mode == "head"


def _group_plain(lines: list[_Line]) -> list[_Draft]:
    """No markers: counted lines are sections when there are several, else substantive lines."""
    by_count = sum(1 for ln in lines if ln.point and ln.count) >= 2
    drafts: list[_Draft] = []
    for line in lines:
        if line.lead_in or (line.kind == "head" and line.count is None):
            continue  # a lone heading without a budget is the document's title
        starts = line.point and (line.count if by_count else line.count or _substantive(line.point, 3, 4))
        if starts:
            drafts.append(_Draft(line.point, line.count))
        elif drafts and (not line.point or (by_count and not line.gap)):
            drafts[-1].add(line)
    return drafts


def _substantive(point: str, min_words: int, min_cjk: int) -> bool:
    cjk = len(_CJK.findall(point))
    return cjk >= min_cjk or len(re.findall(r"[^\W\d_]+", _CJK.sub(" ", point))) >= min_words


# ---------------------------------------------------------------- budgets


def _filled_budgets(words: list[int | None], target: int, min_words: int, notes: list[str]) -> list[float]:
    """Budgets with the gaps filled: what the given counts leave of the target, shared equally."""
    given = [w for w in words if w and w > 0]
    missing = len(words) - len(given)
    if not missing:
        return [float(w) for w in given]
    share = (target - sum(given)) / missing
    if given and share < min_words:
        share = sum(given) / len(given)  # the counts already use up the target: rescaling shrinks all
    notes.append(f"filled {missing} missing count{'s' if missing > 1 else ''}")
    return [float(w) if w and w > 0 else share for w in words]


def distribute_budget(weights: list[float], total: int) -> list[int]:
    """Integers ≥ 1 proportional to `weights` summing exactly to `total` (≥ len(weights)).

    The rounding remainder goes to the last sections, which tend to be the conclusion.
    """
    scale = total / sum(weights)
    budgets = [max(1, math.floor(w * scale + 1e-9)) for w in weights]
    diff, i = total - sum(budgets), len(budgets) - 1
    while diff:
        if diff > 0 or budgets[i] > 1:
            step = 1 if diff > 0 else -1
            budgets[i] += step
            diff -= step
        i = (i - 1) % len(budgets)
    return budgets
