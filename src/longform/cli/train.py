"""`longform train` and `longform model`: TRL training from a YAML config.

    longform model export --out models/smollm2-135m          # the embedded GGUF as a transformers folder
    longform train sft --config examples/sft_tiny.yaml [--resume]
    longform train dpo --config examples/dpo_tiny.yaml
    accelerate launch --config_file examples/accelerate/zero3_offload.yaml -m longform train sft --config C.yaml

The YAML holds our keys (model, data, loss, lora, ...) and any field of TRL's
SFTConfig / DPOConfig; see examples/ and README "Training".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(commands) -> None:
    t = commands.add_parser("train", help="SFT or DPO with TRL from a YAML config",
                            description="Train with TRL; YAML keys are ours plus TRL's config fields.")
    sub = t.add_subparsers(dest="train_command", required=True, parser_class=type(t))
    for name, helptext in (("sft", "supervised fine-tuning on long-output data"),
                           ("dpo", "DPO on preference pairs (longform data prefs)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--config", type=Path, required=True, help="YAML file")
        p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
        p.set_defaults(handler=cmd_train, kind=name)

    m = commands.add_parser("model", help="model files: export the embedded GGUF for training")
    msub = m.add_subparsers(dest="model_command", required=True, parser_class=type(m))
    e = msub.add_parser("export", help="a GGUF model as a transformers folder")
    e.add_argument("--out", type=Path, required=True, help="folder to create")
    e.add_argument("--gguf", type=Path, help="GGUF file (default: the embedded SmolLM2-135M-Instruct)")
    e.set_defaults(handler=cmd_export)


def cmd_train(args: argparse.Namespace) -> int:
    from ..train.config import load_config

    config = load_config(args.config, args.kind)  # config errors before the heavy imports
    from ..train.sft import build_sft_trainer, train_and_save

    if args.kind == "sft":
        trainer, summary = build_sft_trainer(config)
    else:
        from ..train.dpo import build_dpo_trainer

        trainer, summary = build_dpo_trainer(config)
    summary = train_and_save(trainer, summary, args.resume)
    brief = {k: summary[k] for k in ("steps", "train_loss", "seconds") if k in summary}
    print(json.dumps({**brief, **({"data": summary["data"]} if "data" in summary else {})}), file=sys.stderr)
    print(summary["output_dir"])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..train.model_export import export_gguf

    print(export_gguf(args.out, args.gguf))
    return 0
