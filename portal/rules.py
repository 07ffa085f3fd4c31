"""The routine's validation rules as pure functions (SPEC §4).

No Flask, no database: every rule takes plain values and returns a list of violations, each with a
rule code, the form field it concerns and a translatable message with parameters (its msgid is the
Swedish text, marked with N_; the view translates it with `Violation.render(gettext)`). Rules never
raise on bad input; they report it. Section numbers (§) refer to the routine in force (seeds/000).
"""

from __future__ import annotations

import calendar
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from personnummer import personnummer as pnr_lib  # the package's API module


def N_(text: str) -> str:  # noqa: N802  (the conventional gettext_noop name)
    """Mark a text for extraction (N_ is one of pybabel's default keywords) without translating it:
    rules run without Flask; the text is translated where it is shown."""
    return text


def swedish(msgid: str, **params: Any) -> str:
    """A msgid filled in as the Swedish catalogue gives it (the msgids are the Swedish texts): the
    `translate` of code that runs without a request (the CLI, tests). Like gettext, a text without
    parameters is not %-formatted."""
    return msgid % params if params else msgid


def _render(msgid: str, params: Mapping[str, Any], translate: Callable[..., str]) -> str:
    values = {k: v.render(translate) if isinstance(v, Phrase) else v for k, v in params.items()}
    return translate(msgid, **values)


@dataclass(frozen=True)
class Phrase:
    """A translatable text with parameters, used as a parameter of a message (a list joined with
    a translatable word: "@a eller @b"). `params` may hold phrases in turn."""

    msgid: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def render(self, translate: Callable[..., str] = swedish) -> str:
        return _render(self.msgid, self.params, translate)


@dataclass(frozen=True)
class Violation:
    """A rule's finding: its code (R-PERIOD-MAX), the form field it concerns (persons-0-email) and
    its message, as a msgid (the Swedish text with %(name)s placeholders, marked with N_) and the
    values of its placeholders.

    Shown to a user through gettext: `v.render(gettext)` (portal/forms/base.attach_violations);
    `v.message` is the Swedish text filled in, for code and tests that run without a request."""

    code: str
    field: str
    msgid: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def render(self, translate: Callable[..., str] = swedish) -> str:
        """The message through `translate` (flask_babel's gettext: msgid, **params -> text)."""
        return _render(self.msgid, self.params, translate)

    @property
    def message(self) -> str:
        """The Swedish text as users read it (the source language's catalogue)."""
        return self.render()

    def __str__(self) -> str:
        return self.message


# --- helpers ------------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamped to the month's last day (Nov 30 + 3 -> Feb 28/29)."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, years: int) -> date:
    """Add calendar years; Feb 29 becomes Feb 28 in a non-leap year."""
    return add_months(d, 12 * years)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _norm(value: Any) -> str:
    """Comparison form: NFC (a decomposed 'ä' equals 'ä'), single spaces, casefolded."""
    return " ".join(unicodedata.normalize("NFC", _text(value)).split()).casefold()


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _safe_limit(d: date, months: int) -> date:
    try:
        return add_months(d, months)
    except (ValueError, OverflowError):
        return date.max


def _get(row: Any, key: str) -> str:
    value = row.get(key) if isinstance(row, Mapping) else getattr(row, key, "")
    return _text(value)


def _items(values: Any) -> list[Any]:
    """A list argument's items. One string is one item (not its letters); a missing or broken
    list (None, a number, a date) has none."""
    if isinstance(values, str):
        return [values]
    if isinstance(values, Iterable) and not isinstance(values, (bytes, bytearray)):
        return list(values)
    return []


def _usernames(values: Iterable[str] | None) -> set[str]:
    return {n for n in (_norm(v) for v in _items(values)) if n}


# --- personnummer -------------------------------------------------------------------------------

# The detector (R-PNR-SUBJECT, R-NOTE-PNR; SPEC §4) is linear in the text's length by construction:
# no regular expression with adjacent unbounded quantifiers (the old one, two `\s*` around an
# optional dash, was quadratic on a run of spaces: issue 11 H1), and no NFKC of the whole text
# (CPython sorts a run of combining marks by insertion: quadratic too). Instead:
#
# 1. Normalise (M3), character by character through `_VIEW`: each character becomes what a reader
#    sees of it. Format characters (Unicode Cf: zero-width space, soft hyphen, bidi controls …),
#    combining marks, private-use and unassigned characters become nothing; the rest goes through
#    NFKC (fullwidth forms, superscripts, circled digits), after which a decimal digit of any script
#    becomes its ASCII digit, a letter or other number "x" ("r" if written right to left), and
#    everything else " " (spaces, punctuation, dashes, dots, slashes, underscores, symbols,
#    control characters): any run of them between two digit groups is one separator.
# 2. Collapse every run of separators to one space (one regular expression, one quantifier).
# 3. Search the collapsed text with regular expressions of bounded length only (a window is at
#    most 17 characters, so each start position costs a constant): ten or twelve digits, not
#    next to other digits, written all in a row or with the last four standing apart
#    (YYMMDD-NNNN, CCYYMMDD-NNNN), where the date part may be split as a date is (YY MM DD,
#    CC YY MM DD). Found: 19121212-1212, 121212+1212, 1912-12-12-1212, 19 121212 1212,
#    1912.12.12/1212, with any invisible characters or fullwidth digits inside.
#
# Not found, by design: an ISO date (2026-12-01), and two in a row (2026-12-01 - 2027-01-31:
# after a date written YYYY-MM-DD, four digits that begin another such date, year 1900-2099, are
# read as that date, not as a number's last four); 7-digit case numbers; Swedish phone numbers as
# they are written (031-365 00 00, 070-123 45 67, +46 70 123 45 67: the last four do not stand
# apart). Found although no personnummer: ten or twelve digits in a row (a phone number written
# 0701234567), a date and four digits (2026-12-01 1430). A number deliberately written in another
# shape (digit by digit, spelled out, letters for digits) is not found: the detector catches what
# a reader takes for a personnummer at a glance, not every way to encode one. Text with letters
# that run right to left, or with bidi controls, is also read in the order it may be shown (the
# characters reversed, or the digit groups): there a phone number may be taken for a personnummer.

