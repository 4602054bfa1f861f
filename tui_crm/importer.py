"""Import customers from a CSV or XLSX file as a recorded, undoable run.

A run goes: check the file and read it once through (SHA-256, row count, each date
column's one order, every decoding or size problem found before anything is written);
then rows in batches — mapped and validated with the form's rules (in worker processes
for big files), matched to the customer their code names (an export of ours coming back)
or else against existing customers by the blind indexes of phone, email and ID number and
by credit code, and against earlier rows of the same file — and each
batch written in one transaction through `bulk` with its row records, audit entries and
the run's counters. A kill leaves whole batches only; the run then reads `interrupted`
and can be resumed or undone.

A dry run walks the same path and decides the same way, but writes nothing: what the
run would create, update, skip or reject is exactly what it then does (unless someone
changes the same customers in between). Earlier rows of the file are remembered in a
scratch database of blind indexes and, for the update strategy, field values encrypted
under a key that lives only in memory, so a million rows do not need a million Python
objects and nothing readable is left behind if the process dies.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import phonenumbers
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import audit, bulk
from . import validation as v
from .crypto import BLIND_INDEXED
from .db import Database
from .i18n import _, is_chinese, pgettext
from .i18n.formats import format_number
from .import_mapping import (
    DATE_FIELDS,
    CleanRow,
    ColumnMapping,
    DateOrderDetector,
    RowPlan,
    check_saved,
    clean_rows,
    date_order,
    header_test,
    import_field_label,
    missing_for_create,
    refuse_twin_headers,
    rejection_reasons,
    suggest_mapping,
)
from .labels import label as code_label
from .tabular import (
    ImportFileError,
    TableSource,
    file_sha256,
    is_text_formula,
    iter_rows,
    neutralise,
    open_table,
    refuse_error_cells,
    restore,
    shown,
    shown_text,
)

# Rows per transaction. 2,500 costs no more CPU than 5,000 did (18.8-19.5 s for 100k rows
# either way) and a 1M-row import peaks ~27 MB lower: fewer rows in flight to and from
# the cleaning worker.
BATCH_ROWS = 2500
SHOWN_ROWS = 20
PARALLEL_FROM_ROWS = 20_000
STALE_AFTER = dt.timedelta(minutes=10)
# The B-tree pages an import touches most (index roots and inner pages); into 1M customers
# 16 MB imports as fast as 64 MB did (3,835 and 3,761 rows/s) and the process peaks ~50 MB lower.
IMPORT_CACHE_KIB = 16 * 1024
# Each batch rewrites pages all over a big database's indexes; checkpointed after every
# commit, each of them went to the database file once a batch. With the write-ahead log
# left to grow to ~400 MB, a page several batches touch is copied back once.
IMPORT_CHECKPOINT_PAGES = 100_000
REPORT_EXTRA_COLUMNS = ("line", "error_fields", "errors")

__all__ = [
    "ImportFileError",
    "ImportOptions",
    "ImportProgress",
    "ImportRunError",
    "ImportSummary",
    "LegalBasis",
    "RunInfo",
    "Strategy",
    "UndoSummary",
    "inspect_file",
    "list_mappings",
    "list_runs",
    "load_mapping",
    "mark_interrupted",
    "provenance",
    "review_rows",
    "run_import",
    "save_mapping",
    "scan_dates",
    "undo_run",
]


class ImportRunError(Exception):
    """A run that cannot be started, resumed or undone as asked; one line to show."""


class Strategy(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


class LegalBasis(StrEnum):
    """PIPL art. 13: the grounds on which the imported personal data was collected."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    PUBLIC_INTEREST = "public_interest"
    PUBLICLY_AVAILABLE = "publicly_available"
    OTHER_LAW = "other_law"


LEGAL_BASIS_LABELS = {
    LegalBasis.CONSENT: ("取得个人同意", "the person's consent"),
    LegalBasis.CONTRACT: ("订立、履行合同所必需", "needed for a contract with the person"),
    LegalBasis.LEGAL_OBLIGATION: ("履行法定职责或义务", "a legal duty or obligation"),
    LegalBasis.PUBLIC_INTEREST: ("公共卫生或新闻报道等公共利益", "public health or news reporting"),
    LegalBasis.PUBLICLY_AVAILABLE: ("已合法公开的信息", "information already lawfully public"),
    LegalBasis.OTHER_LAW: ("法律、行政法规规定的其他情形", "another ground set by law"),
}


def legal_basis_label(basis: str) -> str:
    """A legal basis as the operator reads it: the law's own words in Chinese."""
    zh, en = LEGAL_BASIS_LABELS.get(basis, (basis, basis))  # type: ignore[call-overload]
    return zh if is_chinese() else en


@dataclass(frozen=True)
class ImportOptions:
    """How to read, map and apply a file. `mapping` overrides the suggested one:
    `{header or "#N": field or ""}` ("" ignores the column)."""

    legal_basis: str
    source: str = ""
    strategy: str = Strategy.SKIP
    mapping: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    date_format: str | None = None
    phone_region: str = "CN"
    default_type: str | None = None
    default_kind: str = v.CustomerKind.COMPANY
    default_owner_id: int | None = None
    batch_rows: int = BATCH_ROWS
    workers: int | None = None

    def checked(self) -> ImportOptions:
        problems = []
        for name, value, allowed in (
            ("legal basis", self.legal_basis, LegalBasis),
            ("strategy", self.strategy, Strategy),
            ("default kind", self.default_kind, v.CustomerKind),
        ):
            if value not in set(allowed):
                problems.append(
                    _("{name} must be one of: {allowed}").format(
                        name=name, allowed=", ".join(allowed)
                    )
                )
        if self.default_type and self.default_type not in set(v.CustomerType):
            problems.append(
                _("default type must be one of: {allowed}").format(
                    allowed=", ".join(v.CustomerType)
                )
            )
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(
                _("phone region {region}: write a country code such as CN, GB or US").format(
                    region=repr(v.clean_text(self.phone_region))
                )
            )
        if len(v.clean_text(self.source)) > 200:
            problems.append(_("source is longer than 200 characters"))
        if problems:
            raise ImportFileError("; ".join(problems))
        return self


@dataclass(frozen=True)
class ImportProgress:
    rows_done: int
    total_rows: int | None
    rows_per_second: float
    eta_seconds: float | None

    def described(self) -> tuple[float, str]:
        """(fraction done, "1,200 of 5,000 rows · 3,100 rows/s · 2 s left"): the same words
        under the screen's bar and the command line's."""
        total = self.total_rows or 0
        fraction = min(self.rows_done / total, 1.0) if total else 0.0
        text = _("{done} of {total} rows · {rate} rows/s").format(
            done=format_number(self.rows_done),
            total=format_number(total) if total else "?",
            rate=format_number(round(self.rows_per_second)),
        )
        if self.eta_seconds is not None and self.rows_done < total:
            left = _("{seconds} s left").format(seconds=format_number(round(self.eta_seconds)))
            text = f"{text} · {left}"
        return fraction, text


