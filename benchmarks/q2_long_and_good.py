"""Q2: long and good. Documents from the embedded model graded by the quality panel (a proxy:
quality/panel.py, MiniLM embeddings, calibrated in q1_calibration.py), for several engine settings
against the same model's single answer to the same prompts.

    python benchmarks/q2_long_and_good.py --out evals/q2 [--candidates 1 3] [--steer] [--fresh] [--no-plain]
        [--judge panel|lexical] [--data D/longbench_write_en.jsonl --limit 24] [--words 3000] [--seeds 0 1 2]

Without --data it writes the demo request. Each document is a run directory under --out, resumed
when the script is run again (a killed run loses at most a section). Prints per setting: words,
S_l, on-topic share (similarity of 80-word chunks to the instruction), its first and last decile
and their ratio, restated and meta-talk shares, the panel's quality score, seconds per output
word relative to the first setting and P2 (prefill tokens per output token, every call counted);
then one JSON line. With --steer each K is also run steered (WriteSettings.steer), with --fresh with
fresh parts (WriteSettings.fresh_parts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEMO = ("Write a 3,000-word article about the history of lighthouses: how they were built, who kept them, "
        "and why many still stand today.")


def items(args) -> list[dict]:
    """The demo request, or the `--subset` rows of `--data` in the eval's spread order (`eval longbench-write
    --subset en --order spread --limit N` answers the same rows: the panel's baseline table used 24)."""
    if not args.data:
        return [{"id": "demo", "prompt": DEMO, "length": args.words}]
    from longform.evals.data import load_items

    return [{"id": str(it.id), "prompt": it.prompt, "length": it.length}
            for it in load_items(args.data, subset=args.subset, order="spread", limit=args.limit)]


def totals(run: Path) -> dict:
    """What the run's calls cost: every call counted (plan, sections, summaries, candidates not kept)."""
    return json.loads((run / "trace.json").read_text(encoding="utf-8"))["totals"]


def write(item: dict, candidates: int, out: Path, lm, context: int | None, judge: str,
          seed: int = 0, variant: str = "", guard: bool = False) -> tuple[Path, float]:
    from longform import AgentWrite, WriteSettings

    name = f"k{candidates}" + (f"-{judge}" if candidates > 1 else "") + (f"-c{context}" if context else "")
    name += (f"-{variant}" if variant else "") + ("-guard" if guard else "")
    run = out / name / (item["id"] + (f"-s{seed}" if seed else ""))  # seed 0 keeps the older runs' names
    started = time.perf_counter()
    settings = WriteSettings(target_words=item["length"], candidates=candidates, context_tokens=context,
                             candidate_judge=judge, seed=seed, steer=variant == "steer",
                             fresh_parts=variant == "fresh", topic_guard=guard)
    AgentWrite(lm, settings).run(item["prompt"], run, resume=run.exists())
    return run, time.perf_counter() - started


def single(item: dict, out: Path, lm, tokens: int) -> str:
    from longform.backends import GenerationConfig

    path = out / "single" / f"{item['id']}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        messages = [{"role": "user", "content": item["prompt"]}]
        text = lm.complete(messages, GenerationConfig(max_tokens=tokens, seed=0)).text
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def summary(panels: list[dict], lengths: list[tuple[int, int]], seconds: float, words: int, tokens: int,
            prefill: int) -> dict:
    from longform.evals.scores import length_score

    mean = lambda key: statistics.fmean(p[key] for p in panels if p.get(key) is not None)  # noqa: E731
    tenths = [p["by_decile"]["on_topic"] for p in panels]  # a tenth with no part of its own is None
    first = statistics.fmean([t[0] for t in tenths if t[0] is not None] or [0.0])
    last = statistics.fmean([t[-1] for t in tenths if t[-1] is not None] or [0.0])
    return {"words": words, "S_l": statistics.fmean(length_score(asked, got) for asked, got in lengths),
            "on_topic": mean("on_topic"), "first_decile": first, "last_decile": last,
            "last_over_first": last / first if first else 0.0,
            "restated": mean("restated_share"), "meta": mean("meta_share"), "quality": mean("quality_score"),
            "seconds_per_word": seconds / max(words, 1), "tokens_per_word": tokens / max(words, 1),
            "P2": prefill / max(tokens, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path)
    p.add_argument("--limit", type=int, default=24)
    p.add_argument("--subset", choices=("en", "zh"), default="en", help="rows of --data by language")
    p.add_argument("--words", type=int, default=3000)
    p.add_argument("--candidates", type=int, nargs="+", default=[1, 3])
    p.add_argument("--single-tokens", type=int, default=2048, help="token limit of the single answers")
    # two llama.cpp thread teams on two cores slow each other many times over: beside another job, use 1
    p.add_argument("--threads", type=int, help="llama.cpp threads (default: one per core)")
    p.add_argument("--concurrency", type=int, default=1, help="documents written at once (one process)")
    p.add_argument("--steer", action="store_true", help="also write each K steered")
    p.add_argument("--fresh", action="store_true", help="also write each K with fresh parts")
    p.add_argument("--no-plain", action="store_true", help="skip the plain setting (with --steer or --fresh)")
    p.add_argument("--topic-guard", action="store_true", help="write with the topic guard (topic_guard.py)")
    p.add_argument("--judge", choices=("panel", "lexical"), default="panel", help="the candidate judge")
    p.add_argument("--context", type=int, help="working context in tokens (default: the backend's, 4096)")
    # one seed says little: on the demo request seeds 0-2 of one engine scored 20, 66 and 14
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="write each request once per seed")
    args = p.parse_args()
    from longform import load_backend
    from longform.pipeline.topic_guard import streams
    from longform.quality.documents import measure_run
    from longform.quality.panel import measure
    from longform.text import count_words

    chosen, rows = items(args), {}
    single_lm = load_backend("embedded", threads=args.threads, parallel=args.concurrency)
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        answers = list(pool.map(lambda it: single(it, args.out, single_lm, args.single_tokens), chosen))
    singles = [measure(text, it["prompt"]) for it, text in zip(chosen, answers)]
    variants = [v for v, on in (("", not args.no_plain), ("steer", args.steer), ("fresh", args.fresh)) if on]
    if not variants:
        p.error("--no-plain needs --steer or --fresh")
    for variant, k in [(v, k) for v in variants for k in args.candidates]:
        label = f"{k} {variant}".strip()
        # the embedded model decodes every document's candidates (and guard repairs) together
        parallel = streams(k, args.topic_guard) * args.concurrency
        lm = load_backend("embedded", threads=args.threads, parallel=parallel)  # 1: no batch decoder
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            jobs = [(it, seed) for seed in args.seeds for it in chosen]
            runs = list(pool.map(lambda job: write(job[0], k, args.out, lm, args.context, args.judge, job[1],
                                                   variant, args.topic_guard), jobs))
        seconds = time.perf_counter() - started  # wall time of this setting: documents overlap
        panels, lengths, words, tokens, prefill = [], [], 0, 0, 0
        for (it, _seed), (run, took) in zip(jobs, runs):
            panel = measure_run(run)
            got = count_words((run / "document.md").read_text(encoding="utf-8"))
            panels.append(panel), lengths.append((it["length"], got))
            cost = totals(run)
            words, tokens, prefill = words + got, tokens + cost["completion_tokens"], prefill + cost["prefill_tokens"]
            print(f"  {label} {it['id']}: {got} words, on topic {panel['on_topic']:.2f}, {took:.0f} s", file=sys.stderr)
        rows[label] = summary(panels, lengths, seconds, words, tokens, prefill)
    single_topic = statistics.fmean(s["on_topic"] for s in singles)
    base = next(iter(rows.values()))["seconds_per_word"]
    print(f"{len(chosen)} request(s) × {len(args.seeds)} seed(s); the single answers' on-topic share: "
          f"{single_topic:.3f}")
    print(" K        words    S_l  on-topic  ÷single  first  last  last÷first  restated  meta  quality  s/word ÷ first"
          "  tokens/word    P2")
    for k, r in rows.items():
        print(f"{k:7s} {r['words']:7d} {r['S_l']:6.1f} {r['on_topic']:9.3f} {r['on_topic'] / single_topic:8.2f} "
              f"{r['first_decile']:6.2f} {r['last_decile']:5.2f} {r['last_over_first']:10.2f} {r['restated']:9.3f} "
              f"{r['meta']:5.3f} {r['quality']:8.1f} {r['seconds_per_word'] / base:14.2f} {r['tokens_per_word']:12.2f} "
              f"{r['P2']:5.3f}")
    last = list(rows.values())[-1]
    print(json.dumps({"benchmark": "Q2", "requests": len(chosen), "single_on_topic": round(single_topic, 4),
                      "ratio": round(last["on_topic"] / single_topic, 4),
                      "settings": {k: {n: round(v, 4) for n, v in r.items()} for k, r in rows.items()}}))


if __name__ == "__main__":
    main()
