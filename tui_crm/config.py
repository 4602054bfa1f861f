"""Where the database, key file and settings live, from flags, environment or defaults.

The key file's default lives in the config directory, never beside the database, so a copy
of the data directory alone is not enough to read it. Demo databases keep their key beside
them, since they hold nothing real.
"""

from __future__ import annotations

import os
import sqlite3
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs

from .i18n import LANGUAGES, _, normalise_language
from .validation import ValidationError, amount_cents

APP_NAME = "tui-crm"
# Where the SSH deployment (deploy/ in the project) keeps operators' keys: root-owned and
# outside the service account's home, so nothing running as the account can add a key.
DEFAULT_AUTHORIZED_KEYS = "/etc/ssh/tui-crm/authorized_keys"


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


class ChurnRuleKind(StrEnum):
    NO_ORDER = "no_order"  # has ordered, but not for over `days` days
    COMPLAINTS = "complaints"  # `count` or more complaints in the last `days` days


@dataclass(frozen=True)
class ChurnRule:
    """One churn-warning rule; `name` is what each warning it raises is stored and shown by."""

    kind: ChurnRuleKind
    days: int = 90
    count: int = 3
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ChurnRuleKind(self.kind))
        if not 1 <= self.days <= 3650:
            raise ValueError(f"churn rule {self.kind}: days must be 1 to 3650")
        if self.kind is ChurnRuleKind.COMPLAINTS and self.count < 1:
            raise ValueError("churn rule complaints: count must be at least 1")
        if not self.name:
            name = (
                f"no_order_{self.days}d"
                if self.kind is ChurnRuleKind.NO_ORDER
                else f"complaints_{self.count}_in_{self.days}d"
            )
            object.__setattr__(self, "name", name)


DEFAULT_CHURN_RULES = (
    ChurnRule(ChurnRuleKind.NO_ORDER, days=90),
    ChurnRule(ChurnRuleKind.COMPLAINTS, days=90, count=3),
)


@dataclass(frozen=True)
class AnalyticsSettings:
    """`[analytics]`: value-tier thresholds (None: a quantile of the current base) and churn
    rules. A customer scores 1-3 on spend, on order count and on recency of the last order
    (3 at or beyond the high threshold, 2 at or beyond the medium one); the sum decides the
    tier (high at `high_score` or more, medium at `medium_score` or more, else low)."""

    spend_high_cents: int | None = None
    spend_medium_cents: int | None = None
    orders_high: int | None = None
    orders_medium: int | None = None
    recency_high_days: int | None = None
    recency_medium_days: int | None = None
    high_quantile: float = 0.8
    medium_quantile: float = 0.5
    high_score: int = 8
    medium_score: int = 6
    churn_rules: tuple[ChurnRule, ...] = DEFAULT_CHURN_RULES

    def __post_init__(self) -> None:
        if not 0 < self.medium_quantile < self.high_quantile < 1:
            raise ValueError("quantiles need 0 < medium_quantile < high_quantile < 1")
        if not 3 <= self.medium_score <= self.high_score <= 9:
            raise ValueError("scores need 3 <= medium_score <= high_score <= 9")
        for high, medium in (
            ("spend_high_cents", "spend_medium_cents"),
            ("orders_high", "orders_medium"),
        ):
            top, mid = getattr(self, high), getattr(self, medium)
            if top is not None and mid is not None and mid > top:
                raise ValueError(
                    f"{medium.removesuffix('_cents')} is above {high.removesuffix('_cents')}"
                )
        if (
            self.recency_high_days is not None
            and self.recency_medium_days is not None
            and self.recency_high_days > self.recency_medium_days
        ):
            raise ValueError("recency_high_days is above recency_medium_days")
        names = [rule.name for rule in self.churn_rules]
        if len(set(names)) != len(names):
            raise ValueError("two churn rules have the same name")

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> AnalyticsSettings:
        def money(key: str) -> int | None:
            if key not in table:
                return None
            try:
                return amount_cents(str(table[key]), key)
            except ValidationError as exc:
                raise ValueError(str(exc)) from None

        def whole(key: str) -> int | None:
            return None if key not in table else _non_negative(table[key], key)

        rules = table.get("churn")
        return cls(
            spend_high_cents=money("spend_high"),
            spend_medium_cents=money("spend_medium"),
            orders_high=whole("orders_high"),
            orders_medium=whole("orders_medium"),
            recency_high_days=whole("recency_high_days"),
            recency_medium_days=whole("recency_medium_days"),
            high_quantile=float(table.get("high_quantile", 0.8)),
            medium_quantile=float(table.get("medium_quantile", 0.5)),
            high_score=int(table.get("high_score", 8)),
            medium_score=int(table.get("medium_score", 6)),
            churn_rules=DEFAULT_CHURN_RULES
            if rules is None
            else tuple(
                ChurnRule(
                    kind=rule["kind"],
                    days=int(rule.get("days", 90)),
                    count=int(rule.get("count", 3)),
                    name=str(rule.get("name", "")),
                )
                for rule in rules
            ),
        )


