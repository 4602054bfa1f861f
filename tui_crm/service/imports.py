"""Customer imports through the service (managers and admins only). Reading, mapping,
deduplicating, writing and auditing a run is the engine's business: see
`tui_crm/importer.py`; this door checks the permission and names the actor."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .. import importer
from ..importer import (
    FilePreview,
    ImportOptions,
    ImportSummary,
    Progress,
    RunInfo,
    UndoSummary,
)
from ..roles import Action
from .context import Context


class Imports:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = context.db

    def preview(self, path: Path, options: ImportOptions) -> FilePreview:
        """The file's headers and the mapping a run would use, before anything runs."""
        self.context.require(Action.IMPORT)
        return importer.inspect_file(path, options.checked())

    def scan_dates(self, path: Path, options: ImportOptions) -> dict[str, str]:
        """Each mapped date column's order, or whether it must be declared (reads the file)."""
        self.context.require(Action.IMPORT)
        return importer.scan_dates(path, options.checked())

    def run(
        self,
        path: Path,
        options: ImportOptions,
        *,
        dry_run: bool = False,
        report_path: Path | None = None,
        progress: Progress | None = None,
        resume_run_id: int | None = None,
    ) -> ImportSummary:
        """Import a file as an undoable run (or, `dry_run`, say what it would do)."""
        self.context.require(Action.IMPORT)
        return importer.run_import(
            self.db,
            path,
            options,
            actor=self.context.actor,
            dry_run=dry_run,
            report_path=report_path,
            progress=progress,
            resume_run_id=resume_run_id,
        )

    def undo(self, run_id: int, progress: Progress | None = None) -> UndoSummary:
        """Remove what a run created and restore what it updated, unless changed since."""
        self.context.require(Action.IMPORT)
        return importer.undo_run(self.db, run_id, actor=self.context.actor, progress=progress)

    def runs(self, limit: int = 100) -> list[RunInfo]:
        self.context.require(Action.IMPORT)
        return importer.list_runs(self.db, limit)

    def interrupted(self) -> list[RunInfo]:
        """Mark runs cut short as `interrupted` (audited) and return them, to resume or undo."""
        self.context.require(Action.IMPORT)
        return importer.mark_interrupted(self.db, actor=self.context.actor)

    def undos_cut_short(self) -> list[RunInfo]:
        """Runs whose undo began and did not finish: undoing them again finishes it."""
        self.context.require(Action.IMPORT)
        return importer.undos_cut_short(self.db)

    def save_mapping(self, name: str, mapping: Mapping[str, str]) -> None:
        self.context.require(Action.IMPORT)
        importer.save_mapping(self.db, name, mapping, actor=self.context.actor)

    def load_mapping(self, name: str) -> dict[str, str]:
        self.context.require(Action.IMPORT)
        return importer.load_mapping(self.db, name)

    def mappings(self) -> list[tuple[str, str, str]]:
        """(name, saved by, saved at) of every saved mapping."""
        self.context.require(Action.IMPORT)
        return importer.list_mappings(self.db)
