"""The routine's rules (SPEC §4), each on its own, with good and bad values at the edges."""

from __future__ import annotations

import time
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.rules import (
    AccessOrderInput,
    PersonRow,
    Violation,
    access_order_subject,
    add_months,
    add_years,
    check_access_order,
    check_case_number,
    check_date_not_future,
    check_email_domain,
    check_local_protection,
    check_no_fee_handler,
    check_note_address,
    check_note_text,
    check_period,
    check_person_limit,
    check_person_rows,
    check_personnummer,
    check_position,
    check_reporter,
    check_subject,
    check_username,
    contains_personnummer,
    exceeds_person_limit,
    person_count,
)


def luhn(digits: str) -> int:
    """Check digit of a personnummer, computed over YYMMDDNNN."""
    total = 0
    for i, ch in enumerate(digits):
        v = int(ch) * (2 - i % 2)
        total += v - 9 if v > 9 else v
    return (10 - total % 10) % 10


def make_pnr(yymmdd: str, birth_number: str = "123") -> str:
    return f"{yymmdd}-{birth_number}{luhn(yymmdd + birth_number)}"


def wrong_check_digit(pnr: str) -> str:
    return pnr[:-1] + str((int(pnr[-1]) + 1) % 10)


VALID_PNR = make_pnr("850101")               # 850101-1236 style, correct check digit
SAMORDNINGSNUMMER = make_pnr("850161", "234")  # 1 January 1985, day + 60


def codes(violations: list[Violation]) -> set[str]:
    return {v.code for v in violations}


def fields(violations: list[Violation]) -> set[str]:
    return {v.field for v in violations}


# --- calendar arithmetic -------------------------------------------------------------------------

@pytest.mark.parametrize("start, months, expected", [
    (date(2025, 11, 30), 3, date(2026, 2, 28)),
    (date(2027, 11, 30), 3, date(2028, 2, 29)),   # leap year
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2025, 3, 31), 1, date(2025, 4, 30)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
    (date(2025, 1, 15), 3, date(2025, 4, 15)),
    (date(2025, 5, 20), -6, date(2024, 11, 20)),
])
def test_add_months_counts_calendar_months_and_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize("start, years, expected", [
    (date(2028, 2, 29), 1, date(2029, 2, 28)),
    (date(2028, 2, 29), 4, date(2032, 2, 29)),
    (date(2027, 3, 1), 1, date(2028, 3, 1)),
    (date(2025, 6, 10), 1, date(2026, 6, 10)),
])
def test_add_years_turns_leap_day_into_february_28(start, years, expected):
    assert add_years(start, years) == expected


# --- R-PERIOD-MAX (§2.2: max ett år i taget) ----------------------------------------------------

TODAY = date(2027, 1, 15)


@pytest.mark.parametrize("valid_from, valid_to", [
    (date(2027, 2, 1), date(2028, 2, 1)),     # exactly one year
    (date(2027, 2, 1), date(2027, 2, 2)),     # one day
    (TODAY, date(2028, 1, 15)),               # starting today, exactly one year
    (date(2028, 2, 29), date(2029, 2, 28)),   # from leap day: one year ends Feb 28
    (date(2027, 3, 1), date(2028, 2, 29)),    # across a leap day, less than a year
    (date(2027, 3, 1), date(2028, 3, 1)),     # across a leap day, exactly one year
])
def test_access_period_of_at_most_one_year_is_accepted(valid_from, valid_to):
    assert check_period(valid_from, valid_to, TODAY) == []


@pytest.mark.parametrize("valid_from, valid_to", [
    (date(2027, 2, 1), date(2028, 2, 2)),     # one year and a day
    (date(2028, 2, 29), date(2029, 3, 1)),
    (date(2027, 3, 1), date(2028, 3, 2)),
    (date(2027, 2, 1), date(2029, 2, 1)),
])
def test_access_period_over_one_year_is_refused(valid_from, valid_to):
    violations = check_period(valid_from, valid_to, TODAY)
    assert [(v.code, v.field) for v in violations] == [("R-PERIOD-MAX", "valid_to")]
    assert "högst ett år" in violations[0].message
    assert "§2.2" in violations[0].message


def test_access_period_over_one_year_names_the_last_possible_date():
    [violation] = check_period(date(2028, 2, 29), date(2029, 3, 1), TODAY)
    assert "2029-02-28" in violation.message


def test_access_period_cannot_be_backdated():
    violations = check_period(TODAY - timedelta(days=1), date(2027, 6, 1), TODAY)
    assert codes(violations) == {"R-PERIOD-MAX"}
    assert fields(violations) == {"valid_from"}


@pytest.mark.parametrize("valid_to", [date(2027, 2, 1), date(2027, 1, 31)])
def test_access_period_must_end_after_it_starts(valid_to):
    violations = check_period(date(2027, 2, 1), valid_to, TODAY)
    assert fields(violations) == {"valid_to"}


def test_access_period_needs_both_dates():
    violations = check_period(None, None, TODAY)
    assert fields(violations) == {"valid_from", "valid_to"}
    assert codes(violations) == {"R-PERIOD-MAX"}


def test_access_period_uses_the_given_field_names():
    violations = check_period(None, None, TODAY, from_field="f", to_field="t")
    assert fields(violations) == {"f", "t"}


@pytest.mark.parametrize("valid_from, valid_to", [
    ("2027-02-01", "2027-03-01"),
    (datetime(2027, 2, 1, 8, 0), date(2027, 3, 1)),
    (date.max, date.max),
    (date(9999, 12, 1), date(9999, 12, 31)),
])
def test_access_period_never_raises_on_odd_input(valid_from, valid_to):
    check_period(valid_from, valid_to, TODAY)