# Bidi controls: embeddings, overrides and isolates, the marks LRM/RLM and the Arabic letter mark.
# Refused in every text field (SPEC §4): they make text display otherwise than it is stored.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_INVISIBLE = frozenset({"Cf", "Mn", "Me", "Mc", "Co", "Cs", "Cn"})
_SEPARATORS = re.compile(" {2,}")
_IN_A_ROW = re.compile("(?<![0-9])(?:[0-9]{10}|[0-9]{12})(?![0-9])")
# Zero-width, so that every start is tried (windows overlap); group 1 is the window.
_LAST_FOUR_APART = re.compile("(?<![0-9])(?=((?:[0-9]{2} ?){2,3}[0-9]{2} [0-9]{4})(?![0-9]))")
_ISO_DATE_AND_FOUR = re.compile("[0-9]{4} [0-9]{2} [0-9]{2} [0-9]{4}")
_DATE_TAIL = re.compile(" ([0-9]{2}) ([0-9]{2})(?![0-9])")
_PNR_INPUT = re.compile(r"(?:\d{2})?\d{6}[-+]?\d{4}", re.ASCII)


def _seen_as(char: str) -> str:
    """What the detector sees of one character (step 1 above): ASCII digits, " ", "x" or ""."""
    out = []
    for c in unicodedata.normalize("NFKC", char):  # one character: at most 18 out (U+FDFA)
        category = unicodedata.category(c)
        if category in _INVISIBLE:
            continue
        if category == "Nd":
            out.append(str(unicodedata.decimal(c)))
        elif category[0] in "LN":  # a right-to-left letter marks the text (contains_personnummer)
            out.append("r" if unicodedata.bidirectional(c) in ("R", "AL") else "x")
        else:
            out.append(" ")
    return "".join(out)