@dataclass
class ImportSummary:
    """What a run did, or (dry run) would do; `rejected_rows` etc. hold the first few."""

    dry_run: bool
    file_name: str
    sha256: str
    rows: int
    run_id: int | None = None
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    review: int = 0
    rejected_rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    review_rows: list[tuple[int, str]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    report_path: str = ""
    seconds: float = 0.0
    header_line: int = 1
    title_rows: int = 0  # rows above the header row, skipped as a report's title

    def counts(self) -> list[tuple[str, int]]:
        """Each count with its label, as the screen and the command line show them."""
        if self.dry_run:
            created = pgettext("import count", "would create")
            updated = pgettext("import count", "would update")
        else:
            created = pgettext("import count", "created")
            updated = pgettext("import count", "updated")
        return [
            (created, self.created),
            (updated, self.updated),
            (pgettext("import count", "skipped (already there)"), self.skipped),
            (pgettext("import count", "rejected"), self.rejected),
            (pgettext("import count", "to review (same name)"), self.review),
        ]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunInfo:
    id: int
    actor: str
    started_at: str
    finished_at: str | None
    file_name: str
    file_sha256: str
    source: str
    legal_basis: str
    status: str
    total_rows: int | None
    last_line: int
    created: int
    updated: int
    skipped: int
    rejected: int
    review: int
    report_path: str
    mapping: dict[str, str]
    options: dict[str, Any]
    undone_at: str | None
    undone_by: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunInfo:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        return cls(**values | {"mapping": json.loads(row["mapping"]),
                               "options": json.loads(row["options"])})  # fmt: skip


@dataclass
class UndoSummary:
    run_id: int
    deleted: int = 0
    restored: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class FilePreview:
    """A file's shape and suggested mapping, before anything runs (the screen's first step)."""

    source: TableSource
    mapping: ColumnMapping


Progress = Callable[[ImportProgress], None]


# --- saved mappings ----------------------------------------------------------------------


def save_mapping(db: Database, name: str, mapping: Mapping[str, str], *, actor: str) -> None:
    """Save (or replace) a column mapping under a name everyone can reuse; audited."""
    name = v.clean_text(name)
    if not name or len(name) > 100:
        raise ImportFileError(_("a mapping needs a name of 1 to 100 characters"))
    text = json.dumps(dict(mapping), ensure_ascii=False, sort_keys=True)
    check_saved(mapping)
    with db.write() as tx:
        tx.execute(
            "INSERT INTO import_mappings(name, mapping, saved_by, saved_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET mapping=excluded.mapping,"
            " saved_by=excluded.saved_by, saved_at=excluded.saved_at",
            (name, text, actor, v.now()),
        )
        audit.append(
            tx,
            db.keys,
            at=v.now(),
            actor=actor,
            action="import.mapping.save",
            details={"name": name, "mapping": dict(mapping)},
        )


def load_mapping(db: Database, name: str) -> dict[str, str]:
    row = db.conn.execute("SELECT mapping FROM import_mappings WHERE name=?", (name,)).fetchone()
    if row is None:
        raise ImportFileError(_("no saved mapping named {name}").format(name=repr(name)))
    return dict(json.loads(row[0]))


def list_mappings(db: Database) -> list[tuple[str, str, str]]:
    """(name, saved by, saved at) of every saved mapping."""
    rows = db.conn.execute(
        "SELECT name, saved_by, saved_at FROM import_mappings ORDER BY name"
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


# --- runs: listing and interruption ------------------------------------------------------


def list_runs(db: Database, limit: int = 100) -> list[RunInfo]:
    rows = db.conn.execute("SELECT * FROM import_runs ORDER BY id DESC LIMIT ?", (limit,))
    return [RunInfo.from_row(r) for r in rows.fetchall()]


def get_run(db: Database, run_id: int) -> RunInfo:
    row = db.conn.execute("SELECT * FROM import_runs WHERE id=?", (run_id,)).fetchone()
    if row is None:
        raise ImportRunError(_("no import run {id}").format(id=run_id))
    return RunInfo.from_row(row)


def mark_interrupted(db: Database, *, actor: str) -> list[RunInfo]:
    """Runs cut short (killed, crashed, Ctrl+C) are marked `interrupted`, audited, returned.

    A run is still going while its process lives and it wrote a batch within the last
    ten minutes; any other `running` run was interrupted. Call on start-up.
    """
    found = []
    with db.write() as tx:
        for row in tx.execute("SELECT * FROM import_runs WHERE status='running'").fetchall():
            if _working(row):
                continue
            details = {"last_line": row["last_line"]}
            _run_event(tx, db.keys, row["id"], actor, "import.interrupted", details,
                       status="interrupted")  # fmt: skip
            found.append(row["id"])
    return [get_run(db, run_id) for run_id in found]


@dataclass(frozen=True)
class Provenance:
    """Where an imported customer came from, for the detail view (PIPL art. 13)."""

    run_id: int
    file_name: str
    source: str
    legal_basis: str
    imported_at: str
    imported_by: str

    def described(self) -> str:
        """Where the data came from and on what grounds, in one line."""
        text = _("run {run}, {date}, {basis}").format(
            run=self.run_id, date=self.imported_at[:10], basis=legal_basis_label(self.legal_basis)
        )
        return f"{text} · {self.source}" if self.source else text


def provenance(conn: sqlite3.Connection, customer_id: int) -> Provenance | None:
    """The import run that created a customer, or None for one entered by hand."""
    row = conn.execute(
        "SELECT r.id, r.file_name, r.source, r.legal_basis, r.started_at, r.actor"
        " FROM customers c JOIN import_runs r ON r.id = c.import_run_id WHERE c.id=?",
        (customer_id,),
    ).fetchone()
    return Provenance(*row) if row else None


def review_rows(db: Database, run_id: int) -> list[tuple[int, str, str]]:
    """(line, customer code, why) for every customer of a run that only shares a name with
    another customer: imported, but for a person to look at (never merged automatically)."""
    rows = db.conn.execute(
        "SELECT r.line, c.code, r.review FROM import_rows r JOIN customers c"
        " ON c.id = r.customer_id WHERE r.run_id=? AND r.review <> '' ORDER BY r.line",
        (run_id,),
    ).fetchall()
    return [(r[0], r[1], review_reason(r[2])) for r in rows]


# Stored in import_rows.review as written here, language-neutral like an audit detail (and
# as runs imported before kept it); `review_reason` words it in the operator's language.
SAME_NAME_AS = "same name as "
SAME_NAME_AS_LINE = "same name as line "


def review_reason(stored: str) -> str:
    """Why an imported row is listed for review, from its stored neutral note."""
    line = stored.removeprefix(SAME_NAME_AS_LINE)
    if line != stored and line.isdigit():
        return _("same name as line {line}").format(line=int(line))
    if stored.startswith(SAME_NAME_AS):
        return _("same name as {code}").format(code=stored.removeprefix(SAME_NAME_AS))
    return stored


# --- reading a file once through ---------------------------------------------------------


def inspect_file(path: Path, options: ImportOptions) -> FilePreview:
    """The file's headers and the mapping a run would use, with unknown columns listed;
    a file with nothing under its header is refused here already."""
    source = _open(path, options)
    if not any(line > source.header_line for line, _cells in iter_rows(source)):
        raise ImportFileError(
            _("{file}: only a header row, no customers").format(file=shown(Path(path).name))
        )
    return FilePreview(source, suggest_mapping(source.headers, options.mapping))


# What `scan_dates` says of a date column: its dates read in one order, or the order must
# be declared (every date reads both day-first and month-first, or the column mixes them).
DATES_AMBIGUOUS = "ambiguous"
DATES_MIXED = "mixed"


def scan_dates(path: Path, options: ImportOptions) -> dict[str, str]:
    """Each column the mapping feeds a date with, by its header: the order its dates read
    in (`ymd`, `dmy`, `mdy`), "" without a date, or `DATES_AMBIGUOUS` / `DATES_MIXED` when a
    run would refuse it until a date format is declared. Reads the whole file once."""
    source = _open(path, options)
    mapping = suggest_mapping(source.headers, options.mapping)
    columns = {
        index: source.headers[index] or f"#{index + 1}"
        for index, name in enumerate(mapping.fields)
        if name in DATE_FIELDS
    }
    detectors = {index: DateOrderDetector(header) for index, header in columns.items()}
    mixed: set[int] = set()
    if detectors:
        for line, cells in iter_rows(source):
            if line <= source.header_line:
                continue
            for index, detector in detectors.items():
                if index < len(cells) and index not in mixed:
                    try:
                        detector.feed(_date_text(source, cells[index]))
                    except ImportFileError:
                        mixed.add(index)
    found = {}
    for index, header in columns.items():
        if index in mixed:
            found[header] = DATES_MIXED
            continue
        try:
            found[header] = detectors[index].order() or ""
        except ImportFileError:
            found[header] = DATES_AMBIGUOUS
    return found


def _date_text(source: TableSource, cell: str) -> str:
    """A date cell as `clean_row` will read it, so the order is found from the same text."""
    return v.clean_text(shown_text(cell) if source.kind == "csv" else cell)


def _open(path: Path, options: ImportOptions) -> TableSource:
    return open_table(
        path,
        encoding=options.encoding,
        delimiter=options.delimiter,
        sheet=options.sheet,
        header_test=header_test(options.mapping),
    )


@dataclass
class _Prepared:
    source: TableSource
    mapping: ColumnMapping
    plan: RowPlan
    sha256: str
    rows: int


def _prepare(db: Database, path: Path, options: ImportOptions) -> _Prepared:
    """Read the whole file once before writing: its hash, size, date orders, any problem."""
    options.checked()
    source = _open(path, options)
    mapping = suggest_mapping(source.headers, options.mapping)
    refuse_twin_headers(mapping, options.mapping)
    refuse_error_cells(source, [i for i, name in enumerate(mapping.fields) if name])
    mapped = set(mapping.fields)
    if "name" not in mapped:
        raise ImportFileError(
            _("{file}: no column is mapped to the customer name; columns: {columns}").format(
                file=shown(path.name), columns=", ".join(h or "#?" for h in source.headers)
            )
        )
    if not mapped & {"phone", "email"}:
        raise ImportFileError(
            _("{file}: no column is mapped to a phone or an email").format(file=shown(path.name))
        )
    if "customer_type" not in mapped and not options.default_type:
        raise ImportFileError(
            _("{file}: no column gives the customer type; map one or set a default type").format(
                file=shown(path.name)
            )
        )
    date_columns = [i for i, name in enumerate(mapping.fields) if name in DATE_FIELDS]
    declared = date_order(options.date_format) if options.date_format else None
    detectors = {
        index: DateOrderDetector(source.headers[index] or f"#{index + 1}")
        for index in ([] if declared else date_columns)
    }
    hasher = hashlib.sha256()
    rows = overflowing = 0
    width = len(source.headers)
    for line, cells in iter_rows(source, hasher if source.kind == "csv" else None):
        if line <= source.header_line:
            continue
        rows += 1
        overflowing += len(cells) > width and any(cell.strip() for cell in cells[width:])
        for index, detector in detectors.items():
            if index < len(cells):
                detector.feed(_date_text(source, cells[index]))
    if rows == 0:
        raise ImportFileError(
            _("{file}: only a header row, no customers").format(file=shown(path.name))
        )
    orders = {
        str(mapping.fields[index]): declared or detectors[index].order() for index in date_columns
    }
    owners: dict[str, int] = {}
    for row in db.conn.execute("SELECT id, username, display_name FROM users WHERE active=1"):
        if row["display_name"]:
            owners.setdefault(row["display_name"].casefold(), row["id"])
        owners[row["username"].casefold()] = row["id"]
    plan = RowPlan(
        fields=mapping.fields,
        headers=mapping.headers,
        date_orders=orders,
        phone_region=options.phone_region,
        default_type=options.default_type,
        default_kind=options.default_kind,
        owners=owners,
        default_owner_id=options.default_owner_id,
        escaped=source.kind == "csv",
        # Some rows (not all: that is a column without a header) run past the header: a
        # comma in an unquoted value shifted them, and their last values would be lost.
        width=width if 0 < overflowing < rows else None,
    )
    sha = hasher.hexdigest() if source.kind == "csv" else file_sha256(path)
    return _Prepared(source, mapping, plan, sha, rows)


def _batches(
    prepared: _Prepared, batch_rows: int, after_line: int
) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for line, cells in iter_rows(prepared.source):
        if line <= max(prepared.source.header_line, after_line):
            continue
        batch.append((line, cells))
        if len(batch) >= batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


def _cleaned(
    prepared: _Prepared, options: ImportOptions, after_line: int
) -> Iterator[list[CleanRow]]:
    """Batches of cleaned rows, in file order; big files are cleaned by worker processes."""
    batches = _batches(prepared, options.batch_rows, after_line)
    workers = options.workers
    if workers is None:
        # One worker keeps up: validating a row costs about half of what deciding and
        # writing it costs here, and each worker holds its own ~65 MB of interpreter.
        workers = 1 if prepared.rows >= PARALLEL_FROM_ROWS and (os.cpu_count() or 1) > 1 else 0
    if workers <= 0 or not _has_real_stderr():
        for batch in batches:
            yield clean_rows(prepared.plan, batch)
        return
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=bulk.end_with, initargs=(os.getpid(),)
    ) as pool:
        pending: list[tuple[Any, list[tuple[int, list[str]]]]] = []
        for batch in batches:
            pending.append((pool.submit(_clean_remotely, prepared.plan, batch), batch))
            if len(pending) > workers:
                yield _with_cells(*pending.pop(0))
        for future, batch in pending:
            yield _with_cells(future, batch)


def _has_real_stderr() -> bool:
    """Worker processes start multiprocessing's resource tracker, which is handed stderr's
    file descriptor. Inside the app Textual captures stderr (no descriptor): clean inline."""
    try:
        return sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _clean_remotely(plan: RowPlan, batch: Sequence[tuple[int, list[str]]]) -> list[CleanRow]:
    """Clean rows in a worker, with the search text of each row that may be created (the
    pinyin costs the writing process more than anything else it does); the cells stay
    behind (the parent still has them)."""
    with bulk.young_collections_only() as collect:
        rows = clean_rows(plan, batch)
        for row in rows:
            row.cells = []
            if not row.errors and row.values.get("name"):
                row.search_text = bulk.search_text_of(row.values)
        collect()
    return rows


def _with_cells(future: Any, batch: Sequence[tuple[int, list[str]]]) -> list[CleanRow]:
    rows: list[CleanRow] = future.result()
    for row, (_line, cells) in zip(rows, batch, strict=True):
        row.cells = cells
    return rows


# --- remembering earlier rows ------------------------------------------------------------


SCRATCH_PREFIX = "tui-crm-import-"


def _sweep_scratch() -> None:
    """Remove the scratch folders of imports that were killed before they could (they hold
    the names and blind indexes of the rows they had read): this user's, of a process that
    is gone. Never through a symlink."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        try:
            info = folder.lstat()
        except OSError:
            continue
        mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
        if mine and pid.isdigit() and not bulk.alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


class _Scratch:
    """Blind indexes, names and (update strategy) encrypted values of the rows seen so far.

    A row's customer is `ref`: its id once written, or minus its line while a dry run (or
    the current batch) has it only planned.
    """

    def __init__(self) -> None:
        _sweep_scratch()
        self.dir = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self.conn = sqlite3.connect(os.path.join(self.dir, "scratch.db"), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.executescript(
            "CREATE TABLE keys (key BLOB PRIMARY KEY, ref INTEGER, line INTEGER) WITHOUT ROWID;"
            "CREATE TABLE names (name TEXT PRIMARY KEY, ref INTEGER, line INTEGER) WITHOUT ROWID;"
            "CREATE TABLE states (ref INTEGER PRIMARY KEY, blob BLOB);"
        )
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def close(self) -> None:
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def lookup(self, table: str, column: str, values: Sequence[Any]) -> dict[Any, tuple[int, int]]:
        found: dict[Any, tuple[int, int]] = {}
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {column}, ref, line FROM {table} WHERE {column} IN ({marks})", chunk
            ):
                found[row[0]] = (row[1], row[2])
        return found

    def remember(self, table: str, items: Mapping[Any, tuple[int, int]]) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(
            f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)",
            [(key, ref, line) for key, (ref, line) in items.items()],
        )
        self.conn.execute("COMMIT")

    def state(self, ref: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT blob FROM states WHERE ref=?", (ref,)).fetchone()
        if row is None:
            return None
        blob = row[0]
        return json.loads(self._aead.decrypt(blob[:12], blob[12:], str(ref).encode()))

    def keep_states(self, states: Mapping[int, dict[str, Any]]) -> None:
        rows = []
        for ref, state in states.items():
            nonce = os.urandom(12)
            text = json.dumps(state, ensure_ascii=False).encode()
            rows.append((ref, nonce + self._aead.encrypt(nonce, text, str(ref).encode())))
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT OR REPLACE INTO states VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")


# --- deciding what each row does ---------------------------------------------------------


@dataclass
class _Decision:
    row: CleanRow
    action: str  # "create" | "update" | "skip" | "reject"
    ref: int = 0
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    extra_contacts: list[tuple[str, str]] | None = None
    review: str = ""
    match_keys: list[tuple[str, Any]] = field(default_factory=list)


_KEY_COLUMNS = {
    "phone": "phone_bidx",
    "email": "email_bidx",
    "id_number": "id_number_bidx",
    "credit code": "credit_code",
}


def _key_label(key: str) -> str:
    """A match key's field as the operator reads it ("credit code" is `credit_code`)."""
    return import_field_label("credit_code" if key == "credit code" else key)