# --- R-LOCAL-MAX (§1.3: lokalt skydd upp till tre månader, orsak anges) --------------------------

REASON = "Akut hotbild från tidigare partner"


def local(until, *, today=TODAY, reason=REASON, unit_type="myndighet", manager=True,
          requested=True):
    return check_local_protection(requested, until, reason, today, unit_type, manager)


@pytest.mark.parametrize("today, until", [
    (date(2025, 1, 15), date(2025, 4, 15)),    # three months exactly
    (date(2025, 1, 15), date(2025, 1, 16)),
    (date(2025, 11, 30), date(2026, 2, 28)),   # clamped to month end
    (date(2027, 11, 30), date(2028, 2, 29)),   # clamped, leap year
])
def test_local_protection_up_to_three_months_is_accepted(today, until):
    assert local(until, today=today) == []


@pytest.mark.parametrize("today, until", [
    (date(2025, 1, 15), date(2025, 4, 16)),    # three months and a day
    (date(2025, 11, 30), date(2026, 3, 1)),
    (date(2027, 11, 30), date(2028, 3, 1)),
])
def test_local_protection_over_three_months_is_refused(today, until):
    violations = local(until, today=today)
    assert [(v.code, v.field) for v in violations] == [("R-LOCAL-MAX", "local_protection_until")]
    assert "tre månader" in violations[0].message


@pytest.mark.parametrize("until", [None, TODAY, TODAY - timedelta(days=1)])
def test_local_protection_needs_an_end_date_after_today(until):
    assert fields(local(until)) == {"local_protection_until"}


@pytest.mark.parametrize("reason, ok", [
    ("", False), ("   ", False), ("Hot", False), ("123456789", False), ("  123456789  ", False),
    ("1234567890", True), (None, False),
])
def test_local_protection_requires_a_reason(reason, ok):
    violations = local(date(2027, 2, 1), reason=reason)
    assert (violations == []) is ok
    if not ok:
        assert fields(violations) == {"local_protection_reason"}


@pytest.mark.parametrize("unit_type, manager", [
    ("hemtjanst", True), ("boende", True), ("myndighet", False), ("", True),
])
def test_local_protection_is_ordered_only_by_a_myndighet_unit_manager(unit_type, manager):
    violations = local(date(2027, 2, 1), unit_type=unit_type, manager=manager)
    assert [(v.code, v.field) for v in violations] == [("R-LOCAL-MAX", "local_protection")]


def test_local_protection_not_requested_is_not_checked():
    assert local(None, reason="", unit_type="avgift", manager=False, requested=False) == []


# --- R-PERSON-LIMIT (§2.1: begränsa antal personer till ett minimum) ----------------------------

def test_person_limit_exactly_at_limit_is_accepted():
    assert check_person_limit(["anna01", "bert02"], ["cecilia03"], [], 3, "") == []
    assert not exceeds_person_limit(["anna01", "bert02"], ["cecilia03"], [], 3)


def test_person_limit_one_over_is_refused_without_justification():
    violations = check_person_limit(["anna01", "bert02"], ["cecilia03", "david04"], [], 3, "")
    assert [(v.code, v.field) for v in violations] == [("R-PERSON-LIMIT", "justification")]
    assert "4" in violations[0].message and "3" in violations[0].message
    assert exceeds_person_limit(["anna01", "bert02"], ["cecilia03", "david04"], [], 3)


@pytest.mark.parametrize("justification, ok", [
    ("x" * 19, False),
    ("   " + "x" * 19 + "   ", False),
    ("x" * 20, True),
    ("Vikarie under sommaren, ordinarie planerare ledig", True),
])
def test_person_limit_over_needs_a_justification_of_at_least_20_characters(justification, ok):
    violations = check_person_limit(["anna01", "bert02"], ["cecilia03", "david04"], [], 3,
                                    justification)
    assert (violations == []) is ok


def test_person_limit_over_is_still_flagged_for_lvs_when_justified():
    active, added = ["anna01", "bert02"], ["cecilia03", "david04"]
    assert check_person_limit(active, added, [], 3, "x" * 20) == []
    assert exceeds_person_limit(active, added, [], 3)


def test_person_limit_counts_removals_in_the_same_order():
    active = ["anna01", "bert02", "cecilia03"]
    assert check_person_limit(active, ["david04"], ["anna01"], 3, "") == []
    assert not exceeds_person_limit(["anna01", "bert02", "cecilia03"], ["david04"], ["anna01"], 3)


def test_person_limit_compares_usernames_case_insensitively():
    assert check_person_limit(["Anna01", "BERT02", "cecilia03"], [" anna01 "], [], 3, "") == []
    assert not exceeds_person_limit(["Anna01", "b", "c", "d"], ["x"], ["ANNA01", "B "], 3)


def test_person_limit_does_not_count_an_already_active_person_twice():
    assert not exceeds_person_limit(["anna01", "bert02"], ["anna01", "bert02"], [], 2)


def test_person_limit_zero_for_fee_unit():
    assert exceeds_person_limit([], ["anna01"], [], 0)
    assert not exceeds_person_limit([], [], [], 0)


def test_person_limit_counts_the_additions_of_pending_orders():
    """SPEC §3.1: active grants and pending orders (issue 11, M1: 3 orders of 3 gave 9)."""
    pending = ["anna01", "bert02", "cecilia03"]
    assert person_count([], ["david04"], [], pending) == 4
    violations = check_person_limit([], ["david04"], [], 3, "", 20, pending)
    assert [(v.code, v.field) for v in violations] == [("R-PERSON-LIMIT", "justification")]
    assert "4 personer" in violations[0].message and "väntar hos LVS" in violations[0].message
    assert exceeds_person_limit([], ["david04"], [], 3, pending)
    assert check_person_limit([], ["anna01"], [], 3, "", 20, pending) == []  # already counted


