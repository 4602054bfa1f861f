"""Creating files that only their owner can read, without following an attacker's symlink.

`open(path, "w")` on an existing path keeps that file's mode and writes through a symlink
planted there; an export of personal data must do neither. New files are created with
O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600; replacing one (`force`) writes a private temporary
file beside it and renames it over the old name, which replaces a symlink rather than its
target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PRIVATE_UMASK = 0o077
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class FileExists(FileExistsError):
    """The target exists and replacing it was not asked for."""


def use_private_umask() -> int:
    """Make every file this process creates from now on private (umask 077); returns the
    previous umask. The CLI and the app call it first thing, before any file is created."""
    return os.umask(PRIVATE_UMASK)


@contextmanager
def create_private(
    path: Path, *, force: bool = False, binary: bool = False, **open_args: Any
) -> Iterator[IO[Any]]:
    """A new file at `path`, mode 0600, open for writing.

    Without `force` an existing path (file, directory or symlink, even a dangling one) is
    refused with FileExists. With `force` the content goes to a temporary file in the same
    directory that replaces `path` by rename once it is complete, so readers never see half
    a file and an error leaves the old one in place.
    """
    mode = "wb" if binary else "w"
    if not force:
        try:
            fd = os.open(path, _EXCLUSIVE, PRIVATE_FILE_MODE)
        except FileExistsError:
            raise FileExists(
                f"{path} already exists; choose another name or replace it (--force)"
            ) from None
        try:
            with os.fdopen(fd, mode, **open_args) as handle:
                yield handle
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    temp = Path(temp_name)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def create_private_empty(path: Path) -> None:
    """Create `path` empty with mode 0600 (refusing an existing one), so a program that later
    opens it by name (SQLite, which also gives its -wal and -shm files this mode) writes
    into a private file whatever the umask."""
    os.close(os.open(path, _EXCLUSIVE, PRIVATE_FILE_MODE))


def make_private_dir(path: Path) -> Path:
    """A directory only its owner can enter: created 0700, or tightened to 0700 if it
    exists and belongs to this user; refused if it belongs to someone else or is a link."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    info = path.lstat()
    if not os.path.isdir(path) or os.path.islink(path):
        raise NotADirectoryError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; refusing to stage files there")
    if info.st_mode & 0o777 != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path
