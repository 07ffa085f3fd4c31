"""Properties of the routine's rules (SPEC §4), tried on inputs Hypothesis makes up (issue 4,
item 8): a personnummer never slips into a subject line whatever surrounds it (§2.2, §5.9); no
rule ever raises, whatever it is given; and the calendar rules agree with an independent calendar
(dateutil's relativedelta) at the edges: month ends, leap days, the ends of the calendar.

Bounded: at most 200 examples a property, no deadline, so the suite stays fast."""
from __future__ import annotations

import calendar
import inspect
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import rules
from portal.rules import AccessOrderInput, PersonRow, Violation

BOUNDED = settings(max_examples=200, deadline=None)

# --- personnummer shapes (R-PNR-SUBJECT, R-NOTE-PNR) -------------------------------------------

DIGIT = st.sampled_from("0123456789")
# The separators people type or paste: none, hyphen, plus (100 years or older), the dashes of a
# word processor.
SEPARATOR = st.sampled_from(["", "-", "+", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014",
                             "\u2212"])
SPACES = st.text(alphabet=" \t\u00a0", max_size=3)


@st.composite
def personnummer_shapes(draw: st.DrawFn) -> str:
    """10 or 12 digits as a personnummer or samordningsnummer is written, check digit valid or not:
    [CC]YYMMDD, optional separator with optional spaces around it, NNNC."""
    century = draw(st.sampled_from(["", "19", "20"]) | st.text(DIGIT, min_size=2, max_size=2))
    date_part = draw(st.text(DIGIT, min_size=6, max_size=6))
    number = draw(st.text(DIGIT, min_size=4, max_size=4))
    sep = draw(SEPARATOR)
    before, after = (draw(SPACES), draw(SPACES)) if sep else (draw(SPACES), "")
    return f"{century}{date_part}{before}{sep}{after}{number}"


# Characters a reader does not see (format characters such as a zero-width space or a soft hyphen,
# combining marks, private use, unassigned): the detector drops them (issue 11 M3).
INVISIBLE = {"Cf", "Mn", "Me", "Mc", "Co", "Cs", "Cn"}


def _as_seen(text: str) -> str:
    visible = "".join(c for c in text if unicodedata.category(c) not in INVISIBLE)
    return "".join(c for c in unicodedata.normalize("NFKC", visible)
                   if unicodedata.category(c) not in INVISIBLE)


def _no_digit_at(text: str, index: int) -> bool:
    """No digit at that end of the text as a reader sees it: "1\u200b" ends in a digit (the
    zero-width space is not seen), and so does "²" (a superscript two is a two)."""
    seen = _as_seen(text)
    return not seen or not seen[index].isdecimal()


# Arbitrary text around it, except a digit right next to it as a reader sees it: then it is part
# of a longer number, not a personnummer (13 digits is no personnummer shape; test_rules.py holds
# those cases).
SURROUNDING = st.text(max_size=40)
PREFIX = SURROUNDING.filter(lambda t: _no_digit_at(t, -1))
SUFFIX = SURROUNDING.filter(lambda t: _no_digit_at(t, 0))


@BOUNDED
@given(PREFIX, personnummer_shapes(), SUFFIX)
def test_a_personnummer_anywhere_in_a_text_is_found(prefix: str, pnr: str, suffix: str) -> None:
    text = prefix + pnr + suffix
    assert rules.contains_personnummer(text)
    assert rules.check_note_text(text, "text")


@BOUNDED
@given(PREFIX, personnummer_shapes(), SUFFIX, st.lists(st.text(max_size=20), max_size=3))
def test_a_personnummer_in_a_subject_line_is_refused(prefix: str, pnr: str, suffix: str,
                                                     names: list[str]) -> None:
    found = rules.check_subject(prefix + pnr + suffix, "case_number", names)
    assert "R-PNR-SUBJECT" in {v.code for v in found}
    assert all(v.field == "case_number" for v in found)


@BOUNDED
@given(PREFIX, personnummer_shapes(), SUFFIX)
def test_a_personnummer_typed_as_case_number_is_refused(prefix: str, pnr: str, suffix: str) -> None:
    found = rules.check_case_number(prefix + pnr + suffix, "case_number")
    assert "R-PNR-SUBJECT" in {v.code for v in found}