def test_a_pending_removal_does_not_make_room_but_this_orders_own_does():
    """Pending orders may be carried out in any sequence: a removal counts once it is done, or
    when it is in the same order as the addition; never for someone a pending order adds."""
    active = ["anna01", "bert02", "cecilia03"]
    assert person_count(active, ["david04"], ["anna01"]) == 3
    assert person_count(active, ["david04"], ["anna01"], ["anna01"]) == 4
    assert person_count(active, ["david04"], ["erik05"], ["erik05"]) == 5
    assert person_count(active, [], ["ANNA01 "], []) == 2


# --- one person once per order (issue 11, M1) -----------------------------------------------

def test_adding_and_removing_the_same_username_in_one_order_is_refused_at_both_rows():
    rows = [{"action": "remove", "username": "anna01"}, {"action": "add", "username": " ANNA01"},
            {"action": "add", "username": "david04"}]
    assert [(v.code, v.field) for v in check_person_rows(rows)] == [
        ("R-PERSON-LIMIT", "persons-0-username"), ("R-PERSON-LIMIT", "persons-1-username")]


def test_adding_the_same_username_twice_is_refused_at_the_second_row():
    rows = [{"action": "add", "username": "anna01"}, {"action": "add", "username": "Anna01"},
            {"action": "remove", "username": "bert02"}, {"action": "remove", "username": "bert02"}]
    violations = check_person_rows(rows)
    assert [(v.code, v.field) for v in violations] == [("R-PERSON-LIMIT", "persons-1-username")]
    assert "redan på en annan rad" in violations[0].message


def test_distinct_usernames_and_blank_rows_pass():
    rows = [{"action": "add", "username": "anna01"}, {"action": "remove", "username": "bert02"},
            {"action": "add", "username": ""}, {"action": "add", "username": ""}]
    assert check_person_rows(rows) == []


# --- the username is a city account's name (issue 11, M1/M2) -----------------------------------

@pytest.mark.parametrize("value, ok", [
    ("anna01", True), ("anna.andersson", True), ("Avg-01_x", True), (" anna01 ", True),
    ("", True),  # R-REQUIRED reports an empty one
    ("\uff46\uff45\uff45", False), ("f\u0435e", False), ("anna 01", False), ("åsa01", False),
    ("a" * 65, False), ("-anna", False), ("anna01\u200b", False),
])
def test_username_is_a_city_accounts_name(value, ok):
    violations = check_username(value, "persons-0-username")
    assert (violations == []) is ok
    if not ok:
        assert [(v.code, v.field) for v in violations] == [("R-USERNAME", "persons-0-username")]


def test_username_pattern_is_configurable_and_a_broken_one_falls_back():
    assert check_username("x", "f", r"[a-z]{3,}") != []
    assert check_username("anna01", "f", "(") == []
    assert check_username("ａ", "f", "(") != []


# --- the position from the configured list (issue 11, M4) -------------------------------------

POSITIONS = ["enhetschef", "socialsekreterare", "planerare"]


@pytest.mark.parametrize("value, required, ok", [
    ("socialsekreterare", True, True),
    (" Planerare ", True, True),
    ("", False, True),
    ("", True, False),
    ("Anna Andersson", True, False),
    ("avgiftshandläggare", False, False),
    (None, True, False),
])
def test_position_is_one_of_the_configured_list(value, required, ok):
    violations = check_position(value, POSITIONS, "persons-0-position", required)
    assert (violations == []) is ok
    if not ok:
        assert [(v.code, v.field) for v in violations] == [("R-POSITION", "persons-0-position")]


def test_an_empty_position_list_admits_none():
    assert check_position("enhetschef", [], "f", True) != []


# --- personnummer shapes: R-PNR-SUBJECT / R-NOTE-PNR ---------------------------------------------

@pytest.mark.parametrize("text", [
    "850101-1234", "8501011234", "19850101-1234", "198501011234",
    "850101+1234", "19850101+1234", "850101 - 1234", "850101 1234", "19850101 1234",
    "850101–1234",                                 # en dash pasted from a word processor
    VALID_PNR, wrong_check_digit(VALID_PNR), SAMORDNINGSNUMMER,
    "Ärende 0655588 gäller 850101-1234 i Centrum",
    "pnr:8501011234.",
    "19 850101-1234",
])
def test_personnummer_shape_is_found_valid_check_digit_or_not(text):
    assert contains_personnummer(text)


@pytest.mark.parametrize("text", [
    "", "0655588", "Behörighetsbeställning ärende 0655588, Centrum",
    "1234567890123",         # 13-digit run
    "12345678901",           # 11-digit run
    "123456789",
    "12345-1234", "1234567-1234", "123456789-1234",
    "2025-01-01 kl 08:00",
    None,
])
def test_things_that_are_not_a_personnummer_shape_are_not_caught(text):
    assert not contains_personnummer(text)


def test_subject_with_case_number_and_district_is_accepted():
    assert check_subject("Behörighetsbeställning ärende 0655588, Centrum", "case_number") == []


@pytest.mark.parametrize("pnr", [VALID_PNR, "198501011234", "850101 1234", SAMORDNINGSNUMMER])
def test_subject_with_personnummer_is_refused(pnr):
    violations = check_subject(f"Behörighetsbeställning ärende {pnr}, Centrum", "subject")
    assert [(v.code, v.field) for v in violations] == [("R-PNR-SUBJECT", "subject")]
    assert "aldrig personnummer" in violations[0].message