def _match_keys(keys: Any, values: Mapping[str, Any]) -> list[tuple[str, bytes | str]]:
    out: list[tuple[str, bytes | str]] = []
    for name in BLIND_INDEXED:
        if values.get(name):
            out.append((name, keys.blind_index(name, values[name]) or b""))
    if values.get("credit_code"):
        out.append(("credit code", "c:" + values["credit_code"]))
    return out


class _Planner:
    """Decides each row's fate the same way for a dry run and a real one."""

    def __init__(self, db: Database, options: ImportOptions, scratch: _Scratch) -> None:
        self.db = db
        self.keys = db.keys
        self.strategy = Strategy(options.strategy)
        self.phone_region = options.phone_region
        self.scratch = scratch
        self.batch_states: dict[int, dict[str, Any]] = {}
        self.remembered: tuple[dict[Any, tuple[int, int]], dict[str, tuple[int, int]]] = ({}, {})

    def decide(self, conn: sqlite3.Connection, rows: Sequence[CleanRow]) -> list[_Decision]:
        candidates = [row for row in rows if not row.errors]
        row_keys = {row.line: _match_keys(self.keys, row.values) for row in candidates}
        all_keys = list({key for keys in row_keys.values() for _kind, key in keys})
        seen_keys = self.scratch.lookup("keys", "key", all_keys)
        existing = self._existing(conn, row_keys)
        names = list({row.values["name"] for row in candidates if row.values.get("name")})
        seen_names = self.scratch.lookup("names", "name", names)
        existing_names = self._existing_names(conn, names)
        codes = _customers_by_code(conn, {row.code for row in candidates if row.code})
        batch_keys: dict[Any, tuple[int, int]] = {}
        batch_names: dict[str, tuple[int, int]] = {}
        self.batch_states = {}
        decisions = []
        for row in rows:
            if row.errors:
                decisions.append(_Decision(row, "reject", errors=row.errors))
                continue
            if row.code:
                decision = self._decide_by_code(conn, row, codes.get(row.code))
            else:
                decision = self._decide_row(
                    conn, row, row_keys[row.line], seen_keys, batch_keys, existing
                )
            decision.match_keys = row_keys[row.line]
            decisions.append(decision)
            if decision.action in ("create", "update"):
                for _kind, key in row_keys[row.line]:
                    batch_keys[key] = (decision.ref, row.line)
                self._note_name(decision, seen_names, batch_names, existing_names)
        self.remembered = (batch_keys, batch_names)
        return decisions

    def remember(self, refs: Mapping[int, int]) -> None:
        """Keep the batch's keys, names and states, planned refs replaced by written ids."""
        batch_keys, batch_names = self.remembered
        self.scratch.remember(
            "keys", {k: (refs.get(ref, ref), line) for k, (ref, line) in batch_keys.items()}
        )
        self.scratch.remember(
            "names", {k: (refs.get(ref, ref), line) for k, (ref, line) in batch_names.items()}
        )
        if self.strategy is Strategy.UPDATE:
            self.scratch.keep_states(
                {refs.get(ref, ref): state for ref, state in self.batch_states.items()}
            )

    def _existing(
        self, conn: sqlite3.Connection, row_keys: Mapping[int, list[tuple[str, Any]]]
    ) -> dict[Any, list[Any]]:
        """Existing customers by each key, each kind looked up in its own index only."""
        by_kind: dict[str, set[Any]] = {}
        for keys in row_keys.values():
            for label, key in keys:
                by_kind.setdefault(label, set()).add(key)
        found: dict[Any, list[Any]] = {}
        for label, wanted in by_kind.items():
            column = _KEY_COLUMNS[label]
            values = [key[2:] if label == "credit code" else key for key in wanted]
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT {column}, id, code FROM customers WHERE {column} IN ({marks})", chunk
                ):
                    key = "c:" + row[0] if label == "credit code" else row[0]
                    found.setdefault(key, []).append((row[1], row[2]))
        return found

    def _existing_names(self, conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, str]:
        """The code of the oldest customer of each name. The first query reads the name
        index only; customer rows are read for the one code per name. (Asking for the code
        of every match read a row of a 3 GB table for each of the dozens of customers a
        common person's name has: a fifth of an import into a million customers.)"""
        first_ids: dict[str, int] = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT name, MIN(id) FROM customers WHERE name IN ({marks}) GROUP BY name", chunk
            ):
                first_ids[row[0]] = row[1]
        names_by_id = {customer_id: name for name, customer_id in first_ids.items()}
        found: dict[str, str] = {}
        ids = list(names_by_id)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT id, code FROM customers WHERE id IN ({marks})", chunk):
                found[names_by_id[row[0]]] = row[1]
        return found

    def _decide_row(
        self,
        conn: sqlite3.Connection,
        row: CleanRow,
        keys: list[tuple[str, Any]],
        seen_keys: Mapping[Any, tuple[int, int]],
        batch_keys: Mapping[Any, tuple[int, int]],
        existing: Mapping[Any, list[Any]],
    ) -> _Decision:
        targets: dict[int, list[str]] = {}
        labels: dict[int, str] = {}
        for label, key in keys:
            earlier = batch_keys.get(key) or seen_keys.get(key)
            if earlier:
                ref, line = earlier
                targets.setdefault(ref, []).append(_key_label(label))
                labels[ref] = _("line {line}").format(line=line)
                continue
            for customer_id, code in existing.get(key, []):
                targets.setdefault(customer_id, []).append(_key_label(label))
                labels.setdefault(customer_id, code)
        if not targets or self.strategy is Strategy.CREATE:
            missing = missing_for_create(row)
            if missing:
                return _Decision(row, "reject", errors=missing)
            if self.strategy is Strategy.UPDATE:
                self.batch_states[-row.line] = _state_of(row.values, row.extra_contacts)
            return _Decision(row, "create", ref=-row.line)
        matched = "; ".join(
            _("{match} by {fields}").format(
                match=labels[ref], fields=", ".join(dict.fromkeys(fields))
            )
            for ref, fields in targets.items()
        )
        if len(targets) > 1:
            return _Decision(
                row,
                "skip",
                reason=_("matches several customers ({matched})").format(matched=matched),
            )
        ref = next(iter(targets))
        if self.strategy is Strategy.SKIP:
            return _Decision(
                row, "skip", ref=ref, reason=_("duplicate of {matched}").format(matched=matched)
            )
        return self._update(conn, row, ref, labels[ref])

    def _decide_by_code(
        self, conn: sqlite3.Connection, row: CleanRow, found: tuple[int, str] | None
    ) -> _Decision:
        """A row naming a customer code is that customer (an export of ours coming back),
        whatever else it shares with others; it never creates one. A code that names no
        customer here (another database's, or one erased since) is rejected, not created:
        a file's codes must not bring back a customer that was deleted."""
        if found is None:
            reason = _(
                "{code} is not a customer code of this database; to import the row as a new"
                " customer, ignore the code column"
            ).format(code=row.code)
            return _Decision(row, "reject", errors={"code": reason})
        customer_id, code = found
        if self.strategy is Strategy.UPDATE:
            return self._update(conn, row, customer_id, code)
        return _Decision(
            row, "skip", ref=customer_id, reason=_("duplicate of {code} by code").format(code=code)
        )

    def _update(self, conn: sqlite3.Connection, row: CleanRow, ref: int, label: str) -> _Decision:
        state = self.batch_states.get(ref) or self.scratch.state(ref) or self._stored(conn, ref)
        values = dict(state["values"])
        given = {name: row.values[name] for name in row.given if name in bulk.CUSTOMER_FIELDS}
        merged = {**values, **given}
        try:
            merged = v.validate_customer(merged, phone_region=self.phone_region)
        except v.FormErrors as exc:
            errors = {
                name: _("{message} (as an update of {label})").format(message=message, label=label)
                for name, message in exc.errors.items()
            }
            return _Decision(row, "reject", errors=errors)
        changes = {name: merged[name] for name in given if merged[name] != values.get(name, "")}
        extras = [tuple(pair) for pair in state["extra_contacts"]]
        new_extras = [pair for pair in row.extra_contacts if pair not in extras]
        if not changes and not new_extras:
            return _Decision(
                row, "skip", ref=ref, reason=_("no changes to {label}").format(label=label)
            )
        all_extras = [*extras, *new_extras]
        self.batch_states[ref] = _state_of({**values, **changes}, all_extras)
        return _Decision(
            row,
            "update",
            ref=ref,
            changes=changes,
            extra_contacts=all_extras if new_extras else None,
            reason=_("updates {label}").format(label=label),
        )

    def _stored(self, conn: sqlite3.Connection, customer_id: int) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
        return _state_of(
            bulk.plain_values(self.keys, row), bulk.decrypt_extra_contacts(self.keys, row)
        )

    def _note_name(
        self,
        decision: _Decision,
        seen_names: Mapping[str, tuple[int, int]],
        batch_names: dict[str, tuple[int, int]],
        existing_names: Mapping[str, str],
    ) -> None:
        """A new customer sharing only its name with another is listed for review."""
        name = decision.row.values.get("name")
        if not name:
            return
        if decision.action == "create":
            earlier = batch_names.get(name) or seen_names.get(name)
            if name in existing_names:
                decision.review = SAME_NAME_AS + existing_names[name]
            elif earlier:
                decision.review = SAME_NAME_AS_LINE + str(earlier[1])
        batch_names.setdefault(name, (decision.ref, decision.row.line))