class _View(dict[int, str]):
    """str.translate table: code point -> what the detector sees of it. Filled as characters
    are met; only the Basic Multilingual Plane is kept (at most 65,536 entries)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        seen = "" if unicodedata.category(char) in _INVISIBLE else _seen_as(char)
        if code < 0x10000:
            self[code] = seen
        return seen


_VIEW = _View()


def detector_view(text: str) -> str:
    """The text as the personnummer detector sees it: ASCII digits, " " for a separator and "x"
    for anything else; invisible characters gone (M3)."""
    return _text(text).translate(_VIEW)


def _begins_date(year: str, tail: re.Match[str] | None) -> bool:
    """The four digits `year` and the two groups after them read as a date YYYY-MM-DD with a year
    1900-2099 (a date range or list: 2026-12-01 - 2027-01-31)."""
    if tail is None or not 1900 <= int(year) <= 2099:
        return False
    month, day = int(tail.group(1)), int(tail.group(2))
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(int(year), month)[1]


def _found(view: str) -> bool:
    text = _SEPARATORS.sub(" ", view)
    if _IN_A_ROW.search(text):
        return True
    for window in _LAST_FOUR_APART.finditer(text):
        if not (
            _ISO_DATE_AND_FOUR.fullmatch(window.group(1))
            and _begins_date(window.group(1)[-4:], _DATE_TAIL.match(text, window.end(1)))
        ):
            return True
    return False


def _groups_reversed(view: str) -> str:
    """The view with its groups in reverse order (each group's digits kept)."""
    return " ".join(reversed(view.replace("x", " x ").replace("r", " x ").split()))


def contains_personnummer(text: str) -> bool:
    """A 10- or 12-digit personnummer or samordningsnummer shape anywhere in the text, valid
    check digit or not (R-PNR-SUBJECT, R-NOTE-PNR); linear in the text's length."""
    view = detector_view(text)
    if _found(view):
        return True
    if "r" in view or contains_bidi_control(text):
        # Right-to-left letters or bidi controls can show digits in another order than they are
        # stored: an override reverses every character, a right-to-left context the order of
        # the groups (1212 19121212 shows as 19121212 1212).
        return _found(view[::-1]) or _found(_groups_reversed(view))
    return False


def contains_bidi_control(text: str) -> bool:
    return _BIDI.search(_text(text)) is not None


def _visible(text: str) -> str:
    """The text without format characters (zero-width spaces, soft hyphens, bidi controls)."""
    return "".join(c for c in _text(text) if unicodedata.category(c) != "Cf")


MSG_NEVER_PNR = N_(
    "Skriv aldrig personnummer eller samordningsnummer här – det hamnar i ärenderaden (§2.2)."
)
MSG_BIDI = N_(
    "Texten innehåller dolda tecken som ändrar textens riktning. Skriv texten direkt i fältet "
    "i stället för att klistra in den."
)
MSG_PNR_IN_TEXT = N_(
    "Texten ser ut att innehålla ett personnummer eller samordningsnummer. Ta bort det: "
    "personnummer hör inte hemma i det här fältet."
)


def check_subject(subject: str, field: str, forbidden_names: Iterable[str] = ()) -> list[Violation]:
    """R-PNR-SUBJECT: no personnummer and no client name in a subject line (§2.2, §5.9)."""
    out: list[Violation] = []
    text = _norm(_visible(subject))
    if contains_personnummer(text):
        out.append(Violation("R-PNR-SUBJECT", field, MSG_NEVER_PNR))
    names = [n for n in (_norm(_visible(x)) for x in _items(forbidden_names)) if len(n) >= 2]
    if any(n in text for n in names):
        out.append(
            Violation(
                "R-PNR-SUBJECT",
                field,
                N_(
                    "Ärenderaden får inte innehålla den enskildes namn. "
                    "Skriv bara ärendenummer och stadsområde (§2.2)."
                ),
            )
        )
    return out


def check_no_bidi(text: str, field: str) -> list[Violation]:
    """Bidi control characters are refused in every text field (R-NOTE-PNR, SPEC §4): they show a
    text otherwise than it is (a personnummer reversed by an override looks like another)."""
    return [Violation("R-NOTE-PNR", field, MSG_BIDI)] if contains_bidi_control(text) else []


def check_free_text(text: str, field: str) -> list[Violation]:
    """R-NOTE-PNR for any free-text field of any form: no bidi controls, no personnummer."""
    out = check_no_bidi(text, field)
    if contains_personnummer(text):
        out.append(Violation("R-NOTE-PNR", field, MSG_PNR_IN_TEXT))
    return out


def check_personnummer(value: str, field: str) -> list[Violation]:
    """R-PNR-VALID: a real personnummer or samordningsnummer (day + 60), Luhn check digit (§2.4)."""
    text = _text(value).strip()
    if not text:
        return [Violation("R-PNR-VALID", field, N_("Personnummer måste fyllas i."))]
    if not _PNR_INPUT.fullmatch(text) or not pnr_lib.valid(text):
        return [
            Violation(
                "R-PNR-VALID",
                field,
                N_(
                    "Personnumret är inte giltigt. Skriv ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN "
                    "och kontrollera datum och sista siffran."
                ),
            )
        ]
    return []


def check_note_text(text: str, field: str) -> list[Violation]:
    """R-NOTE-PNR: day notes and deviation reports carry the fictional name only (§4.2, §7.5);
    no bidi controls either."""
    out = check_no_bidi(text, field)
    if contains_personnummer(text):
        out.append(
            Violation(
                "R-NOTE-PNR",
                field,
                N_(
                    "Texten ser ut att innehålla ett personnummer eller samordningsnummer. "
                    "Ta bort det och använd bara det fiktiva namnet (§7.5)."
                ),
            )
        )
    return out


# --- street addresses and phone numbers: R-NOTE-ADDRESS (part 13-A) -----------------------------

# Day notes and deviation reports carry the fictional name only (§4.2, §7.5): no street address and
# no phone number, which would tell where the person lives or how to reach them (§1.1). Read like
# the personnummer detector (linear in the text's length, issue 11 H1):
#
# 1. Normalise character by character (`_ADDRESS_VIEW`): invisible characters (format, bidi,
#    combining marks, private use) become nothing; the rest goes through NFKC; a decimal digit of
#    any script becomes its ASCII digit, a letter stays (its case kept), "." and ":" become ".",
#    "+" and "/" stay, dashes become "-", "," and ";" become ",", anything else " ".
# 2. Cut the view into tokens with one regular expression whose alternatives are disjoint
#    character classes (digits | separators | letters): no backtracking, linear.
# 3. Walk the tokens once, looking at a bounded window from each (at most a dozen tokens; of a
#    word only its last 16 letters, of a number at most 14 digits, are ever looked at).
#
# Found: a street name ending in -gatan, -vägen, -gränd, -stigen, -allén, -torget, -platsen,
# -backen, -liden, -leden, -gången, -plan … (a compound, longer than the ending) followed by a
# house number (Storgatan 12, Kungsportsavenyen 5B, Storgatan12); "Box 123"; a postcode and a
# town (412 58 Göteborg, 41258 Göteborg); a Swedish phone number in any spacing (070-123 45 67,
# 0701234567, 031-123 45 67, 08-12 34 56, +46 70 123 45 67, +46 (0)70-123 45 67, 0046 70 …).
# Not found, by design: times (kl 14.30, 08.30-09.15), dates (2026-12-01, 01.12.2026), a 7-digit
# case number, doses (2 x 500 mg), amounts; a word that is only the ending ("på vägen 2 gånger",
# "plan 2"), a floor ("våningsplan 3"), a street name written as two words (Gustaf Adolfs torg 3),
# an address or number spelled out in words.
_STREET_ENDINGS = (
    "gatan", "gata", "vagen", "vag", "grand", "granden", "stigen", "stig", "allen", "alle",
    "torget", "torg", "platsen", "plats", "backen", "backe", "liden", "leden", "gangen",
    "plan", "avenyen", "aveny", "kajen", "strand", "stranden", "straket", "slingan",
    "promenaden", "esplanaden", "kroken", "hojden", "terrassen", "passagen",
)  # fmt: skip
# Words that end like a street but are not one (a floor, a place, a plan of the care).
_NOT_STREETS = frozenset(
    {"vaningsplan", "entreplan", "bottenplan", "markplan", "gatuplan", "kallarplan",
     "mellanplan", "overplan", "underplan", "arbetsplan", "genomforandeplan", "veckoplan",
     "dagplan", "matplan", "behandlingsplan", "vardplan", "handlingsplan", "lekplats",
     "arbetsplats", "parkeringsplats", "sittplats", "motesplats", "busshallplats",
     "hallplats", "torg", "gata", "vag", "gatan", "vagen"}
)  # fmt: skip
_ADDRESS_TOKENS = re.compile(r"[0-9]+|[ .+\-/,]+|[^0-9 .+\-/,]+")
# On a word's folded last letters (at most 16): two letters or more, then a street's ending.
_STREET_ENDING = re.compile("..+(?:" + "|".join(_STREET_ENDINGS) + ")", re.DOTALL)
_ADDRESS_PUNCT = {".": ".", ":": ".", "+": "+", "/": "/", ",": ",", ";": ","}
_LONGEST_ENDING = 16
_DIGITS = frozenset("0123456789")
_SEPARATOR_CHARS = frozenset(" .+-/,")


def _address_seen_as(char: str) -> str:
    out = []
    for c in unicodedata.normalize("NFKC", char):  # one character: at most 18 out
        category = unicodedata.category(c)
        if category in _INVISIBLE:
            continue
        if category == "Nd":
            out.append(str(unicodedata.decimal(c)))
        elif category[0] == "L":
            out.append(c)
        elif c in _ADDRESS_PUNCT:
            out.append(_ADDRESS_PUNCT[c])
        elif category == "Pd" or c == "\u2212":
            out.append("-")
        else:
            out.append(" ")
    return "".join(out)


class _AddressView(dict[int, str]):
    """str.translate table for R-NOTE-ADDRESS (step 1 above); like `_View`, BMP entries kept."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        seen = "" if unicodedata.category(char) in _INVISIBLE else _address_seen_as(char)
        if code < 0x10000:
            self[code] = seen
        return seen


_ADDRESS_VIEW = _AddressView()


def _fold(word: str) -> str:
    """A word's last letters without accents, casefolded: "Storgatan" and "STORGATAN" alike, and
    "vägen" as "vagen" (only the end is looked at: bounded work per word)."""
    tail = unicodedata.normalize("NFKD", word[-_LONGEST_ENDING:])
    return "".join(c for c in tail if not unicodedata.combining(c)).casefold()


def _kind(token: str) -> str:
    """"d" digits, "s" separators, "w" a word (step 2's three classes)."""
    first = token[0]
    return "d" if first in _DIGITS else ("s" if first in _SEPARATOR_CHARS else "w")


def _is_street(word: str) -> bool:
    if len(word) < 5:  # the shortest ending and two letters
        return False
    folded = _fold(word)
    return folded not in _NOT_STREETS and _STREET_ENDING.fullmatch(folded) is not None


def _after_spaces(tokens: list[str], i: int) -> int | None:
    """The index after position i across an optional gap of spaces only; None across other
    punctuation."""
    if i < len(tokens) and _kind(tokens[i]) == "s":
        return i + 1 if not tokens[i].strip() else None
    return i


def _is_digits(tokens: list[str], i: int) -> bool:
    return 0 <= i < len(tokens) and tokens[i][0] in _DIGITS


def _address_found(tokens: list[str]) -> bool:
    for i, tok in enumerate(tokens):
        kind = _kind(tok)
        if kind == "w":
            j = _after_spaces(tokens, i + 1)
            if j is None or not _is_digits(tokens, j):
                continue
            number = tokens[j]
            if len(number) <= 4 and _is_street(tok) and not _a_time_at(tokens, j):
                return True
            if tok[:1] == "B" and tok.casefold() == "box" and len(number) <= 5:
                return True
        elif kind == "d" and len(tok) in (3, 5) and tok[0] != "0" and _postcode_at(tokens, i):
            return True
    return False


def _postcode_at(tokens: list[str], i: int) -> bool:
    """412 58 Göteborg or 41258 Göteborg: a postcode (first digit 1-9) and a capitalised town."""
    first = tokens[i]
    if first[0] == "0" or len(first) not in (3, 5):
        return False
    j = i + 1
    if len(first) == 3:
        gap = _after_spaces(tokens, i + 1)
        if gap is None or not _is_digits(tokens, gap) or len(tokens[gap]) != 2:
            return False
        j = gap + 1
    if j < len(tokens) and _kind(tokens[j]) == "s":
        if tokens[j].replace(",", " ").strip():
            return False
        j += 1
    if j >= len(tokens) or _kind(tokens[j]) != "w":
        return False
    town = tokens[j]
    return len(town) >= 2 and town[0].isupper() and town[1].islower()


def _number(tokens: list[str], i: int) -> int | None:
    return int(tokens[i]) if _is_digits(tokens, i) and len(tokens[i]) <= 4 else None


def _a_time_at(tokens: list[str], i: int) -> bool:
    """Tokens i, i+2 read as a time H.MM / HH:MM (the separator "." between)."""
    hour, minute = _number(tokens, i), _number(tokens, i + 2)
    return (
        hour is not None
        and minute is not None
        and len(tokens[i]) <= 2
        and len(tokens[i + 2]) == 2
        and tokens[i + 1] == "."
        and hour <= 24
        and minute <= 59
    )


def _date_separator(tokens: list[str], i: int) -> str | None:
    """A date's separator at i: one of - . / with any spaces around it."""
    if not 0 <= i < len(tokens) or _kind(tokens[i]) != "s":
        return None
    chars = tokens[i].replace(" ", "")
    return chars if chars in ("-", ".", "/") else None


def _a_date_at(tokens: list[str], i: int) -> int:
    """How many tokens from i read as a date (YYYY-MM-DD, D.M.YYYY, D/M/YYYY), 0 if none."""
    first_sep = _date_separator(tokens, i + 1)
    if first_sep is None:
        return 0
    parts = [_number(tokens, i + k) for k in (0, 2, 4)]
    if None in parts or first_sep != _date_separator(tokens, i + 3):
        return 0
    lengths = [len(tokens[i + k]) for k in (0, 2, 4)]
    a, b, c = (p or 0 for p in parts)
    if lengths[0] == 4 and lengths[1] <= 2 and lengths[2] <= 2:
        year, month, day = a, b, c
    elif lengths[2] == 4 and lengths[0] <= 2 and lengths[1] <= 2:
        day, month, year = a, b, c
    else:
        return 0
    if not 1 <= month <= 12 or year < 1 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return 0
    return 5


def _number_runs(tokens: list[str]) -> Iterator[list[tuple[str, str]]]:
    """Runs of digit groups that a reader could take for one number: (separator before, digits).
    Letters, commas, times and dates end a run."""
    run: list[tuple[str, str]] = []
    i, n, sep = 0, len(tokens), ""
    while i < n:
        tok = tokens[i]
        kind = _kind(tok)
        if kind == "d":
            skip = 0
            if i + 2 < n and len(tok) <= 4 and tokens[i + 1].strip() in ("-", ".", "/"):
                skip = _a_date_at(tokens, i) or (3 if _a_time_at(tokens, i) else 0)
            if skip:
                if run:
                    yield run
                run, sep = [], ""
                i += skip
                continue
            run.append((sep, tok))
            sep = ""
        elif kind == "s" and "," not in tok:
            sep = tok
        else:
            if run:
                yield run
            run, sep = [], ""
        i += 1
    if run:
        yield run


def _a_phone_from(run: list[tuple[str, str]], i: int) -> bool:
    """A Swedish phone number begins at group i of a run and ends at a group's end."""
    plus = "+" in run[i][0]
    digits = ""
    for k in range(i, min(len(run), i + 12)):
        group = run[k][1]
        if len(digits) + len(group) > 14:
            return False
        if digits in ("46", "0046") and group == "0" and (plus or digits == "0046"):
            continue  # +46 (0)70 …
        digits += group
        if digits.startswith("0046") or (plus and digits.startswith("46")):
            rest = digits[4:] if digits.startswith("0046") else digits[2:]
            if 7 <= len(rest) <= 9 and rest[0] != "0":
                return True
        elif digits[0] != "0" or digits[1:2] == "0":
            if not "0046".startswith(digits[:4]):
                return False
        elif 8 <= len(digits) <= 10 and not _times_or_day_months(run[i : k + 1]):
            return True
    return False


def _times_or_day_months(groups: list[tuple[str, str]]) -> bool:
    """0830 0915 or 08 30 09 15 read as two times (or two day.month pairs): not a phone number."""
    texts = [g for _, g in groups]
    if len(texts) == 2 and all(len(t) == 4 for t in texts):
        pairs = [(t[:2], t[2:]) for t in texts]
    elif len(texts) == 4 and all(len(t) == 2 for t in texts):
        pairs = [(texts[0], texts[1]), (texts[2], texts[3])]
    else:
        return False
    times = all(int(h) <= 24 and int(m) <= 59 for h, m in pairs)
    day_months = all(1 <= int(d) <= 31 and 1 <= int(m) <= 12 for d, m in pairs)
    return times or day_months


def _phone_found(tokens: list[str]) -> bool:
    for run in _number_runs(tokens):
        for i, (sep, group) in enumerate(run):
            if group[0] == "0":
                head = "".join(g for _, g in run[i : i + 4])[:4]
                if head[1:2] == "0" and head != "0046":
                    continue  # 00 but not 0046: no Swedish number begins so
            elif not (group[:2] == "46" and "+" in sep):
                continue
            if _a_phone_from(run, i):
                return True
    return False


def contains_address_or_phone(text: str) -> tuple[bool, bool]:
    """(a street address, a phone number) somewhere in the text (R-NOTE-ADDRESS); linear."""
    tokens = _ADDRESS_TOKENS.findall(_text(text).translate(_ADDRESS_VIEW))
    return _address_found(tokens), _phone_found(tokens)


MSG_ADDRESS_IN_TEXT = N_(
    "Texten ser ut att innehålla en adress (gatuadress, box eller postnummer och ort). Ta bort "
    "den: skriv aldrig var den enskilde bor eller vistas (§1.1, §7.5)."
)
MSG_PHONE_IN_TEXT = N_(
    "Texten ser ut att innehålla ett telefonnummer. Ta bort det: skriv aldrig hur den enskilde "
    "kan nås (§1.1, §7.5)."
)


def check_note_address(text: str, field: str) -> list[Violation]:
    """R-NOTE-ADDRESS: no street address and no phone number in day notes and deviation reports
    (SPEC §4; §1.1, §7.5): they would tell where the person is. Normalised as R-NOTE-PNR."""
    address, phone = contains_address_or_phone(text)
    out: list[Violation] = []
    if address:
        out.append(Violation("R-NOTE-ADDRESS", field, MSG_ADDRESS_IN_TEXT))
    if phone:
        out.append(Violation("R-NOTE-ADDRESS", field, MSG_PHONE_IN_TEXT))
    return out


# --- single-field rules -------------------------------------------------------------------------


def check_case_number(value: str, field: str, pattern: str = r"\d{7}") -> list[Violation]:
    """R-CASE-NUMBER: Treserva case number, digits only; it goes into the subject line (§2.2)."""
    text = _text(value).strip()
    if not text:
        return [Violation("R-CASE-NUMBER", field, N_("Ärendenummer måste fyllas i."))]
    out: list[Violation] = []
    if contains_personnummer(text):
        out.append(Violation("R-PNR-SUBJECT", field, MSG_NEVER_PNR))
    try:
        matches = re.fullmatch(pattern, text) is not None
    except (re.error, TypeError):
        matches = re.fullmatch(r"\d{7}", text) is not None
    if not (text.isascii() and text.isdigit() and matches):
        out.append(
            Violation(
                "R-CASE-NUMBER",
                field,
                N_(
                    "Ärendenumret ska vara ärendets nummer i Treserva, bara siffror "
                    "(till exempel 0655588)."
                ),
            )
        )
    return out


def check_period(
    valid_from: date | None,
    valid_to: date | None,
    today: date,
    from_field: str = "valid_from",
    to_field: str = "valid_to",
) -> list[Violation]:
    """R-PERIOD-MAX: access for at most one year at a time, no backdating (§2.2)."""
    start, end, now = _as_date(valid_from), _as_date(valid_to), _as_date(today)
    out: list[Violation] = []
    if start is None:
        out.append(
            Violation(
                "R-PERIOD-MAX",
                from_field,
                N_("Ange från vilket datum behörigheten ska gälla (ÅÅÅÅ-MM-DD)."),
            )
        )
    elif now is not None and start < now:
        out.append(
            Violation(
                "R-PERIOD-MAX", from_field, N_("Behörigheten kan inte börja före dagens datum.")
            )
        )
    if end is None:
        out.append(
            Violation(
                "R-PERIOD-MAX",
                to_field,
                N_("Ange till vilket datum behörigheten ska gälla (ÅÅÅÅ-MM-DD)."),
            )
        )
    elif start is not None:
        if end <= start:
            out.append(
                Violation(
                    "R-PERIOD-MAX", to_field, N_("Slutdatumet måste vara efter startdatumet.")
                )
            )
        elif end > _safe_limit(start, 12):
            out.append(
                Violation(
                    "R-PERIOD-MAX",
                    to_field,
                    N_(
                        "Behörigheten får gälla högst ett år i taget (§2.2). Sista "
                        "möjliga datum är %(last)s."
                    ),
                    {"last": _safe_limit(start, 12).isoformat()},
                )
            )
    return out


def check_local_protection(
    requested: bool,
    until: date | None,
    reason: str,
    today: date,
    unit_type: str,
    orderer_is_myndighet_manager: bool,
) -> list[Violation]:
    """R-LOCAL-MAX: Myndighet unit manager decides, up to three months, with a reason (§1.3)."""
    if not requested:
        return []
    out: list[Violation] = []
    end, now = _as_date(until), _as_date(today)
    if end is None:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection_until",
                N_("Ange till vilket datum det lokala skyddet ska gälla (ÅÅÅÅ-MM-DD)."),
            )
        )
    elif now is not None:
        limit = _safe_limit(now, 3)
        if end <= now:
            out.append(
                Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    N_("Slutdatumet för lokalt skydd måste vara efter dagens datum."),
                )
            )
        elif end > limit:
            out.append(
                Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    N_(
                        "Lokalt skydd gäller högst tre månader (§1.3). Sista möjliga "
                        "datum är %(last)s."
                    ),
                    {"last": limit.isoformat()},
                )
            )
    if len(_text(reason).strip()) < 10:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection_reason",
                N_("Ange orsaken till det lokala skyddet, minst 10 tecken (§1.3)."),
            )
        )
    if _norm(unit_type) != "myndighet" or orderer_is_myndighet_manager is not True:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection",
                N_("Bara enhetschef på Myndighet kan beställa lokalt skydd (§1.3)."),
            )
        )
    return out


