"""Encrypted full and incremental backups, verification, restore, drills and pruning.

Why row-level incrementals: a page-level diff (store only the snapshot pages whose hash
changed since the chain's image) was measured on the 100k demo database: after 1% of the
customers were edited (notes, type, search text), 5,131 of 32,062 pages had changed, because
each edit also rewrites index pages and FTS segment and content pages; compressed, that
incremental was 14% of the full backup, three times the 5% target. So a full backup is a
page image of a consistent snapshot (exact, and quick to restore), while an incremental
holds only the rows that changed: migration 2 in `db.py` logs `(table, id)` of every
insert, update and delete in `change_log` (once the first full backup switches tracking on),
the append-only audit log is copied from the parent's last id on, and the search-index
documents of changed customers are copied so the restored FTS index is exact.

On disk a backup is two files: `<id>.bak` (a magic header, a random file id, then
AES-256-GCM chunks of at most 1 MiB of zlib-compressed plaintext; each chunk's associated
data holds the file id, its index and whether it is the last, so truncation, reordering
and splicing are detected) and `<id>.json`, a manifest (when, kind, parent, row counts,
SHA-256 of the `.bak`, audit chain head) authenticated with an HMAC under the backup key.
Nothing in either file is personal data in clear. Every file is created 0600.

Plaintext-schema copies (a full backup's snapshot, a restore's or a verify's image) and
half-written files exist only in private staging directories (see `staging`), which the
next backup or open clears of anything a killed job left.

A restore over the live database is one step that either happens whole or not at all: the
image is restored, checked, brought to the current schema, its change log restarted and its
audit log extended with the restore's own entry, all in the staged copy; then SQLite's
backup API copies it over the live database in a single write transaction. A crash before
that commit leaves the live database as it was (and the staged copy for the next sweep);
after it, the restore is complete and audited.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import sqlite3
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import audit, staging
from .config import Settings
from .crypto import AUDIT_HEAD_VERSION, KeyRing
from .db import DATA_TABLES, SCHEMA_VERSION, Database, connect, migrate, set_meta
from .files import PRIVATE_FILE_MODE, create_private
from .i18n import _, ngettext, pgettext

MAGIC = b"TCRMBAK1"
FILE_ID_BYTES = 16
CHUNK_BYTES = 1 << 20
REPORT_EVERY = 32 * CHUNK_BYTES
NONCE_BYTES = 12
FORMAT = 1
AUDIT_HEAD_PREFIX = AUDIT_HEAD_VERSION + ":"
TRACKED_TABLES = (
    "meta",
    *DATA_TABLES,
    "value_tier_rules",
    "churn_warnings",
    "verification_samples",
    "verification_items",
)
BOOKKEEPING_TABLES = ("change_log", "login_throttle")
# What versions before staging left beside the database and in the backup directory.
LEGACY_DB_RESIDUE = staging.LEGACY_RESIDUE
LEGACY_BACKUP_RESIDUE = ("*.part",)
TRACKING_KEY = "change_tracking"
FLOOR_MARK = "~floor"
ROWS_PER_QUERY = 500
# integrity_check walks every index against its table: with SQLite's default 2 MB page
# cache it took 59 s on the 1M database, with these 36 s.
CHECK_PRAGMAS = ("PRAGMA cache_size=-262144", "PRAGMA mmap_size=2147418112")
SEAL_THREADS = max(1, min(4, os.cpu_count() or 1))

Progress = Callable[[float, str], None]


class BackupError(Exception):
    """A backup that cannot be made, read, trusted or restored; the message says why."""


VERIFY_ERRORS = (BackupError, sqlite3.Error, ValueError, KeyError, zlib.error, OSError)


@dataclass(frozen=True)
class Manifest:
    id: str
    created_at: str
    kind: str  # "full" | "incremental"
    parent: str | None
    chain: list[str]
    schema_version: int
    change_seq: int
    audit_max_id: int
    audit_head: str
    row_counts: dict[str, int]
    sha256: str
    size: int
    file_id: str
    key_check: str
    image_sha256: str = ""
    note: str = ""
    format: int = FORMAT
    mac: str = field(default="", compare=False)
    # Where the `.bak` is now (for scripts copying backups off-site); not signed, not stored.
    path: str = field(default="", compare=False)

    def body(self) -> bytes:
        return json.dumps(self.stored(), sort_keys=True, separators=(",", ":")).encode()

    def stored(self, *, with_mac: bool = False) -> dict[str, Any]:
        """The fields written to the manifest file (and covered by its MAC)."""
        data = asdict(self)
        data.pop("path")
        if not with_mac:
            data.pop("mac")
        return data

    def anchor(self) -> audit.Anchor | None:
        """The audit head this backup recorded, as an anchor for `audit.verify`."""
        return audit.parse_head(
            self.audit_head, _("backup {backup}").format(backup=self.id), self.id
        )

    @property
    def legacy_head(self) -> bool:
        """Taken before audit heads were signed and customer keys bound to their codes."""
        return not self.audit_head.startswith(AUDIT_HEAD_PREFIX)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of verifying one backup (its whole chain restored and checked)."""

    id: str
    ok: bool
    problems: tuple[str, ...] = ()
    seconds: float = 0.0

    def describe(self) -> str:
        if self.ok:
            return _("{backup}: OK ({seconds:.1f}s)").format(backup=self.id, seconds=self.seconds)
        return _("{backup}: FAILED: {problems}").format(
            backup=self.id, problems=pgettext("separator", "; ").join(self.problems)
        )


