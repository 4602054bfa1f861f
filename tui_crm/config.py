"""Where the database, key file and settings live, from flags, environment or defaults.

The key file's default lives in the config directory, never beside the database, so a copy
of the data directory alone is not enough to read it. Demo databases keep their key beside
them, since they hold nothing real.
"""

from __future__ import annotations

import os
import sqlite3
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "tui-crm"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_db_path() -> Path:
    return data_dir() / "crm.db"


def default_key_path() -> Path:
    return config_dir() / "crm.key"


def default_demo_db_path() -> Path:
    return data_dir() / "demo" / "demo.db"


def demo_key_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".key")


def is_demo_database(db_path: Path) -> bool:
    """Whether the file is a demo database (its meta says so), read without the key."""
    if not db_path.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='demo'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None and row[0] == "1"


def key_path_for(db_path: Path, named: Path | None) -> Path:
    """The key file to use: the one named (flag or environment); else, for a demo database
    with its key beside it, that key; else the default in the config directory."""
    if named is not None:
        return named
    beside = demo_key_path(db_path)
    if beside.is_file() and is_demo_database(db_path):
        return beside
    return default_key_path()


def config_file() -> Path:
    return Path(os.environ.get("TUI_CRM_CONFIG") or config_dir() / "config.toml")


class ConfigError(Exception):
    """A config file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Settings:
    """The `config.toml` settings; every key optional."""

    bindings: dict[str, str] = field(default_factory=dict)
    retention_years: int = 2
    backup_dir: str = ""
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4
    backup_full_weekday: int = 6
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_file()
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        retention = raw.get("retention", {})
        backup = raw.get("backup", {})
        return cls(
            bindings={str(k): str(val) for k, val in raw.get("bindings", {}).items()},
            retention_years=int(retention.get("churned_inactive_years", 2)),
            backup_dir=str(backup.get("dir", "")),
            backup_keep_daily=int(backup.get("keep_daily", 7)),
            backup_keep_weekly=int(backup.get("keep_weekly", 4)),
            backup_full_weekday=int(backup.get("full_weekday", 6)),
            raw=raw,
        )