def _limit(value: Any) -> int:
    """A missing or broken limit counts as 0: the strictest reading (deny by default)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _min_length(value: Any) -> int:
    """A broken minimum falls back to the routine's 20 characters (SPEC §2), never to none."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 20


def person_count(
    active_usernames: Iterable[str],
    additions: Iterable[str],
    removals: Iterable[str],
    pending_additions: Iterable[str] = (),
) -> int:
    """How many people may have access once this order and every pending one are carried out.

    Counted: everyone the register holds (`active_usernames`), everyone a pending order of the
    same case and unit adds, and everyone this order adds. Subtracted: only this order's own
    removals, and not those a pending order or this order adds again (LVS may carry the orders
    out in any sequence, so a pending addition can come after this removal). A pending order's
    removals are not subtracted either: until LVS has carried them out, the person still has
    access, and the additions may be carried out first."""
    pending, added = _usernames(pending_additions), _usernames(additions)
    people = _usernames(active_usernames) | pending | added
    return len(people - (_usernames(removals) - pending - added))


def exceeds_person_limit(
    active_usernames: Iterable[str],
    additions: Iterable[str],
    removals: Iterable[str],
    limit: int,
    pending_additions: Iterable[str] = (),
) -> bool:
    """True when the case would have more people with access than the unit type allows (§2.1)."""
    count = person_count(active_usernames, additions, removals, pending_additions)
    return count > _limit(limit)


