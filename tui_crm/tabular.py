"""Read a customer file row by row: CSV in any common delimiter and encoding, or XLSX.

CSV is streamed (a million rows cost no more memory than ten), decoded strictly in the
encoding named or detected (UTF-8 with or without BOM, UTF-16 or UTF-32 with BOM,
GB18030 — the superset of the GBK that Chinese Excel writes), so a wrong guess fails
loudly with the line instead of importing mojibake. XLSX goes through python-calamine,
which keeps the sheet in compact Rust cells. Every refusal is an `ImportFileError` with
a one-line message.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

import python_calamine

from .i18n import _
from .validation import clean_text

DELIMITERS = (",", ";", "\t", "|")
# A tab cannot be typed on a command line: the word, or the `\t` people write for it.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}
OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # old .xls (and .doc) compound files
# The stream a password-protected .xlsx is kept in, inside such a compound file.
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
TITLE_ROWS_MAX = 10  # rows a report may put above its header (title, date, author)
TITLE_CELLS_MAX = 3
SAMPLE_BYTES = 1 << 20
MAX_CELL = 128 * 1024
MAX_COLUMNS = 16384  # Excel's last column, XFD
# An XLSX part that unpacks to more than 100 times its packed size (Apache POI's bound;
# customer XML packs 5-20 times) or parts over 2 GiB in all: unpacking it would exhaust memory.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM = 16 << 20
XLSX_MAX_UNPACKED = 2 << 30
csv.field_size_limit(MAX_CELL)


# A spreadsheet runs a cell beginning with one of these as a formula; in Chinese and
# Japanese locales the full-width = + - @ count as the ASCII ones.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")
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


# `="00123"`: a formula some systems' CSV exports wrap a value in, so that Excel keeps it as
# text (leading zeros, 18-digit IDs). It evaluates to the string and runs nothing.
_TEXT_FORMULA = re.compile(r'="((?:[^"]|"")*)"')


def is_text_formula(text: str) -> bool:
    return _TEXT_FORMULA.fullmatch(text) is not None


def shown_text(cell: str) -> str:
    """A CSV cell's value as a spreadsheet shows it: `="00123"` is 00123, and our export's
    apostrophe before a would-be formula comes off (`restore`)."""
    match = _TEXT_FORMULA.fullmatch(cell) if cell.startswith('="') else None
    return match.group(1).replace('""', '"') if match else restore(cell)


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
    first_column: int = 0  # XLSX: the sheet's first used column, where calamine's cells start


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
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):
            # Opening a FIFO waits for a writer forever; a device never ends.
            raise ImportFileError(
                _("{path}: not a regular file (a pipe or a device)").format(path=shown(path))
            )
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
        if _holds(path, ENCRYPTED_PACKAGE):
            raise ImportFileError(
                _(
                    "{file}: a password-protected workbook; open it in Excel or WPS, save a"
                    " copy without the password and import that"
                ).format(file=name)
            )
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
    if delimiter:
        delimiter = DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    try:
        sample = head[skip:].decode(encoding, errors="ignore")
    except UnicodeError:  # a codec that ignores no error (punycode)
        sample = ""
    delimiter = delimiter or _sniff_delimiter(sample)
    if delimiter not in DELIMITERS:
        raise ImportFileError(
            _("delimiter {delimiter} is not one of , ; tab |").format(delimiter=repr(delimiter))
        )
    source = TableSource(path, "csv", (), 0, encoding, delimiter, skip_bytes=skip)
    found = _header_row(iter_rows(source), header_test)
    if found is None:
        raise ImportFileError(_("{file}: the file is empty").format(file=name))
    line, cells, titles = found
    return dataclasses.replace(
        source, headers=_headers(path, cells), header_line=line, title_rows=titles
    )


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
        except UnicodeError:  # UTF-16 named for a file without its byte order mark, too
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
                        '{file}: line {line} has a cell larger than {size} KiB: a quote (")'
                        " opened there and never closed, or no customer data"
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
            except UnicodeError as exc:
                return lines + chunk.count(b"\n", 0, getattr(exc, "start", 0))
            lines += chunk.count(b"\n")
    return lines


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes contain `needle` (read in chunks that overlap by it)."""
    with path.open("rb") as handle:
        previous = b""
        while chunk := handle.read(SAMPLE_BYTES):
            if needle in previous[-len(needle) :] + chunk:
                return True
            previous = chunk
    return False


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(SAMPLE_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


BIG5_EVIDENCE = 8  # Han characters before a file is taken for Big5 rather than GB18030


def detect_encoding(name: str, head: bytes) -> str:
    """The encoding of a CSV from its first bytes: a BOM, else strict UTF-8, else GB18030
    (or Big5, when the text reads as Big5 and not as Chinese in GB18030)."""
    return _detect(name, head)[0]


def _detect(name: str, head: bytes) -> tuple[str, int]:
    """The encoding, and the bytes to skip before the text: a UTF-8 byte order mark put
    before GBK text (some Chinese tools do) is skipped and the text read as GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        rest = head[len(codecs.BOM_UTF8) :]
        if not _decodes(rest, "utf-8") and _decodes(rest, "gb18030"):
            return "gb18030", len(codecs.BOM_UTF8)
        return "utf-8-sig", 0
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16's: FF FE
        return "utf-32", 0
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
        if encoding == "gb18030" and _reads_as_big5(head, text):
            return "cp950", 0
        return encoding, 0
    raise ImportFileError(
        _(
            "{file}: binary content or an unknown encoding; expected CSV text (UTF-8, UTF-16,"
            " GB18030: name another encoding if it is one) or an XLSX file"
        ).format(file=name)
    )


def _reads_as_big5(head: bytes, as_gb: str) -> bool:
    """Whether text that GB18030 decodes is rather Big5 (Taiwan's and Hong Kong's Excel):
    Big5 bytes read as GB18030 give mostly characters outside GB2312's common set,
    where real Chinese text has almost none; then Big5 must decode it too."""
    han = [ch for ch in as_gb if "\u4e00" <= ch <= "\u9fff"]
    if len(han) < BIG5_EVIDENCE:
        return False
    common = sum(1 for ch in han if _in_gb2312(ch))
    return common < len(han) * 0.7 and _decodes(head, "cp950")


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _check_encoding(encoding: str) -> str:
    """The codec's name, if it decodes bytes to text: `base64`, `rot13` or `zlib` are
    codecs too, and `idna` or `undefined` decode no file."""
    try:
        name = codecs.lookup(encoding).name
        io.TextIOWrapper(io.BytesIO(), encoding=name)  # LookupError: not a text encoding
        sample = "Name,Phone\r\n".encode(name)
        for errors in ("strict", "ignore"):
            codecs.getincrementaldecoder(name)(errors).decode(sample, final=True)
        return name
    except (LookupError, UnicodeError):
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


def _headers(path: Path, cells: list[str]) -> tuple[str, ...]:
    """The header row's cells as shown; wider than any spreadsheet is no customer list
    (and would cost every step that walks the columns)."""
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError(
            _(
                "{file}: the header row has {count} columns, more than a spreadsheet holds"
                " ({limit}); that is not a customer list"
            ).format(file=shown(path.name), count=len(cells), limit=MAX_COLUMNS)
        )
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
    """Apple Numbers documents are ZIP archives too; say what they are. A ZIP bomb (a
    small file whose parts unpack to gigabytes) is refused before calamine unpacks it
    into memory; calamine stops at each part's declared size, so those sizes are checked."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError) as exc:
        # Unchecked, a bomb could reach calamine: a ZIP that cannot be listed is refused.
        reason = clean_text(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise ImportFileError(
            _("{file}: not a readable XLSX workbook ({reason})").format(file=name, reason=reason)
        ) from None
    unpacked = sum(part.file_size for part in parts)
    bomb = next(
        (
            part
            for part in parts
            if part.file_size > XLSX_RATIO_FROM
            and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1)
        ),
        None,
    )
    if bomb is not None or unpacked > XLSX_MAX_UNPACKED:
        raise ImportFileError(
            _(
                "{file}: unpacks to {size} MB, far more than a workbook of customers holds"
                " (a ZIP bomb?); refused"
            ).format(file=name, size=unpacked // (1 << 20))
        )
    if "Index/Document.iwa" in {part.filename for part in parts}:
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
        return workbook.get_sheet_by_index(_first_shown_worksheet(workbook))
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


def _first_shown_worksheet(workbook: python_calamine.CalamineWorkbook) -> int:
    """The sheet Excel opens on when none is named: the first visible worksheet, not a
    hidden lookup list or a chart sheet before it."""
    for index, meta in enumerate(workbook.sheets_metadata):
        if (
            meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ):
            return index
    return 0


def _open_xlsx(path: Path, sheet_name: str | None, header_test: HeaderTest | None) -> TableSource:
    sheet = _sheet(path, sheet_name)
    file, sheet_shown = shown(path.name), repr(clean_text(sheet.name))
    source = TableSource(path, "xlsx", (), 0, sheet=sheet.name)
    found = _header_row(_xlsx_rows(source, sheet), header_test)
    if found is None:
        others = [n for n in _workbook(path).sheet_names if n != sheet.name]
        if sheet_name or not others:
            raise ImportFileError(
                _("{file}: sheet {sheet} is empty").format(file=file, sheet=sheet_shown)
            )
        raise ImportFileError(
            _(
                "{file}: first sheet {sheet} is empty; name the sheet to read (sheets: {names})"
            ).format(file=file, sheet=sheet_shown, names=clean_text(", ".join(others)))
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
    return dataclasses.replace(
        source,
        headers=_headers(path, cells),
        header_line=line,
        title_rows=titles,
        first_column=(sheet.start or (0, 0))[1],
    )


def refuse_error_cells(source: TableSource, columns: Collection[int]) -> None:
    """Formula errors (#N/A, #REF!, #DIV/0!) in a column the run imports: calamine reads
    them as empty cells, so a VLOOKUP that failed would import as a value not given. The
    sheet's XML is read for them here, once a run's columns are known, not at every open."""
    if source.kind != "xlsx":
        return
    found = _error_cells(source.path, source.sheet, source.header_line)
    for sheet_column, (count, cell) in sorted(found.items()):
        column = sheet_column - source.first_column
        if column in columns:
            header = source.headers[column] if column < len(source.headers) else ""
            raise ImportFileError(
                _(
                    "{file}: column {column} has {count} cell(s) showing a formula error"
                    " (#N/A, #REF! ...), the first at {cell}; correct or clear them, or"
                    " ignore the column"
                ).format(
                    file=shown(source.path.name),
                    column=repr(header or f"#{column + 1}"),
                    count=count,
                    cell=cell,
                )
            )


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\bt="e"[^>]*>')
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')


def _error_cells(path: Path, sheet_name: str, from_row: int) -> dict[int, tuple[int, str]]:
    """Per column (0 = A), how many cells from `from_row` down hold a formula's error and
    the first one's name: calamine reads them as empty, the sheet's XML says which they are."""
    found: dict[int, tuple[int, str]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet_name)
            if part is None:
                return found
            with archive.open(part) as xml:
                pending = b""
                while True:
                    chunk = xml.read(SAMPLE_BYTES)
                    text = pending + chunk
                    # Up to the last tag's start every tag is whole ("<" is in no value).
                    cut = max(text.rfind(b"<"), 0) if chunk else len(text)
                    if text.find(b't="e"', 0, cut) >= 0:
                        for match in _ERROR_CELL.finditer(text, 0, cut):
                            ref = _CELL_REF.search(match.group())
                            if ref and int(ref.group(2)) >= from_row:
                                column = _column_index(ref.group(1).decode())
                                count, first = found.get(column, (0, ""))
                                name = (ref.group(1) + ref.group(2)).decode()
                                found[column] = (count + 1, first or name)
                    pending = text[cut:]
                    if not chunk:
                        return found
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError):
        return {}  # calamine read the sheet; a method zipfile lacks is no reason to refuse


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The archive member holding a sheet, by the workbook's sheet list and its links."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    link = next(
        (
            value
            for sheet in book.iter()
            if sheet.tag.endswith("}sheet") and sheet.get("name") == sheet_name
            for key, value in sheet.attrib.items()
            if key.endswith("}id")
        ),
        None,
    )
    target = next((r.get("Target", "") for r in links if r.get("Id") == link), "")
    part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return part if part in archive.namelist() else None


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
        # Excel keeps 15 significant digits: a longer number (an 18-digit ID typed as a
        # number) has lost its last digits, so it stays in the E notation Excel shows.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
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
