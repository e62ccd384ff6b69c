"""`longform train sft`: TRL's SFTTrainer, built from a YAML config.

What we add to TRL: our data (LongWriter-style chat rows, mixed with general
data at a ratio), samples longer than `max_length` skipped and counted instead
of truncated, the sequence-averaged loss as an option beside TRL's
token-averaged one, CPU-friendly defaults, and a `longform_train.json` summary.
Packing (`packing: true`) is TRL's best-fit packing with padding-free batches:
each sample keeps its own position ids, which transformers turns into a
block-diagonal attention mask, so packed samples never see each other.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from trl import SFTTrainer

from ..io import atomic_write_json
from .config import TrainConfig, lora_config, trl_args
from .datasets import chat_rows, mix, skip_longer, to_dataset
from .losses import count_sequences, sequence_averaged_loss


class LongformSFTTrainer(SFTTrainer):
    """SFTTrainer with the sequence-averaged loss as an option (`count_samples = True`):
    `num_items_in_batch` then counts the samples of the effective batch, not its tokens."""

    count_samples = False

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.count_samples:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False)
        loss = sequence_averaged_loss(outputs, labels, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # DDP averages gradients; the count spans all ranks
        return (loss, outputs) if return_outputs else loss

    def _get_num_items_in_batch(self, batch_samples: list, device):
        if not self.count_samples:
            return super()._get_num_items_in_batch(batch_samples, device)
        count = torch.as_tensor(sum(count_sequences(b["labels"]) for b in batch_samples), device=device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            count = self.accelerator.gather(count).sum()
        return count


def cpu_defaults(values: dict) -> dict:
    """What TRL's defaults get wrong without a GPU (bf16, gradient checkpointing)."""
    if torch.cuda.is_available():
        return {}
    defaults = {"bf16": False}
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun on CPUs: data parallel over gloo, not one copy each
        defaults["use_cpu"] = True
    if "gradient_checkpointing" not in values and "activation_checkpointing" not in values:
        defaults["activation_checkpointing"] = False  # recomputing activations only costs time on CPU
    return {k: v for k, v in defaults.items() if k not in values}


def trainer_inputs(config: TrainConfig, overrides: dict) -> tuple[object, Path, object]:
    """What every trainer needs: the TRL config, the model folder (checked) and its tokenizer (with a pad token)."""
    from transformers import AutoTokenizer

    if config.options.threads:
        torch.set_num_threads(config.options.threads)
    args = trl_args(config, **{**cpu_defaults(config.trl), **overrides})
    model_path = config.resolve(str(config.options.model))
    if not model_path.exists():
        raise config.error("model", f"{model_path} does not exist (make one with `longform model export`)")
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return args, model_path, tokenizer


def build_sft_trainer(config: TrainConfig, resume: bool = False, **overrides) -> tuple[LongformSFTTrainer, dict]:
    """The trainer and a report of the data that went into it (mix, skipped samples)."""
    args, model_path, tokenizer = trainer_inputs(config, overrides)
    long = chat_rows(config.paths("data"))
    general = chat_rows(config.paths("general_data"))
    options = config.options
    rows, report = mix(long, general, float(options.general_ratio), args.seed)
    if options.limit:
        rows = rows[: options.limit]
    rows = skip_longer(rows, tokenizer, args.max_length if options.skip_longer else None, report)
    sequence = options.loss == "sequence"
    trainer = LongformSFTTrainer(
        model=str(model_path), args=args, train_dataset=to_dataset(rows), processing_class=tokenizer,
        peft_config=lora_config(config))
    trainer.count_samples = sequence
    return trainer, {"loss": options.loss, "packing": args.packing, "data": report.to_dict()}


def train_and_save(trainer, summary: dict, resume: bool) -> dict:
    """Train (resuming from the last checkpoint if asked and one exists), save, summarise."""
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(trainer.args.output_dir)
    checkpoint = get_last_checkpoint(str(out)) if resume and out.is_dir() else None
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))
    summary = {**summary, "output_dir": str(out), "resumed_from": checkpoint, "steps": result.global_step,
               "train_loss": result.training_loss, "seconds": round(time.perf_counter() - started, 2),
               "metrics": result.metrics, "log": trainer.state.log_history, "processes": trainer.args.world_size,
               "distributed": str(getattr(trainer.accelerator.distributed_type, "value", "")) or None}
    if trainer.is_world_process_zero():  # one summary, however many processes trained
        atomic_write_json(out / "longform_train.json", summary)
    return summary