def _customers_by_code(conn: sqlite3.Connection, codes: set[str]) -> dict[str, tuple[int, str]]:
    """(id, current code) of the customer each code names: its own or a merged-away one."""
    found: dict[str, tuple[int, str]] = {}
    wanted = list(codes)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for code, customer_id, current in conn.execute(
            f"SELECT code, id, code FROM customers WHERE code IN ({marks}) UNION ALL"
            f" SELECT a.code, c.id, c.code FROM customer_aliases a JOIN customers c"
            f" ON c.id = a.customer_id WHERE a.code IN ({marks})",
            chunk + chunk,
        ):
            found[code] = (customer_id, current)
    return found


def _state_of(values: Mapping[str, Any], extras: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "values": {name: values.get(name, "") or "" for name in bulk.CUSTOMER_FIELDS},
        "extra_contacts": [list(pair) for pair in extras],
    }


# --- running ------------------------------------------------------------------------------


def _report_cell(cell: str) -> str:
    """A cell as the report holds it: never a live formula when Excel opens the report
    (an XLSX text cell `=HYPERLINK(...)` would become one in CSV) but a `="00123"` that
    only keeps text text, read back as it was."""
    return cell if is_text_formula(cell) else neutralise(restore(cell))


class _Report:
    """The rejected rows as they were in the file, with line and reasons; 0600, never
    through a symlink, UTF-8 with BOM so Excel opens it. It holds the file's own values."""

    def __init__(self, path: Path, headers: Sequence[str], resume_at: int | None) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_NOFOLLOW
        if resume_at is None:
            flags |= os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise ImportFileError(
                _("report {path} already exists; choose another path").format(path=shown(path))
            ) from None
        except OSError as exc:
            raise ImportFileError(
                _("report {path} cannot be written ({reason})").format(
                    path=shown(path), reason=exc.strerror
                )
            ) from None
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        if resume_at is None:
            self.handle.write("\ufeff")
            csv.writer(self.handle).writerow([*REPORT_EXTRA_COLUMNS, *map(_report_cell, headers)])
        else:
            self.handle.truncate(resume_at)
            self.handle.seek(resume_at)
        self.writer = csv.writer(self.handle)

    def write(self, row: CleanRow, errors: Mapping[str, str]) -> None:
        self.writer.writerow(
            [row.line, ", ".join(errors), rejection_reasons(errors), *map(_report_cell, row.cells)]
        )

    def flush(self) -> int:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        return self.handle.tell()

    def close(self) -> None:
        self.handle.close()


