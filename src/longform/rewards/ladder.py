"""Writing-RL's dynamic reference scheduling, and the reward that uses it.

Every prompt has a ladder of references, weakest first (`longform data references`), and a
pointer to its current rung. After each batch, a prompt whose samples won at least `min_wins`
comparisons (wins, not ties) against its current reference moves up one rung; a pointer never
moves back, and at the top rung it stays. The state is written atomically after every update to
`ladder.json` in the run's output folder and read back on resume. Because it is saved after each
batch while TRL checkpoints every `save_steps`, a resumed run may find pointers ahead of its
checkpoint: they are kept, as a pointer never goes back.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

from ..errors import UsageError
from ..io import atomic_write_json
from .pairwise import DEFAULT_VALUES, PairwiseJudge
from .parts import answer_of, instruction_text


class ReferenceLadder:
    def __init__(self, path: str | Path, heights: dict[str, int]):
        """`heights`: number of references of each prompt id."""
        self.path, self.heights = Path(path), heights
        self.rungs = {pid: 0 for pid in heights}
        self.updates = 0
        if self.path.exists():
            try:
                saved = json.loads(self.path.read_text(encoding="utf-8"))
                self.updates = int(saved.get("updates", 0))
                for pid, rung in saved["rungs"].items():
                    if pid in self.rungs:
                        self.rungs[pid] = min(int(rung), heights[pid] - 1)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise UsageError(f"{self.path}: not a ladder state file; move it away to start the ladder "
                                 "again") from None

    def current(self, pid: str) -> int:
        return self.rungs[pid]

    def advance(self, wins: dict[str, int], min_wins: int = 1, save: bool = True) -> list[str]:
        """Move up every prompt with at least `min_wins` wins (and room above); save. The prompts moved."""
        moved = [pid for pid, n in sorted(wins.items()) if n >= min_wins and self.rungs[pid] < self.heights[pid] - 1]
        for pid in moved:
            self.rungs[pid] += 1
        self.updates += 1
        if save:
            atomic_write_json(self.path, {"updates": self.updates, "rungs": self.rungs, "counts": self.counts()})
        return moved

    def counts(self) -> dict[str, int]:
        """How many prompts stand on each rung ("0" = the weakest reference)."""
        count = Counter(self.rungs.values())
        return {str(k): count[k] for k in sorted(count)}


def gather_wins(wins: Counter) -> tuple[Counter, bool]:
    """Under several training processes each sees only its share of a step's completions: add
    up every process's wins, so all of them move their ladders alike; only the first saves."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return wins, True
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, dict(wins))
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return total, dist.get_rank() == 0


def load_references(path: str | Path) -> dict[str, dict]:
    """references.jsonl rows by prompt id (written by `longform data references`)."""
    rows = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            refs = row["references"]
            if not refs or not all(isinstance(r.get("response"), str) for r in refs):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UsageError(f"{path}:{number}: not a references row (id, instruction, references[])") from None
        rows[str(row["id"])] = row
    if not rows:
        raise UsageError(f"{path}: no references")
    return rows


class LadderReward:
    """TRL reward: each completion against its prompt's current reference (PairwiseJudge);
    then the ladder advances. Needs the dataset's `id` column. Logs the outcome shares, the
    unparsed count and the ladder (mean rung, prompts at the top, prompts moved)."""

    __name__ = "pairwise"

    def __init__(self, judge: str, references: str | Path, state: str | Path, values: dict | None = None,
                 both_orders: bool = False, repetition: float = 0.3, attempts: int = 3, min_wins: int = 1,
                 think: bool = False):
        self.judge_spec, self.references_path, self.state_path = judge, Path(references), Path(state)
        self.values = {**DEFAULT_VALUES, **(values or {})}
        self.both_orders, self.repetition, self.attempts = both_orders, repetition, attempts
        self.min_wins, self.think = min_wins, think
        self.judge = self.ladder = self.references = None
        self.unparsed = 0
        self._lock = threading.Lock()

    def __getstate__(self):
        return {**self.__dict__, "judge": None, "ladder": None, "references": None, "_lock": None}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def open(self, lm=None) -> None:
        if self.references is None:
            self.references = load_references(self.references_path)
            heights = {pid: len(row["references"]) for pid, row in self.references.items()}
            self.ladder = ReferenceLadder(self.state_path, heights)
        if self.judge is None:
            from ..quality.judge import PanelJudge, load_judge

            lm = lm or load_judge(self.judge_spec)
            # the panel proxy compares by itself; an LM is asked through the pairwise prompt
            self.judge = lm if isinstance(lm, PanelJudge) else PairwiseJudge(lm, self.both_orders, self.repetition,
                                                                             self.attempts)

    def __call__(self, prompts, completions, id=None, instruction=None, log_metric=None, **_) -> list:  # noqa: A002
        if id is None:
            raise UsageError("the pairwise reward needs an `id` column naming each prompt's references")
        self.open()
        rewards, outcomes, wins = [], Counter(), Counter()
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            pid = str(id[i])
            row = self.references[pid]
            reference = row["references"][self.ladder.current(pid)]["response"]
            text = instruction[i] if instruction else instruction_text(prompt)
            result = self.judge.compare(text, reference, answer_of(completion, self.think))
            outcomes[result.outcome or "unparsed"] += 1
            wins[pid] += result.outcome == "win"
            rewards.append(None if result.outcome is None else self.values[result.outcome])
        wins, main = gather_wins(wins)
        with self._lock:
            self.unparsed += outcomes["unparsed"]
            moved = self.ladder.advance(dict(wins), self.min_wins, save=main)
        if log_metric is not None:
            self._log(log_metric, outcomes, len(rewards), moved)
        return rewards

    def _log(self, log_metric, outcomes: Counter, total: int, moved: list[str]) -> None:
        for name in ("win", "tie", "loss", "unparsed"):
            log_metric(f"pairwise/{name}", outcomes[name] / max(1, total))
        rungs = list(self.ladder.rungs.values())
        log_metric("ladder/mean_rung", sum(rungs) / len(rungs))
        log_metric("ladder/at_top", sum(r == self.ladder.heights[p] - 1 for p, r in self.ladder.rungs.items()))
        log_metric("ladder/moved", len(moved))
