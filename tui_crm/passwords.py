"""Password hashing (Argon2id) and the password policy, shared by the service and the demo."""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from . import validation as v
from .i18n import _

WEAK_PASSWORDS = {"password", "12345678", "123456789", "qwertyui", "demodemo", "admin123"}


def hash_password(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(16), length=32, iterations=2, lanes=1, memory_cost=19456)
    return kdf.derive_phc_encoded(password.encode())


@functools.cache
def dummy_hash() -> str:
    """Checked against for unknown users, so a wrong name costs what a wrong password does."""
    return hash_password(os.urandom(16).hex())


def check_password(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode(), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def check_password_policy(password: str, *, demo: bool) -> None:
    if demo:
        if not password:
            raise v.ValidationError("password", _("must not be empty"))
        return
    if len(password) < 10:
        raise v.ValidationError("password", _("must be at least 10 characters long"))
    if password.lower() in WEAK_PASSWORDS or len(set(password)) < 5:
        raise v.ValidationError("password", _("is too easy to guess; choose another"))