def check_person_limit(
    active_usernames: Iterable[str],
    additions: Iterable[str],
    removals: Iterable[str],
    limit: int,
    justification: str,
    min_justification: int = 20,
    pending_additions: Iterable[str] = (),
) -> list[Violation]:
    """R-PERSON-LIMIT: keep the number of people with access to a minimum (§2.1, §8.1), counted
    from the register and the orders still waiting for LVS (SPEC §3.1)."""
    count = person_count(active_usernames, additions, removals, pending_additions)
    limit = _limit(limit)
    needed = _min_length(min_justification)
    if count > limit and len(_text(justification).strip()) < needed:
        message = (
            N_(
                "Efter beställningen skulle %(count)s personer ha behörighet till ärendet "
                "(behörigheter i registret och beställningar som väntar hos LVS räknas), men "
                "högst %(limit)s gäller för enhetstypen (§2.1). Skriv en motivering på minst "
                "%(needed)s tecken."
            )
            if _usernames(pending_additions)
            else N_(
                "Efter beställningen skulle %(count)s personer ha behörighet till ärendet, men "
                "högst %(limit)s gäller för enhetstypen (§2.1). Skriv en motivering på minst "
                "%(needed)s tecken."
            )
        )
        params = {"count": count, "limit": limit, "needed": needed}
        return [Violation("R-PERSON-LIMIT", "justification", message, params)]
    return []


