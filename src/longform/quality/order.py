"""Is the text in an order a reader can follow? Lexical signs that paragraphs are out of place.

Embeddings do not see order: neighbouring paragraphs of good prose are hardly more alike than
random pairs of the same text (measured on the calibration set), so shuffled paragraphs go unnoticed.
Writers mark order in words instead, and those marks can be checked:

- **Openers.** A text does not begin with a connective or a bare pronoun ("However, …", "Third, …",
  "He had argued…", "此外，…", "他…").
- **Ordinals.** Paragraphs that open with first / second / third / finally (首先 / 其次 / 再次 / 最后)
  come in that order, and a closing paragraph ("In conclusion", "总之") is near the end.
- **Letters.** A salutation ("Dear Sam,", "尊敬的…：") comes first, a sign-off ("Yours sincerely", "此致")
  near the end.
- **Names.** A person is named in full before the short form is used alone ("Tomas Reyne" before
  "Tomas"; 陈阿海 before 阿海).
- **Calendar.** Months and seasons that paragraphs open with, the years and centuries of their
  first sentences, and the times of day they open with (a new day starting again), move forward.

- **Datelines.** A report's dateline ("本报讯", "LONDON (Reuters) -") opens its first paragraph.
- **Opening**, for texts with few of the marks above: the first paragraph is among the fifth of
  paragraphs most like the instruction (essays, reports and guides open on their subject). Stories
  often open on a scene instead, but they carry names and times, so this rule weighs in only as
  far as nothing else can tell.

`order_check` counts the broken rules and divides by what a random order of the same paragraphs
breaks on average, so texts with many marks and texts with few are judged alike.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .encoders import FUNCTION_ZH as _FUNCTION_ZH
from .lexical import SALUTATION, SIGN_OFF

_OPENER_EN = re.compile(
    r"^\W*(but|and|so|then|also|however|moreover|furthermore|finally|lastly|next|secondly|second|thirdly|third"
    r"|fourth|fifth|another|meanwhile|afterwards|later|still|yet|instead|besides|similarly|likewise|in addition"
    r"|as a result|on the other hand|in the end|in conclusion|to sum up|overall|he|she|they|his|her|their)\b"
    r"|^\W*(\w+\s){0,3}\w+,\s+(he|she|they)\b",  # "By noon, he had…": someone not yet introduced
    re.IGNORECASE)
_OPENER_ZH = re.compile(r"^\W*(但是|但|而且|所以|因此|然后|此外|另外|其次|再次|最后|总之|综上|同时|然而|不过|接着|后来"
                        r"|于是|他|她|第二|第三|第四|第五)"
                        r"|^\W*[^，。！？\n]{1,6}，(他|她|他们|她们)")  # "中午，他到了…": someone not yet introduced

_LAST = 99
_RANKS_EN = [
    (re.compile(r"^\W*(first(ly)?|to (begin|start)|start (by|with)|begin (by|with)|the first \w+ (is|was))\b",
                re.I), 1),
    (re.compile(r"^\W*(second(ly)?|the second \w+ (is|was))\b", re.I), 2),
    (re.compile(r"^\W*(third(ly)?|the third \w+ (is|was))\b", re.I), 3),
    (re.compile(r"^\W*(fourth(ly)?|the fourth \w+ (is|was))\b", re.I), 4),
    (re.compile(r"^\W*(fifth(ly)?|the fifth \w+ (is|was))\b", re.I), 5),
    (re.compile(r"^\W*(finally|lastly|in conclusion|to conclude|to sum up|in short|in the end)\b", re.I), _LAST),
]
_RANKS_ZH = [
    (re.compile(r"^\W*(首先|第一[，,、步点站个天是]|其一)"), 1),
    (re.compile(r"^\W*(其次|第二[，,、步点站个天是]|其二)"), 2),
    (re.compile(r"^\W*(再次|第三[，,、步点站个天是]|其三)"), 3),
    (re.compile(r"^\W*(第四[，,、步点站个天是]|其四)"), 4),
    (re.compile(r"^\W*(第五[，,、步点站个天是]|其五)"), 5),
    (re.compile(r"^\W*(最后|总之|综上|总而言之)"), _LAST),
]
_FULL_NAME_EN = re.compile(r"\b([A-Z][a-z]{2,}) ([A-Z][a-z]{2,})\b")
_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
             "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
# a name opens a clause (after punctuation or 叫) where an ordinary word rarely starts with a surname character
_FULL_NAME_ZH = re.compile(f"(?:^|(?<=[，。！？、：；“”\"\\s叫]))[{_SURNAMES}]([\u4e00-\u9fff]{{2}})", re.M)


@dataclass
class _Marks:
    """One paragraph's order marks, read once so that many orders can be checked cheaply."""

    opener: bool
    rank: int | None
    salutation: bool
    dateline: bool
    sign_off: bool
    month: int | None
    year: float | None
    hour: float | None
    next_day: int
    full: set  # names given in full here (by their short forms)
    short: set  # short forms used alone here
    lead: float | None = None  # similarity of the paragraph to the instruction, when known