@BOUNDED
@given(personnummer_shapes(), st.sampled_from(["Centrum", "Hisingen", "Nordost", "Sydväst"]))
def test_the_access_order_subject_built_from_a_personnummer_is_refused(pnr: str,
                                                                       district: str) -> None:
    """The whole order: a personnummer typed as case number never reaches the subject line."""
    found = rules.check_access_order(
        AccessOrderInput(pnr, district, "myndighet", "Myndighet Centrum", [], None, None, False,
                         None, "", ""),
        today=date(2027, 1, 15), active_usernames=[], person_limit=3,
        allowed_domains=["goteborg.se"], case_number_pattern=r"\d{7}",
        orderer_is_myndighet_manager=True)
    assert ("R-PNR-SUBJECT", "case_number") in {(v.code, v.field) for v in found}


@BOUNDED
@given(st.text(alphabet=st.characters(blacklist_categories=["Nd", "No"]), max_size=80)
       .filter(lambda t: not any(c.isdecimal() for c in _as_seen(t)))
       # Bidi controls are refused in every text field on their own (M3): not this test's point.
       .filter(lambda t: not rules.contains_bidi_control(t)))
def test_text_without_digits_is_never_taken_for_a_personnummer(text: str) -> None:
    assert not rules.contains_personnummer(text)
    assert rules.check_note_text(text, "text") == []


# --- no rule ever raises ----------------------------------------------------------------------

SCALAR = st.one_of(st.none(), st.text(max_size=20), st.dates(), st.integers(), st.booleans(),
                   st.datetimes(), st.floats(allow_nan=True))
ANYTHING = SCALAR | st.lists(SCALAR, max_size=3) | st.dictionaries(st.text(max_size=8), SCALAR,
                                                                     max_size=2)
ROW = st.one_of(
    st.builds(PersonRow, ANYTHING, ANYTHING, ANYTHING, ANYTHING, ANYTHING),
    st.fixed_dictionaries({k: ANYTHING for k in ("action", "full_name", "username", "email",
                                                 "position")}),
    ANYTHING,
)
ORDER = st.builds(
    AccessOrderInput,
    *([ANYTHING] * 4),
    st.one_of(st.lists(ROW, max_size=4), ANYTHING),
    *([ANYTHING] * 6),
)

RULES = {name: fn for name, fn in vars(rules).items()
         if name.startswith("check_") and inspect.isfunction(fn)
         and fn.__module__ == rules.__name__}


def test_every_rule_is_tried() -> None:
    """A rule added to rules.py is covered by the property below without touching this file."""
    assert {"check_subject", "check_personnummer", "check_note_text", "check_case_number",
            "check_period", "check_local_protection", "check_person_limit",
            "check_no_fee_handler", "check_email_domain", "check_date_not_future",
            "check_reporter", "check_access_order"} <= set(RULES)