@pytest.mark.parametrize("name", ["Anna Andersson", "anna andersson", " ANNA  ANDERSSON "])
def test_subject_with_client_name_is_refused_case_insensitively(name):
    violations = check_subject("Uppdrag Anna  andersson, Hisingen", "subject", [name])
    assert codes(violations) == {"R-PNR-SUBJECT"}
    assert "Anna" not in violations[0].message   # the message never repeats the name


def test_subject_ignores_empty_and_one_letter_names():
    assert check_subject("Ärende 0655588, Centrum", "subject", ["", " ", "C", None]) == []


def test_note_with_personnummer_is_refused():
    violations = check_note_text(f"Besök hos {wrong_check_digit(VALID_PNR)} kl 10", "text")
    assert [(v.code, v.field) for v in violations] == [("R-NOTE-PNR", "text")]


def test_note_under_fictional_name_is_accepted():
    note = "Kalle åt frukost kl 08:00, ärende 0655588. Promenad 30 min."
    assert check_note_text(note, "text") == []


# --- R-PNR-VALID (§2.4 punkt 5) ------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    VALID_PNR, VALID_PNR.replace("-", ""), "19" + VALID_PNR, "19" + VALID_PNR.replace("-", ""),
    VALID_PNR.replace("-", "+"), SAMORDNINGSNUMMER, "  " + VALID_PNR + " ",
])
def test_real_personnummer_and_samordningsnummer_are_accepted(value):
    assert check_personnummer(value, "personnummer") == []


@pytest.mark.parametrize("value", [
    wrong_check_digit(VALID_PNR),
    wrong_check_digit(SAMORDNINGSNUMMER),
    make_pnr("851301"),                # month 13
    make_pnr("850230"),                # 30 February
    make_pnr("850192"),                # samordningsnummer for day 32
    make_pnr("850101", "000"),         # birth number 000
    "850101-123", "abc", "8501011234x", "850101 1234", "٨٥٠١٠١-١٢٣٤",
])
def test_invalid_personnummer_is_refused(value):
    violations = check_personnummer(value, "personnummer")
    assert [(v.code, v.field) for v in violations] == [("R-PNR-VALID", "personnummer")]


@pytest.mark.parametrize("value", ["", "   ", None])
def test_personnummer_is_required(value):
    violations = check_personnummer(value, "personnummer")
    assert [(v.code, v.field) for v in violations] == [("R-PNR-VALID", "personnummer")]


# --- R-CASE-NUMBER (§2.2: ärendenummer och stadsområde i ärenderaden) ---------------------------

@pytest.mark.parametrize("value", ["0655588", " 0655588 "])
def test_seven_digit_case_number_is_accepted(value):
    assert check_case_number(value, "case_number") == []


@pytest.mark.parametrize("value", ["", "655588", "06555881", "0655 588", "ärende 0655588", "abc",
                                   "٠٦٥٥٥٨٨", None])
def test_malformed_case_number_is_refused(value):
    violations = check_case_number(value, "case_number")
    assert [(v.code, v.field) for v in violations] == [("R-CASE-NUMBER", "case_number")]


@pytest.mark.parametrize("value", [VALID_PNR, "198501011234", "850101 1234"])
def test_personnummer_written_as_case_number_is_refused(value):
    violations = check_case_number(value, "case_number")
    assert codes(violations) == {"R-PNR-SUBJECT", "R-CASE-NUMBER"}
    pnr = next(v for v in violations if v.code == "R-PNR-SUBJECT")
    assert "aldrig personnummer" in pnr.message


def test_case_number_pattern_is_configurable():
    assert check_case_number("065558", "case_number", r"\d{6,8}") == []
    assert check_case_number("06555", "case_number", r"\d{6,8}") != []


def test_broken_case_number_pattern_falls_back_to_seven_digits():
    assert check_case_number("0655588", "case_number", "(") == []
    assert check_case_number("065558", "case_number", "(") != []


# --- R-EMAIL-DOMAIN ------------------------------------------------------------------------------

@pytest.mark.parametrize("email", [
    "anna.andersson@goteborg.se", "Anna.Andersson@GOTEBORG.SE", " anna.andersson@goteborg.se ",
    "anna-b.andersson+avo@goteborg.se",
])
def test_email_in_the_citys_domain_is_accepted(email):
    assert check_email_domain(email, ["goteborg.se"], "persons-0-email") == []


@pytest.mark.parametrize("email", [
    "anna@avo.goteborg.se",             # subdomain
    "anna@goteborg.se.example.com",
    "anna@gmail.com", "anna@xgoteborg.se",
    "goteborg.se", "@goteborg.se", "anna@", "anna@@goteborg.se", "anna b@goteborg.se",
    ".anna@goteborg.se", "anna..b@goteborg.se", "", None,
])
def test_email_outside_the_citys_domain_is_refused(email):
    violations = check_email_domain(email, ["goteborg.se"], "persons-0-email")
    assert [(v.code, v.field) for v in violations] == [("R-EMAIL-DOMAIN", "persons-0-email")]


def test_email_domain_list_is_configurable():
    allowed = ["@Goteborg.se", "educ.goteborg.se"]
    assert check_email_domain("a@educ.goteborg.se", allowed, "e") == []
    assert check_email_domain("a@goteborg.se", allowed, "e") == []
    [violation] = check_email_domain("a@example.se", allowed, "e")
    assert "@goteborg.se" in violation.message and "@educ.goteborg.se" in violation.message


