"""The one clock of the app. Tests move it with `travel_to` instead of sleeping."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

RIGA = ZoneInfo("Europe/Riga")
_fixed: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    if _fixed is not None:
        return _fixed
    return datetime.now(timezone.utc) + _offset


def travel_to(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (aware), or unfreeze it with None."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    _fixed = moment.astimezone(timezone.utc) if moment else None


def shift(delta: timedelta) -> None:
    """Move a running (unfrozen) clock by `delta`; the demo server uses it."""
    global _offset
    _offset = delta


def riga_midnight(day) -> datetime:
    """00:00 Europe/Riga of a calendar day, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=RIGA).astimezone(timezone.utc)


def to_riga(moment: datetime) -> datetime:
    return moment.astimezone(RIGA)


def riga_time(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock moment in Latvia, as an aware datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=RIGA)
