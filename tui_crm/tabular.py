"""Read a customer file row by row: CSV in any common delimiter and encoding, or XLSX.

CSV is streamed (a million rows cost no more memory than ten), decoded strictly in the
encoding named or detected (UTF-8 with or without BOM, UTF-16 with BOM, GB18030 — the
superset of the GBK that Chinese Excel writes), so a wrong guess fails loudly with the
line instead of importing mojibake. XLSX goes through python-calamine, which keeps the
sheet in compact Rust cells. Every refusal is an `ImportFileError` with a one-line message.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import python_calamine

from .i18n import _
from .validation import clean_text

DELIMITERS = (",", ";", "\t", "|")
OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # old .xls (and .doc) compound files
TITLE_ROWS_MAX = 10  # rows a report may put above its header (title, date, author)
TITLE_CELLS_MAX = 3
SAMPLE_BYTES = 1 << 20
MAX_CELL = 128 * 1024
csv.field_size_limit(MAX_CELL)


# A spreadsheet runs a cell beginning with one of these as a formula.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
ESCAPE = "'"
GUARDED_STARTS = FORMULA_TRIGGERS | {ESCAPE}  # first characters `neutralise` escapes
MASK_MARK = "***"  # every masked sensitive value holds it (`crypto.MASKERS`)


def neutralise(text: str) -> str:
    """A CSV cell no spreadsheet runs as a formula: an apostrophe before a cell beginning
    with a formula trigger or with an apostrophe itself."""
    return ESCAPE + text if text and text[0] in GUARDED_STARTS else text


def restore(text: str) -> str:
    """The exact inverse of `neutralise`: one leading apostrophe goes when the next
    character is a trigger or another apostrophe, which no neutralised cell lacks and no
    other cell has (a foreign file's `'t Hooft` is left alone)."""
    if len(text) > 1 and text[0] == ESCAPE and text[1] in GUARDED_STARTS:
        return text[1:]
    return text


def is_masked(text: str) -> bool:
    """Whether an exported sensitive cell holds a masked value rather than the value."""
    return MASK_MARK in text


class ImportFileError(Exception):
    """A file, mapping or option that cannot be imported; the message is one line to show."""


class SheetNotFoundError(ImportFileError):
    """The workbook has no sheet of the name asked for: the sheet is wrong, not the file."""


@dataclass(frozen=True)
class TableSource:
    """What was found out about a file before reading its rows."""

    path: Path
    kind: str  # "csv" | "xlsx"
    headers: tuple[str, ...]
    header_line: int
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    skip_bytes: int = 0  # a UTF-8 byte order mark before text in another encoding
    title_rows: int = 0  # non-blank rows above the header row (a report's title)


# Says how many cells of a row name a field: the header row is the first that names two.
HeaderTest = Callable[[Sequence[str]], int]


def shown(path: Path | str) -> str:
    """A file name as a message may show it: no escape, control or bidi character."""
    return clean_text(str(path))


def open_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_test: HeaderTest | None = None,
) -> TableSource:
    """Check the file and find its header row: the first row that is not blank, unless
    `header_test` finds a later one under a few short title rows (a report's title and
    date above the table, as Chinese Excel reports have)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise ImportFileError(_("{path}: file not found").format(path=shown(path))) from None
    except IsADirectoryError:
        raise ImportFileError(
            _("{path}: is a directory, not a file").format(path=shown(path))
        ) from None
    except OSError as exc:
        raise ImportFileError(
            _("{path}: cannot be read ({reason})").format(path=shown(path), reason=exc.strerror)
        ) from None
    name = shown(path.name)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportFileError(_("{file}: the file is empty").format(file=name))
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, sheet, header_test)
    if head.startswith(OLE2_MAGIC):
        raise ImportFileError(
            _(
                "{file}: an old binary Excel workbook (.xls) or other Office file; open it in"
                " Excel or WPS and save it as .xlsx or CSV"
            ).format(file=name)
        )
    if sheet:
        raise ImportFileError(
            _("{file}: a sheet was named, but this is not an XLSX file").format(file=name)
        )
    skip = 0
    if encoding:
        encoding = _check_encoding(encoding)
        if head.startswith(codecs.BOM_UTF8) and not encoding.startswith("utf"):
            skip = len(codecs.BOM_UTF8)
    else:
        encoding, skip = _detect(name, head)
    delimiter = delimiter or _sniff_delimiter(head[skip:].decode(encoding, errors="ignore"))
    if delimiter not in DELIMITERS:
        raise ImportFileError(
            _("delimiter {delimiter} is not one of , ; tab |").format(delimiter=repr(delimiter))
        )
    source = TableSource(path, "csv", (), 0, encoding, delimiter, skip_bytes=skip)
    found = _header_row(iter_rows(source), header_test)
    if found is None:
        raise ImportFileError(_("{file}: the file is empty").format(file=name))
    line, cells, titles = found
    return dataclasses.replace(source, headers=_headers(cells), header_line=line, title_rows=titles)


def _header_row(
    rows: Iterator[tuple[int, list[str]]], header_test: HeaderTest | None
) -> tuple[int, list[str], int] | None:
    """(line, cells, title rows above it) of the header row; None for a file of no rows.

    The first row is the header unless it names fewer than two fields and a later row,
    within `TITLE_ROWS_MAX` rows of at most `TITLE_CELLS_MAX` filled cells each, names two.
    """
    first = None
    for count, (line, cells) in enumerate(rows):
        if first is None:
            first = (line, cells, 0)
            if header_test is None or header_test(cells) >= 2:
                break
        elif header_test is not None and header_test(cells) >= 2:
            return line, cells, count
        if count >= TITLE_ROWS_MAX or sum(1 for c in cells if c.strip()) > TITLE_CELLS_MAX:
            break
    return first


def iter_rows(source: TableSource, hasher: Any = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row, the header row included.

    A row's number is the file line it starts on (a quoted cell may span lines), so the
    rejected-rows report points where an editor would. `hasher` (e.g. hashlib.sha256())
    is fed the file's raw bytes as they are read.
    """
    if source.kind == "xlsx":
        yield from _xlsx_rows(source)
        return
    name = shown(source.path.name)
    with source.path.open("rb") as raw:
        stream = _Hashing(raw, hasher) if hasher is not None else raw
        stream.read(source.skip_bytes)
        text = io.TextIOWrapper(stream, encoding=source.encoding, newline="", errors="strict")
        reader = csv.reader(text, delimiter=source.delimiter)
        line = 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield line, cells
                line = reader.line_num + 1
        except UnicodeDecodeError:
            raise ImportFileError(
                _(
                    "{file}: line {line} is not valid {encoding} text; name the file's"
                    " encoding (e.g. utf-8, gb18030)"
                ).format(file=name, line=_undecodable_line(source), encoding=source.encoding)
            ) from None
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise ImportFileError(
                    _(
                        "{file}: line {line} has a cell larger than {size} KiB; that is not"
                        " customer data"
                    ).format(file=name, line=line, size=MAX_CELL // 1024)
                ) from None
            raise ImportFileError(
                _("{file}: line {line}: {problem}").format(file=name, line=line, problem=exc)
            ) from None


def _undecodable_line(source: TableSource) -> int:
    """The line holding the first bytes that are not valid in the source's encoding."""
    decoder = codecs.getincrementaldecoder(source.encoding)()
    lines = 1
    with source.path.open("rb") as handle:
        handle.read(source.skip_bytes)
        while chunk := handle.read(SAMPLE_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk.count(b"\n", 0, exc.start)
            lines += chunk.count(b"\n")
    return lines


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(SAMPLE_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(name: str, head: bytes) -> str:
    """The encoding of a CSV from its first bytes: a BOM, else strict UTF-8, else GB18030."""
    return _detect(name, head)[0]


def _detect(name: str, head: bytes) -> tuple[str, int]:
    """The encoding, and the bytes to skip before the text: a UTF-8 byte order mark put
    before GBK text (some Chinese tools do) is skipped and the text read as GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        rest = head[len(codecs.BOM_UTF8) :]
        if not _decodes(rest, "utf-8") and _decodes(rest, "gb18030"):
            return "gb18030", len(codecs.BOM_UTF8)
        return "utf-8-sig", 0
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0
    if head.count(b"\x00") > len(head) // 10:
        raise ImportFileError(
            _("{file}: binary content; expected a CSV or XLSX file").format(file=name)
        )
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n\x00")
        if controls > len(text) // 10:
            break
        return encoding, 0
    raise ImportFileError(
        _(
            "{file}: binary content or an unknown encoding; expected CSV text (UTF-8, UTF-16,"
            " GB18030: name another encoding if it is one) or an XLSX file"
        ).format(file=name)
    )


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ImportFileError(
            _("unknown encoding {encoding}").format(encoding=repr(clean_text(encoding)))
        ) from None


def _sniff_delimiter(sample: str) -> str:
    """The candidate seen most often outside quotes on the first non-blank line."""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _headers(cells: list[str]) -> tuple[str, ...]:
    return tuple(clean_text(cell).lstrip("\ufeff") for cell in cells)


class _Hashing(io.RawIOBase):
    """A raw reader that feeds every byte it reads to a hash."""

    def __init__(self, raw: BinaryIO, hasher: Any) -> None:
        self._raw = raw
        self._hasher = hasher

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        if count:
            self._hasher.update(memoryview(buffer)[:count])
        return count or 0


# --- XLSX -------------------------------------------------------------------------------


def _workbook(path: Path) -> python_calamine.CalamineWorkbook:
    name = shown(path.name)
    _refuse_other_archives(path, name)
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, zipfile.BadZipFile, OSError, ValueError) as exc:
        reason = clean_text(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise ImportFileError(
            _("{file}: not a readable XLSX workbook ({reason})").format(file=name, reason=reason)
        ) from None


def _refuse_other_archives(path: Path, name: str) -> None:
    """Apple Numbers documents are ZIP archives too; say what they are."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # calamine says why it cannot read it
    if "Index/Document.iwa" in members:
        raise ImportFileError(
            _("{file}: an Apple Numbers document; export it from Numbers as .xlsx or CSV").format(
                file=name
            )
        )


def _sheet(path: Path, name: str | None) -> python_calamine.CalamineSheet:
    workbook = _workbook(path)
    try:
        if name:
            return workbook.get_sheet_by_name(name)
        return workbook.get_sheet_by_index(0)
    except python_calamine.WorksheetNotFound:
        names = ", ".join(workbook.sheet_names) or "-"
        raise SheetNotFoundError(
            _("{file}: no sheet named {sheet} (sheets: {names})").format(
                file=shown(path.name), sheet=repr(clean_text(name)), names=clean_text(names)
            )
        ) from None
    except python_calamine.CalamineError as exc:
        raise ImportFileError(
            _("{file}: the sheet cannot be read ({reason})").format(
                file=shown(path.name), reason=clean_text(str(exc))
            )
        ) from None


def _open_xlsx(path: Path, sheet_name: str | None, header_test: HeaderTest | None) -> TableSource:
    sheet = _sheet(path, sheet_name)
    file, sheet_shown = shown(path.name), repr(clean_text(sheet.name))
    source = TableSource(path, "xlsx", (), 0, sheet=sheet.name)
    found = _header_row(_xlsx_rows(source, sheet), header_test)
    if found is None:
        raise ImportFileError(
            _("{file}: sheet {sheet} is empty").format(file=file, sheet=sheet_shown)
        )
    line, cells, titles = found
    # Merged cells above the header are a report's title; below it they hide rows' values.
    merged = [r for r in sheet.merged_cell_ranges or [] if r[1][0] >= line - 1]
    if merged:
        (row, col), _end = merged[0]
        raise ImportFileError(
            _(
                "{file}: sheet {sheet} has {count} merged cell range(s), the first at {cell};"
                " unmerge them so each row stands alone"
            ).format(file=file, sheet=sheet_shown, count=len(merged), cell=_cell_name(row, col))
        )
    return dataclasses.replace(source, headers=_headers(cells), header_line=line, title_rows=titles)


def _xlsx_rows(
    source: TableSource, sheet: python_calamine.CalamineSheet | None = None
) -> Iterator[tuple[int, list[str]]]:
    sheet = sheet or _sheet(source.path, source.sheet)
    first_row = (sheet.start or (0, 0))[0]
    for offset, values in enumerate(sheet.iter_rows()):
        cells = [_cell_text(value) for value in values]
        if any(cell.strip() for cell in cells):
            yield first_row + offset + 1, cells


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV export would hold: whole numbers without `.0`, ISO dates."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _cell_name(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"
