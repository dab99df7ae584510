"""Issue 10 item 4 and issue 13: recoverable folder swaps, stale temporaries, permissions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from regime._io import (
    atomic_directory,
    atomic_write_text,
    clean_stale_temporaries,
    recover_directory,
)


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def build(target: Path, text: str) -> None:
    with atomic_directory(target) as tmp:
        (tmp / "model.json").write_text(text)
        (tmp / "sub").mkdir()


def test_kill_between_the_renames_rolls_back(tmp_path: Path) -> None:
    target = tmp_path / "models" / "x"
    build(target, "v1")
    # the state a kill after "NAME -> .NAME.old" leaves, before ".NAME.new -> NAME"
    os.replace(target, target.parent / ".x.old")
    recover_directory(target)
    assert (target / "model.json").read_text() == "v1"
    assert sorted(p.name for p in target.parent.iterdir()) == [".x.lock", "x"]


def test_kill_with_a_complete_new_version_rolls_forward(tmp_path: Path) -> None:
    target = tmp_path / "models" / "x"
    build(target, "v1")
    new = target.parent / ".x.new"
    new.mkdir()
    (new / "model.json").write_text("v2")
    os.replace(target, target.parent / ".x.old")
    build(target, "v3")  # the next save first finishes the crashed swap, then its own
    assert (target / "model.json").read_text() == "v3"
    assert not (target.parent / ".x.old").exists() and not new.exists()


def test_next_save_never_deletes_the_only_copy(tmp_path: Path) -> None:
    """The issue's probe: only `.x.old` left; the next save must not delete it first."""
    target = tmp_path / "x"
    build(target, "v1")
    os.replace(target, tmp_path / ".x.old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "model.json").write_text("broken")
        raise RuntimeError("fit failed")  # a failing save keeps the previous version
    assert (target / "model.json").read_text() == "v1"


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    pid = dead_pid()
    stale_dir = tmp_path / f".x.{pid}.abc.tmp"
    stale_dir.mkdir()
    stale_file = tmp_path / f".y.csv.{pid}.abc.tmp"
    stale_file.write_text("half")
    mine = tmp_path / f".x.{os.getpid()}.abc.tmp"
    mine.mkdir()
    build(tmp_path / "x", "v1")
    atomic_write_text(tmp_path / "y.csv", "whole")
    assert not stale_dir.exists() and not stale_file.exists()
    assert mine.exists()  # a running process's temporary is left alone
    assert clean_stale_temporaries(tmp_path) == []


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    """Issue 13: not mkstemp's 0600 / mkdtemp's 0700."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "table.csv", "a,b\n")
        build(tmp_path / "model", "v1")
    finally:
        os.umask(old)
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "model" / "model.json").stat().st_mode & 0o777 == 0o644
    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "private.csv", "a,b\n")
    finally:
        os.umask(old)
    assert (tmp_path / "private.csv").stat().st_mode & 0o777 == 0o600