@dataclass(frozen=True)
class DrillResult:
    backup_id: str
    ok: bool
    chain: list[str]
    problems: tuple[str, ...]
    row_counts: dict[str, int]
    audit_head: str
    seconds: float

    def describe(self) -> str:
        verdict = (
            _(
                "restore drill PASS: backup {backup} (chain of {length})"
                " restored and checked in {seconds:.1f}s"
            )
            if self.ok
            else _(
                "restore drill FAIL: backup {backup} (chain of {length})"
                " restored and checked in {seconds:.1f}s"
            )
        )
        counts = ", ".join(f"{t}={n:,}" for t, n in sorted(self.row_counts.items()))
        lines = [
            verdict.format(backup=self.backup_id, length=len(self.chain), seconds=self.seconds),
            _("rows: {counts}").format(counts=counts),
            _("audit head: {head}").format(head=self.audit_head or "-"),
        ]
        lines += [_("problem: {problem}").format(problem=p) for p in self.problems]
        return "\n".join(lines)


def _failed_verification(backup_id: str, problem: str) -> str:
    return _("backup {backup} failed verification: {problem}").format(
        backup=backup_id, problem=problem
    )


def default_dir(db_path: Path, settings: Settings | None = None) -> Path:
    configured = settings.backup_dir if settings else ""
    return Path(configured).expanduser() if configured else db_path.parent / "backups"


# --- the encrypted container ------------------------------------------------------------


def _aad(file_id: bytes, index: int, last: bool) -> bytes:
    return MAGIC + file_id + struct.pack(">QB", index, int(last))


