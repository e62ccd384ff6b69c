"""The two loss weightings for long-output SFT.

token-averaged (TRL's own, the default): every supervised token of the
effective batch (all micro-batches of one optimizer step) weighs the same, so a
20,000-token answer counts 100× a 200-token one. LongWriter trains this way: with
a per-sequence mean the long answers, the very thing being taught, are drowned
out by the many short ones.

sequence-averaged: each sample's mean token loss, then the mean over the samples
of the effective batch.

A sample is a maximal run of supervised labels. Runs never merge: TRL masks the
first token of every packed sequence, and each sample's prompt is masked too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100


def _run_starts(labels: torch.Tensor) -> torch.Tensor:
    """Bool mask over the shifted labels: True where a supervised run begins."""
    supervised = labels[..., 1:] != IGNORE
    before = torch.zeros_like(supervised)
    before[..., 1:] = supervised[..., :-1]
    return supervised & ~before


def count_sequences(labels: torch.Tensor) -> int:
    """Supervised samples in a (possibly packed) batch of labels."""
    return int(_run_starts(labels).sum())


def sequence_averaged_loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
    """Sum of per-sample mean losses ÷ samples in the effective batch (`num_items_in_batch`,
    which `SequenceCounting` makes a count of samples, not tokens)."""
    logits = outputs.logits if hasattr(outputs, "logits") else outputs["logits"]
    shifted = labels[..., 1:]
    per_token = F.cross_entropy(logits[..., :-1, :].flatten(0, -2).float(), shifted.flatten(),
                                ignore_index=IGNORE, reduction="none")
    supervised = (shifted != IGNORE).flatten()
    run = torch.cumsum(_run_starts(labels).flatten().long(), 0) - 1
    n_runs = int(run.max().item()) + 1 if supervised.any() else 0
    if n_runs == 0:
        return per_token.sum() * 0.0  # keeps the graph; a batch with nothing to learn adds nothing
    index = run[supervised]
    sums = torch.zeros(n_runs, device=logits.device).index_add(0, index, per_token[supervised])
    counts = torch.zeros(n_runs, device=logits.device).index_add(0, index, torch.ones_like(per_token[supervised]))
    denominator = num_items_in_batch if num_items_in_batch is not None else n_runs
    return (sums / counts).sum() / torch.as_tensor(denominator, device=logits.device).clamp(min=1)