# --- R-DATE-PAST ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, ok", [
    (TODAY, True), (TODAY - timedelta(days=1), True), (None, True),
    (TODAY + timedelta(days=1), False), (datetime(2027, 1, 16, 0, 1), False),
    (datetime(2027, 1, 15, 23, 59), True),
])
def test_received_date_cannot_be_in_the_future(value, ok):
    violations = check_date_not_future(value, TODAY, "received_date")
    assert (violations == []) is ok
    if not ok:
        assert [(v.code, v.field) for v in violations] == [("R-DATE-PAST", "received_date")]


# --- R-REPORTER (§2.4 punkt 11) ------------------------------------------------------------------

@pytest.mark.parametrize("kind, arrived_from, reporter_name, ok", [
    ("ansökan", "den enskilde", "", True),
    ("ansökan", " Den enskilde ", "", True),
    ("anmälan", "den enskilde", "", False),
    ("Anmälan", "den enskilde", "", False),
    ("anmälan", "den enskilde", "Lisa Larsson", True),
    ("ansökan", "dotter", "", False),
    ("ansökan", "dotter", "   ", False),
    ("ansökan", "dotter", "Kim Karlsson", True),
    # Where it came from unanswered: that field's own error says so, no R-REPORTER (issue 14).
    ("ansökan", "", "", True),
    (None, None, None, True),
    ("anmälan", "", "", False),
    ("anmälan", None, None, False),
])
def test_reporter_is_named_for_anmalan_or_when_not_from_the_individual(
        kind, arrived_from, reporter_name, ok):
    violations = check_reporter(kind, arrived_from, reporter_name)
    assert (violations == []) is ok
    if not ok:
        assert [(v.code, v.field) for v in violations] == [("R-REPORTER", "reporter_name")]


# --- R-NO-FEE-HANDLER (§7.2: avgiftshandläggare ska inte få behörighet) --------------------------

def person(action="add", position="planerare", username="anna01") -> dict[str, str]:
    return {"action": action, "full_name": "Anna Andersson", "username": username,
            "email": "anna@goteborg.se", "position": position}


def test_ordinary_staff_may_be_added():
    assert check_no_fee_handler("hemtjanst", [person(), person(position="enhetschef")]) == []


def test_nobody_in_a_fee_unit_gets_access_reported_once():
    violations = check_no_fee_handler("avgift", [person(username="a"), person(username="b")])
    assert violations == [Violation("R-NO-FEE-HANDLER", "persons", violations[0].message)]
    assert "§7.2" in violations[0].message


@pytest.mark.parametrize("position", ["avgiftshandläggare", " Avgiftshandläggare ",
                                      "AVGIFTSHANDLÄGGARE", "avgiftshandla\u0308ggare"])
def test_fee_handler_position_is_refused(position):
    violations = check_no_fee_handler("myndighet", [person(), person(position=position)])
    assert [(v.code, v.field) for v in violations] == [("R-NO-FEE-HANDLER", "persons-1-position")]


def test_known_fee_handler_username_is_refused_case_insensitively():
    violations = check_no_fee_handler("boende", [person(username="Avg01")], [" avg01 "])
    assert [(v.code, v.field) for v in violations] == [("R-NO-FEE-HANDLER", "persons-0-username")]


def test_fee_handler_may_be_removed():
    rows = [person(action="remove", position="avgiftshandläggare", username="avg01")]
    assert check_no_fee_handler("avgift", rows, ["avg01"]) == []


# --- the access order as a whole (§2.2) ----------------------------------------------------------

def row(action="add", name="Anna Andersson", username="anna01", email="anna.andersson@goteborg.se",
        position="socialsekreterare") -> PersonRow:
    return PersonRow(action, name, username, email, position)


def order(**changes) -> AccessOrderInput:
    values = dict(case_number="0655588", city_district="Centrum", unit_type="myndighet",
                  unit_name="Myndighet Centrum 1", persons=[row()], valid_from=date(2027, 2, 1),
                  valid_to=date(2028, 1, 31), local_protection=False, local_protection_until=None,
                  local_protection_reason="", justification="")
    values.update(changes)
    return AccessOrderInput(**values)


def check(o: AccessOrderInput, active=("bert02",), limit=3, manager=True, fee=(), pending=()):
    return check_access_order(o, today=TODAY, active_usernames=active, person_limit=limit,
                              allowed_domains=["goteborg.se"], case_number_pattern=r"\d{7}",
                              orderer_is_myndighet_manager=manager, fee_handler_usernames=fee,
                              pending_additions=pending,
                              positions=["socialsekreterare", "planerare", "enhetschef"])


def test_access_order_subject_has_case_number_and_district_only():
    subject = access_order_subject(" 0655588 ", "Centrum")
    assert subject == "Behörighetsbeställning ärende 0655588, Centrum"


def test_complete_access_order_is_accepted():
    assert check(order()) == []


def test_access_order_with_local_protection_is_accepted():
    o = order(local_protection=True, local_protection_until=date(2027, 4, 15),
              local_protection_reason=REASON)
    assert check(o) == []


def test_access_order_needs_at_least_one_person():
    assert [(v.code, v.field) for v in check(order(persons=[]))] == [("R-REQUIRED", "persons")]


def test_access_order_rows_need_name_username_action_and_email():
    violations = check(order(persons=[row(name=" ", username="", email=""), row(action="move")]))
    assert {(v.code, v.field) for v in violations} == {
        ("R-REQUIRED", "persons-0-full_name"), ("R-REQUIRED", "persons-0-username"),
        ("R-EMAIL-DOMAIN", "persons-0-email"), ("R-REQUIRED", "persons-1-action"),
    }


