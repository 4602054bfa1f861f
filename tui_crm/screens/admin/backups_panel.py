"""The Backups tab: list, take, verify and drill backups, each in a worker with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...backup import BackupError, Manifest
from ...config import Settings
from ...i18n import N_, _, ngettext
from ...i18n.formats import format_number
from ...labels import label
from ...service import Service, ServiceError
from ...widgets.fitted_table import Column, FittedTable
from ...widgets.job_progress import JobProgress

JOB_ERRORS = (ServiceError, BackupError, OSError)
# A backup's id holds its time and kind, so a narrow table leaves those columns out and
# keeps room for the parent (the backup an incremental one builds on).
COLUMNS = (
    Column("id", N_("Backup"), 20),
    Column("kind", N_("Kind"), 11, narrow=0),
    Column("taken", N_("Taken"), 19, narrow=0),
    Column("size", N_("Size"), 9),
    Column("customers", N_("Customers"), 9),
    Column("parent", N_("Parent"), least=20),
)


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} KB"


class BackupsPanel(Vertical):
    """Backups newest first; f full, i incremental, v verify one, V verify all, d drill,
    r restore the selected backup to a new file (never over the live database: that is
    `tui-crm backup restore ID --yes`, with the app closed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "backup(True)", N_("Full backup"), id="admin.backup_full"),
        Binding("i", "backup(False)", N_("Incremental"), id="admin.backup_incremental"),
        Binding("v", "verify(False)", N_("Verify"), id="admin.backup_verify"),
        Binding("V", "verify(True)", N_("Verify all"), id="admin.backup_verify_all"),
        Binding("d", "drill", N_("Drill"), id="admin.backup_drill"),
        Binding("p", "prune", N_("Prune"), id="admin.backup_prune"),
        Binding("r", "restore", N_("Restore to file"), id="admin.backup_restore"),
    ]

    DEFAULT_CSS = """
    BackupsPanel { height: 1fr; }
    BackupsPanel DataTable { height: 1fr; }
    BackupsPanel .backups-result { height: auto; max-height: 6; }
    """

    def __init__(self, service: Service, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield FittedTable(COLUMNS)
        yield Static(Text(""), classes="backups-result")
        yield JobProgress()

    def on_mount(self) -> None:
        self.refresh_list()

    def refresh_list(self) -> None:
        manifests = self.service.backups.list(self.settings)
        self.query_one(FittedTable).show(
            (
                m.id,
                {
                    "id": Text(m.id),
                    "kind": Text(label("backup_kind", m.kind)),
                    "taken": Text(m.created_at[:19].replace("T", " ")),
                    "size": Text(_size(m.size), justify="right"),
                    "customers": Text(
                        format_number(m.row_counts.get("customers", 0)), justify="right"
                    ),
                    "parent": Text(m.parent or "-"),
                },
            )
            for m in reversed(manifests)
        )
        where = self.service.backups.store(self.settings).directory
        shown = ngettext(
            "{count} backup in {path}", "{count} backups in {path}", len(manifests)
        ).format(count=len(manifests), path=where)
        self._show(Text(shown))

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value)

    def _show(self, text: Text) -> None:
        self.query_one(".backups-result", Static).update(text)

    def _progress(self) -> Callable[[float, str], None]:
        bar = self.query_one(JobProgress)
        return lambda fraction, message: self.app.call_from_thread(bar.report, fraction, message)

    def _finish(self, text: Text, *, failed: bool = False) -> None:
        self.refresh_list()
        self._show(text)
        self.query_one(JobProgress).report(1.0, _("Failed.") if failed else _("Done."))

    def action_backup(self, full: bool) -> None:
        self._run(
            lambda progress: self._describe_new(
                self.service.backups.create(full=full, settings=self.settings, progress=progress)
            )
        )

    def action_verify(self, every: bool) -> None:
        backup_id = None if every else self._selected()
        if not every and backup_id is None:
            self.app.notify(_("No backup selected."), severity="warning", markup=False)
            return

        def job(progress: Callable[[float, str], None]) -> tuple[Text, bool]:
            results = self.service.backups.verify(backup_id, self.settings, progress)
            ok = all(r.ok for r in results)
            return Text("\n".join(r.describe() for r in results) or _("No backups.")), not ok

        self._run(job)

    def action_drill(self) -> None:
        def job(progress: Callable[[float, str], None]) -> tuple[Text, bool]:
            result = self.service.backups.drill(self.settings, progress)
            return Text(result.describe()), not result.ok

        self._run(job)

    def action_prune(self) -> None:
        def job(progress: Callable[[float, str], None]) -> tuple[Text, bool]:
            deleted = self.service.backups.prune(self.settings)
            pruned = ngettext(
                "Deleted {count} backup.", "Deleted {count} backups.", len(deleted)
            ).format(count=len(deleted))
            return Text(pruned), False

        self._run(job)

    def action_restore(self) -> None:
        backup_id = self._selected()
        if backup_id is None:
            self.app.notify(_("No backup selected."), severity="warning", markup=False)
            return
        target = self.service.db.path.parent / "restored" / f"{backup_id}.db"

        def job(progress: Callable[[float, str], None]) -> tuple[Text, bool]:
            self.service.backups.restore(backup_id, target, self.settings, progress)
            restored = _("Restored {backup} to {path}.").format(backup=backup_id, path=target)
            return Text(restored), False

        self._run(job)

    @staticmethod
    def _describe_new(manifest: Manifest) -> tuple[Text, bool]:
        written = _("Backup {backup} ({kind}, {size}) written.").format(
            backup=manifest.id, kind=label("backup_kind", manifest.kind), size=_size(manifest.size)
        )
        return Text(written), False

    @work(thread=True, exclusive=True, group="admin-backups")
    def _run(self, job: Callable[[Callable[[float, str], None]], tuple[Text, bool]]) -> None:
        progress = self._progress()
        progress(0.0, _("Working…"))
        try:
            text, failed = job(progress)
        except JOB_ERRORS as exc:
            text, failed = Text(str(exc), style="bold red"), True
        self.app.call_from_thread(self._finish, text, failed=failed)
