"""Locks that let several processes share one eval --out safely.

Two kinds, both `fcntl.flock` locks, which the kernel drops when their process
ends however it ends, so a killed run never leaves a stale lock to clear by hand:

- `file_lock(path)`: held around every append to a JSONL checkpoint and around
  its repair. A repair rewrites the file; without the lock, one process's repair
  could replace the file while another was appending a row to the old one, and
  that row would be lost.
- `claim(out, item_id)`: held while a process writes one item. Any number of
  processes started with the same --out then split the items between them as
  they go, with no --shard arithmetic, and a process that finishes early takes
  the next free item instead of idling.

Lock files stay behind (empty, in out/claims/): deleting a lock file while
another process waits on it would let two processes hold "the same" lock.

On systems without fcntl (Windows) both are no-ops: one process per --out there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..io import file_lock  # noqa: F401 (the lock around appends and repairs lives with the logs)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


@contextlib.contextmanager
def claim(out: str | Path, item_id: int) -> Iterator[bool]:
    """True while this process holds item `item_id`; False, at once, if another does."""
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    folder = Path(out) / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{item_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def held_elsewhere(out: str | Path, item_id: int) -> bool:
    """Whether another process holds item `item_id`'s claim right now."""
    with claim(out, item_id) as mine:
        return not mine
