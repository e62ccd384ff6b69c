"""Lengths in text: the length an instruction asks for, and numbers written in words.

"a 5,000-word essay" → 5000, "between 2000 and 3000 words" → 2500, "写一篇3000字" → 3000,
"一万字" → 10000. Shared by the plan parser (word counts on plan lines), the
engine (the requested length) and, later, evaluation and rewards.
"""

from __future__ import annotations

import re

MAX_WORDS = 200_000  # the longest document any command takes: ten times LongWriter's 20,000 words

_CN_DIGITS = dict(zip("零一二三四五六七八九", range(10)), 两=2)
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# A quantity: 1,200 | 1.5k | 3千 | 1.5万 | 500 | 两千五百 (Chinese numerals only with 百/千/万,
# so that 十字路口 or 一字一句 never read as lengths).
_NUM = (
    r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?\s?[kK千万](?![a-zA-Z])|\d+"
    r"|(?=[零一二三四五六七八九十两百千万]*[百千万])"
    r"[一二三四五六七八九十两][零一二三四五六七八九十两百千万]*"
)
_APPROX = (
    r"(?:about|around|approximately|approx\.?|roughly|circa|some|up\s+to|at\s+least|over|under"
    r"|no\s+(?:more|less|fewer)\s+than|max(?:imum)?|min(?:imum)?|~|≈|约|大约|大概|不少于|不超过|至少)"
)
_SEP = r"\s*(?:-|–|—|~|to|至|到|－)\s*"
UNIT = r"(?:words?\b|字)"
AMOUNT = rf"(?:{_APPROX}\s*)?(?<![\d.,])(?P<a>{_NUM})(?:{_SEP}(?P<b>{_NUM}))?"

_TARGET_RANGE = re.compile(
    rf"(?<![\d.,])(?P<a>{_NUM})\s*(?:-|–|—|~|to|and|至|到)\s*(?P<b>{_NUM})\s*-?\s*{UNIT}", re.I
)
_TARGET_SINGLE = re.compile(rf"(?<![\d.,])(?P<a>{_NUM})\s*-?\s*{UNIT}", re.I)
_TARGET_SPELLED = re.compile(
    r"\b(?P<n>a|one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+(?P<m>hundred|thousand)"
    r"\s*-?\s*words?\b",
    re.I,
)
_TARGET_LABELLED = re.compile(
    rf"(?:word\s*count|length|字数|篇幅)(?:\s|[:：=]|of|is|should\s+be|about|around|at\s+least"
    rf"|要求|为|在|不少于|不低于|至少|约|大约)*(?<![\d.,])(?P<a>{_NUM})",
    re.I,
)
_SPELLED = dict(zip("a one two three four five six seven eight nine ten".split(), [1, *range(1, 11)]))
_SPELLED.update(hundred=100, thousand=1000)


def target_words_from_instruction(instruction: str) -> int | None:
    """The length an instruction asks for ("a 5,000-word essay" → 5000, "一万字" → 10000), or None."""
    match = _TARGET_RANGE.search(instruction)
    if match:
        value = (to_number(match["a"]) + to_number(match["b"])) / 2
    elif match := _TARGET_SINGLE.search(instruction) or _TARGET_LABELLED.search(instruction):
        value = to_number(match["a"])
    elif match := _TARGET_SPELLED.search(instruction):
        n = match["n"].lower()
        value = (int(n) if n.isdigit() else _SPELLED[n]) * _SPELLED[match["m"].lower()]
    else:
        return None
    return int(value + 0.5) or None


def stated_range(instruction: str) -> tuple[int, int] | None:
    """The word range an instruction states ("2000 to 3000 words" → (2000, 3000)); a single
    length n gives (n, n); None when it states none."""
    match = _TARGET_RANGE.search(instruction)
    if match:
        low, high = sorted((int(to_number(match["a"]) + 0.5), int(to_number(match["b"]) + 0.5)))
        return (low, high) if low > 0 else None
    target = target_words_from_instruction(instruction)
    return (target, target) if target else None


def to_number(text: str) -> float:
    text = text.replace(",", "").replace(" ", "")
    if text[-1] in "kK千万" and text[0].isdigit():
        return float(text[:-1]) * {"k": 1000, "K": 1000, "千": 1000, "万": 10000}[text[-1]]
    return float(text) if text[0].isdigit() else float(_chinese_number(text))


def _chinese_number(text: str) -> int:
    """两千五百 → 2500, 一万 → 10000, 三千五 → 3500 (a trailing digit takes the next unit down)."""
    total = section = digit = last_unit = 0
    zero = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit, zero = _CN_DIGITS[ch], zero or ch == "零"
        elif ch == "万":
            total, section, digit, last_unit, zero = (total + section + digit) * 10000, 0, 0, 10000, False
        else:
            section, digit, last_unit, zero = section + (digit or 1) * _CN_UNITS[ch], 0, _CN_UNITS[ch], False
    if digit and last_unit >= 100 and not zero:
        digit *= last_unit // 10
    return total + section + digit
