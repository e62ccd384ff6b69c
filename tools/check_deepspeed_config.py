"""Does DeepSpeed's own config validation accept an accelerate DeepSpeed config (ZeRO-3 file)?

DeepSpeed is not a dependency (it is only used on GPU nodes), so this is a tool, not a test:

    pip install --target /tmp/ds --no-deps deepspeed hjson py-cpuinfo msgpack ninja einops
    PYTHONPATH=/tmp/ds python tools/check_deepspeed_config.py examples/accelerate/zero3_offload.yaml

It builds the DeepSpeed JSON the way accelerate does (DeepSpeedPlugin from the YAML's
deepspeed_config), fills the batch sizes the HF Trainer would fill for one process, and hands
it to deepspeed.runtime.config.DeepSpeedConfig, whose pydantic models check every field.
"""

from __future__ import annotations

import sys

import yaml


def deepspeed_json(path: str) -> dict:
    from accelerate.utils import DeepSpeedPlugin

    fields = yaml.safe_load(open(path, encoding="utf-8"))["deepspeed_config"]
    known = ("zero_stage", "offload_optimizer_device", "offload_param_device", "zero3_init_flag",
             "zero3_save_16bit_model", "gradient_clipping")
    config = DeepSpeedPlugin(**{k: fields[k] for k in known if k in fields}).deepspeed_config
    _fill_auto(config)
    config.update(train_batch_size=1, train_micro_batch_size_per_gpu=1, gradient_accumulation_steps=1,
                  bf16={"enabled": True})
    return config


def _fill_auto(node: dict) -> None:
    """"auto" is the Trainer's to fill from its own arguments; any number passes validation."""
    for key, value in node.items():
        if isinstance(value, dict):
            _fill_auto(value)
        elif value == "auto":
            node[key] = 1


def main(path: str) -> int:
    from deepspeed.runtime.config import DeepSpeedConfig

    checked = DeepSpeedConfig(deepspeed_json(path))
    print(f"{path}: accepted by DeepSpeed's config validation: ZeRO stage {checked.zero_optimization_stage}, "
          f"parameters offloaded to {checked.zero_config.offload_param.device}, "
          f"optimizer state to {checked.zero_config.offload_optimizer.device}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "examples/accelerate/zero3_offload.yaml"))
