"""The rules of a grantee's report (issue 8, Reports): whose it is, the counts, when it may be submitted and who may
allow it early, each round kept, overdue derived, tick's reminders once before and once after, a shortfall's
recovery."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock as app_clock
from app.errors import NotAllowed, Refused
from workflows.engine import NotAvailable
from app.extensions import db
from app.models import AuditEvent, Message, Recovery, Report, ReportReminder, ReportRound
from app.services import dashboards, reporting
from app.services.clockwork import tick
from app.services.workflow import fire
from tests import factories as f
from tests.factories import REPORT_CONTENT, admin_of, login_as, member_of, riga


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(model, entity_id):
    db.session.expire_all()
    return db.session.get(model, entity_id)


def form_of(report: Report, **changes) -> dict:
    return {"version": str(report.version), "activities": "Notika 12 darbnīcas.", "participants": "16",
            "participants_at_risk": "9", "results": "Kavējumi samazinājās.", "declaration": "y", **changes}


def test_a_report_of_another_organisations_grant_is_not_found(app, client):
    report = f.make_report("draft")
    stranger = f.make_user("applicant")
    login_as(client, stranger)
    assert client.get(f"/apply/reports/{report.id}").status_code == 404
    assert client.post(f"/apply/reports/{report.id}", data=form_of(report)).status_code == 404
    assert client.post(f"/apply/reports/{report.id}/submit", data=form_of(report)).status_code == 404
    assert fresh(Report, report.id).content == {} and fresh(Report, report.id).status == "draft"


@pytest.mark.parametrize("changes, says", [
    ({"participants": "-3"}, "Number must be between 0 and 100000."),
    ({"participants": "100001"}, "Number must be between 0 and 100000."),
    ({"participants": "12", "participants_at_risk": "13"}, "This cannot be more than the participants reached."),
])
def test_absurd_counts_are_refused_beside_the_field(app, client, changes, says):
    report = f.make_report("draft")
    member = member_of(report.application)
    member.language = "en"
    db.session.commit()
    login_as(client, member)
    response = client.post(f"/apply/reports/{report.id}", data=form_of(report, **changes))
    assert response.status_code == 400
    assert says in page(response) and "nothing was saved" in page(response)
    assert fresh(Report, report.id).content == {}


def test_the_service_refuses_absurd_counts_whatever_the_browser_sends(app):
    report = f.make_report("draft")
    member = member_of(report.application)
    for participants, at_risk in ((-1, 0), (100_001, 0), (10, 11), (True, 0)):
        with pytest.raises(Refused):
            reporting.save(report, member, {**REPORT_CONTENT, "participants": participants,
                                            "participants_at_risk": at_risk}, report.version)
    db.session.rollback()
    assert fresh(Report, report.id).content == {}


def test_approving_a_report_that_was_never_submitted_is_refused(app, client):
    report = f.make_report("draft")
    admin = admin_of(report.application.call)
    with pytest.raises(NotAvailable):
        fire(report, "approve", admin)
    db.session.rollback()
    login_as(client, admin)
    client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "approve"})
    after = fresh(Report, report.id)
    assert (after.status, after.approved_at) == ("draft", None)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "report", AuditEvent.entity_id == report.id, AuditEvent.trigger == "approve")) == 0


def test_a_final_report_before_the_implementation_ended_waits_for_the_admins_permission(app, client):
    report = f.make_report("draft", kind="final")
    member, admin = member_of(report.application), admin_of(report.application.call)
    member.language = "en"
    db.session.commit()
    reporting.save(report, member, REPORT_CONTENT, report.version)
    db.session.commit()
    ends_on = report.application.call.implementation_end
    assert app_clock.to_riga(app_clock.now()).date() < ends_on

    with pytest.raises(Refused, match="Noslēguma atskaiti var iesniegt no"):  # outside a request: Latvian
        reporting.submit(report, member)
    db.session.rollback()
    login_as(client, member)
    shown = page(client.get(f"/apply/reports/{report.id}"))  # the button disabled, the reason beside it
    assert 'disabled aria-describedby="submit-blocked"' in shown
    assert f"The final report can be submitted from {ends_on.strftime('%d.%m.%Y')}" in shown

    with pytest.raises(Refused):  # a permission without a reason
        fire(report, "allow_early", admin, "")
    db.session.rollback()
    assert fresh(Report, report.id).early_allowed_at is None
    with pytest.raises(NotAllowed):  # the NGO cannot allow itself
        fire(fresh(Report, report.id), "allow_early", member, "Gribam agrāk.")
    db.session.rollback()

    report = fresh(Report, report.id)
    fire(report, "allow_early", admin, "Projekts pabeigts agrāk.")
    db.session.commit()
    allowed = fresh(Report, report.id)
    assert (allowed.early_allowed_by, allowed.early_allowed_reason) == (admin.id, "Projekts pabeigts agrāk.")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "report",
                                                        AuditEvent.entity_id == report.id,
                                                        AuditEvent.trigger == "allow_early")).one()
    assert (event.actor_id, event.note) == (admin.id, "Projekts pabeigts agrāk.")
    reporting.submit(allowed, member)
    db.session.commit()
    assert fresh(Report, report.id).status == "submitted"


def test_the_interim_report_waits_for_the_implementation_start(app, clock):
    report = f.make_report("draft")
    start = report.application.call.implementation_start
    member = member_of(report.application)
    reporting.save(report, member, REPORT_CONTENT, report.version)
    db.session.commit()
    clock.travel_to(riga(start.year, start.month, start.day) - timedelta(minutes=1))
    with pytest.raises(Refused, match=f"Starpposma atskaiti var iesniegt no {start.strftime('%d.%m.%Y')}"):
        reporting.submit(fresh(Report, report.id), member)
    db.session.rollback()
    clock.travel_to(riga(start.year, start.month, start.day))
    reporting.submit(fresh(Report, report.id), member)
    db.session.commit()
    assert fresh(Report, report.id).status == "submitted"


def test_each_round_is_kept_with_its_content_and_the_admins_comment(app, client):
    report = f.make_report("changes_requested")
    member, admin = member_of(report.application), admin_of(report.application.call)
    reporting.save(report, member, {**REPORT_CONTENT, "activities": "Notika 14 darbnīcas."}, report.version)
    db.session.commit()
    reporting.submit(report, member)
    db.session.commit()
    rounds = db.session.scalars(select(ReportRound).where(ReportRound.report_id == report.id)
                                .order_by(ReportRound.number)).all()
    assert [(r.number, r.content["activities"], r.outcome, r.comment) for r in rounds] == [
        (1, "Notika 12 darbnīcas.", "changes_requested", "Lūdzu papildiniet rezultātus."),
        (2, "Notika 14 darbnīcas.", None, None)]
    fire(fresh(Report, report.id), "approve", admin)
    db.session.commit()
    assert fresh(ReportRound, rounds[1].id).outcome == "approved"
    admin.language = "en"
    db.session.commit()
    login_as(client, admin)
    shown = page(client.get(f"/admin/reports/{report.id}"))
    assert "Round 1" in shown and "Round 2" in shown and "Lūdzu papildiniet rezultātus." in shown
    assert "Notika 12 darbnīcas." in shown and "Notika 14 darbnīcas." in shown


def test_overdue_is_derived_from_the_due_date_and_a_get_writes_nothing(app, client, clock):
    report = f.make_report("draft")
    member = member_of(report.application)
    member.language = "en"
    db.session.commit()
    due = report.due_on
    clock.travel_to(riga(due.year, due.month, due.day, 23, 59))
    login_as(client, member)
    assert "report-overdue" not in page(client.get(f"/apply/reports/{report.id}"))
    clock.travel_to(riga(due.year, due.month, due.day) + timedelta(days=1))
    version = fresh(Report, report.id).version
    assert "report-overdue" in page(client.get(f"/apply/reports/{report.id}"))
    assert "report-overdue" in page(client.get(f"/apply/applications/{report.application_id}/view"))
    assert fresh(Report, report.id).version == version  # read, not written
    figures = dashboards.call_figures(report.application.call)
    assert figures.reports.overdue == 1


def test_tick_reminds_once_before_and_once_after_the_due_date(app, clock):
    report = f.make_report("draft")
    member = member_of(report.application)
    due = report.due_on

    def reminders() -> list[str]:
        return list(db.session.scalars(select(Message.subject).where(
            Message.user_id == member.id, Message.entity_type == "report").order_by(Message.id)))

    clock.travel_to(riga(due.year, due.month, due.day) - timedelta(days=8))
    assert tick().report_reminders == [] and reminders() == []
    clock.travel_to(riga(due.year, due.month, due.day) - timedelta(days=7))
    assert tick().report_reminders == [f"report {report.id}: before"]
    assert tick().report_reminders == []
    number = report.application.number
    assert reminders() == [f"Atskaite jāiesniedz drīz: {number}"]
    clock.travel_to(riga(due.year, due.month, due.day) + timedelta(days=1))
    assert tick().report_reminders == [f"report {report.id}: after"]
    assert tick().report_reminders == []
    assert reminders() == [f"Atskaite jāiesniedz drīz: {number}", f"Atskaite nokavēta: {number}"]
    assert db.session.execute(select(ReportReminder.kind).where(ReportReminder.report_id == report.id)
                              .order_by(ReportReminder.id)).scalars().all() == ["before", "after"]
    assert fresh(Report, report.id).version == 1  # a reminder is not an edit: the NGO's open form stays current


def test_a_submitted_report_is_not_reminded(app, clock):
    report = f.make_report("submitted")
    due = report.due_on
    clock.travel_to(riga(due.year, due.month, due.day) + timedelta(days=3))
    assert tick().report_reminders == []


def test_a_shortfall_is_recorded_as_a_recovery_with_its_amount_and_reason(app, client):
    report = f.make_report("approved")
    admin = admin_of(report.application.call)
    f.make_payment("paid", application=report.application)
    login_as(client, admin)
    client.post(f"/admin/reports/{report.id}/shortfall", data={"how": "recovery", "amount": "150,00",
                                                                "reason": "Mazāk dalībnieku."})
    recovery = db.session.scalars(select(Recovery).where(Recovery.application_id == report.application_id)).one()
    assert (recovery.amount_cents, recovery.reason, recovery.status) == (15_000, "Mazāk dalībnieku.", "demanded")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "recovery",
                                                        AuditEvent.entity_id == recovery.id)).one()
    assert (event.trigger, event.actor_id) == ("demand", admin.id)
    # more than was paid and not yet demanded back: refused, nothing recorded
    paid = report.application.call.amount_cents * 80 // 100
    client.post(f"/admin/reports/{report.id}/shortfall", data={"how": "recovery",
                                                                "amount": f"{(paid - 15_000) // 100 + 1},00",
                                                                "reason": "Vēl."})
    assert db.session.scalar(select(func.count(Recovery.id)).where(
        Recovery.application_id == report.application_id)) == 1
    client.post(f"/admin/reports/{report.id}/shortfall", data={"how": "recovery", "amount": "10,00",
                                                                "reason": ""})
    assert db.session.scalar(select(func.count(Recovery.id)).where(
        Recovery.application_id == report.application_id)) == 1


def test_the_admin_allows_early_submission_on_the_report_page_with_a_reason(app, client):
    report = f.make_report("draft", kind="final")
    admin = admin_of(report.application.call)
    admin.language = "en"
    db.session.commit()
    login_as(client, admin)
    shown = page(client.get(f"/admin/reports/{report.id}"))
    assert 'value="allow_early"' in shown and "Allow early submission" in shown
    client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "allow_early", "note": ""})
    assert fresh(Report, report.id).early_allowed_at is None
    client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "allow_early", "note": "Nometne beidzās agrāk."})
    allowed = fresh(Report, report.id)
    assert (allowed.early_allowed_by, allowed.early_allowed_reason) == (admin.id, "Nometne beidzās agrāk.")
    assert 'value="allow_early"' not in page(client.get(f"/admin/reports/{report.id}"))  # once is enough


def test_the_reminder_is_in_the_members_language(app, clock):
    report = f.make_report("draft")
    member = member_of(report.application)
    member.language = "en"
    db.session.commit()
    due = report.due_on
    clock.travel_to(riga(due.year, due.month, due.day) + timedelta(days=2))
    tick()
    message = db.session.scalars(select(Message).where(Message.user_id == member.id,
                                                       Message.entity_type == "report")).one()
    assert message.subject == f"Report overdue: {report.application.number}"
    assert (f"The interim report on project {report.application.number} was due on {due.strftime('%d.%m.%Y')}"
            in message.body_text)
