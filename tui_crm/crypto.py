"""Key file, field encryption, blind indexes and masking.

Sensitive columns are stored only as AES-256-GCM ciphertext whose associated data binds it
to its table, column, row id and key id, so a ciphertext copied to another row or column
fails to decrypt instead of showing the wrong customer's phone.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .i18n import _
from .validation import phone_last4

KEY_FILE_HEADER = "tui-crm-key-v1"
CIPHER_VERSION = 1
NONCE_BYTES = 12
_PREFIX_BYTES = 1 + 4
MAX_KEY_FILE_BYTES = 4096
AUDIT_HEAD_VERSION = "h2"


class KeyFileError(Exception):
    """A key file that is missing, unreadable, malformed or not the database's key."""


class DecryptionError(Exception):
    """A ciphertext that does not belong where it was found or was altered."""


class _NonceSource(threading.local):
    """Random nonces from `os.urandom`, drawn 4 KiB at a time rather than one system call
    per value sealed (a bulk write seals several per customer). Each thread has its own
    pool and a forked child starts a new one, so no two seals ever share a nonce."""

    def __init__(self) -> None:
        self.pool = b""
        self.offset = 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.pool):
            self.pool, self.offset = os.urandom(NONCE_POOL_BYTES), 0
        self.offset += size
        return self.pool[self.offset - size : self.offset]


NONCE_POOL_BYTES = 4096
_nonces = _NonceSource()


def _new_nonce_source() -> None:
    global _nonces
    _nonces = _NonceSource()


os.register_at_fork(after_in_child=_new_nonce_source)


def random_nonce(size: int = NONCE_BYTES) -> bytes:
    """Fresh random bytes for an AES-GCM nonce (never handed out twice)."""
    return _nonces.take(size)


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"tui-crm", info=purpose.encode()
    ).derive(master)


@dataclass(frozen=True)
class KeyRing:
    """The master key's derived sub-keys; one per purpose so a leak of one is contained."""

    key_id: int
    data_key: bytes
    index_key: bytes
    audit_key: bytes
    check_key: bytes
    backup_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> KeyRing:
        if len(master) != 32:
            raise KeyFileError(_("key file does not hold a 32-byte master key"))
        key_id = int.from_bytes(hashlib.sha256(b"tui-crm key id" + master).digest()[:4], "big")
        return cls(
            key_id=key_id,
            data_key=_derive(master, "data"),
            index_key=_derive(master, "blind-index"),
            audit_key=_derive(master, "audit"),
            check_key=_derive(master, "key-check"),
            backup_key=_derive(master, "backup"),
        )

    @functools.cached_property
    def _aead(self) -> AESGCM:
        return AESGCM(self.data_key)

    @functools.cached_property
    def _prefix(self) -> bytes:
        return bytes([CIPHER_VERSION]) + self.key_id.to_bytes(4, "big")

    def check_value(self) -> str:
        """A value stored in the database that proves this is its key, without revealing it."""
        return hmac.new(self.check_key, b"tui-crm key check", "sha256").hexdigest()

    def encrypt(
        self, plaintext: str | None, table: str, column: str, row_id: int, *, bound_to: str = ""
    ) -> bytes | None:
        """Seal a value to its place; `bound_to` ties it to one more fact (a customer code), so
        the ciphertext fails to open wherever that fact differs."""
        if plaintext is None or plaintext == "":
            return None
        nonce = random_nonce()
        aad = _aad(table, column, row_id, self.key_id, bound_to)
        return self._prefix + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)

    def decrypt(
        self, blob: bytes | None, table: str, column: str, row_id: int, *, bound_to: str = ""
    ) -> str | None:
        if blob is None:
            return None
        if len(blob) < _PREFIX_BYTES + NONCE_BYTES + 16 or blob[0] != CIPHER_VERSION:
            raise _undecryptable(table, column, row_id, _("unknown ciphertext format"))
        key_id = int.from_bytes(blob[1:5], "big")
        if key_id != self.key_id:
            raise _undecryptable(table, column, row_id, _("encrypted under another key"))
        nonce = blob[_PREFIX_BYTES : _PREFIX_BYTES + NONCE_BYTES]
        try:
            plain = self._aead.decrypt(
                nonce,
                blob[_PREFIX_BYTES + NONCE_BYTES :],
                _aad(table, column, row_id, key_id, bound_to),
            )
        except InvalidTag:
            raise _undecryptable(table, column, row_id, _("failed authentication")) from None
        return plain.decode()

    def blind_index(self, kind: str, normalised: str | None) -> bytes | None:
        """HMAC of a normalised value: exact lookup without storing or decrypting the value."""
        if not normalised:
            return None
        return hmac.digest(self.index_key, f"{kind}:{normalised}".encode(), "sha256")[:16]

    def audit_mac(self, message: bytes) -> str:
        return hmac.digest(self.audit_key, message, "sha256").hex()

    def sign_audit_head(self, count: int, last_id: int, last_hash: str) -> str:
        """The audit log's head as stored in meta: how many entries, the last one's id and
        hash, and a MAC over all three, so the head can be neither forged nor edited."""
        body = f"{AUDIT_HEAD_VERSION}:{count}:{last_id}:{last_hash}"
        return f"{body}:{self.audit_mac(b'audit-head' + bytes([0x1F]) + body.encode())}"

    def open_audit_head(self, text: str) -> tuple[int, int, str] | None:
        """(count, last id, last hash) of a head this key signed; None if forged or altered."""
        parts = text.split(":")
        if len(parts) != 5 or parts[0] != AUDIT_HEAD_VERSION:
            return None
        try:
            count, last_id = int(parts[1]), int(parts[2])
        except ValueError:
            return None
        expected = self.sign_audit_head(count, last_id, parts[3])
        return (count, last_id, parts[3]) if hmac.compare_digest(expected, text) else None


