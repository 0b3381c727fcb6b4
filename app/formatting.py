"""How dates, times and money are shown: Latvian first (27.11.2026., 4 600,00 €), in Europe/Riga."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.dates import format_date
from babel.units import format_unit

from app.clock import to_riga


def money(cents: int | None, lang: str = "lv") -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    if lang == "en":
        return f"{sign}€{euros:,}.{rest:02d}"
    grouped = f"{euros:,}".replace(",", "\u00a0")
    return f"{sign}{grouped},{rest:02d}\u00a0€"


_SPACES = "[ \u00a0\u202f]"  # a space, a no-break space or a narrow one between groups of three digits
_MONEY = {
    # "4 600,00", "4600.00", "4600", "0,07"; a comma or a point before the cents, spaces between thousands
    "lv": re.compile(rf"(?P<whole>\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d{{1,12}})(?:[.,](?P<fraction>\d{{1,2}}))?"),
    # "4,600.00" as the English pages write it, and "4 600.00", "4600", "12,50" (a comma before two digits)
    "en": re.compile(rf"(?P<whole>\d{{1,3}}(?:,\d{{3}})+|\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d{{1,12}})"
                     rf"(?:(?:\.|,(?=\d{{1,2}}$))(?P<fraction>\d{{1,2}}))?"),
}


def parse_money(text: str, lang: str | None = None) -> int:
    """Euros as people type them in `lang` (the reader's language by default) → integer cents: "4 600,00",
    "4600.00" and "4600" in either; "4,600.00" in English, as its pages show amounts. Raises ValueError for
    anything else (more than two decimals, a minus, exponents, "1.200,50"), so nothing is guessed."""
    cleaned = (text or "").strip().removeprefix("€").removesuffix("€").removesuffix("EUR").strip()
    found = _MONEY["en" if (lang or current_lang()) == "en" else "lv"].fullmatch(cleaned)
    if not found:
        raise ValueError(text)
    whole = int(re.sub(r"\D", "", found["whole"]))
    return whole * 100 + int((found["fraction"] or "0").ljust(2, "0"))


def day(value: date | datetime | None, lang: str = "lv") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_riga(value).date()
    return f"{value:%d.%m.%Y}." if lang == "lv" else f"{value:%d.%m.%Y}"


def moment(value: datetime | None, lang: str = "lv") -> str:
    if value is None:
        return ""
    local = to_riga(value)
    return f"{day(local.date(), lang)} {local:%H:%M:%S}" if lang == "lv" else f"{local:%d.%m.%Y %H:%M:%S}"


def deadline(closes_at: datetime | None, lang: str = "lv") -> str:
    """An exclusive closing time shown as people say it: 05.04.2022 00:00 → 'līdz 04.04.2022. plkst. 23:59'."""
    if closes_at is None:
        return ""
    from datetime import timedelta

    last = to_riga(closes_at - timedelta(minutes=1))
    return f"{day(last.date(), lang)} plkst. {last:%H:%M}" if lang == "lv" else f"{day(last.date(), lang)} {last:%H:%M}"


# Latvian month names in the dative, which "līdz" takes ("līdz 14. jūnijam"); CLDR has only the nominative and
# genitive forms, so Babel cannot give them.
_LV_MONTHS_DATIVE = ("janvārim", "februārim", "martam", "aprīlim", "maijam", "jūnijam", "jūlijam", "augustam",
                     "septembrim", "oktobrim", "novembrim", "decembrim")


def until_day(value: date | datetime | None, lang: str = "lv") -> str:
    """The last day of a time limit, the day itself included, as a letter words it: 'līdz 2022. gada 14. jūnijam
    (ieskaitot)', 'until 14 June 2022 (inclusive)'. A datetime is taken as its Riga calendar day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_riga(value).date()
    if lang == "lv":
        return f"līdz {value.year}. gada {value.day}. {_LV_MONTHS_DATIVE[value.month - 1]} (ieskaitot)"
    return f"until {format_date(value, 'd MMMM y', locale='en')} (inclusive)"


def duration(delta: timedelta, lang: str = "lv") -> str:
    """A positive span of time in its largest whole unit, rounded down, as CLDR words it for `lang` (Latvian's
    1 / 2–9 / 10–20 forms: '1 diena', '3 dienas', '12 dienu'): 12 days 5 hours → '12 dienu'; 23:59:59 →
    '23 stundas'. Days are never counted in weeks or months, as a deadline's reader counts them. Zero or less: ''."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return ""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            return format_unit(seconds // size, f"duration-{unit}", length="long", locale=lang)
    raise AssertionError("unreachable")


def points(half_points: Fraction | int | None, lang: str = "lv") -> str:
    if half_points is None:
        return "—"
    value = (Decimal(Fraction(half_points).numerator) / Decimal(Fraction(half_points).denominator) / 2)
    text = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}"
    return text.replace(".", ",") if lang == "lv" else text


def current_lang() -> str:
    """The language of whoever the current page or message is for (the request's locale: the session's choice,
    else the user's, else Latvian; see `app._select_locale`), Latvian outside an application context. The one
    home of that rule: views, templates and services all ask here."""
    from flask_babel import get_locale

    try:
        return str(get_locale() or "lv")
    except RuntimeError:  # no application context
        return "lv"
