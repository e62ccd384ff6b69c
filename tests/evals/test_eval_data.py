"""Benchmark items: the real LongBench-Write files, subsets, ids, and bad rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.paths import LONGBENCH_WRITE
from longform.errors import UsageError
from longform.evals.data import EvalItem, load_items
from longform.text import detect_language

# The data lives beside the repository (/work/shared), never inside it. No skip when
# it is missing: these tests are what proves the loader reads the real benchmark.
DATA = LONGBENCH_WRITE
FULL = DATA / "longbench_write.jsonl"


def raw_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_data_folder_is_there():
    assert FULL.is_file(), f"benchmark data missing at {DATA}"


def test_full_file_has_120_items_with_row_ids():
    items = load_items(FULL)
    raw = raw_rows(FULL)
    assert len(items) == 120
    assert [i.id for i in items] == list(range(120))
    for item, row in zip(items, raw):
        assert (item.prompt, item.type, item.length) == (row["prompt"], row["type"], row["length"])
        assert item.language == detect_language(row["prompt"])
    assert all(isinstance(i, EvalItem) and i.length > 0 for i in items)


def test_subsets_split_60_60_and_keep_file_ids():
    en, zh = load_items(FULL, "en"), load_items(FULL, "zh")
    assert len(en) == 60 and len(zh) == 60
    assert {i.language for i in en} == {"en"} and {i.language for i in zh} == {"zh"}
    # ids are positions in the file, so the two subsets partition 0..119
    assert sorted(i.id for i in en + zh) == list(range(120))
    assert [i.id for i in en] == sorted(i.id for i in en)
    by_id = {i.id: i for i in load_items(FULL)}
    assert all(by_id[i.id] == i for i in en + zh)


def test_limit_applies_after_the_subset():
    zh = load_items(FULL, "zh")
    first = load_items(FULL, "zh", limit=5)
    assert first == zh[:5]
    assert first[0].id != 0  # the first row of the file is English: ids are not renumbered
    assert load_items(FULL, limit=3) == load_items(FULL)[:3]
    assert len(load_items(FULL, limit=10_000)) == 120


def test_spread_order_samples_every_bucket_and_language_early():
    from longform.evals.scores import bucket_of

    spread = load_items(FULL, order="spread")
    assert sorted(i.id for i in spread) == list(range(120))  # a permutation, ids unchanged
    groups = {(bucket_of(i.length), i.language) for i in spread}
    assert len(groups) == 8
    # the first 8 items are one of each group; a 24-item limit holds 3 of each
    assert {(bucket_of(i.length), i.language) for i in spread[:8]} == groups
    lows = [min(j.length for j in spread if bucket_of(j.length) == bucket_of(i.length)) for i in spread[:8]]
    assert lows == sorted(lows)  # each round goes from the shortest bucket to the longest
    first = load_items(FULL, limit=24, order="spread")
    assert first == spread[:24]
    counts = {g: sum((bucket_of(i.length), i.language) == g for i in first) for g in groups}
    assert set(counts.values()) == {3}
    # within a group the file order is kept
    zh_long = [i.id for i in spread if (bucket_of(i.length), i.language) == ("[4000,20000]", "zh")]
    assert zh_long == sorted(zh_long)


def test_shards_partition_the_ordered_items_and_each_covers_every_bucket():
    from longform.evals.scores import bucket_of

    spread = load_items(FULL, order="spread")
    shards = [load_items(FULL, order="spread", shard=(k, 3)) for k in (1, 2, 3)]
    assert sorted(i.id for s in shards for i in s) == list(range(120))  # disjoint, nothing missing
    assert [len(s) for s in shards] == [40, 40, 40]
    assert shards[1] == spread[1::3]  # positions in the spread list, so stable across restarts
    for shard in shards:
        assert len({(bucket_of(i.length), i.language) for i in shard}) == 8
    # after --subset and --limit: the second half of the first 5 zh items
    assert load_items(FULL, "zh", limit=5, shard=(2, 2)) == load_items(FULL, "zh")[1:5:2]
    assert load_items(FULL, shard=(1, 1)) == load_items(FULL)


@pytest.mark.parametrize("text, message", [
    ("3/2", "1 ≤ K ≤ N"), ("0/4", "1 ≤ K ≤ N"), ("1/0", "N ≥ 1"),
    ("2", "expected K/N"), ("a/b", "expected K/N"), ("1/2/3", "expected K/N"), ("-1/2", "expected K/N"),
])
def test_bad_shards(text, message):
    from longform.evals.data import parse_shard

    with pytest.raises(UsageError, match=message):
        parse_shard(text)


def test_ruler_spreads_by_exact_length():
    from longform.evals.data import by_length

    ruler = load_items(DATA / "longwrite_ruler.jsonl", "en", limit=6, order="spread", group=by_length)
    assert [i.length for i in ruler] == [1000, 2000, 5000, 10000, 20000, 30000]
    assert {i.language for i in ruler} == {"en"}


def test_ruler_all_languages_takes_one_prompt_at_each_length():
    from longform.evals.data import by_length

    ruler = load_items(DATA / "longwrite_ruler.jsonl", "all", limit=6, order="spread", group=by_length)
    assert [i.length for i in ruler] == [1000, 2000, 5000, 10000, 20000, 30000]


def test_a_limit_without_an_order_spreads_over_the_buckets():
    """issue 26: `--limit 8` used to take the file's first 8 rows, all of its shortest bucket."""
    from longform.cli import build_parser
    from longform.cli.eval import _items
    from longform.evals.scores import bucket_of

    def items(*extra):
        argv = ["eval", "longbench-write", "--data", str(DATA / "longbench_write_en.jsonl"), "--out", "unused"]
        return _items(build_parser().parse_args([*argv, *extra]))

    limited = items("--limit", "8")
    assert len({bucket_of(i.length) for i in limited}) >= 4
    assert len({bucket_of(i.length) for i in items("--limit", "8", "--order", "file")}) == 1
    assert [i.id for i in items()] == list(range(60))  # no limit: file order