def check_person_rows(persons: Sequence[Mapping[str, str]]) -> list[Violation]:
    """R-PERSON-LIMIT: each person once per order. Adding and removing the same username in one
    order, or adding it twice, would make the count of people wrong (SPEC §3.1)."""
    rows = [(_norm(_get(r, "action")), _norm(_get(r, "username"))) for r in _items(persons)]
    added = {name for action, name in rows if action == "add" and name}
    removed = {name for action, name in rows if action == "remove" and name}
    both = added & removed
    out: list[Violation] = []
    seen: set[str] = set()
    for i, (action, name) in enumerate(rows):
        if not name or action not in ("add", "remove"):
            continue
        if name in both:
            out.append(
                Violation(
                    "R-PERSON-LIMIT",
                    f"persons-{i}-username",
                    N_(
                        "Samma användarnamn kan inte både läggas till och tas bort i en "
                        "beställning. Ta bort en av raderna."
                    ),
                )
            )
        elif action == "add" and name in seen:
            out.append(
                Violation(
                    "R-PERSON-LIMIT",
                    f"persons-{i}-username",
                    N_("Användarnamnet står redan på en annan rad. Skriv varje person en gång."),
                )
            )
        if action == "add":
            seen.add(name)
    return out


DEFAULT_USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def check_username(
    value: str, field: str, pattern: str = DEFAULT_USERNAME_PATTERN
) -> list[Violation]:
    """R-USERNAME: a city account's name as the configured pattern has it, ASCII only: a
    look-alike letter (fullwidth, Cyrillic) would otherwise pass the fee-handler lookup and count
    one person twice (issue 11, M1/M2). An empty one is R-REQUIRED's."""
    text = _text(value).strip()
    if not text:
        return []
    try:
        matches = re.fullmatch(pattern, text, re.ASCII) is not None
    except (re.error, TypeError):
        matches = re.fullmatch(DEFAULT_USERNAME_PATTERN, text, re.ASCII) is not None
    if text.isascii() and matches:
        return []
    return [
        Violation(
            "R-USERNAME",
            field,
            N_(
                "Skriv användarnamnet till staden-kontot: bokstäverna a–z, siffror, punkt, "
                "bindestreck eller understreck."
            ),
        )
    ]


