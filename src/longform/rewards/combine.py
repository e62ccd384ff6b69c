"""Combining several rewards into one advantage per completion.

"advantage" (LongWriter-Zero): each reward is normalised within its group of samples of the
same prompt, then the normalised values are averaged (weighted):

    A_i = Σ_k w_k · (r_ik − mean_g(r_k)) / (std_g(r_k) + ε)  /  Σ_k w_k

so a reward with a large spread cannot drown the others. A reward that gave no value for a
completion (None → NaN) is left out of that completion's average. std is the sample standard
deviation (n − 1), as TRL uses; ε = 1e-4.

"sum" (plain GRPO): r_i = Σ_k w_k r_ik, then normalised within the group. That is TRL's own
default, so the trainer leaves it to TRL.
"""

from __future__ import annotations

import torch

EPS = 1e-4


def combine_advantages(rewards: torch.Tensor, group_size: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """`rewards`: (completions, rewards) with each prompt's `group_size` completions adjacent.
    Returns one advantage per completion (0 where no reward gave a value)."""
    n, k = rewards.shape
    if n % group_size:
        raise ValueError(f"{n} completions do not split into groups of {group_size}")
    weights = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    grouped = rewards.float().view(-1, group_size, k)
    mean = torch.nanmean(grouped, dim=1, keepdim=True)
    if group_size > 1:
        counts = (~grouped.isnan()).sum(dim=1, keepdim=True).clamp(min=2)
        var = torch.nansum((grouped - mean) ** 2, dim=1, keepdim=True) / (counts - 1)
        std = var.sqrt()
    else:
        std = torch.zeros_like(mean)
    normalised = ((grouped - mean) / (std + EPS)).view(n, k)
    w = weights.to(normalised.device).expand(n, k)
    present = ~normalised.isnan()
    total = torch.where(present, normalised * w, torch.zeros_like(normalised)).sum(dim=1)
    weight = torch.where(present, w, torch.zeros_like(w)).sum(dim=1)
    return torch.where(weight > 0, total / weight.clamp(min=1e-12), torch.zeros_like(total))
