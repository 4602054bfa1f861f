"""Private staging for the plaintext-schema copies that backups and restores work on.

A full backup's snapshot, a restore's image and a verify's scratch copy hold every row of
the database (encrypted columns stay encrypted, names and notes do not), so they live only
in `<dir>/.tui-crm-staging/`, mode 0700, and never outlive the job that made them, even one
killed with SIGKILL: every job holds a shared lock on the staging directory while it works,
and `sweep` (run by the next backup, the next open and before a purge) deletes whatever is
there when it can take the lock exclusively, that is, when no job is running.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .files import PRIVATE_FILE_MODE, make_private_dir

STAGING_DIR = ".tui-crm-staging"
LOCK_FILE = ".lock"
# What versions before staging left directly beside the database (snapshots, restore scratch).
LEGACY_RESIDUE = (".snapshot-*", ".restore-*", ".*.restoring", ".*.restoring-[ws][ah][lm]")


@dataclass(frozen=True)
class Sweep:
    """What a sweep removed, and whether it could not look (a job is running, or the staging
    directory is not this user's)."""

    removed: list[Path] = field(default_factory=list)
    busy: bool = False


def staging_root(parent: Path) -> Path:
    return parent / STAGING_DIR


def _lock_handle(root: Path) -> int:
    return os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)


@contextmanager
def stage(parent: Path, purpose: str) -> Iterator[Path]:
    """A fresh private directory under `parent`'s staging area, removed when the job ends.

    The shared lock held meanwhile tells `sweep` in any process that this job is alive.
    """
    root = make_private_dir(staging_root(parent))
    fd = _lock_handle(root)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        work = Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=root))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        os.close(fd)


def residue(parent: Path, legacy: tuple[str, ...] = ()) -> list[Path]:
    """Staged copies present now (a running job's or a killed one's), plus any names matching
    the `legacy` patterns that older versions left directly in `parent`."""
    root = staging_root(parent)
    found = sorted(p for p in root.iterdir() if p.name != LOCK_FILE) if root.is_dir() else []
    return found + sorted(p for pattern in legacy for p in parent.glob(pattern))


def sweep(parent: Path, legacy: tuple[str, ...] = ()) -> Sweep:
    """Delete what killed jobs left behind, unless a job is running right now (then `busy`)."""
    root = staging_root(parent)
    if not root.is_dir():
        leftovers = residue(parent, legacy)
        _remove(leftovers)
        return Sweep(leftovers)
    try:
        make_private_dir(root)
        fd = _lock_handle(root)
    except OSError:
        return Sweep(busy=True)  # not ours to clear (another user's, or not a directory)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Sweep(busy=True)
        leftovers = residue(parent, legacy)
        _remove(leftovers)
        return Sweep(leftovers)
    finally:
        os.close(fd)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