def test_removal_only_order_needs_no_period_and_no_email():
    o = order(persons=[row(action="remove", email="")], valid_from=None, valid_to=None)
    assert check(o, active=["anna01"]) == []


def test_removal_row_email_is_checked_when_given():
    o = order(persons=[row(action="remove", email="anna@gmail.com")], valid_from=None,
              valid_to=None)
    assert fields(check(o)) == {"persons-0-email"}


def test_access_order_period_over_one_year_is_refused():
    assert fields(check(order(valid_to=date(2028, 2, 2)))) == {"valid_to"}


def test_personnummer_as_case_number_is_reported_once_per_rule():
    violations = check(order(case_number=VALID_PNR))
    assert sorted(v.code for v in violations) == ["R-CASE-NUMBER", "R-PNR-SUBJECT"]
    assert fields(violations) == {"case_number"}


def test_access_order_over_the_person_limit_needs_justification():
    o = order(persons=[row(), row(username="cecilia03"), row(username="david04")])
    assert [(v.code, v.field) for v in check(o)] == [("R-PERSON-LIMIT", "justification")]
    assert check(order(persons=o.persons, justification="Två vikarier under sommaren")) == []


def test_access_order_removal_makes_room_for_an_addition():
    o = order(persons=[row(username="david04"), row(action="remove", username="BERT02")])
    assert check(o, active=["bert02", "cecilia03", "erik05"]) == []


def test_removal_only_order_on_a_crowded_case_needs_no_justification():
    o = order(persons=[row(action="remove", username="bert02")], valid_from=None, valid_to=None)
    assert check(o, active=["bert02", "cecilia03", "david04", "erik05", "fia06"]) == []


def test_access_order_local_protection_from_performer_is_refused():
    o = order(unit_type="hemtjanst", local_protection=True,
              local_protection_until=date(2027, 4, 16), local_protection_reason="kort")
    assert {v.field for v in check(o, limit=4)} == {
        "local_protection", "local_protection_until", "local_protection_reason"}


def test_access_order_to_fee_unit_is_refused_once():
    o = order(unit_type="avgift", persons=[row(), row(username="cecilia03")])
    violations = check(o, active=[], limit=0, fee=["cecilia03"])
    assert {(v.code, v.field) for v in violations} == {
        ("R-NO-FEE-HANDLER", "persons"), ("R-NO-FEE-HANDLER", "persons-1-username"),
        ("R-PERSON-LIMIT", "justification")}
    assert len(violations) == len(set(violations)) == 3


def test_access_order_counts_pending_orders_and_each_person_once():
    three = [row(username="cecilia03"), row(username="david04")]
    assert fields(check(order(persons=three), pending=["erik05"])) == {"justification"}
    twice = order(persons=[row(), row(action="remove")])
    assert fields(check(twice)) == {"persons-0-username", "persons-1-username"}


def test_access_order_position_outside_the_list_is_refused():
    o = order(persons=[row(position="chef för allt"), row(action="remove", username="bert02",
                                                          position="")])
    assert [(v.code, v.field) for v in check(o)] == [("R-POSITION", "persons-0-position")]


def test_access_order_with_nothing_filled_in_does_not_raise():
    o = AccessOrderInput(None, None, None, None, None, None, None, None, None, None, None)
    assert {"case_number", "persons"} <= fields(check(o))
    o = order(persons=[PersonRow(None, None, None, None, None)])
    assert "persons-0-action" in fields(check(o))


# --- robustness ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [None, "", "\x00", "🙂" * 50, "9" * 10_000, "-+ " * 100, 12345])
def test_rules_never_raise_on_odd_text(text):
    contains_personnummer(text)
    check_subject(text, "f", [text])
    check_personnummer(text, "f")
    check_case_number(text, "f")
    check_email_domain(text, [text], "f")
    check_reporter(text, text, text)
    check_note_text(text, "f")
    check_no_fee_handler(text, [{"action": "add", "position": text, "username": text}], [text])
    check_person_limit([text], [text], [text], 1, text)
    check_local_protection(True, None, text, TODAY, text, False)


# --- found by the property tests (tests/test_properties.py) --------------------------------------

@pytest.mark.parametrize("broken", [5, date(2027, 1, 1), True, 1.5])
def test_rules_never_raise_on_a_broken_list_argument(broken):
    """A number or a date where a list belongs counts as an empty list (it used to raise)."""
    assert check_subject("Ärende 0655588, Centrum", "f", broken) == []
    assert codes(check_email_domain("anna@goteborg.se", broken, "f")) == {"R-EMAIL-DOMAIN"}
    assert check_no_fee_handler("myndighet", broken, broken) == []
    assert check_person_limit(broken, broken, broken, 3, "") == []
    assert exceeds_person_limit(broken, ["anna01"], broken, 0)
    violations = check_access_order(
        order(persons=broken), today=TODAY, active_usernames=broken, person_limit=3,
        allowed_domains=broken, case_number_pattern=r"\d{7}", orderer_is_myndighet_manager=True,
        fee_handler_usernames=broken)
    assert ("R-REQUIRED", "persons") in {(v.code, v.field) for v in violations}


def test_one_string_given_as_a_list_is_one_item_not_its_letters():
    """A client name passed on its own is still caught in the subject (letters were dropped)."""
    assert codes(check_subject("Ärende 0655588 Anna Andersson", "f", "Anna Andersson")) == {
        "R-PNR-SUBJECT"}
    assert check_email_domain("anna@goteborg.se", "goteborg.se", "f") == []
    assert codes(check_no_fee_handler("myndighet", [{"action": "add", "username": "frida"}],
                                      "frida")) == {"R-NO-FEE-HANDLER"}


