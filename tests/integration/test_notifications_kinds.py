"""Who is told of what (issue 8 "Notifications"): the NGO when its report is approved, a payment made, its grant
closed or terminated; the call's admins when an NGO submits a report, answers a clarification, appeals, accepts or
declines an offer. Each person chooses e-mail or the system only per kind, except for legal notices."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Message
from app.services import applications as application_service
from app.services import notifications
from app.services.workflow import fire
from tests.factories import (admin_of, login_as, make_application, make_payment, make_report, make_user,
                             member_of, render_agreement, settle_grant)

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def to(user, kind: str | None = None) -> list[Message]:
    db.session.expire_all()
    query = select(Message).where(Message.user_id == user.id).order_by(Message.id)
    return [m for m in db.session.scalars(query) if kind is None or kind in m.body_text or kind in m.subject]


def test_the_calls_admins_hear_of_a_submitted_report_and_the_programme_level_admin_does_not(app):
    report = make_report("draft")
    application = report.application
    admin = admin_of(application.call)
    overseer = make_user("admin", programme_level=True)
    colleague = make_user("admin", organiser=application.call.organiser)

    make_report("submitted", application=application)

    for person in (admin, colleague):
        (notice,) = to(person, "Iesniegta atskaite")
        assert notice.subject == f"Iesniegta atskaite: {application.number}"
        assert f"iesniedza projekta {application.number}" in notice.body_text and "starpposma atskaiti" in notice.body_text
        assert application.organisation.name in notice.body_text
    assert to(overseer) == []


def test_the_admins_hear_of_an_answered_clarification_and_an_appeal_with_its_words(app):
    asked = make_application(state="clarification")
    admin = admin_of(asked.call)
    application_service.clarify(asked, member_of(asked), "Budžets precizēts: 3 darbnīcas, nevis 4.")
    db.session.commit()
    (answered,) = to(admin, "Sniegts precizējums")
    assert answered.subject == f"Sniegts precizējums: {asked.number}"

    rejected = make_application(state="rejected")
    fire(rejected, "appeal", member_of(rejected), "Vērtētāji nav ņēmuši vērā 3. sadaļu.", grounds="factual_error")
    db.session.commit()
    (appealed,) = to(admin_of(rejected.call), "Iesniegta apstrīdēšana")
    assert "Vērtētāji nav ņēmuši vērā 3. sadaļu." in appealed.body_text


def test_the_admins_hear_of_an_accepted_and_a_declined_offer(app):
    accepted = make_application(state="accepted")
    (notice,) = to(admin_of(accepted.call), "Piedāvājums pieņemts")
    assert "Tagad var parakstīt līgumu." in notice.body_text

    declined = make_application(state="declined")
    assert to(admin_of(declined.call), "virzīt nākamo projekta iesniegumu no rezerves saraksta")


def test_the_ngo_hears_of_an_approved_report_a_payment_and_the_closed_grant(app):
    application = make_application(state="contracted")
    member = member_of(application)

    settle_grant(application)  # both reports approved, both tranches paid (80 % and 20 % of 4 600,00 €)

    paid = to(member, "Veikts maksājums")
    assert ["1. daļa, 3\u00a0680,00\u00a0€, ir izmaksāta" in m.body_text for m in paid] == [True, False]
    assert "2. daļa, 920,00\u00a0€, ir izmaksāta" in paid[1].body_text
    assert len(to(member, "Atskaite apstiprināta")) == 2
    fire(application, "close_grant", admin_of(application.call))
    db.session.commit()
    (closed,) = to(member, "Projekts noslēgts")
    assert "Paldies par jūsu darbu" in closed.body_text


def test_the_ngo_hears_of_a_terminated_grant_with_the_reason(app):
    application = make_application(state="contracted")
    fire(application, "terminate", admin_of(application.call), "Projekts netiek īstenots.")
    db.session.commit()
    (notice,) = to(member_of(application), "Līgums izbeigts")
    assert "Projekts netiek īstenots." in notice.body_text


def test_an_organisation_name_is_escaped_in_the_admins_html_mail(app):
    accepted = make_application(state="funded")
    accepted.organisation.name = "<script>alert(1)</script> biedrība"
    render_agreement(accepted)  # the worker's part of the offer
    db.session.commit()
    fire(accepted, "accept_offer", member_of(accepted))
    db.session.commit()
    (notice,) = to(admin_of(accepted.call), "pieņēma")
    assert "<script>" not in notice.body_html and "&lt;script&gt;" in notice.body_html
    assert "<script>alert(1)</script> biedrība" in notice.body_text


def test_a_member_chooses_the_system_only_for_payments_and_a_legal_notice_still_comes_by_mail(app, client,
                                                                                             smtp_server):
    application = make_application(state="contracted")
    member = member_of(application)
    login_as(client, member)
    page = client.get("/messages/settings").get_data(as_text=True)
    assert "Veikts maksājums" in page and "Vienmēr: juridisks paziņojums" in page
    wanted = [key for key, kind in notifications.choosable(member) if not kind.legal and key != "payment_made"]
    # a forged form that also asks to silence the decision letters, a legal notice
    client.post("/messages/settings", data={"listed": "1", "by_email": wanted, "in_app_only": "decision"})
    db.session.expire_all()
    assert member.email_off_kinds == ["payment_made"]

    make_payment("paid", application=application)
    (paid,) = to(member, "Veikts maksājums")
    assert paid.delivery == "in_app_only"
    assert db.session.scalar(select(Job.id).where(Job.kind == "email", Job.target_id == paid.id)) is None

    notifications.set_email_off(member, {"decision", "signed", "payment_made"})
    assert member.email_off_kinds == ["payment_made"]  # legal kinds cannot be switched off
    assert notifications.wants_email(member, "decision") and notifications.wants_email(member, "signed")


def test_with_nothing_ticked_every_optional_kind_is_in_the_system_only(app, client):
    member = make_user("applicant")
    login_as(client, member)
    assert client.post("/messages/settings", data={}).status_code == 400  # not the form: nothing changes
    db.session.expire_all()
    assert member.email_off_kinds == []
    client.post("/messages/settings", data={"listed": "1"})
    db.session.expire_all()
    optional = sorted(key for key, kind in notifications.choosable(member) if not kind.legal)
    assert member.email_off_kinds == optional and "submitted" not in optional
