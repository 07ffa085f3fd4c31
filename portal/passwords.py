"""What a new password must not be (issue 11, L5), beside its length: a common or leaked password
(common_passwords.txt: the 10 000 most common of a leaked corpus and a hand-written Swedish list),
built on the username or the person's name, or a trivial pattern (one character over and over, a
run along the keyboard or the alphabet). Plain values in, messages out: no request, no database.

Used wherever a password is set (`flask users create`, `flask users set-password`)."""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from flask_babel import gettext as _

from .i18n import N_
from .rules import Violation

#: The login form takes at most this many characters: a longer password could never be used.
PASSWORD_MAX_LENGTH = 256

TOO_SHORT = N_("Lösenordet måste ha minst %(n)s tecken.")
TOO_LONG = N_("Lösenordet får ha högst %(n)s tecken.")
COMMON = N_("Lösenordet är för vanligt: det finns i listor över vanliga och läckta lösenord.")
PERSONAL = N_("Lösenordet får inte bygga på användarnamnet eller namnet.")
PATTERN = N_(
    "Lösenordet får inte vara ett enkelt mönster: samma tecken om och om igen, eller en följd "
    "på tangentbordet eller i alfabetet."
)

# Rows and columns of a Swedish keyboard, the alphabet and the digits: neighbours in any of these
# continue a run ("qwerty", "1qaz", "abcdef", "123456", also backwards).
_SEQUENCES = (
    "1234567890+",
    "qwertyuiopå",
    "asdfghjklöä",
    "zxcvbnm,.-",
    "1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0pö-",
    "abcdefghijklmnopqrstuvwxyzåäö",
    "01234567890",
)  # fmt: skip
_NEIGHBOURS = frozenset(
    pair for seq in _SEQUENCES for a, b in zip(seq, seq[1:], strict=False) for pair in ((a, b), (b, a))
)
# A password of fewer different characters than this is a pattern ("abababababab").
_MIN_DISTINCT = 5
# What is left after taking the username and the name's parts out must be this long, and not
# common, for the password not to count as built on them.
_MIN_REST = 6
# Leetspeak back to letters ("p@ssw0rd"); 1 may stand for i or l.
_LEET_I = str.maketrans("@4310$5!7+", "aaeiosssit")
_LEET_L = str.maketrans("@4310$5!7+", "aaelosssit")
_SEPARATORS = re.compile(r"[\W_]+")
_PADDING = re.compile(r"^[\W_\d]+|[\W_\d]+$")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(_fold(s.strip()) for s in lines if s.strip() and not s.startswith("#"))


def _squash(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _variants(text: str) -> set[str]:
    """The password, without separators, without padding digits and punctuation, in leetspeak."""
    core = _PADDING.sub("", text)
    out = {text, _squash(text), core, _squash(core)}
    out |= {v.translate(t) for v in list(out) for t in (_LEET_I, _LEET_L)}
    return {v for v in out if v}


def _is_common(text: str) -> bool:
    variants = _variants(text)
    # Nothing left but digits and punctuation ("123456789012", "!!!!2024!!!!") is common too.
    return not _PADDING.sub("", text) or bool(variants & common_passwords())


def _runs(chars: str) -> int:
    """How many runs `chars` falls into, a run going on while each character repeats the last or
    is its neighbour on the keyboard, in the alphabet or among the digits."""
    runs = 1 if chars else 0
    for a, b in zip(chars, chars[1:], strict=False):
        if a != b and (a, b) not in _NEIGHBOURS:
            runs += 1
    return runs


def _is_pattern(text: str) -> bool:
    chars = _squash(text)
    if len(set(chars)) < _MIN_DISTINCT or re.fullmatch(r"(.+?)\1+", chars):
        return True  # few characters, or one piece over and over ("lösenordlösenord")
    return _runs(chars) * 3 <= len(chars)  # runs of three characters or more on average


def _is_personal(text: str, username: str, full_name: str) -> bool:
    parts = {_fold(username), _squash(_fold(full_name))}
    parts |= set(_SEPARATORS.split(_fold(full_name)))
    parts |= set(_SEPARATORS.split(_fold(username)))
    letters = re.sub(r"\d", "", _squash(text))
    rest = letters
    for part in sorted((p for p in parts if len(p) >= 3), key=len, reverse=True):
        rest = rest.replace(part, "")
    if rest == letters:
        return False
    return len(rest) < _MIN_REST or _is_common(rest)


def password_problems(
    password: str, *, username: str = "", full_name: str = "", min_length: int = 12
) -> list[Violation]:
    """What is wrong with `password` as a new password (field `password`, messages in Swedish);
    empty when it may be set."""
    if len(password) < min_length:
        return [Violation("R-PASSWORD-LENGTH", "password", _(TOO_SHORT, n=min_length))]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [Violation("R-PASSWORD-LENGTH", "password", _(TOO_LONG, n=PASSWORD_MAX_LENGTH))]
    text = _fold(password)
    problems = []
    if _is_common(text):
        problems.append(Violation("R-PASSWORD-COMMON", "password", _(COMMON)))
    if _is_personal(text, username, full_name):
        problems.append(Violation("R-PASSWORD-PERSONAL", "password", _(PERSONAL)))
    if _is_pattern(text):
        problems.append(Violation("R-PASSWORD-PATTERN", "password", _(PATTERN)))
    return problems