@dataclass(frozen=True)
class VerificationSettings:
    """`[verification]`: the monthly sample's share of customers and days to work it."""

    percent: float = 10.0
    due_days: int = 14

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise ValueError("percent must be above 0 and at most 100")
        if self.due_days < 1:
            raise ValueError("due_days must be at least 1")


def _non_negative(value: Any, key: str) -> int:
    number = int(value)
    if number < 0 or number != value:
        raise ValueError(f"{key} must be a whole number, 0 or more")
    return number


@dataclass(frozen=True)
class Settings:
    """The `config.toml` settings; every key optional."""

    bindings: dict[str, str] = field(default_factory=dict)
    retention_years: int = 2
    backup_dir: str = ""
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4
    backup_full_weekday: int = 6
    backup_every_hours: int = 24
    drill_every_days: int = 31
    authorized_keys: str = DEFAULT_AUTHORIZED_KEYS
    language: str = ""  # `[ui] language`: "zh_CN" or "en"; empty follows the locale
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    verification: VerificationSettings = field(default_factory=VerificationSettings)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_file()
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                _("config file {path}: {problem}").format(path=path, problem=exc)
            ) from None
        retention = raw.get("retention", {})
        backup = raw.get("backup", {})
        deploy = raw.get("deploy", {})
        try:
            analytics = AnalyticsSettings.from_table(raw.get("analytics", {}))
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                _("config file {path}: [analytics] {problem}").format(path=path, problem=exc)
            ) from None
        try:
            verification = VerificationSettings(**raw.get("verification", {}))
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                _("config file {path}: [verification] {problem}").format(path=path, problem=exc)
            ) from None
        return cls(
            bindings={str(k): str(val) for k, val in raw.get("bindings", {}).items()},
            retention_years=int(retention.get("churned_inactive_years", 2)),
            backup_dir=str(backup.get("dir", "")),
            backup_keep_daily=int(backup.get("keep_daily", 7)),
            backup_keep_weekly=int(backup.get("keep_weekly", 4)),
            backup_full_weekday=int(backup.get("full_weekday", 6)),
            backup_every_hours=int(backup.get("every_hours", 24)),
            drill_every_days=int(backup.get("drill_every_days", 31)),
            authorized_keys=str(deploy.get("authorized_keys", DEFAULT_AUTHORIZED_KEYS)),
            language=_language(path, raw.get("ui", {}).get("language", "")),
            analytics=analytics,
            verification=verification,
            raw=raw,
        )


def _language(path: Path, value: object) -> str:
    """The configured language in its normal form; a language we have no catalog for is
    an error, so a typo is not silently English."""
    if not value:
        return ""
    found = normalise_language(str(value))
    if found is None:
        raise ConfigError(
            _("config file {path}: [ui] language {value!r} is not one of {known}").format(
                path=path, value=value, known=", ".join(LANGUAGES)
            )
        )
    return found