def _aad(table: str, column: str, row_id: int, key_id: int, bound_to: str = "") -> bytes:
    aad = f"{table}|{column}|{row_id}|{key_id}"
    return (aad + f"|{bound_to}" if bound_to else aad).encode()


def _undecryptable(table: str, column: str, row_id: int, problem: str) -> DecryptionError:
    return DecryptionError(
        _("{table}.{column} of row {row_id}: {problem}").format(
            table=table, column=column, row_id=row_id, problem=problem
        )
    )


SENSITIVE_FIELDS = ("phone", "email", "id_number", "address")
BLIND_INDEXED = ("phone", "email", "id_number")


def customer_columns(keys: KeyRing, row_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored columns of a customer's sensitive values given in `values`: ciphertext
    bound to `row_id`, blind index, and the phone's last four digits (shown in its mask)."""
    out: dict[str, Any] = {}
    for name in SENSITIVE_FIELDS:
        if name not in values:
            continue
        value = values[name] or None
        out[f"{name}_enc"] = keys.encrypt(value, "customers", f"{name}_enc", row_id)
        if name in BLIND_INDEXED:
            out[f"{name}_bidx"] = keys.blind_index(name, value)
        if name == "phone":
            out["phone_last4"] = phone_last4(value)
    return out


def create_key_file(path: Path) -> KeyRing:
    """Write a new random master key readable by its owner only; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    master = os.urandom(32)
    content = f"{KEY_FILE_HEADER}\n{base64.b64encode(master).decode()}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(
            _("key file {path} already exists; refusing to overwrite it").format(path=path)
        ) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return KeyRing.from_master(master)


def load_key_file(path: Path) -> KeyRing:
    """The key ring from a key file; every way the file can be wrong is one KeyFileError line."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise KeyFileError(
                _("{path} is not a tui-crm key file (not a regular file)").format(path=path)
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            _("key file {path} not found (set --key-file or TUI_CRM_KEY_FILE)").format(path=path)
        ) from None
    except OSError as exc:
        raise KeyFileError(
            _("cannot read key file {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            _("key file {path} is readable by others; run: chmod 600 {path}").format(path=path)
        )
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(_("{path} is not a tui-crm key file (too large)").format(path=path))
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(
            _("{path} is not a tui-crm key file (it is not text)").format(path=path)
        ) from None
    lines = text.split()
    not_a_key_file = _("{path} is not a tui-crm key file").format(path=path)
    if len(lines) != 2 or lines[0] != KEY_FILE_HEADER:
        raise KeyFileError(not_a_key_file)
    try:
        master = base64.b64decode(lines[1], validate=True)
    except ValueError:
        raise KeyFileError(not_a_key_file) from None
    return KeyRing.from_master(master)


def mask_phone(phone: str | None) -> str:
    """`138****5678`; an extension (`;ext=12`) follows as ` ext. 12`, being no one's secret."""
    if not phone:
        return ""
    phone, _sep, extension = phone.partition(";ext=")
    if extension:
        return f"{mask_phone(phone)} ext. {extension}"
    digits = phone.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 3 if len(digits) >= 11 else min(2, len(digits) - 4)
    prefix = "+" if phone.startswith("+") else ""
    return prefix + digits[:head] + "****" + digits[-4:]


def mask_email(email: str | None) -> str:
    if not email:
        return ""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    keep = min(6, max(1, len(value) // 3))
    return value[:keep] + "****"


MASKERS = {
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "address": mask_address,
}
