"""`longform train` and `longform model`: TRL training from a YAML config.

    longform model export --out models/smollm2-135m          # the embedded GGUF as a transformers folder
    longform train sft --config examples/sft_tiny.yaml [--resume]
    longform train dpo --config examples/dpo_tiny.yaml
    longform train rm --config examples/rm_tiny.yaml       # a writing reward model from preference pairs
    longform train grpo --config examples/grpo_tiny.yaml   # LongWriter-Zero: length, quality, format rewards
    longform train writing-rl --config examples/writing_rl_tiny.yaml   # Writing-RL's reference ladder
    accelerate launch --config_file examples/accelerate/zero3_offload.yaml -m longform train sft --config C.yaml

The YAML holds our keys (model, data, loss, lora, ...) and any field of TRL's
SFTConfig / DPOConfig / RewardConfig / GRPOConfig; see examples/ and README "Training".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..train.registry import ALGORITHMS
from .bounds import out_dir, whole


def register(commands) -> None:
    t = commands.add_parser("train", help="SFT, DPO, reward model or GRPO with TRL from a YAML config",
                            description="Train with TRL; YAML keys are ours plus TRL's config fields.")
    sub = t.add_subparsers(dest="train_command", required=True, parser_class=type(t))
    for name, spec in ALGORITHMS.items():
        p = sub.add_parser(name, help=spec.help)
        p.add_argument("--config", type=Path, required=True, help="YAML file")
        p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
        p.set_defaults(handler=cmd_train, kind=name, overrides_allowed=True)
        p.epilog = "Any config key can follow, as in TRL's scripts: --learning_rate 1e-4 --max_steps 2"

    c = sub.add_parser("curve", help="the per-step rewards of a GRPO run: a table and reward_curve.png")
    c.add_argument("run", type=Path, help="the run's output_dir (finished, or with a checkpoint)")
    c.add_argument("--window", type=whole(1, 100_000), default=5, help="moving-average window in steps")
    c.set_defaults(handler=cmd_curve)

    m = commands.add_parser("model", help="model files: export the embedded GGUF for training")
    msub = m.add_subparsers(dest="model_command", required=True, parser_class=type(m))
    e = msub.add_parser("export", help="a GGUF model as a transformers folder")
    e.add_argument("--out", type=out_dir, required=True, help="folder to create")
    e.add_argument("--gguf", type=Path, help="GGUF file (default: the embedded SmolLM2-135M-Instruct)")
    e.set_defaults(handler=cmd_export)


def cmd_train(args: argparse.Namespace) -> int:
    from ..train.config import load_config, validate
    from ..train.overrides import parse_overrides

    overrides = parse_overrides(getattr(args, "extra", []))  # keys after the YAML, as TRL scripts take them
    config = load_config(args.config, args.kind, overrides)  # config errors before the heavy imports
    validate(config, resume=args.resume)
    summary = ALGORITHMS[args.kind].run(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun every process trains; rank 0 alone reports
        return 0
    brief = {k: summary[k] for k in ("steps", "train_loss", "seconds", "ladder_counts") if k in summary}
    print(json.dumps({**brief, **({"data": summary["data"]} if "data" in summary else {})}), file=sys.stderr)
    print(summary["output_dir"])
    return 0


def cmd_curve(args: argparse.Namespace) -> int:
    from ..train.curves import load_log, moving_average, plot_rewards, reward_rows

    names, rows = reward_rows(load_log(args.run))
    smooth = moving_average([r["reward"] for r in rows], args.window)
    print("step  reward  " + "  ".join(f"{n:>8}" for n in names) + f"  reward({args.window}-step mean)")
    for row, mean in zip(rows, smooth):
        cells = "  ".join(f"{row[n]:8.3f}" if row[n] is not None else f"{'-':>8}" for n in names)
        print(f"{row['step']:>4}  {row['reward']:6.3f}  {cells}  {mean:.3f}")
    print(plot_rewards(names, rows, args.run / "reward_curve.png", args.window))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..train.model_export import export_gguf

    print(export_gguf(args.out, args.gguf))
    return 0
