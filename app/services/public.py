"""What the public pages read: the calls by state with their time left, a call's dates as a calendar, and the
receipt check. Nothing here writes: a call's state is its effective one (`effective_status`), the clock's moves
that are due but not yet recorded included (a GET never records them)."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import formatting
from app.extensions import db
from app.models import Application, Call
from app.services.pages import Page
from app.services.workflow import effective_status
from workflows.call import CALL

# Never public: a draft (not announced yet) and a cancelled call.
PUBLIC_STATES = ("announced", "open", "closed", "evaluation", "ranking", "awarded", "reporting", "completed")
# The index's sections, in order: (key, the effective states it holds). Every public state is in exactly one.
GROUPS = (
    ("announced", ("announced",)),
    ("open", ("open",)),
    ("closed", ("closed", "evaluation", "ranking")),
    ("results", CALL.groups["results_published"]),
)
assert sorted(s for _key, states in GROUPS for s in states) == sorted(PUBLIC_STATES)


@dataclass(frozen=True)
class ListedCall:
    call: Call
    status: str  # the effective state
    # until the deadline (open) or until it opens (announced); None when neither is ahead
    left: timedelta | None


@dataclass(frozen=True)
class PublicCallsPage(Page):
    groups: list[tuple[str, list[ListedCall]]]  # (GROUPS key, its calls), the non-empty groups in GROUPS order


def public_calls(now: datetime) -> PublicCallsPage:
    """The public list at `now` (the view's `clock.now()`, the clock `effective_status` reads too): one query
    whatever the number of calls (organisers joined)."""
    calls = db.session.scalars(select(Call).where(Call.status.in_(PUBLIC_STATES))
                               .options(joinedload(Call.organiser)).order_by(Call.opens_at.desc(), Call.id)).all()
    listed = [_listed(call, effective_status(call), now) for call in calls]
    groups = []
    for key, states in GROUPS:
        members = [row for row in listed if row.status in states]
        if key in ("announced", "open"):  # what comes soonest first
            members.sort(key=lambda row: (row.left is None, row.left or timedelta(0), row.call.id))
        if members:
            groups.append((key, members))
    return PublicCallsPage(groups=groups)


def _listed(call: Call, status: str, now: datetime) -> ListedCall:
    ahead = {"announced": call.opens_at, "open": call.closes_at}.get(status)
    left = ahead - now if ahead is not None and ahead > now else None
    return ListedCall(call=call, status=status, left=left)


# --- the call's dates as a calendar -----------------------------------------------------------------------------

REPORT_KINDS = {"interim": _l("Interim report due"), "final": _l("Final report due")}


def call_calendar(call: Call, lang: str, url: str, now: datetime) -> bytes:
    """The call's dates as an iCalendar file (RFC 5545): the opening and the deadline at their stored UTC
    instants, the decision, the implementation's start and end and each report's due date as whole days. Each
    event's UID stays the same from one download to the next (the call's id and the date's name), so a calendar
    that imports the file again updates its events instead of doubling them; DTSTAMP is `now`, when the
    information was read, so that an extended deadline replaces the old one."""
    title = call.title(lang)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Pumpurs Grants//Calls//" + lang.upper())
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{call.code} · {title}")
    host = urlsplit(url).hostname or "pumpurs-grants"

    def event(key: str, summary: str, start, end=None, description: str = "") -> None:
        item = icalendar.Event()
        item.add("uid", f"call-{call.id}-{key}@{host}")
        item.add("dtstamp", now)
        item.add("summary", f"{summary}: {title}")
        item.add("dtstart", start)
        if end is not None:
            item.add("dtend", end)
        item.add("description", "\n".join(filter(None, (description, f"{call.code} · {title}", url))))
        item.add("url", url)
        calendar.add_component(item)

    if call.opens_at is not None:
        event("opens", _("Applications open"), call.opens_at, call.opens_at)
    if call.closes_at is not None:
        # closes_at is exclusive: the event is the last minute in which an application is still taken, and ends
        # at the stored instant, as an iCalendar DTEND (exclusive too) does
        event("deadline", _("Deadline"), call.closes_at - timedelta(minutes=1), call.closes_at,
              _("until") + " " + formatting.deadline(call.closes_at, lang) + f" ({_('Riga time')})")
    for key, summary, day in (("decision", _("Decision on the results"), call.decision_on),
                              ("implementation-start", _("Implementation starts"), call.implementation_start),
                              ("implementation-end", _("Implementation ends"), call.implementation_end)):
        if day is not None:
            event(key, summary, day, day + timedelta(days=1))
    for index, report in enumerate(call.report_schedule or [], start=1):
        due = _date_of(report.get("due_on")) if isinstance(report, dict) else None
        if due is not None:
            event(f"report-{index}", str(REPORT_KINDS.get(report.get("kind"), _l("Report due"))), due,
                  due + timedelta(days=1))
    return calendar.to_ical()


def _date_of(value) -> date | None:
    """A report's due date as stored ("2022-08-15"); None for one tied to an event instead of a date."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# --- the receipt check ------------------------------------------------------------------------------------------

def receipt_check_link() -> str:
    """The check page's address on PUBLIC_BASE_URL, for the receipt's PDF and e-mail: built from the URL map
    alone, as they are written where there may be no request (a factory's submit, the worker)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme)
    return adapter.build("public.check_receipt", force_external=True)


_NO_HASH = "0" * 64  # compared against when the number names nothing, so both refusals take the same path


def normalised_sha256(text: str) -> str:
    """A SHA-256 as people copy it from a PDF or an e-mail: any case, spaces and line breaks anywhere."""
    return "".join(text.split()).lower()


def receipt_received_at(number: str, sha256: str) -> datetime | None:
    """When the submission with receipt `number` and content hash `sha256` was received; None when the two do
    not belong together. An unknown number and a wrong hash get the same None, so the answer never tells
    whether a number exists. Reads the number's time and hash alone: nothing of the content."""
    number, sha256 = number.strip(), normalised_sha256(sha256)
    rows = db.session.execute(select(Application.submitted_at, Application.content_sha256)
                              .where(Application.number.in_({number, number.upper()}),
                                     Application.submitted_at.is_not(None))).all() or [(None, _NO_HASH)]
    found = None
    for received_at, stored in rows:
        if hmac.compare_digest((stored or _NO_HASH).encode(), sha256.encode()) and received_at is not None:
            found = received_at
    return found