def _write_container(
    path: Path, keys: KeyRing, file_id: bytes, blocks: Iterator[bytes]
) -> tuple[str, int]:
    """Write blocks as authenticated chunks; returns the file's SHA-256 and size.

    Compression and encryption (both release the GIL) run on a few threads with a bounded
    number of chunks in flight, written back in order: on a 1M-customer database this
    halves a full backup's time on two cores without holding more than a few MiB.
    """
    aead = AESGCM(keys.backup_key)

    def seal(index: int, block: bytes, last: bool) -> bytes:
        packed = zlib.compress(block, 1)
        payload = b"\x01" + packed if len(packed) < len(block) else b"\x00" + block
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, payload, _aad(file_id, index, last))
        return struct.pack(">I", len(sealed)) + nonce + sealed

    digest = hashlib.sha256()
    size = 0
    with create_private(path, binary=True) as out, ThreadPoolExecutor(SEAL_THREADS) as pool:

        def put(data: bytes) -> None:
            nonlocal size
            out.write(data)
            digest.update(data)
            size += len(data)

        put(MAGIC + file_id)
        in_flight: deque[Future[bytes]] = deque()
        for index, (block, last) in enumerate(_with_last(blocks)):
            in_flight.append(pool.submit(seal, index, block, last))
            if len(in_flight) > 2 * SEAL_THREADS:
                put(in_flight.popleft().result())
        while in_flight:
            put(in_flight.popleft().result())
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _with_last(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each block with a flag telling whether it is the last; an empty stream yields one."""
    previous: bytes | None = None
    for block in blocks:
        if previous is not None:
            yield previous, False
        previous = block
    yield (previous if previous is not None else b""), True


def _frames(path: Path, file_id: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """The (index, nonce, sealed) chunks of a backup file, refusing torn or foreign ones."""
    name = path.name
    if not path.exists():
        raise BackupError(_("{name} is missing").format(name=name))
    with open(path, "rb") as handle:
        header = handle.read(len(MAGIC) + FILE_ID_BYTES)
        if header[: len(MAGIC)] != MAGIC:
            raise BackupError(_("{name} is not a tui-crm backup file").format(name=name))
        if header[len(MAGIC) :] != file_id:
            raise BackupError(_("{name} does not belong to its manifest").format(name=name))
        index = 0
        while head := handle.read(4 + NONCE_BYTES):
            if len(head) < 4 + NONCE_BYTES:
                raise BackupError(_truncated(name, index))
            (length,) = struct.unpack(">I", head[:4])
            if length > CHUNK_BYTES + 1024:
                raise BackupError(
                    _("{name} is corrupted: chunk {index} has an impossible length").format(
                        name=name, index=index
                    )
                )
            sealed = handle.read(length)
            if len(sealed) < length:
                raise BackupError(_truncated(name, index))
            yield index, head[4:], sealed
            index += 1


def _truncated(name: str, index: int) -> str:
    return _("{name} is truncated in chunk {index}").format(name=name, index=index)


def _read_container(path: Path, keys: KeyRing, file_id: bytes) -> Iterator[bytes]:
    """Decrypt chunk by chunk (on a few threads, in order); any tampering, truncation or
    reordering raises BackupError."""
    aead = AESGCM(keys.backup_key)
    name = path.name

    def open_chunk(index: int, nonce: bytes, sealed: bytes) -> tuple[bytes, bool]:
        for last in (False, True):
            try:
                payload = aead.decrypt(nonce, sealed, _aad(file_id, index, last))
            except InvalidTag:
                continue
            body = zlib.decompress(payload[1:]) if payload[:1] == b"\x01" else payload[1:]
            return body, last
        raise BackupError(
            _(
                "{name} is corrupted: chunk {index} failed authentication (altered, or"
                " encrypted under another key)"
            ).format(name=name, index=index)
        )

    ended = False
    with ThreadPoolExecutor(SEAL_THREADS) as pool:
        in_flight: deque[Future[tuple[bytes, bool]]] = deque()

        def take() -> bytes:
            nonlocal ended
            if ended:
                raise BackupError(
                    _("{name} has unexpected data after its last chunk").format(name=name)
                )
            body, ended = in_flight.popleft().result()
            return body

        for frame in _frames(path, file_id):
            in_flight.append(pool.submit(open_chunk, *frame))
            if len(in_flight) > 2 * SEAL_THREADS:
                yield take()
        while in_flight:
            yield take()
    if not ended:
        raise BackupError(_("{name} is truncated: its last chunk is missing").format(name=name))


# --- the store ------------------------------------------------------------------------------


class BackupStore:
    """The backups in one directory, readable with one key ring."""

    def __init__(self, directory: Path, keys: KeyRing) -> None:
        self.directory = directory
        self.keys = keys

    # manifests

    def _key_check(self) -> str:
        return hmac.new(self.keys.backup_key, b"tui-crm backup key", "sha256").hexdigest()[:16]

    def _sign(self, manifest: Manifest) -> Manifest:
        mac = hmac.new(self.keys.backup_key, manifest.body(), "sha256").hexdigest()
        return dataclasses.replace(manifest, mac=mac)

    def _manifest_path(self, backup_id: str) -> Path:
        return self.directory / f"{backup_id}.json"

    def data_path(self, backup_id: str) -> Path:
        return self.directory / f"{backup_id}.bak"

    def manifest(self, backup_id: str) -> Manifest:
        """A backup's manifest, refused unless it was written with this key and not altered."""
        path = self._manifest_path(backup_id)
        try:
            data = json.loads(path.read_text())
            data.pop("path", None)
            manifest = Manifest(**data)
        except FileNotFoundError:
            raise BackupError(
                _("no backup {backup} in {directory}").format(
                    backup=backup_id, directory=self.directory
                )
            ) from None
        except (ValueError, TypeError) as exc:
            raise BackupError(
                _("manifest of {backup} is unreadable ({reason})").format(
                    backup=backup_id, reason=exc
                )
            ) from None
        if manifest.key_check != self._key_check():
            raise BackupError(
                _(
                    "backup {backup} was made with a different key; use the key file of the"
                    " database it came from"
                ).format(backup=backup_id)
            )
        expected = hmac.new(self.keys.backup_key, manifest.body(), "sha256").hexdigest()
        if not hmac.compare_digest(expected, manifest.mac):
            raise BackupError(_("manifest of {backup} was altered").format(backup=backup_id))
        return dataclasses.replace(manifest, path=str(self.data_path(backup_id)))

    def list(self) -> list[Manifest]:
        """Every readable backup, oldest first (unreadable ones are left to `verify`)."""
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                out.append(self.manifest(path.stem))
            except BackupError:
                continue
        return sorted(out, key=lambda m: (m.created_at, m.id))

    def recorded_heads(self) -> tuple[list[audit.Anchor], list[str]]:
        """The audit heads this directory's manifests recorded, as anchors for `audit.verify`,
        and the ids of manifests that could not be read or trusted (altered, foreign key)."""
        manifests = self.list()
        readable = {m.id for m in manifests}
        anchors = [a for a in (m.anchor() for m in manifests) if a is not None]
        return anchors, [i for i in self.ids() if i not in readable]

    def ids(self) -> list[str]:
        """Every backup id present, readable or not."""
        return sorted(p.stem for p in self.directory.glob("*.json"))

    def latest(self) -> Manifest | None:
        found = self.list()
        return found[-1] if found else None

    def _new_id(self, kind: str, now: dt.datetime) -> str:
        base = now.strftime("%Y%m%d-%H%M%S") + f"-{kind}"
        candidate, n = base, 1
        while self._manifest_path(candidate).exists() or self.data_path(candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    # creating

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One backup job at a time per directory (cron and the app may overlap), since
        each incremental builds on the newest backup and trims the change log. Holding the
        lock, clear what killed jobs left here (half-written files, scratch copies)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            staging.sweep(self.directory, LEGACY_BACKUP_RESIDUE)
            for orphan in self._orphans():
                orphan.unlink(missing_ok=True)
            yield
        finally:
            os.close(fd)

    def _orphans(self) -> list[Path]:
        """Data files whose manifest was never written (a job killed between the two)."""
        return sorted(
            path
            for path in self.directory.glob("*.bak")
            if not self._manifest_path(path.stem).exists()
        )

    def residue(self, db_path: Path) -> list[Path]:
        """Copies and half-written files that backup jobs left (or are working on) now."""
        return [
            *staging.residue(db_path.parent, LEGACY_DB_RESIDUE),
            *staging.residue(self.directory, LEGACY_BACKUP_RESIDUE),
            *self._orphans(),
        ]

    def create(
        self, db: Database, *, full: bool, note: str = "", progress: Progress | None = None
    ) -> Manifest:
        """Take a full or incremental backup of `db` while others keep working."""
        if db.keys.backup_key != self.keys.backup_key:
            raise BackupError(_("the backup store's key is not the database's key"))
        report = progress or (lambda fraction, message: None)
        with self._exclusive():
            staging.sweep(db.path.parent, LEGACY_DB_RESIDUE)
            if full:
                manifest = self._create_full(db, note, report)
            else:
                manifest = self._create_incremental(db, note, report)
            _trim_change_log(db, manifest.change_seq)
        report(1.0, _("backup {backup} written").format(backup=manifest.id))
        return manifest

    def _create_full(self, db: Database, note: str, report: Progress) -> Manifest:
        if db.meta(TRACKING_KEY) != "1":
            with db.write() as tx:
                set_meta(tx, TRACKING_KEY, "1")
        now = dt.datetime.now()
        backup_id = self._new_id("full", now)
        with staging.stage(db.path.parent, "snapshot") as work:
            snapshot = work / "snapshot.db"
            report(0.0, _("taking a consistent snapshot"))
            source = connect(db.path)
            os.close(os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
            target = sqlite3.connect(snapshot)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            report(0.3, _("reading the snapshot"))
            state = _state(snapshot)
            image_hash = hashlib.sha256()
            total = max(1, snapshot.stat().st_size)

            def blocks() -> Iterator[bytes]:
                done = 0
                with open(snapshot, "rb") as handle:
                    while block := handle.read(CHUNK_BYTES):
                        image_hash.update(block)
                        done += len(block)
                        if done % REPORT_EVERY < CHUNK_BYTES:
                            report(0.3 + 0.7 * done / total, _("encrypting"))
                        yield block

            file_id = os.urandom(FILE_ID_BYTES)
            sha, size = self._write_data(backup_id, file_id, blocks())
        manifest = Manifest(
            id=backup_id,
            created_at=now.isoformat(timespec="microseconds"),
            kind="full",
            parent=None,
            chain=[backup_id],
            sha256=sha,
            size=size,
            file_id=file_id.hex(),
            key_check=self._key_check(),
            image_sha256=image_hash.hexdigest(),
            note=note,
            **state,
        )
        return self._save(manifest)

    def _write_data(
        self, backup_id: str, file_id: bytes, blocks: Iterator[bytes]
    ) -> tuple[str, int]:
        """Write the `.bak` in staging and move it into place only once it is whole."""
        with staging.stage(self.directory, "part") as work:
            staged = work / f"{backup_id}.bak"
            digest = _write_container(staged, self.keys, file_id, blocks)
            staged.replace(self.data_path(backup_id))
        return digest

    def _save(self, manifest: Manifest) -> Manifest:
        signed = self._sign(manifest)
        with staging.stage(self.directory, "part") as work:
            staged = work / f"{manifest.id}.json"
            with create_private(staged) as out:
                out.write(json.dumps(signed.stored(with_mac=True), indent=2, sort_keys=True))
            staged.replace(self._manifest_path(manifest.id))
        return dataclasses.replace(signed, path=str(self.data_path(manifest.id)))

    def incremental_obstacle(self, db: Database) -> str | None:
        """Why an incremental cannot be taken now (then take a full), or None."""
        parent = self.latest()
        if parent is None:
            return _("there is no backup to build on")
        if db.meta(TRACKING_KEY) != "1":
            return _("change tracking is off (no full backup of this database yet)")
        if parent.schema_version != SCHEMA_VERSION:
            return _("the schema changed since {backup}").format(backup=parent.id)
        floor = db.conn.execute(
            "SELECT COALESCE(MAX(row_id), 0) FROM change_log WHERE tbl=?", (FLOOR_MARK,)
        ).fetchone()[0]
        if parent.change_seq < floor:
            return _("changes since {backup} are no longer tracked (it is not the newest)").format(
                backup=parent.id
            )
        untracked = set(_data_tables(db.conn)) - {*TRACKED_TABLES, "audit_log", "customer_search"}
        if untracked:
            return _("table(s) {tables} are not change-tracked").format(
                tables=", ".join(sorted(untracked))
            )
        return None

    def _create_incremental(self, db: Database, note: str, report: Progress) -> Manifest:
        obstacle = self.incremental_obstacle(db)
        if obstacle:
            raise BackupError(
                _("cannot take an incremental backup: {reason}; take a full one").format(
                    reason=obstacle
                )
            )
        parent = self.latest()
        assert parent is not None
        now = dt.datetime.now()
        backup_id = self._new_id("incr", now)
        conn = connect(db.path)
        records: list[bytes] = []
        try:
            conn.execute("BEGIN")
            report(0.1, _("collecting changes"))
            changed: dict[str, list[int]] = {}
            for row in conn.execute(
                "SELECT DISTINCT tbl, row_id FROM change_log WHERE seq > ? AND tbl <> ?"
                " ORDER BY tbl, row_id",
                (parent.change_seq, FLOOR_MARK),
            ):
                changed.setdefault(row[0], []).append(row[1])
            for table, ids in changed.items():
                records += _row_records(conn, table, ids)
            records += _search_records(conn, changed.get("customers", []))
            records += _audit_records(conn, parent.audit_max_id)
            records += _sequence_records(conn)
            state = _state_of(conn)
        finally:
            conn.execute("COMMIT")
            conn.close()
        report(0.6, _("encrypting"))
        file_id = os.urandom(FILE_ID_BYTES)
        sha, size = self._write_data(backup_id, file_id, _pack_lines(records))
        manifest = Manifest(
            id=backup_id,
            created_at=now.isoformat(timespec="microseconds"),
            kind="incremental",
            parent=parent.id,
            chain=[*parent.chain, backup_id],
            sha256=sha,
            size=size,
            file_id=file_id.hex(),
            key_check=self._key_check(),
            note=note,
            **state,
        )
        return self._save(manifest)

    # reading back

    def _check_file(self, manifest: Manifest) -> None:
        path = self.data_path(manifest.id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise BackupError(_("{name} is missing").format(name=path.name)) from None
        if size != manifest.size:
            wrong_size = (
                _("{name} is {size:,} bytes, its manifest says {expected:,} (truncated)")
                if size < manifest.size
                else _("{name} is {size:,} bytes, its manifest says {expected:,} (grown)")
            )
            raise BackupError(wrong_size.format(name=path.name, size=size, expected=manifest.size))
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK_BYTES):
                digest.update(block)
        if digest.hexdigest() != manifest.sha256:
            raise BackupError(
                _("{name} is corrupted: its SHA-256 does not match the manifest").format(
                    name=path.name
                )
            )

    def _chain(self, backup_id: str) -> list[Manifest]:
        manifest = self.manifest(backup_id)
        chain = [self.manifest(i) for i in manifest.chain[:-1]] + [manifest]
        if chain[0].kind != "full":
            raise BackupError(
                _("the chain of {backup} does not start with a full backup").format(
                    backup=backup_id
                )
            )
        return chain

    def _apply(self, manifest: Manifest, target: Path) -> None:
        """Add one backup of a chain to the database image at `target` (created 0600)."""
        self._check_file(manifest)
        blocks = _read_container(
            self.data_path(manifest.id), self.keys, bytes.fromhex(manifest.file_id)
        )
        if manifest.kind == "full":
            image = hashlib.sha256()
            target.unlink(missing_ok=True)
            with create_private(target, binary=True) as out:
                for block in blocks:
                    image.update(block)
                    out.write(block)
            if image.hexdigest() != manifest.image_sha256:
                raise BackupError(
                    _("{backup}: the restored image does not match its hash").format(
                        backup=manifest.id
                    )
                )
            return
        lines = [line for block in blocks for line in block.split(b"\n") if line]
        conn = _image_connection(target)
        try:
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("BEGIN IMMEDIATE")
            try:
                _apply_records(
                    conn, (json.loads(line, object_hook=_decode_bytes) for line in lines)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _check_restored(self, target: Path, manifest: Manifest) -> list[str]:
        problems = []
        conn = sqlite3.connect(target)
        conn.row_factory = sqlite3.Row
        for pragma in CHECK_PRAGMAS:
            conn.execute(pragma)
        try:
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if integrity != ["ok"]:
                problems.append(
                    _("integrity_check: {found}").format(found="; ".join(integrity[:3]))
                )
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                problems.append(
                    ngettext(
                        "foreign_key_check: {count} dangling reference",
                        "foreign_key_check: {count} dangling references",
                        len(broken),
                    ).format(count=len(broken))
                )
            anchor = manifest.anchor()
            chain = audit.verify(
                conn, self.keys, anchors=[anchor] if anchor else [], legacy=manifest.legacy_head
            )
            if not chain.ok:
                problems.append(chain.describe())
            counts = _counts(conn)
            for table, expected in manifest.row_counts.items():
                if counts.get(table) != expected:
                    problems.append(
                        _("{table}: {found} rows restored, manifest says {expected}").format(
                            table=table, found=counts.get(table), expected=expected
                        )
                    )
            head = _meta(conn, audit.HEAD_KEY) or ""
            if head != manifest.audit_head:
                problems.append(_("audit head differs from the manifest"))
        except sqlite3.DatabaseError as exc:
            problems.append(
                _("restored file is not a readable database ({reason})").format(reason=exc)
            )
        finally:
            conn.close()
        return problems

    def _restore_chain(
        self, backup_id: str, target: Path, progress: Progress | None
    ) -> tuple[list[Manifest], list[str]]:
        """Rebuild the chain into `target` and check it; returns the chain and problems.

        After incrementals the search index is merged into one segment (with secure_delete
        on), so a customer an incremental purged leaves no token in old FTS segments.
        """
        report = progress or (lambda fraction, message: None)
        chain = self._chain(backup_id)
        for step, manifest in enumerate(chain):
            report(step / len(chain), _("applying {backup}").format(backup=manifest.id))
            self._apply(manifest, target)
        conn = _image_connection(target)
        try:
            if len(chain) > 1:
                report(0.9, _("rewriting the search index"))
                conn.execute("INSERT INTO customer_search(customer_search) VALUES ('optimize')")
        finally:
            conn.close()
        report(0.95, _("checking the restored database"))
        problems = [f"{chain[-1].id}: {p}" for p in self._check_restored(target, chain[-1])]
        conn = _image_connection(target)
        try:
            conn.execute("DELETE FROM change_log")
        finally:
            conn.close()
        return chain, problems

    def verify(self, backup_id: str, progress: Progress | None = None) -> CheckResult:
        """Decrypt, check hashes, restore the chain in a scratch place and check the result."""
        started = time.perf_counter()
        with staging.stage(self.directory, "verify") as scratch:
            try:
                _chain, problems = self._restore_chain(backup_id, scratch / "verify.db", progress)
            except VERIFY_ERRORS as exc:
                problems = [str(exc)]
        return CheckResult(backup_id, not problems, tuple(problems), time.perf_counter() - started)

    def verify_all(self, progress: Progress | None = None) -> list[CheckResult]:
        """Every backup; each chain is restored once, full first, checked after every step."""
        readable = {m.id: m for m in self.list()}
        results: dict[str, CheckResult] = {}
        for full in (m for m in readable.values() if m.kind == "full"):
            followers = sorted(
                (m for m in readable.values() if m.kind != "full" and m.chain[0] == full.id),
                key=lambda m: len(m.chain),
            )
            results.update(self._verify_line([full, *followers], progress))
        for backup_id in self.ids():
            if backup_id not in results:
                results[backup_id] = self.verify(backup_id, progress)
        return [results[backup_id] for backup_id in self.ids()]

    def _verify_line(
        self, line: list[Manifest], progress: Progress | None
    ) -> dict[str, CheckResult]:
        """Apply a full and its incrementals in order, checking each; stop at the first
        failure or fork (what is left is verified on its own)."""
        report = progress or (lambda fraction, message: None)
        results: dict[str, CheckResult] = {}
        applied: list[str] = []
        with staging.stage(self.directory, "verify") as scratch:
            image = scratch / "verify.db"
            for step, manifest in enumerate(line):
                if manifest.chain[:-1] != applied:
                    break
                report(step / len(line), _("verifying {backup}").format(backup=manifest.id))
                started = time.perf_counter()
                try:
                    self._apply(manifest, image)
                    problems = self._check_restored(image, manifest)
                except VERIFY_ERRORS as exc:
                    problems = [str(exc)]
                results[manifest.id] = CheckResult(
                    manifest.id, not problems, tuple(problems), time.perf_counter() - started
                )
                if problems:
                    break
                applied.append(manifest.id)
        return results

    def restore(self, backup_id: str, to_path: Path, progress: Progress | None = None) -> Manifest:
        """Restore a backup (its chain in order) to a new file, 0600; nothing is written there
        if it fails (the work happens in a private staging directory beside it)."""
        if to_path.exists():
            raise BackupError(
                _("{path} already exists; restore to a new path").format(path=to_path)
            )
        to_path.parent.mkdir(parents=True, exist_ok=True)
        staging.sweep(to_path.parent, LEGACY_DB_RESIDUE)
        with staging.stage(to_path.parent, "restore") as work:
            image = work / "restore.db"
            chain, problems = self._restore_chain(backup_id, image, progress)
            if problems:
                raise BackupError(_failed_verification(backup_id, problems[0]))
            if to_path.exists():
                raise BackupError(
                    _("{path} appeared meanwhile; restore to a new path").format(path=to_path)
                )
            image.replace(to_path)
        return chain[-1]

    def restore_live(
        self,
        backup_id: str,
        db: Database,
        progress: Progress | None = None,
        *,
        actor: str = "system",
    ) -> tuple[Manifest, Manifest]:
        """Replace the live database's contents after an automatic safety backup, audited as
        `actor`, in one step that a crash either completes or leaves undone (see the module
        text). Returns the restored backup and the safety backup."""
        report = progress or (lambda fraction, message: None)
        target_manifest = self.manifest(backup_id)
        safety = self.create(db, full=True, note=f"safety copy before restoring {backup_id}")
        with staging.stage(db.path.parent, "restore") as work:
            image = work / "restore.db"
            _chain, problems = self._restore_chain(backup_id, image, progress)
            if problems:
                raise BackupError(_failed_verification(backup_id, problems[0]))
            report(0.97, _("preparing the restored database"))
            self._prepare_for_live(image, backup_id, safety, actor)
            report(0.99, _("replacing the live database"))
            source = sqlite3.connect(image)
            try:
                with db.exclusive() as conn:
                    source.backup(conn)
            finally:
                source.close()
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        return target_manifest, safety

    def _prepare_for_live(self, image: Path, backup_id: str, safety: Manifest, actor: str) -> None:
        """Make the staged image exactly what the live database must become: current schema,
        change log restarted past every backup here (incrementals on them are refused: the
        database no longer descends from the newest), and the restore's audit entry, naming
        the backups whose history it abandons so their recorded heads no longer apply."""
        manifests = self.list()
        conn = connect(image)
        try:
            migrate(conn, self.keys)
            with _transaction(conn):
                seq = conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name='change_log'"
                ).fetchone()
                floor = 1 + max([m.change_seq for m in manifests] + [seq[0] if seq else 0])
                conn.execute("DELETE FROM sqlite_sequence WHERE name='change_log'")
                conn.execute(
                    "INSERT INTO sqlite_sequence(name, seq) VALUES ('change_log', ?)", (floor,)
                )
                _trim_change_log_in(conn, floor)
                audit.append(
                    conn,
                    self.keys,
                    at=dt.datetime.now().isoformat(timespec="seconds"),
                    actor=actor,
                    action=audit.RESTORE_ACTION,
                    details={
                        "backup": backup_id,
                        "to": "live",
                        "safety": safety.id,
                        audit.SUPERSEDED: _abandoned(conn, manifests),
                    },
                )
        finally:
            conn.close()

    def drill(self, progress: Progress | None = None) -> DrillResult:
        """Restore the newest chain to a scratch place and prove it matches its manifest."""
        latest = self.latest()
        if latest is None:
            raise BackupError(
                _("no backups in {directory} to drill with").format(directory=self.directory)
            )
        check = self.verify(latest.id, progress)
        return DrillResult(
            backup_id=latest.id,
            ok=check.ok,
            chain=latest.chain,
            problems=check.problems,
            row_counts=latest.row_counts,
            audit_head=latest.audit_head,
            seconds=check.seconds,
        )

    def prune(
        self, keep_daily: int = 7, keep_weekly: int = 4, *, dry_run: bool = False
    ) -> list[str]:
        """Keep the newest backup of the last `keep_daily` days and the newest full of the
        last `keep_weekly` weeks (with every backup their chains need); delete the rest."""
        manifests = self.list()
        if not manifests:
            return []
        keep: set[str] = {manifests[-1].id}
        by_day: dict[str, Manifest] = {}
        by_week: dict[tuple[int, int], Manifest] = {}
        for m in manifests:
            when = dt.datetime.fromisoformat(m.created_at)
            by_day[when.date().isoformat()] = m
            if m.kind == "full":
                week = when.isocalendar()
                by_week[(week.year, week.week)] = m
        keep |= {m.id for m in list(by_day.values())[-keep_daily:]} if keep_daily else set()
        keep |= {m.id for m in list(by_week.values())[-keep_weekly:]} if keep_weekly else set()
        needed = {i for m in manifests if m.id in keep for i in m.chain}
        doomed = [m.id for m in manifests if m.id not in needed]
        if not dry_run:
            with self._exclusive():
                for backup_id in doomed:
                    self.data_path(backup_id).unlink(missing_ok=True)
                    self._manifest_path(backup_id).unlink(missing_ok=True)
        return doomed

    def scheduled(
        self, db: Database, settings: Settings, today: dt.date | None = None
    ) -> tuple[Manifest, list[str]]:
        """What cron runs daily: a full on the configured weekday (or when an incremental is
        impossible), an incremental otherwise; then prune."""
        day = today or dt.date.today()
        full = day.weekday() == settings.backup_full_weekday or bool(self.incremental_obstacle(db))
        manifest = self.create(db, full=full)
        pruned = self.prune(settings.backup_keep_daily, settings.backup_keep_weekly)
        return manifest, pruned


def create(db: Database, backup_dir: Path, full: bool) -> Manifest:
    return BackupStore(backup_dir, db.keys).create(db, full=full)


# --- database state and row records ------------------------------------------------------


def _trim_change_log(db: Database, upto: int) -> None:
    """Forget changes a backup now holds; the floor mark says how far they are forgotten,
    so an incremental on an older parent is refused instead of silently missing rows."""
    with db.write() as tx:
        _trim_change_log_in(tx, upto)


def _trim_change_log_in(conn: sqlite3.Connection, upto: int) -> None:
    conn.execute("DELETE FROM change_log WHERE seq <= ? OR tbl = ?", (upto, FLOOR_MARK))
    conn.execute("INSERT INTO change_log(tbl, row_id) VALUES (?, ?)", (FLOOR_MARK, upto))


def _image_connection(path: Path) -> sqlite3.Connection:
    """A connection to a staged image that zeroes what it deletes (purged rows, merged
    search-index segments), so no freed page keeps their text."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA secure_delete=ON")
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _abandoned(conn: sqlite3.Connection, manifests: list[Manifest]) -> list[str]:
    """Backups whose recorded audit head is not part of this database's log (they were taken
    on a branch of history a restore is leaving behind)."""
    abandoned = []
    for manifest in manifests:
        anchor = manifest.anchor()
        if anchor is None or anchor.entry_id == 0:
            continue
        row = conn.execute("SELECT hash FROM audit_log WHERE id=?", (anchor.entry_id,)).fetchone()
        if row is None or row[0] != anchor.hash:
            abandoned.append(manifest.id)
    return abandoned


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def _data_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables that hold data (FTS shadow tables and bookkeeping excluded)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        " AND name NOT LIKE 'customer_search_%' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in BOOKKEEPING_TABLES]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _data_tables(conn)}


def _state_of(conn: sqlite3.Connection) -> dict[str, Any]:
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='change_log'").fetchone()
    audit_max = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()[0]
    return {
        "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
        "change_seq": seq[0] if seq else 0,
        "audit_max_id": audit_max,
        "audit_head": _meta(conn, audit.HEAD_KEY) or "",
        "row_counts": _counts(conn),
    }


def _state(snapshot: Path) -> dict[str, Any]:
    conn = sqlite3.connect(snapshot)
    try:
        return _state_of(conn)
    finally:
        conn.close()


def _encode(value: Any) -> Any:
    return {"$b": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def _decode_bytes(obj: dict[str, Any]) -> Any:
    return base64.b64decode(obj["$b"]) if set(obj) == {"$b"} else obj


def _line(record: list[Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def _row_records(conn: sqlite3.Connection, table: str, ids: list[int]) -> list[bytes]:
    """Current rows for changed ids, and a deletion for every id no longer there."""
    if table not in TRACKED_TABLES:
        raise BackupError(_("change log names an unknown table {table}").format(table=table))
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    out = [_line(["columns", table, columns])]
    for start in range(0, len(ids), ROWS_PER_QUERY):
        batch = ids[start : start + ROWS_PER_QUERY]
        marks = ",".join("?" * len(batch))
        found = set()
        for row in conn.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", batch):
            found.add(row[0])
            out.append(_line(["row", table, [_encode(v) for v in row]]))
        out += [_line(["delete", table, i]) for i in batch if i not in found]
    return out


def _search_records(conn: sqlite3.Connection, customer_ids: list[int]) -> list[bytes]:
    out = []
    for start in range(0, len(customer_ids), ROWS_PER_QUERY):
        batch = customer_ids[start : start + ROWS_PER_QUERY]
        marks = ",".join("?" * len(batch))
        docs = dict(
            conn.execute(
                f"SELECT rowid, doc FROM customer_search WHERE rowid IN ({marks})", batch
            ).fetchall()
        )
        out += [_line(["search", i, docs.get(i)]) for i in batch]
    return out


def _audit_records(conn: sqlite3.Connection, after_id: int) -> list[bytes]:
    columns = [r[1] for r in conn.execute("PRAGMA table_info(audit_log)")]
    out = [_line(["columns", "audit_log", columns])]
    cursor = conn.execute("SELECT * FROM audit_log WHERE id > ? ORDER BY id", (after_id,))
    try:
        out += [_line(["row", "audit_log", list(row)]) for row in cursor]
    finally:
        cursor.close()
    return out


def _sequence_records(conn: sqlite3.Connection) -> list[bytes]:
    """Each table's highest id ever (AUTOINCREMENT), so a restored copy never reuses an id
    freed after the full backup."""
    rows = conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall()
    return [_line(["sequence", name, seq]) for name, seq in rows if name in TRACKED_TABLES]


def _pack_lines(lines: list[bytes]) -> Iterator[bytes]:
    """Group whole lines into blocks of about CHUNK_BYTES."""
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > CHUNK_BYTES and buffer:
            yield b"\n".join(buffer) + b"\n"
            buffer, size = [], 0
        buffer.append(line)
        size += len(line) + 1
    if buffer:
        yield b"\n".join(buffer) + b"\n"


def _apply_records(conn: sqlite3.Connection, records: Iterator[list[Any]]) -> None:
    """Replay an incremental: deletions first, then upserts, audit appends and index docs.

    Customer rows go in after their follow-ups and interactions: the triggers that keep each
    customer's order figures fire as those rows are replayed, and the customer row recorded
    in the backup (changed whenever its figures changed) must be the one that stays.
    """
    columns: dict[str, list[str]] = {}
    rows: list[tuple[str, list[Any]]] = []
    searches: list[tuple[int, str | None]] = []
    sequences: list[tuple[str, int]] = []
    for record in records:
        kind = record[0]
        if kind == "columns":
            columns[record[1]] = record[2]
        elif kind == "delete":
            conn.execute(f"DELETE FROM {_table(record[1])} WHERE id=?", (record[2],))
        elif kind == "row":
            rows.append((_table(record[1]), record[2]))
        elif kind == "search":
            searches.append((record[1], record[2]))
        elif kind == "sequence":
            sequences.append((_table(record[1]), record[2]))
        else:
            raise BackupError(
                _("unknown record kind {kind!r} in an incremental backup").format(kind=kind)
            )
    rows.sort(key=lambda row: row[0] == "customers")
    for table, values in rows:
        names = columns[table]
        if table == "audit_log":
            conn.execute(
                f"INSERT INTO audit_log({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                values,
            )
            continue
        updates = ", ".join(f"{c}=excluded.{c}" for c in names if c != "id")
        conn.execute(
            f"INSERT INTO {table}({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            f" ON CONFLICT(id) DO UPDATE SET {updates}",
            values,
        )
    for rowid, doc in searches:
        conn.execute("DELETE FROM customer_search WHERE rowid=?", (rowid,))
        if doc is not None:
            conn.execute("INSERT INTO customer_search(rowid, doc) VALUES (?, ?)", (rowid, doc))
    for table, seq in sequences:
        conn.execute("DELETE FROM sqlite_sequence WHERE name=? AND seq < ?", (table, seq))
        if conn.execute("SELECT 1 FROM sqlite_sequence WHERE name=?", (table,)).fetchone() is None:
            conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table, seq))


def _table(name: str) -> str:
    if name not in (*TRACKED_TABLES, "audit_log"):
        raise BackupError(
            _("an incremental backup names an unknown table {name!r}").format(name=name)
        )
    return name
