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
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import python_calamine

from .validation import clean_text

DELIMITERS = (",", ";", "\t", "|")
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


def open_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> TableSource:
    """Check the file and read its header row (the first row that is not blank)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportFileError(f"{path.name}: the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, sheet)
    if sheet:
        raise ImportFileError(f"{path.name}: a sheet was named, but this is not an XLSX file")
    encoding = _check_encoding(encoding) if encoding else detect_encoding(path.name, head)
    delimiter = delimiter or _sniff_delimiter(head.decode(encoding, errors="ignore"))
    if delimiter not in DELIMITERS:
        raise ImportFileError(f"delimiter {delimiter!r} is not one of , ; tab |")
    source = TableSource(path, "csv", (), 0, encoding=encoding, delimiter=delimiter)
    for line, cells in iter_rows(source):
        return TableSource(path, "csv", _headers(cells), line, encoding, delimiter)
    raise ImportFileError(f"{path.name}: the file is empty")


def iter_rows(source: TableSource, hasher: Any = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row, the header row included.

    A row's number is the file line it starts on (a quoted cell may span lines), so the
    rejected-rows report points where an editor would. `hasher` (e.g. hashlib.sha256())
    is fed the file's raw bytes as they are read.
    """
    if source.kind == "xlsx":
        yield from _xlsx_rows(source)
        return
    with source.path.open("rb") as raw:
        stream = _Hashing(raw, hasher) if hasher is not None else raw
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
                f"{source.path.name}: line {_undecodable_line(source)} is not valid"
                f" {source.encoding} text; name the file's encoding (e.g. utf-8, gb18030)"
            ) from None
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise ImportFileError(
                    f"{source.path.name}: line {line} has a cell larger than"
                    f" {MAX_CELL // 1024} KiB; that is not customer data"
                ) from None
            raise ImportFileError(f"{source.path.name}: line {line}: {exc}") from None


def _undecodable_line(source: TableSource) -> int:
    """The line holding the first bytes that are not valid in the source's encoding."""
    decoder = codecs.getincrementaldecoder(source.encoding)()
    lines = 1
    with source.path.open("rb") as handle:
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
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.count(b"\x00") > len(head) // 100:
        raise ImportFileError(f"{name}: binary content; expected a CSV or XLSX file")
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n")
        if controls > len(text) // 10:
            break
        return encoding
    raise ImportFileError(
        f"{name}: binary content or an unknown encoding; expected CSV text (UTF-8, UTF-16,"
        " GB18030: name another encoding if it is one) or an XLSX file"
    )


def _check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None


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
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, zipfile.BadZipFile, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportFileError(f"{path.name}: not a readable XLSX workbook ({reason})") from None


def _sheet(path: Path, name: str | None) -> python_calamine.CalamineSheet:
    workbook = _workbook(path)
    try:
        if name:
            return workbook.get_sheet_by_name(name)
        return workbook.get_sheet_by_index(0)
    except python_calamine.WorksheetNotFound:
        names = ", ".join(workbook.sheet_names) or "none"
        raise ImportFileError(f"{path.name}: no sheet named {name!r} (sheets: {names})") from None
    except python_calamine.CalamineError as exc:
        raise ImportFileError(f"{path.name}: the sheet cannot be read ({exc})") from None


def _open_xlsx(path: Path, sheet_name: str | None) -> TableSource:
    sheet = _sheet(path, sheet_name)
    merged = sheet.merged_cell_ranges or []
    if merged:
        (row, col), _ = merged[0]
        raise ImportFileError(
            f"{path.name}: sheet {sheet.name!r} has {len(merged)} merged cell range(s), the"
            f" first at {_cell_name(row, col)}; unmerge them so each row stands alone"
        )
    source = TableSource(path, "xlsx", (), 0, sheet=sheet.name)
    for line, cells in _xlsx_rows(source, sheet):
        return TableSource(path, "xlsx", _headers(cells), line, sheet=sheet.name)
    raise ImportFileError(f"{path.name}: sheet {sheet.name!r} is empty")


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