def check_position(
    value: str, positions: Iterable[str], field: str, required: bool
) -> list[Violation]:
    """R-POSITION: the position (befattning) is one of the configured list (SPEC §3.1); a removal
    row may leave it empty."""
    text = _norm(value)
    if not text and not required:
        return []
    if text and text in {_norm(p) for p in _items(positions)}:
        return []
    return [Violation("R-POSITION", field, N_("Välj befattning i listan."))]


def check_no_fee_handler(
    unit_type: str, persons: Sequence[Mapping[str, str]], fee_handler_usernames: Iterable[str] = ()
) -> list[Violation]:
    """R-NO-FEE-HANDLER: fee handlers never get access to protected cases (§7.2). `unit_type` is
    the ordering unit's type and `fee_handler_usernames` the users of `avgift` units, both from
    the server's own data, never from what the form says."""
    message = N_(
        "Avgiftshandläggare ska inte få behörighet till ärenden med skyddade "
        "personuppgifter (§7.2)."
    )
    fee_handlers = _usernames(fee_handler_usernames)
    out: list[Violation] = []
    for i, row in enumerate(_items(persons)):
        if _norm(_get(row, "action")) != "add":
            continue
        if _norm(unit_type) == "avgift":
            out.append(
                Violation(
                    "R-NO-FEE-HANDLER",
                    "persons",
                    N_(
                        "Din enhet är en avgiftsenhet. Avgiftshandläggning kan inte beställa "
                        "behörighet till ärenden med skyddade personuppgifter, bara ta bort "
                        "(§7.2)."
                    ),
                )
            )
        if "avgiftshandläggare" in _norm(_get(row, "position")):
            out.append(Violation("R-NO-FEE-HANDLER", f"persons-{i}-position", message))
        if _norm(_get(row, "username")) in fee_handlers:
            out.append(Violation("R-NO-FEE-HANDLER", f"persons-{i}-username", message))
    return list(dict.fromkeys(out))


_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def check_email_domain(email: str, allowed_domains: Iterable[str], field: str) -> list[Violation]:
    """R-EMAIL-DOMAIN: the staff member's e-mail in the city's domain, no subdomains (§2.2)."""
    text = _text(email).strip()
    allowed = [d for d in (_norm(x).lstrip("@") for x in _items(allowed_domains)) if d]
    if not text:
        return [Violation("R-EMAIL-DOMAIN", field, N_("E-postadress måste fyllas i."))]
    local, at, domain = text.rpartition("@")
    if not at or not _EMAIL_LOCAL.fullmatch(local) or "@" in local or not domain:
        return [
            Violation(
                "R-EMAIL-DOMAIN",
                field,
                N_("Ange en giltig e-postadress, till exempel fornamn.efternamn@%(domain)s."),
                {"domain": allowed[0] if allowed else "goteborg.se"},
            )
        ]
    if domain.casefold() not in allowed:
        if not allowed:
            message = N_("E-postadressen måste sluta på en tillåten domän (stadens adress).")
            return [Violation("R-EMAIL-DOMAIN", field, message)]
        message = N_("E-postadressen måste sluta på %(domains)s (stadens adress).")
        return [Violation("R-EMAIL-DOMAIN", field, message, {"domains": _either(allowed)})]
    return []


def _either(domains: Sequence[str]) -> str | Phrase:
    """@a, or "@a eller @b eller @c" with the word translated where it is shown."""
    shown: str | Phrase = "@" + domains[-1]
    for domain in reversed(domains[:-1]):
        shown = Phrase(N_("%(first)s eller %(rest)s"), {"first": "@" + domain, "rest": shown})
    return shown


def check_date_not_future(value: date | None, today: date, field: str) -> list[Violation]:
    """R-DATE-PAST: a received date or event time cannot be in the future (§2.4, §4.2)."""
    d, now = _as_date(value), _as_date(today)
    if d is not None and now is not None and d > now:
        return [Violation("R-DATE-PAST", field, N_("Datumet kan inte vara senare än i dag."))]
    return []


def check_reporter(kind: str, arrived_from: str, reporter_name: str) -> list[Violation]:
    """R-REPORTER: an anmälan, or one not from the individual, names the reporter (§2.4 p. 11).
    Where it came from left unanswered asks for no name: that field says it must be answered, and
    "it did not come from the individual" would not be true (issue 14)."""
    if _text(reporter_name).strip():
        return []
    if _norm(kind) == "anmälan":
        msgid = N_("Ange namnet på den som gjorde anmälan: det krävs vid en anmälan (§2.4 punkt 11).")
    elif _norm(arrived_from) not in ("", "den enskilde"):
        msgid = N_(
            "Ange namnet på den som gjorde anmälan eller ansökan, eftersom den inte "
            "kom från den enskilde (§2.4 punkt 11)."
        )
    else:
        return []
    return [Violation("R-REPORTER", "reporter_name", msgid)]


