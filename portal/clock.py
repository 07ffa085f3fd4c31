"""Time as the routine counts it: instants are stored in UTC, dates and times are shown and counted
in Swedish local time (the routine's days are Swedish calendar days). The only module that knows
the time zone; everything else asks it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    """Now, as an aware UTC instant (what the database stores)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's Swedish calendar date."""
    return datetime.now(STOCKHOLM).date()


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """An instant read back from the database as aware UTC: SQLite returns naive datetimes for
    `DateTime(timezone=True)` columns (they were stored as UTC); PostgreSQL returns them aware."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def local(value: datetime) -> str:
    """An instant as the pages, messages and PDFs show it: Stockholm time, to the minute."""
    return aware(value).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def iso(value: datetime) -> str:
    """An instant for machines (queue.json, a submission's JSON): ISO 8601 in Stockholm time with
    its offset, to the second ("2026-12-01T17:05:09+01:00"), the same on SQLite and PostgreSQL."""
    return aware(value).astimezone(STOCKHOLM).isoformat(timespec="seconds")


def local_date(value: datetime) -> date:
    """The Swedish calendar date of an instant."""
    return aware(value).astimezone(STOCKHOLM).date()


def start_of_day(day: date) -> datetime:
    """The instant a Swedish calendar day begins (midnight in Stockholm), as aware UTC."""
    return datetime.combine(day, time.min, tzinfo=STOCKHOLM).astimezone(UTC)
