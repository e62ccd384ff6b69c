"""P6: SFT throughput with packing vs padding on a long-tailed length mix.

Long-output SFT data is long-tailed: most samples are short, a few are very long.
Padded batches then spend most positions on padding; packed rows (TRL's
best-fit packing, padding-free, samples isolated by position ids) do not.
Prints real (non-padding) tokens per second for one epoch of each, their ratio,
and the padding share of the padded batches.

    python benchmarks/p6_packing.py [--samples 48] [--batch 4] [--model PATH] [--max-length 2048]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import report  # noqa: E402


def long_tailed_rows(count: int, max_words: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        words = min(max_words, max(5, int(rng.lognormvariate(4.0, 1.0))))  # median ≈ 55 words, long tail
        text = " ".join(rng.choice(["river", "stone", "lamp", "field", "tower", "cloud"]) for _ in range(words))
        rows.append({"messages": [{"role": "user", "content": f"Write {words} words, sample {i}."},
                                  {"role": "assistant", "content": text}]})
    return rows


def run(folder: Path, model: str, packing: bool, args) -> tuple[float, int, float]:
    import yaml

    from longform.train.config import load_config
    from longform.train.sft import build_sft_trainer

    config = folder / f"p6-{packing}.yaml"
    config.write_text(yaml.safe_dump({
        "model": model, "data": "rows.jsonl", "output_dir": f"out-{packing}", "packing": packing,
        "per_device_train_batch_size": args.batch, "max_length": args.max_length, "num_train_epochs": 1,
        "learning_rate": 1e-4, "seed": 0, "logging_steps": 1000}))
    trainer, _ = build_sft_trainer(load_config(config, "sft"))
    real = padded = 0
    for batch in trainer.get_train_dataloader():
        positions = batch["input_ids"].numel()
        pads = int((batch["attention_mask"] == 0).sum()) if "attention_mask" in batch else 0
        real += positions - pads
        padded += pads
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return real / seconds, real, padded / max(1, real + padded)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=48)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--max-length", type=int, default=2048)
    p.add_argument("--model", help="a transformers folder (default: a tiny random Llama)")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="longform-p6-"))
    rows = long_tailed_rows(args.samples, max_words=args.max_length // 3)
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = args.model
    if model is None:
        from helpers.tiny_model import build_tiny_model

        model = str(build_tiny_model(folder / "tiny"))
    padded_tps, tokens, padding_share = run(folder, model, False, args)
    packed_tps, packed_tokens, _ = run(folder, model, True, args)
    report("P6 SFT packing vs padding (long-tailed lengths)", [
        ("samples / real tokens", f"{args.samples} / {tokens:,}"),
        ("padding share of padded batches", f"{padding_share:.1%}"),
        ("padded: real tokens/s", f"{padded_tps:,.0f}"),
        ("packed: real tokens/s", f"{packed_tps:,.0f}"),
        ("packed ÷ padded", f"{packed_tps / padded_tps:.2f}"),
    ], {"padding_share": round(padding_share, 4), "padded_tps": padded_tps, "packed_tps": packed_tps,
        "ratio": round(packed_tps / padded_tps, 3), "real_tokens": tokens, "packed_real_tokens": packed_tokens})


if __name__ == "__main__":
    main()
