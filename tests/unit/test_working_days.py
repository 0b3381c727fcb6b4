"""Latvian working days and the appeal window's last day (app/working_days.py), and how that day is worded.

Every expected date is counted by hand in the comment beside it, on the 2022/2023 Latvian calendar: public holidays
1 May (Sun), 4 May (Wed), 23–24 June (Thu–Fri), 18 November (Fri) 2022; in 2023 the Saeima made Monday 29 May a
holiday (the hockey bronze) and moved a working day from Friday 5 May to Saturday 20 May.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app import formatting
from app.working_days import add_working_days, end_of_day, is_working_day, last_day_of_window


def riga(year, month, day, hour=0, minute=0):
    from app.clock import riga_time

    return riga_time(year, month, day, hour, minute).astimezone(timezone.utc)


@pytest.mark.parametrize("day, working", [
    (date(2022, 5, 3), True),    # Tuesday
    (date(2022, 5, 4), False),   # Wednesday, Restoration of Independence Day
    (date(2022, 5, 7), False),   # Saturday
    (date(2022, 6, 23), False),  # Līgo, Thursday
    (date(2022, 6, 24), False),  # Jāņi, Friday
    (date(2022, 11, 18), False),  # Proclamation Day, Friday
    (date(2022, 11, 21), True),  # Monday
    (date(2023, 5, 29), False),  # the one-off holiday of 2023
    (date(2023, 5, 20), True),   # a Saturday worked in exchange for Friday 5 May 2023
    (date(2023, 5, 5), False),
])
def test_working_days_follow_the_latvian_calendar(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize("sent, last", [
    # Tuesday 3 May 2022: 4 May is a holiday, so Thu 5 (1), Fri 6 (2) → received 6 May; + 30 days → 5 June.
    # (Counting weekdays only would give 5 May and 4 June.)
    (riga(2022, 5, 3, 10), date(2022, 6, 5)),
    # Wednesday 22 June 2022: 23–24 June holidays, 25–26 weekend, Mon 27 (1), Tue 28 (2) → + 30 → 28 July.
    (riga(2022, 6, 22, 15), date(2022, 7, 28)),
    # Thursday 17 November 2022: 18 Nov holiday, weekend, Mon 21 (1), Tue 22 (2) → + 30 → 22 December.
    (riga(2022, 11, 17, 9), date(2022, 12, 22)),
    # Friday 26 May 2023: weekend, Mon 29 holiday, Tue 30 (1), Wed 31 (2) → + 30 → 30 June.
    (riga(2023, 5, 26, 12), date(2023, 6, 30)),
    # Friday 19 May 2023: Saturday 20 May is a working day (1), Sunday, Mon 22 (2) → + 30 → 21 June.
    (riga(2023, 5, 19, 12), date(2023, 6, 21)),
])
def test_the_window_counts_delivery_in_working_days_then_calendar_days(sent, last):
    assert last_day_of_window(sent, 2, 30) == last


def test_the_day_sent_is_the_riga_day_not_the_utc_one():
    # 00:30 on Tuesday 3 May 2022 in Riga is still Monday 2 May in UTC (21:30). Counted from the Riga day:
    # 6 May received, 5 June last (as above). Counted from the UTC day it would be Tue 3 (1), Thu 5 (2) → 4 June.
    sent = datetime(2022, 5, 2, 21, 30, tzinfo=timezone.utc)
    assert last_day_of_window(sent, 2, 30) == date(2022, 6, 5)


def test_zero_working_days_start_the_window_on_the_day_sent():
    assert add_working_days(date(2022, 5, 4), 0) == date(2022, 5, 4)
    assert last_day_of_window(riga(2022, 5, 3, 10), 0, 30) == date(2022, 6, 2)  # 3 May + 30
    with pytest.raises(ValueError):
        add_working_days(date(2022, 5, 4), -1)


def test_a_window_ends_at_midnight_riga_after_its_last_day():
    # Summer time (UTC+3): 00:00 on 6 June in Riga is 21:00 UTC on 5 June; winter (UTC+2): 22:00 UTC.
    assert end_of_day(date(2022, 6, 5)) == datetime(2022, 6, 5, 21, 0, tzinfo=timezone.utc)
    assert end_of_day(date(2022, 12, 22)) == datetime(2022, 12, 22, 22, 0, tzinfo=timezone.utc)


def test_the_last_day_is_worded_as_a_date_with_inclusive():
    assert formatting.until_day(date(2022, 6, 14), "lv") == "līdz 2022. gada 14. jūnijam (ieskaitot)"
    assert formatting.until_day(date(2022, 6, 14), "en") == "until 14 June 2022 (inclusive)"
    assert formatting.until_day(date(2023, 1, 2), "lv") == "līdz 2023. gada 2. janvārim (ieskaitot)"
    # a stored moment is its Riga day: 21:30 UTC on 14 June is 00:30 on 15 June in Riga
    assert formatting.until_day(datetime(2022, 6, 14, 21, 30, tzinfo=timezone.utc), "en") == \
        "until 15 June 2022 (inclusive)"
    assert formatting.until_day(None) == ""