def run_import(
    db: Database,
    path: Path,
    options: ImportOptions,
    *,
    actor: str,
    dry_run: bool = False,
    report_path: Path | None = None,
    progress: Progress | None = None,
    resume_run_id: int | None = None,
) -> ImportSummary:
    """Import a file (or, `dry_run`, say exactly what importing it would do, writing nothing
    to the database). Raises `ImportFileError` before any write for a file, mapping or
    option that cannot be imported. `resume_run_id` finishes an interrupted run of the
    same file, with the options it was started with."""
    started = time.perf_counter()
    path = Path(path)
    resume = _resumable(db, resume_run_id, path, actor) if resume_run_id else None
    if resume:
        options = _stored_options(resume)
        report_path = Path(resume.report_path) if resume.report_path else None
    prepared = _prepare(db, path, options)
    if resume and prepared.sha256 != resume.file_sha256:
        raise ImportRunError(
            _("{file} is not the file run {id} was importing").format(file=path.name, id=resume.id)
        )
    summary = ImportSummary(
        dry_run=dry_run,
        file_name=path.name,
        sha256=prepared.sha256,
        rows=prepared.rows,
        mapping=prepared.mapping.as_saved(),
        unknown_columns=list(prepared.mapping.unknown),
        report_path=str(report_path or ""),
        header_line=prepared.source.header_line,
        title_rows=prepared.source.title_rows,
    )
    report = None
    if report_path:  # before the run starts: a report that cannot be written starts none
        report = _Report(report_path, prepared.source.headers, _resume_offset(db, resume))
    run_id = None
    if not dry_run:
        run_id = resume.id if resume else _start_run(db, path, prepared, options, actor, summary)
        summary.run_id = run_id
        if resume:
            _restart_run(db, resume, actor, summary)
    scratch = _Scratch()
    planner = _Planner(db, options, scratch)
    cache_size = db.conn.execute("PRAGMA cache_size").fetchone()[0]
    checkpoint_pages = db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    db.conn.execute(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}").close()
    db.conn.execute(f"PRAGMA wal_autocheckpoint={IMPORT_CHECKPOINT_PAGES}").close()
    done = summary.created + summary.updated + summary.skipped + summary.rejected
    writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import-writer")
    try:
        with bulk.young_collections_only() as collect:
            for rows in _cleaned(prepared, options, resume.last_line if resume else 0):
                if dry_run:
                    with db.read() as conn:
                        decisions = planner.decide(conn, rows)
                    planner.remember({})
                    _count(summary, decisions, report)
                else:
                    assert run_id is not None
                    _write_batch(db, planner, rows, run_id, actor, summary, report, writer)
                done += len(rows)
                collect()
                if progress:
                    progress(_progress(done, prepared.rows, started))
    except BaseException:
        if run_id is not None:
            # If even this fails (disk full), the run stays `running` with a dead process,
            # and `mark_interrupted` finds it on the next start.
            with contextlib.suppress(sqlite3.Error):
                _set_status(db, run_id, "interrupted", actor)
        raise
    finally:
        writer.shutdown()
        db.conn.execute(f"PRAGMA cache_size={int(cache_size)}").close()
        db.conn.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}").close()
        if run_id is not None:
            db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        scratch.close()
        if report:
            report.close()
    if run_id is not None:
        _finish_run(db, run_id, actor, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _progress(done: int, total: int, started: float) -> ImportProgress:
    elapsed = max(time.perf_counter() - started, 1e-6)
    rate = done / elapsed
    return ImportProgress(done, total, rate, (total - done) / rate if rate else None)


def _count(summary: ImportSummary, decisions: Sequence[_Decision], report: _Report | None) -> None:
    for decision in decisions:
        line = decision.row.line
        if decision.action == "reject":
            summary.rejected += 1
            if len(summary.rejected_rows) < SHOWN_ROWS:
                summary.rejected_rows.append((line, decision.errors))
            if report:
                report.write(decision.row, decision.errors)
        elif decision.action == "skip":
            summary.skipped += 1
            if len(summary.skipped_rows) < SHOWN_ROWS:
                summary.skipped_rows.append((line, decision.reason))
        elif decision.action == "create":
            summary.created += 1
        else:
            summary.updated += 1
        if decision.review:
            summary.review += 1
            if len(summary.review_rows) < SHOWN_ROWS:
                summary.review_rows.append((line, review_reason(decision.review)))


def _write_batch(
    db: Database,
    planner: _Planner,
    rows: Sequence[CleanRow],
    run_id: int,
    actor: str,
    summary: ImportSummary,
    report: _Report | None,
    writer: Executor | None = None,
) -> None:
    """Decide and write one batch in one transaction with its records, audit and counters."""
    at = v.now()
    before = (summary.created, summary.updated, summary.skipped, summary.rejected, summary.review)
    with db.write() as tx:
        decisions = planner.decide(tx, rows)
        refs = _apply(tx, db, decisions, run_id, actor, at, writer)
        _count(summary, decisions, report)
        report_bytes = report.flush() if report else 0
        after = (
            summary.created,
            summary.updated,
            summary.skipped,
            summary.rejected,
            summary.review,
        )
        delta = [a - b for a, b in zip(after, before, strict=True)]
        tx.execute(
            "UPDATE import_runs SET created=created+?, updated=updated+?, skipped=skipped+?,"
            " rejected=rejected+?, review=review+?, last_line=?, heartbeat_at=?,"
            " report_bytes=? WHERE id=?",
            (*delta, rows[-1].line, at, report_bytes, run_id),
        )
    planner.remember(refs)


def _apply(
    tx: sqlite3.Connection,
    db: Database,
    decisions: Sequence[_Decision],
    run_id: int,
    actor: str,
    at: str,
    writer: Executor | None = None,
) -> dict[int, int]:
    """Write a batch's creates and updates; returns planned refs mapped to written ids.

    An update of a customer planned earlier in the same batch is folded into its create.
    """
    creates: dict[int, bulk.NewCustomer] = {}
    reviews: dict[int, str] = {}
    lines: dict[int, list[int]] = {}
    updates: dict[int, dict[str, Any]] = {}
    update_extras: dict[int, list[tuple[str, str]]] = {}
    update_lines: dict[int, list[int]] = {}
    for d in decisions:
        row = d.row
        if d.action == "create":
            creates[d.ref] = bulk.NewCustomer(
                values=row.values,
                owner_id=row.owner_id,
                created_at=row.created_at or at,
                last_interaction_at=row.last_interaction_at,
                updated_at=at,
                import_run_id=run_id,
                extra_contacts=row.extra_contacts,
                audit_details={"import_run": run_id, "line": row.line},
                blind_indexes=_blind_indexes(d.match_keys),
                search_text=row.search_text,
            )
            reviews[d.ref] = d.review
            lines[d.ref] = [row.line]
        elif d.action == "update" and d.ref in creates:
            planned = creates[d.ref]
            planned.values = {**planned.values, **d.changes}
            planned.blind_indexes = None
            planned.search_text = None
            if d.extra_contacts is not None:
                planned.extra_contacts = d.extra_contacts
            lines[d.ref].append(row.line)
            planned.audit_details = {"import_run": run_id, "lines": lines[d.ref]}
        elif d.action == "update":
            updates.setdefault(d.ref, {}).update(d.changes)
            if d.extra_contacts is not None:
                update_extras[d.ref] = d.extra_contacts
            update_lines.setdefault(d.ref, []).append(row.line)
    refs: dict[int, int] = {}
    if creates:
        written = bulk.insert_customers(
            tx, db.keys, list(creates.values()), actor=actor, at=at, writer=writer
        )
        for ref, (customer_id, _code) in zip(creates, written, strict=True):
            refs[ref] = customer_id
        tx.executemany(
            "INSERT INTO import_rows(run_id, line, customer_id, action, version_after, review)"
            " VALUES (?, ?, ?, 'created', 1, ?)",
            [(run_id, lines[ref][0], refs[ref], reviews[ref]) for ref in creates],
        )
    if updates:
        _apply_updates(tx, db, run_id, actor, at, updates, update_extras, update_lines)
    return refs


def _blind_indexes(match_keys: Sequence[tuple[str, Any]]) -> dict[str, bytes | None]:
    """A new customer's blind indexes, as its row was matched by (each computed once)."""
    found = dict(match_keys)
    return {name: found.get(name) for name in BLIND_INDEXED}


def _apply_updates(
    tx: sqlite3.Connection,
    db: Database,
    run_id: int,
    actor: str,
    at: str,
    updates: Mapping[int, dict[str, Any]],
    extras: Mapping[int, list[tuple[str, str]]],
    lines: Mapping[int, list[int]],
) -> None:
    keys = db.keys
    rows = _rows_by_id(tx, list(updates))
    batch = []
    for customer_id, changes in updates.items():
        row = rows[customer_id]
        before = bulk.plain_values(keys, row)
        batch.append(
            bulk.CustomerUpdate(
                customer_id=customer_id,
                code=row["code"],
                version=row["version"],
                before=before,
                changes=changes,
                extra_contacts=extras.get(customer_id),
                audit_details={"import_run": run_id, "lines": lines[customer_id]},
            )
        )
    versions = bulk.update_customers(tx, keys, batch, actor=actor, at=at)
    for update, version in zip(batch, versions, strict=True):
        row = rows[update.customer_id]
        previous = {
            name: update.before.get(name, "")
            for name, value in update.changes.items()
            if value != update.before.get(name, "")
        }
        if update.extra_contacts is not None:
            previous["extra_contacts"] = bulk.decrypt_extra_contacts(keys, row)
        _record_update(tx, keys, run_id, lines[update.customer_id][0], row, version, previous)


def _rows_by_id(tx: sqlite3.Connection, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in tx.execute(f"SELECT * FROM customers WHERE id IN ({marks})", chunk):
            rows[row["id"]] = row
    return rows


def _record_update(
    tx: sqlite3.Connection,
    keys: Any,
    run_id: int,
    line: int,
    row: sqlite3.Row,
    version: int,
    previous: dict[str, Any],
) -> None:
    """One row record per customer and run: the first values the run replaced are kept, so
    an undo restores what was there before the run, however often the run touched it."""
    record = tx.execute(
        "SELECT id, action, previous_enc FROM import_rows WHERE customer_id=? AND run_id=?",
        (row["id"], run_id),
    ).fetchone()
    if record is None:
        record_id = tx.execute(
            "INSERT INTO import_rows(run_id, line, customer_id, action, version_after)"
            " VALUES (?, ?, ?, 'updated', ?)",
            (run_id, line, row["id"], version),
        ).lastrowid
        stored: dict[str, Any] = {}
    else:
        record_id = record["id"]
        text = keys.decrypt(record["previous_enc"], "import_rows", "previous_enc", record_id)
        stored = json.loads(text) if text else {}
    if record is None or record["action"] == "updated":
        merged = {**previous, **stored}
        blob = keys.encrypt(
            json.dumps(merged, ensure_ascii=False), "import_rows", "previous_enc", record_id
        )
    else:
        blob = None
    tx.execute(
        "UPDATE import_rows SET version_after=?, previous_enc=? WHERE id=?",
        (version, blob, record_id),
    )


# --- run bookkeeping ----------------------------------------------------------------------


def _start_run(
    db: Database,
    path: Path,
    prepared: _Prepared,
    options: ImportOptions,
    actor: str,
    summary: ImportSummary,
) -> int:
    at = v.now()
    stored_options = {
        k: val for k, val in asdict(options).items() if k not in ("mapping", "workers")
    }
    with db.write() as tx:
        run_id = tx.execute(
            "INSERT INTO import_runs(actor, started_at, heartbeat_at, pid, file_name,"
            " file_sha256, file_size, mapping, options, source, legal_basis, status,"
            " total_rows, report_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (
                actor,
                at,
                at,
                os.getpid(),
                path.name,
                prepared.sha256,
                path.stat().st_size,
                json.dumps(summary.mapping, ensure_ascii=False),
                json.dumps(stored_options, ensure_ascii=False),
                v.clean_text(options.source),
                options.legal_basis,
                prepared.rows,
                summary.report_path,
            ),
        ).lastrowid
        audit.append(
            tx,
            db.keys,
            at=at,
            actor=actor,
            action="import.start",
            entity="import_run",
            entity_id=run_id,
            details={
                "run": run_id,
                "file": path.name,
                "sha256": prepared.sha256,
                "rows": prepared.rows,
                "source": v.clean_text(options.source),
                "legal_basis": options.legal_basis,
                "strategy": options.strategy,
                "mapping": summary.mapping,
            },
        )
    return int(run_id or 0)


def _resumable(db: Database, run_id: int, path: Path, actor: str) -> RunInfo:
    run = get_run(db, run_id)
    if run.status == "running":
        mark_interrupted(db, actor=actor)
        run = get_run(db, run_id)
    if run.undone_by and not run.undone_at:
        raise ImportRunError(
            _("the undo of import run {id} was begun; undo it again to finish").format(id=run_id)
        )
    if run.status != "interrupted":
        raise ImportRunError(
            _("import run {id} is {status}; only a run cut short resumes").format(
                id=run_id, status=code_label("import_status", run.status)
            )
        )
    if run.file_name != path.name:
        raise ImportRunError(
            _("import run {id} was importing {file}, not {given}").format(
                id=run_id, file=run.file_name, given=path.name
            )
        )
    return run


def _stored_options(run: RunInfo) -> ImportOptions:
    return ImportOptions(**{**run.options, "mapping": run.mapping})


def _resume_offset(db: Database, run: RunInfo | None) -> int | None:
    if run is None:
        return None
    row = db.conn.execute("SELECT report_bytes FROM import_runs WHERE id=?", (run.id,)).fetchone()
    return int(row[0])


def _run_event(
    tx: sqlite3.Connection,
    keys: Any,
    run_id: int,
    actor: str,
    action: str,
    details: Mapping[str, Any],
    **columns: Any,
) -> None:
    """Change a run's row and log why, in the caller's transaction."""
    at = v.now()
    if columns:
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        tx.execute(
            f"UPDATE import_runs SET {assignments} WHERE id = :run_id",
            {**columns, "run_id": run_id},
        )
    audit.append(
        tx,
        keys,
        at=at,
        actor=actor,
        action=action,
        entity="import_run",
        entity_id=run_id,
        details={"run": run_id, **details},
    )


def _restart_run(db: Database, run: RunInfo, actor: str, summary: ImportSummary) -> None:
    summary.created, summary.updated, summary.skipped = run.created, run.updated, run.skipped
    summary.rejected, summary.review = run.rejected, run.review
    with db.write() as tx:
        details = {"from_line": run.last_line + 1}
        _run_event(tx, db.keys, run.id, actor, "import.resume", details,
                   status="running", pid=os.getpid(), heartbeat_at=v.now())  # fmt: skip


def _set_status(db: Database, run_id: int, status: str, actor: str) -> None:
    with db.write() as tx:
        _run_event(tx, db.keys, run_id, actor, f"import.{status}", {}, status=status)


def _finish_run(db: Database, run_id: int, actor: str, summary: ImportSummary) -> None:
    at = v.now()
    counts = {
        name: getattr(summary, name)
        for name in ("created", "updated", "skipped", "rejected", "review")
    }
    with db.write() as tx:
        _run_event(tx, db.keys, run_id, actor, "import.finish", counts,
                   status="done", finished_at=at, heartbeat_at=at)  # fmt: skip


# --- undo ---------------------------------------------------------------------------------


def undo_run(
    db: Database, run_id: int, *, actor: str, progress: Progress | None = None
) -> UndoSummary:
    """Remove the customers a run created and restore the fields it updated, except where
    someone changed the customer since (then it is kept and listed); audited."""
    run = get_run(db, run_id)
    if run.status == "running":
        mark_interrupted(db, actor=actor)
        run = get_run(db, run_id)
    if run.status == "running":
        raise ImportRunError(_("import run {id} is still running").format(id=run_id))
    if run.status == "undone":
        raise ImportRunError(_("import run {id} was already undone").format(id=run_id))
    _claim_undo(db, run_id, actor)
    started = time.perf_counter()
    summary = UndoSummary(run_id)
    total = db.conn.execute("SELECT COUNT(*) FROM import_rows WHERE run_id=?", (run_id,))
    total_rows = int(total.fetchone()[0])
    last_id = 2**62
    done = 0
    try:
        while True:
            with db.write() as tx:
                records = tx.execute(
                    "SELECT * FROM import_rows WHERE run_id=? AND id<? ORDER BY id DESC LIMIT ?",
                    (run_id, last_id, BATCH_ROWS),
                ).fetchall()
                if not records:
                    break
                _undo_records(tx, db, run_id, records, actor, summary)
                tx.execute("UPDATE import_runs SET heartbeat_at=? WHERE id=?", (v.now(), run_id))
                last_id = records[-1]["id"]
            done += len(records)
            if progress:
                progress(_progress(done, total_rows, started))
    except BaseException:
        # No longer undoing, though this process lives on: the undo reads as cut short.
        with contextlib.suppress(sqlite3.Error), db.write() as tx:
            tx.execute("UPDATE import_runs SET heartbeat_at='' WHERE id=?", (run_id,))
        raise
    kept = [code for code, _why in summary.kept]
    details = {"deleted": summary.deleted, "restored": summary.restored, "kept": kept}
    with db.write() as tx:
        _run_event(tx, db.keys, run_id, actor, "import.undo", details,
                   status="undone", undone_at=v.now(), undone_by=actor)  # fmt: skip
    return summary


def _claim_undo(db: Database, run_id: int, actor: str) -> None:
    """Mark the run as being undone by this process (audited), refusing while another
    process undoes it, so that an undo cut short is found afterwards (`undos_cut_short`)."""
    with db.write() as tx:
        row = tx.execute("SELECT * FROM import_runs WHERE id=?", (run_id,)).fetchone()
        if row["status"] == "undone":  # another undo finished meanwhile
            raise ImportRunError(_("import run {id} was already undone").format(id=run_id))
        if _undoing(row) and row["pid"] != os.getpid():
            raise ImportRunError(
                _("import run {id} is being undone by {who}").format(
                    id=run_id, who=row["undone_by"]
                )
            )
        _run_event(tx, db.keys, run_id, actor, "import.undo.start", {},
                   undone_by=actor, pid=os.getpid(), heartbeat_at=v.now())  # fmt: skip


def _undoing(row: sqlite3.Row) -> bool:
    """Whether a live process is undoing the run: it claimed it and wrote a batch lately."""
    return bool(row["undone_by"]) and not row["undone_at"] and _working(row)


def _working(row: sqlite3.Row) -> bool:
    """Whether the run's process lives and wrote a batch within `STALE_AFTER`."""
    stale = (dt.datetime.now() - STALE_AFTER).isoformat(timespec="seconds")
    return bulk.alive(row["pid"]) and row["heartbeat_at"] >= stale


def undos_cut_short(db: Database) -> list[RunInfo]:
    """Runs whose undo began but did not finish (killed, Ctrl+C): some of what they
    created is gone already; undoing them again finishes the undo."""
    rows = db.conn.execute(
        "SELECT * FROM import_runs WHERE undone_by IS NOT NULL AND undone_at IS NULL"
        " AND status <> 'undone' ORDER BY id"
    ).fetchall()
    return [RunInfo.from_row(row) for row in rows if not _undoing(row)]


def _undo_records(
    tx: sqlite3.Connection,
    db: Database,
    run_id: int,
    records: Sequence[sqlite3.Row],
    actor: str,
    summary: UndoSummary,
) -> None:
    at = v.now()
    customers = _rows_by_id(tx, [r["customer_id"] for r in records])
    touched = _with_history(tx, [r["customer_id"] for r in records if r["action"] == "created"])
    deletions: list[audit.Entry] = []
    restores: list[bulk.CustomerUpdate] = []
    restored: list[int] = []
    for record in records:
        row = customers[record["customer_id"]]
        if row["version"] != record["version_after"] or row["id"] in touched:
            summary.kept.append((row["code"], _("changed since the import")))
            continue
        if record["action"] == "created":
            tx.execute("DELETE FROM customer_search WHERE rowid=?", (row["id"],))
            tx.execute("DELETE FROM customers WHERE id=?", (row["id"],))
            deletions.append(
                audit.Entry(
                    "customer.delete",
                    "customer",
                    row["id"],
                    row["code"],
                    {"import_run": run_id, "reason": "import run undone"},
                )
            )
            summary.deleted += 1
            continue
        text = db.keys.decrypt(record["previous_enc"], "import_rows", "previous_enc", record["id"])
        previous = json.loads(text) if text else {}
        extras = previous.pop("extra_contacts", None)
        restores.append(
            bulk.CustomerUpdate(
                customer_id=row["id"],
                code=row["code"],
                version=row["version"],
                before=bulk.plain_values(db.keys, row),
                changes=previous,
                extra_contacts=[tuple(pair) for pair in extras] if extras is not None else None,
                audit_details={"import_run": run_id, "undo": True},
            )
        )
        restored.append(record["id"])
        summary.restored += 1
    audit.append_many(tx, db.keys, deletions, at=at, actor=actor)
    bulk.update_customers(tx, db.keys, restores, actor=actor, at=at)
    # Done with, as a created customer's record goes with it: an undo cut short and run
    # again does not take its own restore for someone's change since.
    tx.executemany("DELETE FROM import_rows WHERE id=?", [(i,) for i in restored])


def _with_history(tx: sqlite3.Connection, ids: Sequence[int]) -> set[int]:
    """Customers that have follow-ups, interactions or tags: changed since, for an undo."""
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for table in ("followups", "interactions", "customer_tags"):
            found.update(
                r[0]
                for r in tx.execute(
                    f"SELECT DISTINCT customer_id FROM {table} WHERE customer_id IN ({marks})",
                    chunk,
                )
            )
    return found
