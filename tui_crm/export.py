"""Export customers to CSV or XLSX, streamed, in a file only its owner can read.

What is exported is what the customer list shows for the same search, filters and scope
(`listing.CustomerQuery` and the owner scope), with the columns of the detail view.
Sensitive values are masked unless the caller passes `reveal=True`; deciding whether the
user may, and auditing it, is the service's job.

Formula injection. A spreadsheet runs a cell beginning with = + - @ (or tab, CR, LF, or
in Chinese and Japanese locales the full-width ＝ ＋ － ＠) as a formula:
`=HYPERLINK("http://x","y")`, `=cmd|' /C calc'!A0`. So:

- CSV: such a cell, and a cell already beginning with an apostrophe, is written with one
  apostrophe in front (`neutralise`). The importer reverses it exactly with `restore`
  for every CSV cell it reads: it drops one leading apostrophe when the next character
  is one of those or another apostrophe, which no neutralised cell lacks and no other
  cell has, so a file re-imports unchanged (a foreign file's `'t Hooft` is left alone).
  Both live in `tabular.py`, beside the importer's reader, so the two sides agree.
- XLSX: every value is written as a string cell, never a formula; cells beginning with a
  trigger also carry Excel's quote prefix, so editing one does not turn it into a
  formula. The value itself is unchanged and needs no restoring. The workbook is
  streamed into the file by `_write_xlsx`, a page of rows at a time.

Masked cells (`138****5678`, `z***@example.com`) hold `MASK_MARK`; the importer treats
such a cell of a sensitive column as "not given" (`is_masked`), so re-importing a masked
export never overwrites a real value with its mask.

Headers are the English or Chinese field names below, which the importer's synonym table
maps back to fields; Code (客户编号) identifies the customer.

The file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: an existing file or a
symlink is refused; with `force` an existing regular file is replaced by writing a new
file beside it and renaming it over (a symlink is refused even then). `on_written` runs
once every row is on disk and before the file is put in place: the service audits the
export there, and if that fails no file is left.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import secrets
import sqlite3
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from . import listing
from .crypto import MASKERS, SENSITIVE_FIELDS, KeyRing
from .i18n import _
from .tabular import (
    ESCAPE,
    FORMULA_TRIGGERS,
    GUARDED_STARTS,
    MASK_MARK,
    is_masked,
    neutralise,
    restore,
)

Format = Literal["csv", "xlsx"]
PAGE = 1000


@dataclass(frozen=True)
class Column:
    field: str
    en: str
    zh: str


COLUMNS = (
    Column("code", "Code", "客户编号"),
    Column("name", "Name", "客户名称"),
    Column("kind", "Kind", "客户类别"),
    Column("customer_type", "Customer Type", "客户类型"),
    Column("contact_name", "Contact", "联系人"),
    Column("contact_title", "Title", "职务"),
    Column("phone", "Phone", "手机"),
    Column("email", "Email", "邮箱"),
    Column("id_number", "ID Number", "身份证号"),
    Column("credit_code", "Credit Code", "统一社会信用代码"),
    Column("address", "Address", "地址"),
    Column("province", "Province", "省份"),
    Column("city", "City", "城市"),
    Column("industry", "Industry", "行业"),
    Column("company_size", "Company Size", "公司规模"),
    Column("source", "Source", "来源"),
    Column("owner", "Owner", "负责人"),
    Column("tags", "Tags", "标签"),
    Column("notes", "Notes", "备注"),
    Column("created_at", "Created", "创建时间"),
    Column("last_interaction_at", "Last Interaction", "最近互动"),
    Column("next_followup_at", "Next Follow-up", "下次跟进"),
)


__all__ = [
    "COLUMNS",
    "ESCAPE",
    "FORMULA_TRIGGERS",
    "MASK_MARK",
    "Column",
    "ExportError",
    "ExportResult",
    "ExportTargetExists",
    "Format",
    "customer_rows",
    "export_customers",
    "export_format",
    "headers",
    "is_masked",
    "neutralise",
    "private_file",
    "restore",
    "write_table",
]


class ExportError(Exception):
    """An export refused before anything was written; the message is one line to show."""


class ExportTargetExists(ExportError):
    """The file is there already: the CLI replaces it with --force, the app has no such
    switch and asks for another name."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    format: Format
    revealed: bool


