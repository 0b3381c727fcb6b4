"""The public pages (issue 6): the calls by state with their deadline and time left, a call's dates as an iCalendar
file, and the receipt check that confirms a submission without showing anything of it. LV and EN."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app import documents
from app.models import AuditEvent, Call, Document, Message
from tests.factories import riga

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

OPENS = riga(2030, 3, 1, 9, 0)
CLOSES = riga(2030, 4, 5)  # exclusive: "until 04.04.2030 23:59"


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def in_lang(client, lang: str):
    with client.session_transaction() as session:
        session["lang"] = lang
    return client


def sections(page: str) -> dict[str, str]:
    """The index's sections by key (announced, open, closed, results), each its HTML."""
    return dict(re.findall(r'<section class="mb-4 calls-(\w+)"(.*?)</section>', page, re.DOTALL))


def time_left(page: str, code: str) -> str | None:
    """The time-left line of the card that links to call `code`, in plain words; None when the card has none."""
    card = page.split(f'href="/calls/{code}"', 1)[1].split("</div></div></div>", 1)[0]
    found = re.search(r'<p class="mb-0 time-left">(.*?)</p>', card, re.DOTALL)
    return " ".join(found.group(1).split()) if found else None


# --- the list of calls ------------------------------------------------------------------------------------------

def test_calls_are_listed_by_their_effective_state_and_a_get_writes_nothing(app, client, make_call):
    upcoming = make_call(state="announced")  # opens in 2 days
    open_now = make_call(state="open")
    clock_owes_close = make_call(state="announced", when="past")  # stored announced, effectively closed
    evaluating = make_call(state="evaluation")
    published = make_call(state="awarded")
    draft = make_call(state="draft")
    cancelled = make_call(state="cancelled")
    events = db.session.scalar(select(func.count(AuditEvent.id)))

    page = text_of(client.get("/"))

    found = sections(page)
    assert list(found) == ["announced", "open", "closed", "results"]
    where = {code: [key for key, body in found.items() if f"/calls/{code}\"" in body]
             for code in (upcoming.code, open_now.code, clock_owes_close.code, evaluating.code, published.code)}
    assert where == {upcoming.code: ["announced"], open_now.code: ["open"], clock_owes_close.code: ["closed"],
                     evaluating.code: ["closed"], published.code: ["results"]}
    assert f"/calls/{draft.code}\"" not in page and f"/calls/{cancelled.code}\"" not in page
    assert "Izsludināti: pieteikšanās drīzumā sāksies" in page and "Tagad var pieteikties" in page
    assert "Pieteikšanās slēgta" in found["closed"]  # the badge says the effective state
    db.session.expire_all()
    assert db.session.get(Call, clock_owes_close.id).status == "announced"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_no_calls_says_so(app, client, make_call):
    make_call(state="draft")
    assert "Pašlaik nav izsludinātu konkursu." in text_of(client.get("/"))
    assert "No calls are announced at the moment." in text_of(in_lang(client, "en").get("/"))


@pytest.fixture
def call_2030(app, clock, make_call):
    """A call announced on 20.02.2030, open from 01.03.2030 09:00 until 04.04.2030 23:59 (Riga)."""
    clock.travel_to(riga(2030, 2, 20, 12, 0))
    return make_call(state="announced", opens_at=OPENS, closes_at=CLOSES)


@pytest.mark.parametrize("moment, lv, en", [
    (CLOSES - timedelta(seconds=1), "vēl 1 sekunde", "1 second left"),
    (CLOSES - timedelta(seconds=59), "vēl 59 sekundes", "59 seconds left"),
    (CLOSES - timedelta(minutes=1), "vēl 1 minūte", "1 minute left"),
    (CLOSES - timedelta(minutes=59, seconds=59), "vēl 59 minūtes", "59 minutes left"),
    (CLOSES - timedelta(hours=1), "vēl 1 stunda", "1 hour left"),
    (CLOSES - timedelta(hours=23, minutes=59, seconds=59), "vēl 23 stundas", "23 hours left"),
    (CLOSES - timedelta(days=1), "vēl 1 diena", "1 day left"),
    (CLOSES - timedelta(days=2, seconds=1), "vēl 2 dienas", "2 days left"),
    (CLOSES - timedelta(days=12, hours=5), "vēl 12 dienu", "12 days left"),  # days, never "2 weeks"
    (CLOSES - timedelta(days=21), "vēl 21 diena", "21 days left"),
    (OPENS, "vēl 34 dienas", "34 days left"),  # opened this second: 34 days 14 hours to the deadline
])
def test_time_left_to_the_deadline(client, clock, call_2030, moment, lv, en):
    clock.travel_to(moment)
    lv_page, en_page = text_of(client.get("/")), text_of(in_lang(client, "en").get("/"))
    assert call_2030.code in sections(lv_page)["open"]
    assert time_left(lv_page, call_2030.code) == lv
    assert time_left(en_page, call_2030.code) == en
    assert "līdz 04.04.2030. plkst. 23:59" in lv_page and "until 04.04.2030 23:59" in en_page


