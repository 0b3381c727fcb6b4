"""Latvian working days and Riga calendar dates: the arithmetic of time limits counted in days (DESIGN 3, Appeals).

Pure functions of their arguments (no database, no clock). Moments are stored in UTC; a limit counted in days is
counted on the calendar of Europe/Riga, so a letter sent at 23:30 Riga time (21:30 UTC in summer) was sent on the
Riga day, whatever the UTC date says. Which days are working days comes from the `holidays` library's Latvian
calendar (the public holidays law, a holiday moved to the Monday after a weekend, the one-off days the Saeima
declares, and a Saturday worked in exchange for a bridge day, which counts as a working day), not from a list kept
here.

The rules, as the Notification Law (Paziņošanas likums) and the Administrative Procedure Law count them:
- a document sent electronically is taken as received on the N-th working day after the day it was sent (N is the
  call's delivery allowance, default 2);
- a time limit of D days then runs from the day after receipt, so its last day is the receipt day plus D, and it
  ends at the end of that day (00:00 Riga the next day, exclusive, like a call's `closes_at`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from app.clock import riga_midnight, to_riga


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    """The Latvian calendar of one year, filled when built and only read afterwards (one object for every year
    would fill itself lazily on a lookup, a write that request threads would share)."""
    return holidays.country_holidays("LV", years=year, expand=False)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday, or a Saturday declared a working day."""
    return _calendar(day.year).is_working_day(day)


def riga_date(moment: datetime) -> date:
    """The calendar day in Riga of a stored (aware, UTC) moment."""
    return to_riga(moment).date()


def add_working_days(day: date, count: int) -> date:
    """The `count`-th working day after `day` (`day` itself when `count` is 0). The day counted from is never one
    of the `count`, working day or not."""
    if count < 0:
        raise ValueError("count must not be negative")
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def last_day_of_window(sent_at: datetime, delivery_working_days: int, window_days: int) -> date:
    """The last day (inclusive, Riga calendar) of a window of `window_days` calendar days that starts counting once
    a letter sent at `sent_at` is taken as delivered, `delivery_working_days` working days after the day it was
    sent."""
    delivered = add_working_days(riga_date(sent_at), delivery_working_days)
    return delivered + timedelta(days=window_days)


def end_of_day(day: date) -> datetime:
    """The first moment after a Riga calendar day, in UTC: a window whose last day is `day` is open while
    `now < end_of_day(day)`."""
    return riga_midnight(day + timedelta(days=1))