def headers(language: str = "en") -> list[str]:
    return [c.zh if language.startswith("zh") else c.en for c in COLUMNS]


def export_format(out: Path, fmt: str | None = None) -> Format:
    """`fmt` when given, else the file's suffix (.xlsx), else CSV."""
    chosen = (fmt or ("xlsx" if Path(out).suffix.lower() == ".xlsx" else "csv")).lower()
    if chosen not in ("csv", "xlsx"):
        raise ExportError(
            _("unknown export format {format}: use csv or xlsx").format(format=chosen)
        )
    return "xlsx" if chosen == "xlsx" else "csv"


def export_customers(
    conn: sqlite3.Connection,
    keys: KeyRing,
    out: Path,
    *,
    query: listing.CustomerQuery | None = None,
    scope_owner_id: int | None = None,
    fmt: Format | None = None,
    reveal: bool = False,
    force: bool = False,
    language: str = "en",
    progress: Callable[[int], None] | None = None,
    on_written: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the customers `query` lists (scoped to `scope_owner_id` when given) to `out`
    in `export_format(out, fmt)`; `on_written(rows)` as for `write_table`."""
    kind = export_format(out, fmt)
    rows = customer_rows(conn, keys, query or listing.CustomerQuery(), scope_owner_id, reveal)
    written = write_table(
        out,
        headers(language),
        rows,
        fmt=kind,
        force=force,
        progress=progress,
        on_written=on_written,
    )
    return ExportResult(Path(out), written, kind, reveal)


def customer_rows(
    conn: sqlite3.Connection,
    keys: KeyRing,
    query: listing.CustomerQuery,
    scope_owner_id: int | None,
    reveal: bool,
) -> Iterator[list[str]]:
    """Each listed customer as the cells of `COLUMNS`, in list order, a page at a time."""
    expressions = ", ".join(_SQL.get(c.field, f"c.{c.field}") for c in COLUMNS)
    sensitive = [
        (i, f"{c.field}_enc", MASKERS[c.field])
        for i, c in enumerate(COLUMNS, start=1)
        if c.field in SENSITIVE_FIELDS
    ]
    after: listing.SortKey | None = None
    while page := listing.page(conn, keys, query, scope_owner_id, after=after, limit=PAGE):
        after = page[-1][0]
        ids = [row["id"] for _key, row in page]
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: a page of 1,000 rows, read by position
        cursor.execute(
            f"SELECT c.id, {expressions} FROM customers c"
            f" WHERE c.id IN ({','.join('?' * len(ids))})",
            ids,
        )
        full = {row[0]: row for row in cursor}
        cursor.close()
        for customer_id in ids:
            row = full.get(customer_id)
            if row is None:
                continue
            cells = [value or "" for value in row]  # every exported column is text
            for i, column, mask in sensitive:
                plain = keys.decrypt(row[i], "customers", column, customer_id) or ""
                cells[i] = plain if reveal else mask(plain)
            yield cells[1:]


_SQL = {
    **{name: f"c.{name}_enc" for name in SENSITIVE_FIELDS},
    "owner": "(SELECT username FROM users u WHERE u.id = c.owner_id)",
    "tags": "(SELECT group_concat(t.tag_type || ':' || t.name, '; ') FROM customer_tags ct"
    " JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id)",
}


def write_table(
    out: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    fmt: Format = "csv",
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    on_written: Callable[[int], None] | None = None,
) -> int:
    """Stream `rows` under `header` into a new owner-only file; returns the row count.

    `on_written(rows)` is called once every row is on disk, before the file is put in
    place; if it raises, the new file is removed (an old one `force` would replace stays).
    """
    if fmt not in ("csv", "xlsx"):
        raise ExportError(_("unknown export format {format}: use csv or xlsx").format(format=fmt))
    counted = _Counted(rows, progress or (lambda rows: None))
    with private_file(Path(out), force=force) as handle:
        (_write_csv if fmt == "csv" else _write_xlsx)(handle, header, counted)
        handle.flush()
        os.fsync(handle.fileno())
        if on_written is not None:
            on_written(counted.count)
    counted.report(counted.count)
    return counted.count


class _Counted:
    """The rows, counted as they are written, with progress every `PAGE` rows."""

    def __init__(self, rows: Iterable[Sequence[Any]], report: Callable[[int], None]) -> None:
        self.rows = rows
        self.report = report
        self.count = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.rows:
            yield row
            self.count += 1
            if self.count % PAGE == 0:
                self.report(self.count)


def _write_csv(handle: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")  # the BOM Excel needs
    try:
        writer = csv.writer(text)
        writer.writerow([neutralise(h) for h in header])
        for row in rows:
            writer.writerow(
                [
                    ESCAPE + cell if cell and cell[0] in GUARDED_STARTS else cell
                    for cell in ("" if c is None else str(c) for c in row)
                ]
            )
    finally:
        text.flush()
        text.detach()


def _write_xlsx(handle: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A one-sheet workbook streamed straight into the file: every cell an inline string
    (never a formula), cells beginning with a formula trigger with Excel's quote prefix.

    Written by hand rather than with openpyxl, whose write-only mode is ~10x slower here
    and first spools the sheet, plaintext included, to a temporary file elsewhere.
    """
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in _XLSX_PARTS.items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            sheet = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            sheet.write(_SHEET_START)
            columns: list[str] = []
            for number, row in enumerate(itertools.chain([header], rows), start=1):
                if len(columns) < len(row):
                    columns = [_column_name(i) for i in range(len(row))]
                texts = ["" if value is None else str(value) for value in row]
                if _XML_SPECIAL.search("\t".join(texts)):  # rare: one look per row
                    texts = [_xml_text(text) for text in texts]
                cells = []
                for column, text in zip(columns, texts, strict=False):
                    if not text:
                        continue  # no cell at all: an empty file cell reads back as ""
                    style = ' s="1"' if text[0] in FORMULA_TRIGGERS else ""
                    cells.append(
                        f'<c r="{column}{number}" t="inlineStr"{style}><is>'
                        f'<t xml:space="preserve">{text}</t></is></c>'
                    )
                sheet.write(f'<row r="{number}">{"".join(cells)}</row>')
            sheet.write("</sheetData></worksheet>")
            sheet.flush()
            sheet.detach()


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """`text` as XML character data, without the characters XML cannot hold."""
    text = _NOT_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_name(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_START = f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'
_XLSX_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.styles+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
        '<sheet name="customers" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC}/styles" Target="styles.xml"/></Relationships>'
    ),
    # Style 1: text format with the quote prefix, for cells a formula trigger begins.
    "xl/styles.xml": (
        f'{_XML}<styleSheet xmlns="{_MAIN}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
        "</borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"'
        ' applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


@contextmanager
def private_file(path: Path, *, force: bool = False) -> Iterator[IO[bytes]]:
    """A new file readable and writable by its owner only, refusing symlinks; an existing
    regular file is replaced (only with `force`) by a new file renamed over it, so a
    failed export leaves the old one whole."""
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise ExportError(_("{path}: {problem}").format(path=path, problem=exc.strerror)) from None
    if existing is not None:
        if stat.S_ISLNK(existing.st_mode):
            raise ExportError(
                _("{path} is a symbolic link; refusing to write through it").format(path=path)
            )
        if not stat.S_ISREG(existing.st_mode):
            raise ExportError(_("{path} exists and is not a regular file").format(path=path))
        if not force:
            raise ExportTargetExists(
                _("{path} already exists; use --force to replace it").format(path=path)
            )
    target = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp") if existing else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise ExportTargetExists(
            _("{path} already exists; use --force to replace it").format(path=path)
        ) from None
    except FileNotFoundError:
        raise ExportError(
            _("folder {folder} does not exist; create it or choose another").format(
                folder=path.parent
            )
        ) from None
    except OSError as exc:
        raise ExportError(
            _("cannot create {path}: {problem}").format(path=path, problem=exc.strerror)
        ) from None
    os.fchmod(fd, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if target != path:
            os.replace(target, path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
