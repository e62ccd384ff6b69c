"""Reward curves of a GRPO run: per-step rewards from the trainer's log, as a table and a PNG.

The log comes from `longform_train.json` (a finished run) or, for a run still going, resumed
or killed, the newest checkpoint's `trainer_state.json` when that is newer. Each row is one logging step with the
combined reward and each reward's mean; a moving average smooths GRPO's noisy single-prompt
steps.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from ..evals.plots import new_figure, save_png


def load_log(run: Path) -> list[dict]:
    """The newest log of the run: `longform_train.json` of a finished run, or the latest
    checkpoint's `trainer_state.json` when that is newer (a run resumed, or still going)."""
    finished = run / "longform_train.json"
    states = sorted(run.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    if finished.exists() and (not states or finished.stat().st_mtime >= states[-1].stat().st_mtime):
        return json.loads(finished.read_text(encoding="utf-8"))["log"]
    if not states:
        raise UsageError(f"{run}: no longform_train.json and no checkpoint with a trainer_state.json")
    return json.loads(states[-1].read_text(encoding="utf-8"))["log_history"]


def reward_rows(log: list[dict]) -> tuple[list[str], list[dict]]:
    """(reward names, rows of step, reward and rewards/<name>/mean per logged step)."""
    rows = [row for row in log if "reward" in row and "step" in row]
    if not rows:
        raise UsageError("the log has no reward entries (is this a GRPO run?)")
    names = sorted({key.split("/")[1] for row in rows for key in row
                    if key.startswith("rewards/") and key.endswith("/mean")})
    return names, [{"step": r["step"], "reward": r["reward"],
                    **{n: r.get(f"rewards/{n}/mean") for n in names}} for r in rows]


def moving_average(values: list[float], window: int) -> list[float]:
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1): i + 1]
        out.append(sum(part) / len(part))
    return out


def plot_rewards(names: list[str], rows: list[dict], path: Path, window: int = 5) -> Path:
    return save_png(rewards_figure(names, rows, window), path)


def rewards_figure(names: list[str], rows: list[dict], window: int = 5):
    """The per-step rewards, raw (faint) and as a moving average; steps are whole numbers."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(7.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    steps = [r["step"] for r in rows]
    for key, colour in zip(["reward", *names], ["black", "tab:blue", "tab:orange", "tab:green", "tab:red"]):
        values = [r[key] for r in rows]
        if any(v is None for v in values):
            continue
        ax.plot(steps, values, color=colour, alpha=0.25, linewidth=1)
        ax.plot(steps, moving_average(values, window), color=colour, linewidth=2,
                label=f"{key} ({window}-step mean)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("reward (mean over the step's completions)")
    ax.set_title("GRPO rewards")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