@pytest.mark.parametrize("broken", ["20", None, True, 2.5])
def test_person_limit_with_a_broken_minimum_asks_for_the_routines_20_characters(broken):
    violations = check_person_limit(["a", "b", "c"], ["d"], [], 3, "för kort", broken)
    assert codes(violations) == {"R-PERSON-LIMIT"}
    assert "minst 20 tecken" in violations[0].message
    assert check_person_limit(["a", "b", "c"], ["d"], [], 3, "x" * 20, broken) == []


# --- Trygghetsjouren's access goes by Intraservice (issue 13, item 2; §2.1, §9.2) ------------------

@pytest.mark.parametrize("unit_type", ["trygghetsjouren", " Trygghetsjouren ", "TRYGGHETSJOUREN"])
def test_an_access_order_from_trygghetsjouren_is_refused_with_that_finding_only(unit_type):
    """R-TJ-INTRASERVICE: the whole order is the wrong way (§9.2), adding or removing, valid or
    not; the message says where to turn instead."""
    for o in (order(unit_type=unit_type),
              order(unit_type=unit_type, persons=[row(action="remove")], valid_to=None),
              order(unit_type=unit_type, case_number=VALID_PNR, persons=[row(email="x@gmail.com")])):
        [violation] = check(o, active=[])
        assert (violation.code, violation.field) == ("R-TJ-INTRASERVICE", "persons")
        assert "Intraservice" in violation.message and "§9.2" in violation.message


@pytest.mark.parametrize("unit_type", ["myndighet", "bosam", "boende", "hemtjanst", "avgift", "",
                                       None, 5, "trygghetsjour"])
def test_other_unit_types_are_not_sent_to_intraservice(unit_type):
    from portal.rules import check_access_by_intraservice

    assert check_access_by_intraservice(unit_type) == []
    assert "R-TJ-INTRASERVICE" not in codes(check(order(unit_type=unit_type), limit=4))


# --- R-NOTE-ADDRESS: no street address or phone number in notes and deviation reports (13-A) ----

ADDRESSES_AND_PHONES = [
    "Storgatan 12", "Kungsportsavenyen 5B", "bor på Vasagatan 3 nu", "Storgatan12",
    "Linnégatan 7", "Allévägen 4", "Mölndalsvägen 12, lgh 1102", "STORGATAN 12",
    "Box 123", "412 58 Göteborg", "41258 Göteborg", "SE-412 58 Göteborg",
    "070-123 45 67", "0701234567", "070 123 45 67", "070-1234567", "031-123 45 67",
    "08-123 456 78", "0303-123 45", "+46 70 123 45 67", "+46 (0)70-123 45 67", "+46701234567",
    "0046 70 123 45 67", "070.123.45.67", "ring 073\u2011123 45 67",
    "\uff10\uff17\uff10-\uff11\uff12\uff13 \uff14\uff15 \uff16\uff17",  # fullwidth digits
    "07\u200b0-123 45 67", "Stor\u00adgatan 12", "Sto\u200brgatan 12",  # invisible characters
    "Storga\u0308tan 3",  # a decomposed ä
]


@pytest.mark.parametrize("text", ADDRESSES_AND_PHONES)
def test_note_with_address_or_phone_is_refused(text):
    violations = check_note_address(f"Greta mår bra. {text}. Åt lunch.", "text")
    assert violations and {(v.code, v.field) for v in violations} == {("R-NOTE-ADDRESS", "text")}
    assert all(v.message and "%(" not in v.message for v in violations)


def test_address_and_phone_are_told_apart_in_the_messages():
    address = check_note_address("Storgatan 12", "description")
    phone = check_note_address("070-123 45 67", "description")
    both = check_note_address("Storgatan 12, 070-123 45 67", "description")
    assert len(address) == len(phone) == 1 and "adress" in address[0].message
    assert "telefonnummer" in phone[0].message
    assert [v.msgid for v in both] == [address[0].msgid, phone[0].msgid]


@pytest.mark.parametrize("text", [
    "", None, "kl 14.30", "kl 14:30", "08.30-09.15", "0830-0915", "kl 07.00 och 08.00",
    "2026-12-01", "01.12.2026", "2026-01-05 - 2026-02-05", "05/12 - 06/12",
    "ärende 1234567", "ärende 0123456", "2 x 500 mg", "Greta åt 0,5 mg", "1 000 000 kr",
    "på vägen 2 gånger", "plan 2", "våningsplan 3", "Hon ringde 3 gånger", "vecka 49",
    "rum 204 Göteborg", "box 2 tabletter", "Mötte 12 personer, 45 minuter",
    "Promenad i 30 min, sedan vila 2 h. Ärende 0655588.",
])
def test_note_without_address_or_phone_is_accepted(text):
    assert check_note_address(text, "text") == []


# Hypothesis: both directions, whatever surrounds the number.
AROUND_BEFORE = st.sampled_from(["", "Ring ", "tel: ", "Nytt nummer ", "(", "Greta bor på ",
                                 "Mamma har\n", "adress: "])
