"""Password hashing (Argon2id), and the policy: long enough, and not guessable from a list
or from who sets it.

Attackers try the most common passwords first, with the usual disguises: capitals,
leetspeak (`P@ssw0rd`), digits and symbols tacked on (`Dragon2024!`), separators, repeats
and reversals, and the user's or the product's own name (`admin-tui-crm-1`). So a password
is refused when what is left after undoing those disguises is on a list of common passwords
or is only the username or the app's name. The list is the 30,000 most common passwords
shipped by zxcvbn (MIT licence; Dropbox's password-strength estimator, from leaked-password
corpora), whose estimator also has the last word: anything it scores below "safely
unguessable" (3 of 4), given the username and app name as known words, is refused too.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .validation import ValidationError

MIN_LENGTH = 10
MIN_DISTINCT = 5
MIN_SCORE = 3
APP_WORDS = ("tui-crm", "tuicrm", "crm")
# The common disguises of letters; `1` stands for either `i` or `l`, so both are tried.
_LEET = str.maketrans(
    {
        "0": "o",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)
_LEET_ONE = ("i", "l")
_SEPARATORS = re.compile(r"[\s._\-+/\\,;:'\"`~*#]+")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


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


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def disguises_removed(password: str) -> set[str]:
    """Every form a guesser would reduce the password to: case folded, separators dropped,
    leetspeak undone, digits and symbols stripped from both ends, a repeated unit once, and
    each of those reversed."""
    forms: set[str] = set()
    folded = password.casefold()
    for base in (folded, _SEPARATORS.sub("", folded)):
        for candidate in (base, _EDGES.sub("", base)):
            forms.add(candidate)
            for one in _LEET_ONE:
                undone = candidate.replace("1", one).translate(_LEET)
                forms |= {undone, _EDGES.sub("", undone)}
    forms |= {_unit(form) for form in forms}
    forms |= {form[::-1] for form in forms}
    return {form for form in forms if form}


def _unit(text: str) -> str:
    """`abcabcabc` -> `abc`: the shortest piece the text repeats."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _personal_words(username: str) -> list[str]:
    words = [username.casefold().strip(), *APP_WORDS]
    return [w for w in {*words, *(_SEPARATORS.sub("", w) for w in words)} if len(w) >= 3]


def _only_personal(form: str, words: Iterable[str]) -> bool:
    """True if only digits, symbols or a common password are left once the personal words
    are removed."""
    rest = form
    for word in sorted(words, key=len, reverse=True):
        rest = rest.replace(word, "")
    left = _EDGES.sub("", rest)
    return left == "" or left in common_passwords()


def check_password_policy(password: str, *, username: str = "", demo: bool = False) -> None:
    """Refuse (ValidationError on "password") a password that is short or easy to guess.

    Demo databases hold nothing real and accept any non-empty password.
    """
    if demo:
        if not password:
            raise ValidationError("password", "must not be empty")
        return
    if len(password) < MIN_LENGTH:
        raise ValidationError("password", f"must be at least {MIN_LENGTH} characters long")
    if len(set(password)) < MIN_DISTINCT:
        raise ValidationError("password", "repeats too few characters; choose another")
    forms = disguises_removed(password)
    if forms & common_passwords():
        raise ValidationError("password", "is a common password in disguise; choose another")
    words = _personal_words(username)
    if any(_only_personal(form, words) for form in forms):
        raise ValidationError("password", "is only the user or app name; choose another")
    if zxcvbn(password, user_inputs=[username, *APP_WORDS])["score"] < MIN_SCORE:
        raise ValidationError("password", "is too easy to guess; choose a longer one")
