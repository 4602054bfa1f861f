"""Backups through the service: admins only, every job audited (the engine is `backup.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backup import BackupStore, CheckResult, DrillResult, Manifest, Progress, default_dir
from ..config import Settings
from ..roles import Action
from .context import Context


class Backups:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def store(self, settings: Settings | None = None) -> BackupStore:
        """The configured backup directory (default `<db dir>/backups`), admins only."""
        self.context.require(Action.BACKUP)
        return BackupStore(default_dir(self.db.path, settings or Settings.load()), self.db.keys)

    def list(self, settings: Settings | None = None) -> list[Manifest]:
        return self.store(settings).list()

    def create(
        self, *, full: bool, settings: Settings | None = None, progress: Progress | None = None
    ) -> Manifest:
        manifest = self.store(settings).create(self.db, full=full, progress=progress)
        self.context.record("backup.create", _details(manifest))
        return manifest

    def scheduled(self, settings: Settings | None = None) -> tuple[Manifest, list[str]]:
        settings = settings or Settings.load()
        manifest, pruned = self.store(settings).scheduled(self.db, settings)
        self.context.record("backup.scheduled", {**_details(manifest), "pruned": pruned})
        return manifest, pruned

    def verify(
        self,
        backup_id: str | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> list[CheckResult]:
        """One backup, or every backup when `backup_id` is None."""
        store = self.store(settings)
        results = (
            store.verify_all(progress) if backup_id is None else [store.verify(backup_id, progress)]
        )
        self.context.record(
            "backup.verify",
            {"checked": [r.id for r in results], "failed": [r.id for r in results if not r.ok]},
        )
        return results

    def restore(
        self,
        backup_id: str,
        to_path: Path,
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> Manifest:
        manifest = self.store(settings).restore(backup_id, to_path, progress)
        self.context.record("backup.restore", {"backup": backup_id, "to": str(to_path)})
        return manifest

    def restore_live(
        self, backup_id: str, settings: Settings | None = None, progress: Progress | None = None
    ) -> tuple[Manifest, Manifest]:
        """Over the live database, after a safety backup. The engine writes the restore's one
        audit entry (as this session's actor) into the restored image before it replaces the
        live database, so a crash never lands a restore unaudited."""
        return self.store(settings).restore_live(
            backup_id, self.db, progress, actor=self.context.actor
        )

    def drill(
        self, settings: Settings | None = None, progress: Progress | None = None
    ) -> DrillResult:
        result = self.store(settings).drill(progress)
        self.context.record(
            "backup.drill",
            {"backup": result.backup_id, "ok": result.ok, "problems": list(result.problems)},
        )
        return result

    def prune(self, settings: Settings | None = None) -> list[str]:
        settings = settings or Settings.load()
        pruned = self.store(settings).prune(settings.backup_keep_daily, settings.backup_keep_weekly)
        self.context.record("backup.prune", {"deleted": pruned})
        return pruned


def _details(manifest: Manifest) -> dict[str, Any]:
    """What a backup's audit entry records."""
    return {
        "backup": manifest.id,
        "kind": manifest.kind,
        "parent": manifest.parent,
        "size": manifest.size,
        "customers": manifest.row_counts.get("customers"),
    }
