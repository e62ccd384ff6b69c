"""Benchmark items from LongBench-Write style JSONL files.

Each line is `{"prompt": str, "length": int, "type": str}` (`type` optional).
An item's `id` is its 0-based row index in the file, so it stays the same
whatever subset or limit is chosen: predictions of a partial run line up with
those of a full one. Any bad row stops loading with "FILE:LINE: ..." because a
benchmark scored over silently skipped rows is not comparable.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io import json_object, read_user_text
from ..lengths import MAX_WORDS
from ..text import detect_language

SUBSETS = ("all", "en", "zh")
ORDERS = ("file", "spread")


@dataclass
class EvalItem:
    id: int
    prompt: str
    type: str
    length: int
    language: str


def load_items(path: str | Path, subset: str = "all", limit: int | None = None,
               order: str = "file", group: Callable[[EvalItem], Hashable] | None = None,
               shard: tuple[int, int] | None = None) -> list[EvalItem]:
    """Items of `path`: the `subset` (by prompt language), put in `order`, then the first `limit`,
    then every N-th of those from the K-th on for `shard` (K, N), 1-based.

    "spread" interleaves length buckets and languages, so any prefix of the run
    (a --limit, or a run stopped early) samples the whole benchmark instead of
    only its first rows. `group` names the strata (default: length bucket and
    language; the Ruler, with six lengths, spreads by exact length).

    Shards are taken from the ordered list, not from what is left to do, so N
    processes (or machines) started at different times still split the items
    without overlap, and each shard of a spread order covers every bucket.
    """
    if subset not in SUBSETS:
        raise UsageError(f"unknown subset {subset!r}: choose one of {', '.join(SUBSETS)}")
    if order not in ORDERS:
        raise UsageError(f"unknown order {order!r}: choose one of {', '.join(ORDERS)}")
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    path = Path(path)
    items = [item for item in _read_items(path) if subset == "all" or item.language == subset]
    if not items:
        raise UsageError(f"{path}: no items" + ("" if subset == "all" else f" in subset {subset!r}"))
    if order == "spread":
        items = spread(items, group)
    items = items[:limit] if limit is not None else items
    if shard is None:
        return items
    index, count = check_shard(shard)
    return items[index - 1::count]


def check_shard(shard: tuple[int, int], name: str = "shard") -> tuple[int, int]:
    index, count = shard
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"{name} {index}/{count}: K/N needs N ≥ 1 and 1 ≤ K ≤ N")
    return index, count


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" → (K, N), checked; the CLI's --shard."""
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise UsageError(f"--shard {text!r}: expected K/N, e.g. 2/4 for the second of four shards")
    return check_shard((int(parts[0]), int(parts[1])), "--shard")


def by_bucket(item: EvalItem) -> tuple[str, str]:
    from .scores import bucket_of

    return bucket_of(item.length), item.language


def by_length(item: EvalItem) -> int:
    """The Ruler's strata: its required lengths, so `--limit 6` takes one prompt at each."""
    return item.length


def spread(items: list[EvalItem], group: Callable[[EvalItem], Hashable] | None = None) -> list[EvalItem]:
    """Round-robin over groups (default: length bucket and language), each group in file order."""
    groups: dict[Hashable, list[EvalItem]] = {}
    for item in items:
        groups.setdefault((group or by_bucket)(item), []).append(item)
    # shortest lengths first (bucket labels sort "[500," after "[4000,"), then by language
    queues = sorted(groups.values(), key=lambda q: (min(i.length for i in q), q[0].language))
    longest = max(len(queue) for queue in queues)
    return [queue[i] for i in range(longest) for queue in queues if i < len(queue)]


def _read_items(path: Path) -> list[EvalItem]:
    text = read_user_text(path, "data file")
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():  # blank lines (a trailing newline, an editor's gap) are not rows
            # ids count rows, not lines, so a blank line does not shift later ids
            items.append(parse_item(line, len(items), f"{path}:{number}"))
    return items


def parse_item(line: str, index: int, where: str) -> EvalItem:
    """One JSONL row → EvalItem; `where` ("FILE:LINE") prefixes every error."""
    row = json_object(line, where)
    prompt = row.get("prompt")
    if not isinstance(prompt, str):
        raise UsageError(f"{where}: field 'prompt' " + ("is missing" if prompt is None else "must be a string"))
    if not prompt.strip():
        raise UsageError(f"{where}: field 'prompt' is empty")
    length = row.get("length")
    # bool is an int subclass; "1000" or 1000.0 would hint at a different producer, so we refuse them
    if length is None:
        raise UsageError(f"{where}: field 'length' is missing")
    if not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= MAX_WORDS:
        raise UsageError(f"{where}: field 'length' must be a positive integer up to {MAX_WORDS:,}, "
                         f"got {length!r:.40}")
    kind = row.get("type", "unknown")
    if not isinstance(kind, str):
        raise UsageError(f"{where}: field 'type' must be a string, got {kind!r}")
    return EvalItem(id=index, prompt=prompt, type=kind, length=length, language=detect_language(prompt))
