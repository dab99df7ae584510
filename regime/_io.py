"""Atomic file and directory writes: readers never see a half-written result.

Files are written to a temporary sibling, fsynced and renamed over the target.
Folders (a model, a scenario result) are built in a temporary sibling and
swapped in with two renames, under a file lock::

    .NAME.<pid>.<rand>.tmp  --rename-->  .NAME.new      (complete, not yet live)
    NAME                    --rename-->  .NAME.old      (previous version)
    .NAME.new               --rename-->  NAME           (live)
    .NAME.old               --remove

A process killed anywhere in between leaves a state that :func:`recover_directory`
(called before every swap and by readers) resolves: a complete ``.NAME.new``
with no ``NAME`` is rolled forward, a lone ``.NAME.old`` is rolled back, and
leftovers of a finished swap are removed. Temporaries of processes that are no
longer running are removed. Everything written gets the ordinary permissions
the umask allows (``mkstemp``/``mkdtemp`` would give 0600/0700).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import filelock

from regime.errors import BadInputError

_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _ensure_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"Directory {path} cannot be created: {exc.strerror}.") from None
    if not os.access(path, os.W_OK):
        raise BadInputError(f"Directory {path} is not writable.")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def clean_stale_temporaries(directory: Path, name: str | None = None) -> list[Path]:
    """Remove ``.NAME.<pid>.*.tmp`` files and folders whose process is no longer running."""
    removed: list[Path] = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP.match(p.name)
        if m is None or (name is not None and m["name"] != name):
            continue
        if _pid_alive(int(m["pid"])):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
        removed.append(p)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename."""
    path = Path(path)
    _ensure_dir(path.parent)
    clean_stale_temporaries(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _siblings(target: Path) -> tuple[Path, Path, Path]:
    """The ``.NAME.new`` and ``.NAME.old`` swap folders and the ``.NAME.lock`` file."""
    parent, name = target.parent, target.name
    return parent / f".{name}.new", parent / f".{name}.old", parent / f".{name}.lock"


def _lock(target: Path) -> filelock.FileLock:
    return filelock.FileLock(_siblings(target)[2])


def recover_directory(target: Path) -> None:
    """Finish or undo a folder swap that a killed process left half done (see module doc)."""
    target = Path(target)
    new, old, _ = _siblings(target)
    if not (new.exists() or old.exists()):
        return
    if not os.access(target.parent, os.W_OK):
        return
    with _lock(target):
        _recover_locked(target)


def _recover_locked(target: Path) -> None:
    new, old, _ = _siblings(target)
    if not target.exists():
        if new.is_dir():
            os.replace(new, target)  # the new version was complete: roll forward
        elif old.is_dir():
            os.replace(old, target)  # roll back to the previous version
    # target is live: whatever is left is from a swap that finished or never started
    shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    clean_stale_temporaries(target.parent, target.name)


def _chmod_tree(root: Path) -> None:
    """Ordinary permissions for a tree built in ``mkdtemp``'s 0700 folder."""
    mask = _umask()
    os.chmod(root, 0o777 & ~mask)


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Build a directory in a temporary sibling and swap it in on success.

    Yields the temporary path to write into. On an exception the temporary
    directory is removed and ``target`` is left as it was. A swap that a killed
    process left half done is first rolled forward or back.
    """
    target = Path(target)
    _ensure_dir(target.parent)
    recover_directory(target)
    clean_stale_temporaries(target.parent, target.name)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    )
    try:
        yield tmp
        _chmod_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    new, old, _ = _siblings(target)
    try:
        with _lock(target):
            _recover_locked(target)
            os.replace(tmp, new)
            if target.exists():
                os.replace(target, old)
            os.replace(new, target)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