def test_before_opening_the_time_until_it_opens(client, clock, call_2030):
    clock.travel_to(OPENS - timedelta(seconds=1))
    lv_page, en_page = text_of(client.get("/")), text_of(in_lang(client, "en").get("/"))
    assert call_2030.code in sections(lv_page)["announced"]
    assert time_left(lv_page, call_2030.code) == \
        "Pieteikšanās sākas 01.03.2030. 09:00:00 · vēl 1 sekunde līdz pieteikšanās sākumam"
    assert time_left(en_page, call_2030.code) == \
        "Applications open on 01.03.2030 09:00:00 · 1 second until applications open"


def test_at_the_deadline_the_call_is_closed_and_no_time_is_left(client, clock, call_2030):
    clock.travel_to(CLOSES)
    page = text_of(in_lang(client, "en").get("/"))
    assert list(sections(page)) == ["closed"] and call_2030.code in sections(page)["closed"]
    assert time_left(page, call_2030.code) is None
    assert "until 04.04.2030 23:59" in page


# --- the call's dates as a calendar -----------------------------------------------------------------------------

def events_of(response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def test_the_calendar_holds_the_calls_dates_at_their_stored_instants(client, clock, call_2030):
    call = db.session.get(Call, call_2030.id)
    page = text_of(client.get(f"/calls/{call.code}"))
    assert f'href="/calls/{call.code}/dates.ics"' in page
    assert f'href="/calls/{call.code}/regulations.pdf"' in page  # the regulations stay

    response = client.get(f"/calls/{call.code}/dates.ics")
    assert response.headers["Content-Disposition"] == f'attachment; filename={call.code}.ics'
    events = events_of(response)
    by_kind = {uid.split("@")[0].removeprefix(f"call-{call.id}-"): event for uid, event in events.items()}
    assert set(by_kind) == {"opens", "deadline", "decision", "implementation-start", "implementation-end",
                            "report-1", "report-2"}
    opens, deadline = by_kind["opens"], by_kind["deadline"]
    # 01.03.2030 09:00 in Riga is 07:00 UTC (winter time); 05.04.2030 00:00 is 04.04.2030 21:00 UTC (summer time)
    assert opens.decoded("dtstart") == datetime(2030, 3, 1, 7, 0, tzinfo=timezone.utc) == call.opens_at
    assert deadline.decoded("dtend") == datetime(2030, 4, 4, 21, 0, tzinfo=timezone.utc) == call.closes_at
    assert deadline.decoded("dtstart") == datetime(2030, 4, 4, 20, 59, tzinfo=timezone.utc)  # 23:59 in Riga
    raw = response.get_data(as_text=True)
    assert "DTSTART:20300301T070000Z" in raw and "DTEND:20300404T210000Z" in raw  # written in UTC
    assert by_kind["decision"].decoded("dtstart") == call.decision_on
    assert by_kind["implementation-start"].decoded("dtstart") == call.implementation_start
    assert by_kind["implementation-end"].decoded("dtstart") == call.implementation_end
    due = sorted(date.fromisoformat(r["due_on"]) for r in call.report_schedule)
    assert [by_kind["report-1"].decoded("dtstart"), by_kind["report-2"].decoded("dtstart")] == due
    assert str(deadline["summary"]) == f"Iesniegšanas termiņš: {call.title_lv}"
    assert "līdz 04.04.2030. plkst. 23:59 (Rīgas laiks)" in str(deadline["description"])
    assert str(by_kind["report-2"]["summary"]) == f"Noslēguma atskaites iesniegšanas termiņš: {call.title_lv}"

    clock.travel_to(OPENS + timedelta(days=3))  # the next download: the same events, under the same UIDs
    again = events_of(client.get(f"/calls/{call.code}/dates.ics"))
    assert set(again) == set(events)
    opens_uid = next(uid for uid in events if uid.startswith(f"call-{call.id}-opens@"))
    assert again[opens_uid].decoded("dtstart") == call.opens_at


def test_the_calendar_speaks_the_readers_language(client, call_2030):
    events = events_of(in_lang(client, "en").get(f"/calls/{call_2030.code}/dates.ics"))
    summaries = sorted(str(event["summary"]).split(":")[0] for event in events.values())
    assert summaries == ["Applications open", "Deadline", "Decision on the results", "Final report due",
                         "Implementation ends", "Implementation starts", "Interim report due"]
    assert all(str(event["summary"]).endswith(call_2030.title_en) for event in events.values())


def test_no_calendar_for_a_draft(client, make_call):
    draft = make_call(state="draft")
    assert client.get(f"/calls/{draft.code}/dates.ics").status_code == 404
    assert client.get("/calls/NO-SUCH-CALL/dates.ics").status_code == 404


# --- the receipt check ------------------------------------------------------------------------------------------

@pytest.fixture
def submitted(app, make_call, make_application, make_organisation):
    call = make_call(state="open")
    organisation = make_organisation("Biedrība „Slepenie Pumpuri”")
    return make_application(call, "submitted", organisation=organisation, title="Neredzamais projekts")


def riga_moment(moment: datetime, lang: str) -> str:
    local = moment.astimezone(ZoneInfo("Europe/Riga"))
    return local.strftime("%d.%m.%Y. %H:%M:%S" if lang == "lv" else "%d.%m.%Y %H:%M:%S")


def result_of(page: str) -> str | None:
    found = re.search(r'<div class="alert [^"]+ receipt-check-result".*?</div>', page, re.DOTALL)
    return found.group(0) if found else None


def check(client, number: str, sha256: str, lang: str = "lv") -> str:
    return text_of(in_lang(client, lang).get("/receipts/check", query_string={"number": number, "sha256": sha256}))


@pytest.mark.parametrize("lang, says", [
    ("lv", "Apstiprināts. Iesniegums ar numuru {number} un šo SHA-256 kontrolsummu ir saņemts {time} "
           "(Rīgas laiks)."),
    ("en", "Confirmed. The submission with number {number} and this SHA-256 checksum was received on {time} "
           "(Riga time)."),
])
def test_a_matching_number_and_hash_confirm_the_time_and_nothing_else(client, submitted, lang, says):
    page = check(client, submitted.number, submitted.content_sha256, lang)
    words = " ".join(re.sub(r"<[^>]+>", " ", result_of(page)).split())
    assert words == says.format(number=submitted.number, time=riga_moment(submitted.submitted_at, lang))
    for secret in ("Neredzamais projekts", "Slepenie Pumpuri", submitted.call.title_lv, submitted.call.title_en):
        assert secret not in page


def test_the_hash_is_read_in_any_case_and_with_spaces_and_line_breaks(client, submitted):
    groups = " ".join(submitted.content_sha256.upper()[i:i + 8] for i in range(0, 64, 8))
    spaced = groups[:40] + "\n" + groups[40:]  # as copied from a PDF: capitals, spaces, a line break
    page = check(client, f"  {submitted.number.lower()} ", f"\t{spaced} ")
    assert "Apstiprināts." in result_of(page)


def test_a_wrong_hash_and_an_unknown_number_get_the_same_neutral_answer(client, submitted):
    wrong_hash = check(client, submitted.number, "0" * 63 + "1")
    unknown = check(client, submitted.number + "9", submitted.content_sha256)
    assert result_of(wrong_hash) == result_of(unknown)
    assert "Nav apstiprināts." in result_of(wrong_hash)
    for page in (wrong_hash, unknown):
        assert "Neredzamais projekts" not in page and "Slepenie Pumpuri" not in page
        assert riga_moment(submitted.submitted_at, "lv") not in page
    en = check(client, submitted.number, "f" * 64, "en")
    assert "Not confirmed. No submission has this number together with this SHA-256 checksum." in \
        " ".join(re.sub(r"<[^>]+>", " ", result_of(en)).split())


def test_a_malformed_hash_is_told_without_an_answer(client, submitted):
    page = check(client, submitted.number, submitted.content_sha256[:20], "en")
    assert result_of(page) is None
    assert "A SHA-256 checksum has 64 characters: the digits 0–9 and the letters a–f." in page
    blank = text_of(client.get("/receipts/check"))  # the form alone, no errors
    assert result_of(blank) is None and "invalid-feedback" not in blank and 'name="sha256"' in blank


def test_the_receipt_page_links_to_its_own_check(client, submitted, login_as):
    from tests.factories import member_of

    login_as(client, member_of(submitted))
    page = text_of(client.get(f"/apply/applications/{submitted.id}/receipt"))
    link = re.search(r'href="(/receipts/check\?[^"]+)"', page)
    assert link, "no link to the receipt check"
    assert "Apstiprināts." in result_of(text_of(client.get(link.group(1))))


def test_the_receipt_pdf_and_e_mail_say_where_to_check_it(app, client, submitted):
    """The check page's address is in both, on the public address, and it answers for this receipt."""
    db.session.expire_all()
    receipt = db.session.get(Document, submitted.receipt_document_id)
    mail = db.session.scalars(select(Message).where(Message.entity_type == "application",
                                                    Message.entity_id == submitted.id)).one()
    link = app.config["PUBLIC_BASE_URL"].rstrip("/") + "/receipts/check"
    pdf_html = " ".join(documents.render_html("receipt", receipt.context, "lv").split())
    assert f"Ikviens, kam ir numurs un kontrolsumma, var pārbaudīt šo apliecinājumu: {link}" in pdf_html
    assert f"Ikviens, kam ir numurs un kontrolsumma, var pārbaudīt šo apliecinājumu: {link}" in mail.body_text
    assert link in mail.body_html
    en_html = " ".join(documents.render_html("receipt", receipt.context, "en").split())
    assert f"Anyone who holds the number and the checksum can confirm this receipt at {link}" in en_html
    answer = text_of(client.get("/receipts/check", query_string={"number": submitted.number,
                                                                 "sha256": submitted.content_sha256}))
    assert "Apstiprināts." in result_of(answer)
