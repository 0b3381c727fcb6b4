"""The appeal window (DESIGN 3, Appeals): counted across a Latvian public holiday, shown to the NGO as the date of its
last day, and holding the call open until it closes and every appeal is decided.

The decisions are published on Tuesday 3 May 2022 at 10:00 Riga time. Counted by hand: 4 May is a public holiday
(Restoration of Independence), so the 2 working days of delivery are Thursday 5 and Friday 6 May; the 30 days then
run from 7 May, and the last day is 6 May + 30 = Sunday 5 June 2022. The window closes at 00:00 on 6 June in Riga
(21:00 UTC on 5 June, summer time). Counting weekdays only, as the code did before, gives 4 June.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import Document, Message
from app.services import decisions, jobs
from app.services.workflow import check, fire, offers
from tests.factories import admin_of, member_of, riga

PUBLISHED = riga(2022, 5, 3, 10)
LAST_DAY = date(2022, 6, 5)
LAST_MOMENT = riga(2022, 6, 5, 23, 59, 59)
CLOSED = riga(2022, 6, 6, 0, 0, 0)


def published(clock, make_applications, states, **options):
    """Applications taken to their results by real fires, every move (the letters among them) at PUBLISHED."""
    clock.travel_to(PUBLISHED)
    made = make_applications(None, states, **options)
    return made[0].call, made


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\u00a0", " "))


def page_text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    words = " ".join(re.sub(r"<[^>]+>", " ", body).replace("&nbsp;", " ").split())
    return re.sub(r" ([.,])", r"\1", words)  # "<strong>…</strong>." reads as "….", not "… ."


def refusal(error_call) -> str:
    with pytest.raises(Refused) as refused:
        error_call()
    db.session.rollback()
    return refused.value.message


def test_the_window_runs_to_the_end_of_its_last_day_across_the_holiday(app, clock, make_applications):
    _call, (on_time, late) = published(clock, make_applications, ["rejected", "rejected"])
    assert decisions.appeal_last_day(on_time) == LAST_DAY
    assert decisions.appeal_deadline(on_time) == datetime(2022, 6, 5, 21, 0, tzinfo=timezone.utc)

    clock.travel_to(LAST_MOMENT)
    fire(on_time, "appeal", member_of(on_time), "Lūdzam pārskatīt vērtējumu.", grounds="factual_error")
    db.session.commit()
    assert on_time.status == "appealed"

    clock.travel_to(CLOSED)
    with force_locale("en"):
        message = refusal(lambda: fire(late, "appeal", member_of(late), "Par vēlu.", grounds="procedural"))
    assert message == "The appeal window has closed."
    assert db.session.get(type(late), late.id).status == "rejected"


@pytest.mark.parametrize("lang, until, closed", [
    ("lv", "Lēmumu varat apstrīdēt līdz 2022. gada 5. jūnijam (ieskaitot).",
     "Apstrīdēšanas termiņš beidzās 05.06.2022."),
    ("en", "You may appeal until 5 June 2022 (inclusive).", "The appeal window closed on 05.06.2022."),
])
def test_the_ngo_sees_the_last_day_as_a_date(app, client, clock, login_as, make_applications, lang, until, closed):
    _call, (rejected,) = published(clock, make_applications, ["rejected"])
    login_as(client, member_of(rejected))
    with client.session_transaction() as session:
        session["lang"] = lang

    clock.travel_to(riga(2022, 5, 20, 12))
    page = page_text(client.get(f"/apply/applications/{rejected.id}/view"))
    assert until in page
    appeal = page[page.index(until) - 200:page.index(until) + 200]
    assert not re.search(r"\d{2}:\d{2}", appeal), appeal  # a date, no time of day and no seconds

    clock.travel_to(CLOSED)
    page = page_text(client.get(f"/apply/applications/{rejected.id}/view"))
    assert closed in page and until not in page


@pytest.mark.parametrize("lang, sentence", [
    ("lv", "Lēmumu varat apstrīdēt līdz 2022. gada 5. jūnijam (ieskaitot)."),
    ("en", "You may appeal until 5 June 2022 (inclusive)."),
])
def test_the_letter_and_its_email_state_the_last_day(app, clock, make_applications, make_organisation, make_user,
                                                     lang, sentence):
    organisation = make_organisation()
    member = make_user("applicant", organisation=organisation, language=lang)
    _call, (own,) = published(clock, make_applications, ["rejected"], organisation=organisation)
    _other, (funded,) = published(clock, make_applications, ["funded"])

    letter_id = decisions.current_decision(own).letter_document_id
    mail = db.session.scalars(select(Message).where(Message.user_id == member.id, Message.document_id == letter_id)
                              ).one()
    assert sentence in mail.body_text and sentence in mail.body_html
    letter = jobs.ensure_rendered(db.session.get(Document, letter_id))
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(letter.content)).pages)
    assert squash(sentence) in squash(text)

    # a funded application cannot be appealed: its e-mail names no appeal date
    funded_letter_id = decisions.current_decision(funded).letter_document_id
    funded_mail = db.session.scalars(select(Message).where(Message.document_id == funded_letter_id)).one()
    assert "apstrīdēt līdz" not in funded_mail.body_text and "appeal until" not in funded_mail.body_text


def test_the_call_cannot_be_completed_while_a_window_is_open_or_an_appeal_undecided(app, client, clock, login_as,
                                                                                     make_applications):
    call, (appealing, waiting) = published(clock, make_applications, ["rejected", "rejected"])
    admin = admin_of(call)
    clock.travel_to(riga(2022, 5, 20, 9))
    fire(call, "start_reporting", admin)
    db.session.commit()

    with force_locale("en"):
        assert check(call, "complete", admin) == \
            "2 decisions can still be appealed, the last until 5 June 2022 (inclusive)."
    with force_locale("lv"):
        assert check(call, "complete", admin) == \
            "Vēl var apstrīdēt 2 lēmumus, pēdējo līdz 2022. gada 5. jūnijam (ieskaitot)."
    # the admin's call page: the button disabled, the reason beside it
    login_as(client, admin)
    with client.session_transaction() as session:
        session["lang"] = "en"
    html = client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    button = re.search(r'<button[^>]*disabled[^>]*aria-describedby="(why-[^"]+)"[^>]*>\s*Complete the call', html)
    assert button, "no disabled 'Complete the call' button"
    assert re.search(rf'id="{button.group(1)}">2 decisions can still be appealed, the last until 5 June 2022 '
                     r'\(inclusive\)\.<', html)

    clock.travel_to(riga(2022, 6, 1, 11))
    fire(appealing, "appeal", member_of(appealing), "Lūdzam pārskatīt vērtējumu.", grounds="factual_error")
    db.session.commit()
    with force_locale("en"):
        assert check(call, "complete", admin) == ("1 decision can still be appealed, until 5 June 2022 (inclusive). "
                                                  f"1 appeal is not yet decided: {appealing.number}.")

    clock.travel_to(CLOSED)  # every window has closed; the appeal is still undecided
    with force_locale("en"):
        assert refusal(lambda: fire(call, "complete", admin)) == f"1 appeal is not yet decided: {appealing.number}."
    with force_locale("lv"):
        assert check(call, "complete", admin) == f"Neizlemtu apstrīdējumu skaits: 1 ({appealing.number})."
    assert call.status == "reporting"

    fire(appealing, "dismiss_appeal", admin, "Vērtējums paliek spēkā.")
    db.session.commit()
    assert [o.allowed for o in offers(call, admin) if o.trigger == "complete"] == [True]
    fire(call, "complete", admin)
    db.session.commit()
    assert call.status == "completed" and waiting.status == "rejected"