def _marks(paragraph: str, text: str, language: str) -> _Marks:
    first_line = paragraph.strip().splitlines()[0] if paragraph.strip() else ""
    full = {s: f for f, shorts in _full_names(paragraph, text, language) for s in shorts}
    rest = paragraph
    for f in full.values():
        rest = rest.replace(f, "")
    return _Marks(
        opener=bool((_OPENER_ZH if language == "zh" else _OPENER_EN).match(paragraph)),
        rank=_rank(paragraph, language),
        salutation=bool(SALUTATION.match(first_line)),
        dateline=bool(_DATELINE.match(paragraph)),
        sign_off=bool(SIGN_OFF.match(first_line)),
        month=_month(paragraph, language),
        year=_year(paragraph, language),
        hour=_hour(paragraph, language),
        next_day=int(bool(_NEXT_DAY.search(paragraph[:12] if language == "zh" else " ".join(paragraph.split()[:8])))),
        full=set(full),
        short={s for s in _known_shorts(text, language) if _alone(s, language).search(rest)},
    )


# a news report's dateline opens its first paragraph: "本报讯", "新华社北京3月5日电", "LONDON (Reuters) -"
_DATELINE = re.compile(r"^\W*(本报讯|本报记者|新华社|中新社|据[^，。]{0,8}报道"
                       r"|[A-Z][A-Z .]{2,30}(\([^)]{2,20}\))?\s+[-—–])")


def _rank(paragraph: str, language: str) -> int | None:
    for pattern, rank in (_RANKS_ZH if language == "zh" else _RANKS_EN):
        if pattern.match(paragraph):
            return rank
    return None


def _alone(short: str, language: str) -> re.Pattern:
    return re.compile(re.escape(short) if language == "zh" else rf"\b{re.escape(short)}\b")


def _known_shorts(text: str, language: str) -> set:
    return {s for p in text.split("\n\n") for _, shorts in _full_names(p, text, language) for s in shorts}


def _full_names(paragraph: str, text: str, language: str):
    """(full name, its short forms) in a paragraph. English: two capitalised words, neither of which
    the text also uses in lower case ("The Harwick council" is no person called The); both the first
    and the last name are short forms (stories say "Tomas", news says "Santos"). Chinese: a surname
    and a two-character given name, at the start of a clause, that the text uses alone at least twice
    (陈阿海 → 阿海), so that ordinary words after a surname character (四周擀开) do not count."""
    if language != "zh":
        for m in _FULL_NAME_EN.finditer(paragraph):
            words = [w for w in m.groups() if not re.search(rf"\b{w.lower()}\b", text)]
            if len(words) == 2:
                yield m.group(0), words
        return
    for m in _FULL_NAME_ZH.finditer(paragraph):
        given = m.group(1)
        if not set(given) & _FUNCTION_ZH and text.replace(m.group(0), "").count(given) >= 2:
            yield m.group(0), [given]