# --- the access order (§2.2) --------------------------------------------------------------------


@dataclass
class PersonRow:
    action: str
    full_name: str
    username: str
    email: str
    position: str


@dataclass
class AccessOrderInput:
    """The order as the manager filled it in, with the ordering unit from the server's data: the
    orderer's own unit (`unit_type`, `unit_name`), never a field of the form (SPEC §3.1)."""

    case_number: str
    city_district: str
    unit_type: str
    unit_name: str
    persons: list[PersonRow]
    valid_from: date | None
    valid_to: date | None
    local_protection: bool
    local_protection_until: date | None
    local_protection_reason: str
    justification: str


# Unit types whose access to a protected case goes by a ticket to Intraservice, never by an access
# order to the LVS list: "För Trygghetsjouren ... finns en egen rutin" (§2.1), LVS på
# Trygghetsjouren orders it from Intraservice (§9.2). The blank access order leaves them out too.
INTRASERVICE_ACCESS_UNIT_TYPES = frozenset({"trygghetsjouren"})


def check_access_by_intraservice(unit_type: str) -> list[Violation]:
    """R-TJ-INTRASERVICE: Trygghetsjouren's access goes by an Intraservice ticket (§2.1, §9.2):
    an access order from such a unit (its type from the server's data) is refused, adding and
    removing alike, with a message that says where to turn instead."""
    if _norm(unit_type) not in INTRASERVICE_ACCESS_UNIT_TYPES:
        return []
    return [
        Violation(
            "R-TJ-INTRASERVICE",
            "persons",
            N_(
                "Trygghetsjouren beställer inte behörighet hos LVS på Myndighet. LVS på "
                "Trygghetsjouren skickar i stället ett ärende till Intraservice med ärendenumret "
                "och vilka personer på Trygghetsjouren som ska ha tillgång till ärendet (§9.2). "
                "Använd blanketten Ärende till Intraservice."
            ),
        )
    ]


def access_order_subject(case_number: str, city_district: str) -> str:
    """Subject line: case number and city district only, never a personnummer (§2.2)."""
    case, district = _text(case_number).strip(), _text(city_district).strip()
    return f"Behörighetsbeställning ärende {case}, {district}"


def check_access_order(
    order: AccessOrderInput,
    *,
    today: date,
    active_usernames: Iterable[str],
    person_limit: int,
    allowed_domains: Iterable[str],
    case_number_pattern: str,
    orderer_is_myndighet_manager: bool,
    fee_handler_usernames: Iterable[str] = (),
    pending_additions: Iterable[str] = (),
    positions: Iterable[str] = (),
    min_justification: int = 20,
    username_pattern: str = DEFAULT_USERNAME_PATTERN,
) -> list[Violation]:
    """Every rule that applies to an access order (§1.3, §2.1, §2.2, §7.2, §9.2); an order from
    a unit whose access goes by Intraservice (R-TJ-INTRASERVICE) gets that finding only.

    `active_usernames`: who the register holds for the case and the ordering unit;
    `pending_additions`: who the unit's orders of the case still waiting for LVS add;
    `fee_handler_usernames`: which of the order's usernames belong to `avgift` units;
    `positions`: the configured positions (an empty list admits none);
    `username_pattern`: what a city account's name looks like."""
    refused = check_access_by_intraservice(order.unit_type)
    if refused:  # the whole order is the wrong way for this unit: nothing else to correct
        return refused
    domains = _items(allowed_domains)
    rows = _items(order.persons)
    out = check_case_number(order.case_number, "case_number", case_number_pattern)
    subject = access_order_subject(order.case_number, order.city_district)
    out += check_subject(subject, "case_number")
    if not rows:
        out.append(Violation("R-REQUIRED", "persons", N_("Lägg till minst en person.")))
    additions: list[str] = []
    removals: list[str] = []
    for i, row in enumerate(rows):
        action = _norm(_get(row, "action"))
        if action not in ("add", "remove"):
            out.append(
                Violation(
                    "R-REQUIRED",
                    f"persons-{i}-action",
                    N_("Välj om personen ska läggas till eller tas bort."),
                )
            )
        for key, message in (
            ("full_name", N_("Fullständigt namn måste fyllas i.")),
            ("username", N_("Användarnamn (staden-konto) måste fyllas i.")),
        ):
            if not _get(row, key).strip():
                out.append(Violation("R-REQUIRED", f"persons-{i}-{key}", message))
        out += check_username(_get(row, "username"), f"persons-{i}-username", username_pattern)
        if action == "add" or _get(row, "email").strip():
            out += check_email_domain(_get(row, "email"), domains, f"persons-{i}-email")
        out += check_position(
            _get(row, "position"), positions, f"persons-{i}-position", action == "add"
        )
        if action == "add":
            additions.append(_get(row, "username"))
        elif action == "remove":
            removals.append(_get(row, "username"))
    out += check_person_rows(rows)
    if additions:
        out += check_period(order.valid_from, order.valid_to, today)
    out += check_local_protection(
        order.local_protection,
        order.local_protection_until,
        order.local_protection_reason,
        today,
        order.unit_type,
        orderer_is_myndighet_manager,
    )
    out += check_no_fee_handler(
        order.unit_type,
        [dataclasses.asdict(r) if isinstance(r, PersonRow) else r for r in rows],
        fee_handler_usernames,
    )
    if additions:  # an order that only removes never needs a justification (§2.1: fewer people)
        out += check_person_limit(
            active_usernames,
            additions,
            removals,
            person_limit,
            order.justification,
            min_justification,
            pending_additions,
        )
    return list(dict.fromkeys(out))