def _arguments(fn: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Arbitrary values for every parameter; the access order as an AccessOrderInput of
    arbitrary values (the one argument that is a structure, not a value a user typed)."""
    params = inspect.signature(fn).parameters
    return st.fixed_dictionaries({name: ORDER if name == "order" else ANYTHING for name in params})


@pytest.mark.parametrize("name", sorted(RULES))
@BOUNDED
@given(data=st.data())
def test_no_rule_raises_on_arbitrary_input_and_each_returns_violations(
        name: str, data: st.DataObject) -> None:
    fn = RULES[name]
    result = fn(**data.draw(_arguments(fn), label="arguments"))
    assert isinstance(result, list)
    assert all(isinstance(v, Violation) and isinstance(v.message, str) and v.message
               for v in result)


@BOUNDED
@given(ANYTHING, ANYTHING, ANYTHING, ANYTHING)
def test_the_helpers_never_raise_either(a: Any, b: Any, c: Any, d: Any) -> None:
    assert isinstance(rules.contains_personnummer(a), bool)
    assert isinstance(rules.exceeds_person_limit(a, b, c, d), bool)
    assert isinstance(rules.access_order_subject(a, b), str)


# --- the calendar rules against an independent calendar ----------------------------------------

def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@st.composite
def edge_dates(draw: st.DrawFn) -> date:
    """Where calendars go wrong: month ends, the 28th–31st, leap days, and the calendar's ends."""
    year = draw(st.sampled_from([1, 2, 1900, 2000, 2024, 2025, 2027, 2028, 2100, 9998, 9999])
                | st.integers(1, 9999))
    month = draw(st.integers(1, 12))
    last = _last_day(year, month)
    day = draw(st.sampled_from(sorted({1, 28, min(29, last), min(30, last), last}))
               | st.integers(1, last))
    return date(year, month, day)


DATES = st.one_of(edge_dates(), st.dates())


def _plus(d: date, delta: relativedelta) -> date:
    """The oracle's date arithmetic; past the calendar's end there is no limit."""
    try:
        return d + delta
    except (ValueError, OverflowError):
        return date.max


@st.composite
def near(draw: st.DrawFn, start: date, months: int) -> date:
    """A date at or around `start` + `months`, where the rule's answer changes."""
    base = _plus(start, relativedelta(months=months))
    shift = draw(st.integers(-3, 3))
    try:
        return base + timedelta(days=shift)
    except OverflowError:
        return base


def period_oracle(start: date, end: date, today: date) -> dict[str, str]:
    """R-PERIOD-MAX as the routine says it (§2.2): from today on, ends after it starts, at most one
    year (relativedelta clamps Feb 29 + 1 year to Feb 28, as a calendar year does)."""
    out: dict[str, str] = {}
    if start < today:
        out["valid_from"] = "backdated"
    if end <= start:
        out["valid_to"] = "not after start"
    elif end > _plus(start, relativedelta(years=1)):
        out["valid_to"] = "over a year"
    return out


@BOUNDED
@given(st.data(), DATES, DATES)
def test_access_period_agrees_with_the_calendar(data: st.DataObject, start: date,
                                                today: date) -> None:
    end = data.draw(st.one_of(near(start, 12), near(start, 0), DATES), label="valid_to")
    found = rules.check_period(start, end, today)
    expected = period_oracle(start, end, today)
    assert {v.field for v in found} == set(expected)
    assert len(found) == len(expected)
    if expected.get("valid_to") == "over a year":
        limit = _plus(start, relativedelta(years=1))
        assert limit.isoformat() in next(v.message for v in found if v.field == "valid_to")


@BOUNDED
@given(DATES)
def test_access_period_of_exactly_one_year_from_today_is_the_longest(today: date) -> None:
    end = _plus(today, relativedelta(years=1))
    if end > today:
        assert rules.check_period(today, end, today) == []
    if end < date.max:
        assert [v.field for v in rules.check_period(today, end + timedelta(days=1), today)] == [
            "valid_to"]


def local_oracle(until: date, today: date) -> str | None:
    """R-LOCAL-MAX (§1.3): after today, at most three calendar months from today."""
    if until <= today:
        return "not after today"
    if until > _plus(today, relativedelta(months=3)):
        return "over three months"
    return None


@BOUNDED
@given(st.data(), DATES)
def test_local_protection_agrees_with_the_calendar(data: st.DataObject, today: date) -> None:
    until = data.draw(st.one_of(near(today, 3), near(today, 0), DATES), label="until")
    found = rules.check_local_protection(True, until, "Hot från tidigare partner", today,
                                         "myndighet", True)
    expected = local_oracle(until, today)
    assert [v.field for v in found] == (["local_protection_until"] if expected else [])
    if expected == "over three months":
        assert _plus(today, relativedelta(months=3)).isoformat() in found[0].message


@BOUNDED
@given(st.data(), DATES)
def test_datetimes_count_as_their_date(data: st.DataObject, start: date) -> None:
    """A datetime from a form library is judged by its calendar date, never compared as a time."""
    end = data.draw(st.one_of(near(start, 12), DATES), label="valid_to")
    at = datetime.combine(start, datetime.min.time()).replace(hour=data.draw(st.integers(0, 23)))
    assert rules.check_period(at, end, start) == rules.check_period(start, end, start)
    assert (rules.check_local_protection(True, end, "Hot från tidigare partner", at, "myndighet",
                                         True)
            == rules.check_local_protection(True, end, "Hot från tidigare partner", start,
                                            "myndighet", True))


@BOUNDED
@given(DATES, DATES)
def test_a_date_is_in_the_future_exactly_when_it_is_after_today(value: date, today: date) -> None:
    found = rules.check_date_not_future(value, today, "received_date")
    assert bool(found) == (value > today)