def test_english_file_and_ruler_file():
    en_file = load_items(DATA / "longbench_write_en.jsonl")
    assert len(en_file) == 60
    full_prompts = {i.prompt for i in load_items(FULL)}
    assert {i.prompt for i in en_file} <= full_prompts
    ruler = load_items(DATA / "longwrite_ruler.jsonl")
    assert len(ruler) == 48
    assert sorted({i.length for i in ruler}) == [1000, 2000, 5000, 10000, 20000, 30000]
    # 8 prompts x 6 lengths; the length is written into each prompt ("Write a 5000-word ...")
    assert len({re.sub(r"\d+", "N", i.prompt) for i in ruler}) == 8


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = '{"prompt": "Write a 300-word note about tea", "type": "Letter", "length": 300}'


@pytest.mark.parametrize("line, message", [
    ('{"prompt": "x", "length": 10', "invalid JSON"),
    ('["Write", 100]', "expected a JSON object"),
    ('{"length": 100}', "field 'prompt' is missing"),
    ('{"prompt": 7, "length": 100}', "field 'prompt' must be a string"),
    ('{"prompt": "   ", "length": 100}', "field 'prompt' is empty"),
    ('{"prompt": "Write"}', "field 'length' is missing"),
    ('{"prompt": "Write", "length": 0}', "field 'length' must be a positive integer"),
    ('{"prompt": "Write", "length": -300}', "field 'length' must be a positive integer"),
    ('{"prompt": "Write", "length": "1000"}', "field 'length' must be a positive integer"),
    ('{"prompt": "Write", "length": 1000.0}', "field 'length' must be a positive integer"),
    ('{"prompt": "Write", "length": true}', "field 'length' must be a positive integer"),
    ('{"prompt": "Write", "length": 100, "type": 3}', "field 'type' must be a string"),
])
def test_bad_row_names_file_line_and_field(tmp_path, line, message):
    # the bad row is on line 4: a blank line counts as a line for the message
    path = write(tmp_path, GOOD, GOOD, "", line, GOOD)
    with pytest.raises(UsageError) as err:
        load_items(path)
    assert str(err.value).startswith(f"{path}:4: "), str(err.value)
    assert message in str(err.value)


def test_blank_lines_do_not_shift_ids_and_type_is_optional(tmp_path):
    path = write(tmp_path, GOOD, "", '{"prompt": "写一篇500字的短文", "length": 500}')
    items = load_items(path)
    assert [(i.id, i.language, i.type) for i in items] == [(0, "en", "Letter"), (1, "zh", "unknown")]


def test_bom_is_ignored(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text("\ufeff" + GOOD + "\n", encoding="utf-8")
    assert load_items(path)[0].length == 300


@pytest.mark.parametrize("call, message", [
    (lambda p: load_items(p.parent / "nope.jsonl"), "does not exist"),
    (lambda p: load_items(p, subset="fr"), "unknown subset 'fr'"),
    (lambda p: load_items(p, limit=0), "limit must be at least 1"),
    (lambda p: load_items(p, order="random"), "unknown order 'random'"),
    (lambda p: load_items(p, subset="zh"), "no items in subset 'zh'"),
])
def test_usage_errors(tmp_path, call, message):
    path = write(tmp_path, GOOD)
    with pytest.raises(UsageError, match=message):
        call(path)


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no items"):
        load_items(path)
