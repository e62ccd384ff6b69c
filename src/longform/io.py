"""Crash-safe files: every artifact is either the old version or the new one, and every
append-only log loses at most the line a kill cut short.

A run directory may be killed at any instant (SIGKILL included), so files are
written to a temporary sibling, fsynced, then renamed over the target. Logs that
grow a line at a time (predictions, judgments, errors, samples) are `JsonlLog`s.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from .errors import UsageError
from .text import LONE_SURROGATE

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp and mkdtemp create private files (0600, 0700) whatever the umask; what we publish gets the
# modes a plain open() or mkdir() would give, so teammates sharing a machine can read the results
_UMASK = _umask()
FILE_MODE = 0o666 & ~_UMASK
FOLDER_MODE = 0o777 & ~_UMASK


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(fh)` on a temporary sibling of `path`, fsync, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete what atomic_write leaves behind when a process is killed between writing its
    temporary file and renaming it (".NAME.XXXX.tmp"). Only for a folder no other process writes
    in, e.g. a run directory being resumed. Returns how many were removed."""
    removed = 0
    for path in Path(folder).rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def read_user_text(path: str | Path, what: str) -> str:
    """A text file the user gave (instructions, data, a template, a config), as UTF-8 with any BOM
    dropped; a UsageError names the file, and the line of a byte that is not UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: {what} is not UTF-8 (byte {data[exc.start]:#04x}); "
                         "save it as UTF-8") from None


def read_run_file(path: str | Path) -> Any:
    """A saved run file's JSON (FileNotFoundError if absent). A damaged one (cut short, not UTF-8,
    a folder in its place) is a one-line error naming it: resuming from a guess could write a wrong
    document or count a document twice."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, UnicodeDecodeError):
            reason = "not UTF-8"
        raise UsageError(f"{path}: damaged run file ({reason}); delete it to redo that step, "
                         "or start again in a new --out") from None


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def json_object(line: str, where: str) -> dict:
    """One JSONL row, which must be an object; `where` ("FILE:LINE") starts every error."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return no_lone_surrogates(row, line, where)


def no_lone_surrogates(row: Any, raw: str | bytes, where: str) -> Any:
    """`row`, unless a string in it holds a lone surrogate escape ("\\ud800"): JSON allows it,
    Unicode does not, and the first write of such text would crash."""
    marker = b"\\u" if isinstance(raw, bytes) else "\\u"
    if marker in raw and _has_surrogate(row):
        raise UsageError(f"{where}: a string holds a lone surrogate escape (\\ud800-\\udfff), which is not text")
    return row


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextlib.contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty folder beside `target`; when the block ends without error it is
    renamed to `target`, so a crash never leaves a half-written `target`. `target`
    must not exist, or be an empty folder."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not empty; choose another folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(FOLDER_MODE)
    try:
        yield staging
        if target.exists():
            target.rmdir()
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def file_set(folder: str | Path, last: str) -> Iterator[Path]:
    """Yield a staging folder inside `folder`. When the block ends without error, every file
    written there replaces its namesake in `folder` in one quick pass of renames, `last` (the
    file that names the others, e.g. report.json) at the end; on an error nothing in `folder`
    changes. A report's files are thus rendered in full before any old one is replaced, and a
    crash cannot pair a new report.json with old plots (the window is a few renames, not the
    seconds that plotting takes). Writers sharing the folder (shards of one eval) take turns under
    its lock, so the staging folders a kill left behind can be removed here safely."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(folder):
        for stale in folder.glob(".staged-*"):
            shutil.rmtree(stale, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=".staged-", dir=folder))
        try:
            yield stage
            names = sorted(p.name for p in stage.iterdir() if p.name != last)
            for name in [*names, last] if (stage / last).exists() else names:
                os.replace(stage / name, folder / name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An flock on the folder itself: no lock file appears among the results."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Exclusive lock on `path`'s companion `.NAME.lock`, waiting for it if taken. An
    `fcntl.flock` lock: the kernel drops it when its process ends, however it ends."""
    if fcntl is None:  # pragma: no cover - Windows: one process per folder there
        yield
        return
    path = Path(path)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


TornHandler = Callable[[str, str], None]  # (where "FILE:LINE", the torn text)


def warn_torn(where: str, text: str) -> None:
    print(f"longform: warning: {where}: ignoring an unfinished last line "
          f"({len(text)} characters; an interrupted write)", file=sys.stderr)


_append_lock = threading.Lock()  # rows of concurrent threads must not interleave inside a line


class JsonlLog:
    """An append-only file of JSON objects, one a line, shared safely by threads and
    processes: each row is one write, fsynced before `append` returns, under the file's
    lock. A kill tears at most the last line, which readers skip (`on_torn` hears of
    it) and `repair` removes; damage anywhere else is an error naming the line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, row: dict) -> None:
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _append_lock, file_lock(self.path), open(self.path, "a+b") as fh:
            end = fh.seek(0, os.SEEK_END)
            if end:
                fh.seek(end - 1)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")  # close a torn line first, so this row stays whole (appends go to the end)
            fh.write(line)  # one write: a kill tears at most this line
            fh.flush()
            os.fsync(fh.fileno())

    def numbered(self, on_torn: TornHandler | None = warn_torn) -> list[tuple[int, dict]]:
        """(line number, row) pairs of the file; none when it does not exist."""
        if not self.path.exists():
            return []
        rows, torn, _ = self._scan()
        if torn is not None and on_torn is not None:
            on_torn(f"{self.path}:{torn[0]}", torn[1])
        return rows

    def rows(self, on_torn: TornHandler | None = warn_torn) -> list[dict]:
        return [row for _, row in self.numbered(on_torn)]

    def repair(self, on_torn: TornHandler | None = warn_torn) -> None:
        """Make the file safe to append to: drop a torn last line and end with a newline.
        Rewritten atomically, and under the lock, so a row another process is appending
        is not cut as "torn"."""
        if not self.path.exists():
            return
        with file_lock(self.path):
            _, torn, data = self._scan()
            if torn is not None:
                if on_torn is not None:
                    on_torn(f"{self.path}:{torn[0]}", torn[1])
                kept = data.split(b"\n")[: torn[0] - 1]  # every line before the torn one, as written
                atomic_write(self.path, lambda fh: fh.write(b"".join(line + b"\n" for line in kept)))
            elif data and not data.endswith(b"\n"):
                # a complete last row without its newline: the next append would join the two lines
                atomic_write(self.path, lambda fh: fh.write(data + b"\n"))

    def _scan(self) -> tuple[list[tuple[int, dict]], tuple[int, str] | None, bytes]:
        """(line number, row) pairs, the torn last line (number, text) if any, and the raw bytes.

        Lines are decoded one by one: a kill can cut a multi-byte character in half,
        which must count as a torn line, not make the whole file unreadable."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {self.path}: {exc.__class__.__name__}: {exc}") from None
        lines = data.split(b"\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        rows, torn = [], None
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                # a hand-made file may start with a BOM
                row = json.loads(raw.decode("utf-8-sig" if i == 0 else "utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if i == last:  # only the last line can be half-written by a killed writer
                    torn = (i + 1, raw.decode("utf-8", "replace"))
                    break
                raise UsageError(f"{self.path}:{i + 1}: invalid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UsageError(f"{self.path}:{i + 1}: expected a JSON object, got {type(row).__name__}")
            rows.append((i + 1, no_lone_surrogates(row, raw, f"{self.path}:{i + 1}")))
        return rows, torn, data
