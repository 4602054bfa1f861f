"""Issue 9: private file creation (exports), key files that are not text, and the key file
found beside a demo database."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tui_crm.config import default_key_path, demo_key_path, key_path_for
from tui_crm.crypto import KeyFileError, create_key_file, load_key_file
from tui_crm.db import Database, set_meta
from tui_crm.files import FileExists, create_private, use_private_umask


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_new_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        with create_private(tmp_path / "audit.csv") as out:
            out.write("id,at\n")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "audit.csv") == 0o600
    assert (tmp_path / "audit.csv").read_text() == "id,at\n"


def test_existing_file_is_refused_without_force_and_keeps_its_content(tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    target.write_text("precious")
    target.chmod(0o644)
    with pytest.raises(FileExists, match="--force"), create_private(target) as out:
        out.write("x")
    assert target.read_text() == "precious"


def test_force_replaces_the_file_with_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    target.write_text("old")
    target.chmod(0o644)
    with create_private(target, force=True) as out:
        out.write("new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.csv"], "no temporary left"


def test_a_planted_symlink_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "audit.csv"
    link.symlink_to(victim)
    with pytest.raises(FileExists), create_private(link) as out:
        out.write("x")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExists), create_private(dangling) as out:
        out.write("x")
    assert not (tmp_path / "nowhere").exists()
    with create_private(link, force=True) as out:
        out.write("export")
    assert victim.read_text() == "do not touch"
    assert not link.is_symlink() and link.read_text() == "export"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    with pytest.raises(RuntimeError), create_private(target) as out:
        out.write("half")
        raise RuntimeError("disk full")
    assert not target.exists()
    target.write_text("old")
    with pytest.raises(RuntimeError), create_private(target, force=True) as out:
        out.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_private_umask_applies_to_every_file_created_after(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from tui_crm.files import use_private_umask;"
        " use_private_umask(); Path(sys.argv[1]).write_text('x')"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "f")], check=True)
    assert mode(tmp_path / "f") == 0o600
    previous = use_private_umask()
    os.umask(previous)
    assert previous == os.umask(previous)


@pytest.mark.parametrize(
    "content",
    [random.Random(13).randbytes(64), b"\xff\xfe\x00garbage", b"tui-crm-key-v1\nnot base64!\n"],
    ids=["64 random bytes", "utf-16 junk", "bad base64"],
)
def test_a_key_file_that_is_not_a_key_gives_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "crm.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a tui-crm key file") as raised:
        load_key_file(path)
    assert "\n" not in str(raised.value)


def test_a_directory_as_key_file_gives_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "crm.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_key_file(folder)


def test_the_key_beside_a_demo_database_is_used_when_none_is_named(tmp_path: Path) -> None:
    demo = tmp_path / "demo.db"
    db = Database.create(demo, create_key_file(demo_key_path(demo)))
    named = tmp_path / "other.key"
    assert key_path_for(demo, named) == named
    assert key_path_for(demo, None) == default_key_path(), "not a demo database yet"
    with db.write() as tx:
        set_meta(tx, "demo", "1")
    db.close()
    assert key_path_for(demo, None) == demo_key_path(demo)
    Database.open(demo, load_key_file(key_path_for(demo, None))).close()
    demo_key_path(demo).unlink()
    assert key_path_for(demo, None) == default_key_path()
    assert key_path_for(tmp_path / "missing.db", None) == default_key_path()
