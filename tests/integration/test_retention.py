"""Retention and purging (issue 8): nothing of a call before its retention date; after it, the people of that call
(and of no other) are pseudonymised and the audit trail still verifies; drafts go six months after their call
closed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock as app_clock
from app.errors import Refused
from app.extensions import db
from app.models import Application, AuditEvent, BudgetLine, LoginAttempt, Message, User
from app.services import retention
from tests.factories import (admin_of, evaluators_of, make_application, make_call, member_of,
                             TEST_PASSWORD)

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def today():
    return app_clock.to_riga(app_clock.now()).date()


@pytest.fixture
def finished(app):
    """A rejected application with two submitted reviews; its call's records kept until yesterday."""
    application = make_application(state="rejected")
    application.call.retention_until = today() - timedelta(days=1)
    db.session.add(LoginAttempt(email=member_of(application).email, remote_addr="10.0.0.1"))
    db.session.commit()
    return application


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_purge_before_the_retention_date_is_refused_and_changes_nothing(app, runner):
    application = make_application(state="rejected")
    application.call.retention_until = today()  # kept until the end of today
    db.session.commit()
    member = member_of(application)

    with pytest.raises(Refused, match="glabā līdz"):
        retention.purge(call=application.call)
    result = runner.invoke(args=["purge", "--call", application.call.code])

    assert result.exit_code == 1 and "glabā līdz" in result.output
    db.session.expire_all()
    assert db.session.get(User, member.id).pseudonymised_at is None


def test_a_call_without_a_retention_date_is_never_purged(app):
    application = make_application(state="rejected")
    assert application.call.retention_until is None
    with pytest.raises(Refused, match="nav norādīts glabāšanas termiņš"):
        retention.purge(call=application.call)
    assert retention.people_to_pseudonymise(app_clock.now()) == []


def test_after_the_retention_date_the_people_are_pseudonymised_and_the_trail_verifies(app, runner, finished):
    member, evaluator = member_of(finished), evaluators_of(finished)[0]
    admin = admin_of(finished.call)
    old_email, old_name, messages = member.email, member.name, count(Message)

    result = runner.invoke(args=["purge"])

    assert result.exit_code == 0, result.output
    assert "2 people pseudonymised" in result.output or "people pseudonymised" in result.output
    db.session.expire_all()
    stored = db.session.get(User, member.id)
    assert stored.pseudonymised_at is not None and not stored.active
    assert stored.email == f"user-{member.id}@pseudonymised.invalid" and old_name not in stored.name
    assert db.session.get(User, evaluator.id).pseudonymised_at is not None
    assert db.session.get(User, admin.id).pseudonymised_at is None  # staff act for the organiser: kept
    assert db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.email == old_email)) == 0
    mine = db.session.scalars(select(Message).where(Message.user_id == member.id)).all()
    assert mine and all(m.body_text == "" and m.recipient.endswith("@pseudonymised.invalid") for m in mine)
    assert count(Message) == messages  # emptied, not deleted: the record that a letter was sent stays
    # what the organisation submitted stays, and the trail verifies
    assert db.session.get(Application, finished.id).title == finished.title
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    client = app.test_client()
    client.post("/login", data={"email": old_email, "password": TEST_PASSWORD})
    assert client.get("/apply/").status_code == 302  # no login with the old address


def test_someone_also_in_a_call_still_kept_is_not_pseudonymised(app, finished):
    member = member_of(finished)
    kept = make_call("open", organiser=finished.call.organiser, admin=admin_of(finished.call))
    make_application(kept, "submitted", organisation=member.organisation)

    report = retention.purge()

    assert member.id not in report.people
    assert all(e.id in report.people for e in evaluators_of(finished))


def test_a_draft_goes_six_months_after_its_call_closed(app, runner, clock):
    call = make_call("open", "budgeted", when="now")
    draft = make_application(call, "draft")
    draft_id = draft.id
    assert db.session.scalar(select(func.count(BudgetLine.id)).where(BudgetLine.application_id == draft.id))
    closed = call.closes_at

    clock.travel_to(closed + timedelta(days=182))
    assert retention.purge(dry_run=True).drafts == []
    clock.travel_to(closed + timedelta(days=184))
    assert retention.purge(dry_run=True).drafts == [draft.id]
    assert db.session.get(Application, draft.id) is not None  # a dry run deletes nothing

    result = runner.invoke(args=["purge"])

    assert result.exit_code == 0 and "1 drafts" in result.output
    db.session.expire_all()
    assert db.session.get(Application, draft_id) is None
    assert db.session.scalar(select(func.count(BudgetLine.id)).where(BudgetLine.application_id == draft_id)) == 0
    assert db.session.scalar(select(AuditEvent.trigger).where(AuditEvent.entity_type == "application",
                                                              AuditEvent.entity_id == draft_id)
                             .order_by(AuditEvent.id.desc()).limit(1)) == "purge_draft"
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_submitted_application_is_never_deleted_as_a_draft(app, clock):
    application = make_application(state="rejected")
    clock.travel_to(application.call.closes_at + timedelta(days=400))
    assert retention.purge().drafts == []
    assert db.session.get(Application, application.id) is not None