def _violations(marks: list[_Marks]) -> dict[str, int]:
    """Broken order rules, by kind, for paragraphs in this order."""
    n = len(marks)
    ranked = [(i, m.rank) for i, m in enumerate(marks) if m.rank is not None]
    ordinals = min(2, sum(1 for a, (_, r) in enumerate(ranked) for _, s in ranked[a + 1 :] if r > s))
    ordinals += sum(1 for i, r in ranked if (r == _LAST and i < n * 2 / 3) or (r == 1 and i >= n / 2))
    salutations = [i for i, m in enumerate(marks) if m.salutation]
    sign_offs = [i for i, m in enumerate(marks) if m.sign_off]
    letter = int(bool(salutations) and salutations[0] != 0) + int(bool(sign_offs) and sign_offs[-1] < n - 4)
    letter += int(any(m.dateline for m in marks[1:]))
    months = [m.month for m in marks if m.month is not None]
    years = [m.year for m in marks if m.year is not None]
    hours = _day_clock(marks)
    calendar = min(2, sum(1 for seq in (months, years, hours) for a, b in zip(seq, seq[1:]) if b < a))
    leads = [m.lead for m in marks if m.lead is not None]
    # the opening states the request: the first paragraph is among the third most like the instruction
    opening = int(bool(leads) and marks[0].lead is not None and sum(x > marks[0].lead for x in leads) > len(leads) / 3)
    return {"opener": int(marks[0].opener), "opening": opening, "ordinals": ordinals, "letter": letter,
            "names": min(2, _before(marks, "short", "full")), "calendar": calendar}


def _before(marks: list[_Marks], later: str, earlier: str) -> int:
    """Words that appear in their `later` form (a short name) in a paragraph before the first
    paragraph with their `earlier` form (the full name)."""
    first: dict[str, int] = {}
    for i, m in enumerate(marks):
        for word in getattr(m, earlier):
            first.setdefault(word, i)
    return sum(1 for word, at in first.items() if any(word in getattr(m, later) for m in marks[:at]))


def order_check(paragraphs: list[str], language: str, lead: list[float] | None = None, samples: int = 100,
                seed: int = 0) -> dict:
    """The broken rules of this order, and `disorder`: their number ÷ the mean number over random
    orders of the same paragraphs (0 = in order; about 1 = as out of order as a shuffle; 0 also
    when the text carries no order marks at all, since then nothing can be told)."""
    if len(paragraphs) < 2:
        return {"violations": dict.fromkeys(("opener", "opening", "ordinals", "letter", "names", "calendar"), 0),
                "disorder": 0.0}
    text = "\n\n".join(paragraphs)
    marks = [_marks(p, text, language) for p in paragraphs]
    for m, value in zip(marks, lead or []):
        m.lead = value
    observed = _violations(marks)
    rng = random.Random(seed)
    shuffles = [_violations(rng.sample(marks, len(marks))) for _ in range(samples)]
    # The opening rule is a fallback: it counts in full where the text has no marks of its own and
    # fades out as the other rules can tell more (expected violations of a shuffle approaching 1).
    other = sum(sum(v.values()) - v["opening"] for v in shuffles) / samples
    weight = max(0.0, 1.0 - other)
    expected = other + weight * sum(v["opening"] for v in shuffles) / samples
    total = sum(observed.values()) - (1 - weight) * observed["opening"]
    return {"violations": observed, "disorder": round(min(1.5, total / expected), 4) if expected > 0 else 0.0}


_MONTHS_EN = ("january february march april may june july august september october november december").split()
_SEASONS_EN = {"spring": 4, "summer": 7, "autumn": 10, "fall": 10}
_MONTH_EN = re.compile(r"\b(" + "|".join(_MONTHS_EN) + r"|spring|summer|autumn)\b", re.I)
_MONTH_ZH = re.compile(r"([一二三四五六七八九十]{1,3}|\d{1,2})月|(春天|春季|夏天|夏季|秋天|秋季)")
_ZH_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_SEASONS_ZH = {"春": 4, "夏": 7, "秋": 10}