AROUND_AFTER = st.sampled_from(["", ".", " i kväll", ")", ", sa hon", "\n", "!"])
PHONE_SEP = st.sampled_from(["", " ", "-", "\u2010", "\u2013", "\u00a0", " - ", "\u200b"])
D = st.sampled_from("0123456789")


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """A Swedish mobile or landline number in one of the ways people write it."""
    sep = draw(PHONE_SEP)
    space = draw(st.sampled_from([" ", "", "\u00a0"]))

    def digits(n: int) -> str:
        return "".join(draw(D) for _ in range(n))

    mobile = "7" + draw(st.sampled_from("02369"))  # 07X-XXX XX XX, +46 7X-XXX XX XX
    rest = [digits(3), digits(2), digits(2)]
    kind = draw(st.sampled_from(["mobile", "goteborg", "stockholm", "small", "intl", "0046"]))
    if kind == "mobile":
        return "0" + mobile + sep + space.join(rest)
    if kind == "goteborg":
        return "031" + sep + space.join(rest)
    if kind == "stockholm":
        return "08" + sep + space.join([digits(3), digits(3), digits(2)])
    if kind == "small":
        return "0" + draw(st.sampled_from(["303", "500", "910"])) + sep + digits(3) + space + digits(2)
    prefix = "+46" if kind == "intl" else "0046"
    return prefix + draw(st.sampled_from([" ", "", " (0)"])) + mobile + sep + space.join(rest)


@st.composite
def street_addresses(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["Stor", "Vasa", "Linné", "Ekeda", "Övre Husar", "Kvarn", "Björk"]))
    ending = draw(st.sampled_from(["gatan", "vägen", "gränd", "stigen", "allén", "torget",
                                   "platsen", "backen", "liden", "leden", "gången", "plan"]))
    number = draw(st.integers(1, 199))
    letter = draw(st.sampled_from(["", "A", "b", " C"]))
    kind = draw(st.sampled_from(["street", "box", "postcode"]))
    if kind == "box":
        return f"Box {draw(st.integers(1, 99999))}"
    if kind == "postcode":
        code = draw(st.integers(100, 984))
        town = draw(st.sampled_from(["Göteborg", "Mölndal", "Kungälv", "Västra Frölunda"]))
        return f"{code} {draw(st.integers(0, 99)):02d} {town}"
    return f"{name}{ending} {number}{letter}"


@settings(max_examples=300, deadline=None)
@given(AROUND_BEFORE, phone_numbers() | street_addresses(), AROUND_AFTER)
def test_property_an_address_or_phone_number_is_always_found(before, found, after):
    violations = check_note_address(before + found + after, "text")
    assert violations and all(v.code == "R-NOTE-ADDRESS" for v in violations)


@st.composite
def harmless_numbers(draw: st.DrawFn) -> str:
    """What day notes hold that is not an address or a phone number."""
    day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    kind = draw(st.sampled_from(["time", "time range", "iso", "dmy", "case", "dose", "count"]))
    if kind == "time":
        return f"kl {hour:02d}{draw(st.sampled_from(['.', ':']))}{minute:02d}"
    if kind == "time range":
        return f"{hour:02d}.{minute:02d}-{(hour + 1) % 24:02d}.{minute:02d}"
    if kind == "iso":
        return day.isoformat()
    if kind == "dmy":
        sep = draw(st.sampled_from([".", "/", "-"]))
        return f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}"
    if kind == "case":
        return f"ärende {draw(st.integers(0, 9_999_999)):07d}"
    if kind == "dose":
        return f"{draw(st.integers(1, 4))} x {draw(st.sampled_from([5, 50, 250, 500, 1000]))} mg"
    return f"{draw(st.integers(1, 500))} {draw(st.sampled_from(['personer', 'min', 'kr', 'ml']))}"


@settings(max_examples=300, deadline=None)
@given(st.lists(harmless_numbers(), min_size=1, max_size=4),
       st.sampled_from([" och ", ", ", ". Sedan ", "; "]))
def test_property_times_dates_case_numbers_and_doses_are_not_taken_for_one(parts, joiner):
    text = joiner.join(parts)
    assert check_note_address(text, "text") == [], text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_property_a_text_without_digits_is_never_taken_for_one(text):
    assume(not any(c.isdigit() for ch in text for c in unicodedata.normalize("NFKC", ch)))
    assert check_note_address(text, "text") == []


ADDRESS_WORST_CASES = {
    "spaces between digits": lambda n: "070" + " " * n + "123",
    "digit, space": lambda n: "0 " * (n // 2),
    "two digits, space": lambda n: "07 " * (n // 3),
    "one long word": lambda n: "a" * n + "gatan 12",
    "streets without an end": lambda n: "Storgatan 1 " * (n // 12),
    "one long number": lambda n: "0" * n,
    "dates in a row": lambda n: "2026-12-01 " * (n // 11),
    "times in a row": lambda n: "14.30 " * (n // 6),
    "plus signs": lambda n: "+46 " * (n // 4),
    "combining marks": lambda n: "a" + "\u0301" * n,
    "zero-width spaces": lambda n: "0\u200b" * (n // 2),
    "dashes and dots": lambda n: "0-." * (n // 3),
    "postcodes": lambda n: "412 58 " * (n // 7),
    "letters and digits": lambda n: "a1" * (n // 2),
    "0046 0": lambda n: "0046 0 " * (n // 7),
}


@pytest.mark.parametrize("case", list(ADDRESS_WORST_CASES))
def test_address_detector_is_linear_on_a_500_kb_worst_case(case):
    """Like the personnummer detector (issue 11 H1): CPU time, bounded for 20 KB and 500 KB."""
    for size, bound in ((20_000, 0.5), (500_000, 2.0)):
        text = ADDRESS_WORST_CASES[case](size)
        start = time.process_time()
        check_note_address(text, "text")
        elapsed = time.process_time() - start
        assert elapsed < bound, f"{case}: {len(text)} characters took {elapsed:.2f} s"