def _month(paragraph: str, language: str) -> int | None:
    """The month (1-12; seasons at their middle) a paragraph opens with ("In June", "By spring",
    "On the first Sunday of July", "十月的一个早晨"), if any. Months named later in a paragraph are
    background (a report's "between May and August"), not the time the paragraph is set in."""
    head = " ".join(paragraph.split()[:6]) if language != "zh" else paragraph[:8]
    if language != "zh":
        m = _MONTH_EN.search(head)
        if not m or (m.group(1).lower() == "may" and not m.group(1)[0].isupper()):
            return None
        word = m.group(1).lower()
        return _SEASONS_EN.get(word) or _MONTHS_EN.index(word) + 1
    m = _MONTH_ZH.search(head)
    if not m:
        return None
    if m.group(2):
        return _SEASONS_ZH[m.group(2)[0]]
    value = _zh_number(m.group(1))
    return value if 1 <= value <= 12 else None


def _zh_number(n: str) -> int:
    """'3', '三', '十', '十二', '二十', '二十一' → the number."""
    if n.isdigit():
        return int(n)
    if "十" not in n:
        return _ZH_DIGITS.get(n[0], 0)
    tens, _, ones = n.partition("十")
    return (_ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)


_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b|(\d{4})年")
_CENTURY_EN = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
                         r"|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth"
                         r"|twenty-first)\s+century\b", re.I)
_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
                  "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth twenty-first").split()
_CENTURY_ZH = re.compile(r"(\d{1,2}|[一二三四五六七八九十]{1,3})世纪")


def _year(paragraph: str, language: str) -> float | None:
    """The first year or century in a paragraph's first sentence ("in 1921", "the eighth century"),
    as a year (a century at its middle)."""
    head = re.split(r"(?<=[.!?。！？])", paragraph, maxsplit=1)[0]
    found = []
    if (m := _YEAR.search(head)):
        found.append((m.start(), float(m.group(1) or m.group(2))))
    if language == "zh" and (m := _CENTURY_ZH.search(head)):
        found.append((m.start(), _zh_number(m.group(1)) * 100 - 50.0))
    if language != "zh" and (m := _CENTURY_EN.search(head)):
        found.append((m.start(), (_ORDINAL_WORDS.index(m.group(1).lower()) + 1) * 100 - 50.0))
    return min(found)[1] if found else None


# Times of day a paragraph can open with, as hours; a new day ("第二天", "the next morning") adds 24.
_HOURS_ZH = [("天快亮", 29), ("黎明", 29), ("拂晓", 29), ("凌晨", 28), ("半夜", 24), ("深夜", 24), ("午夜", 24),
             ("天黑", 20), ("晚上", 20), ("夜里", 21), ("傍晚", 18), ("黄昏", 18), ("下午", 15), ("中午", 12),
             ("正午", 12), ("上午", 10), ("早晨", 7), ("早上", 7), ("清晨", 6), ("一早", 7)]
_HOURS_EN = [("dawn", 29), ("daybreak", 29), ("sunrise", 29), ("midnight", 24), ("night", 21), ("dusk", 19),
             ("evening", 19), ("sunset", 19), ("afternoon", 15), ("noon", 12), ("midday", 12), ("morning", 8)]
_NEXT_DAY = re.compile(r"第二天|次日|翌日|\b(the )?(next|following) (morning|day)\b", re.I)


def _hour(paragraph: str, language: str) -> float | None:
    """The time of day a paragraph opens with ("天黑以后", "Around midnight"), if any."""
    head = paragraph[:8] if language == "zh" else " ".join(paragraph.split()[:6]).lower()
    table = _HOURS_ZH if language == "zh" else _HOURS_EN
    found = [(head.find(word), hour) for word, hour in table if word in head]
    return float(min(found)[1]) if found else None


def _day_clock(marks: list[_Marks]) -> list[float]:
    """Hours of the paragraphs that name one, counted on from the first: each new day adds 24."""
    out, day = [], 0
    for m in marks:
        day += m.next_day
        if m.hour is not None:
            out.append(m.hour + 24 * day)
    return out
