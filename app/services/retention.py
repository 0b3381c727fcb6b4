"""Retention and purging (DESIGN 3 "Personal data", issue 8).

A call's records are kept until its retention date (ESF: at least 5 years after the last payment); nothing of a
call is purged before it, and a call without a retention date is never purged. After it, the people who took part
only in such calls are pseudonymised: their name, e-mail and password are replaced, their messages emptied, their
sign-in attempts forgotten. The audit trail refers to people by id, so it still verifies. What organisations
submitted stays: it is the record of how public money was spent.

Unsubmitted drafts are deleted DRAFT_MONTHS after their call closed (a draft is no record: it was never sent).
Their audit events stay, with one more saying the draft was purged, so the trail of every entity is whole.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import (Application, ApplicationFile, Assignment, Attachment, BudgetLine, Call, Invitation,
                        LoginAttempt, Message, RecoveryCode, User)
from app.models.drafts import KeptDraft
from app.services import audit

DRAFT_MONTHS = 6
DRAFT_AGE = timedelta(days=183)  # six months after the call closed
PSEUDONYM_DOMAIN = "pseudonymised.invalid"


@dataclass
class PurgeReport:
    drafts: list[int] = field(default_factory=list)  # ids of the drafts deleted
    people: list[int] = field(default_factory=list)  # ids of the users pseudonymised
    calls: list[str] = field(default_factory=list)  # codes of the calls past their retention date


def past_retention(call: Call, today: date) -> bool:
    return call.retention_until is not None and call.retention_until < today


def _today(now: datetime) -> date:
    return clock.to_riga(now).date()


def require_past_retention(call: Call, now: datetime | None = None) -> None:
    """Refused for a call whose records must still be kept."""
    now = now or clock.now()
    if call.retention_until is None:
        raise Refused(_("The call %(code)s has no retention date: its records are kept.", code=call.code))
    if not past_retention(call, _today(now)):
        raise Refused(_("The records of the call %(code)s are kept until %(day)s: nothing of it may be deleted "
                        "before then.", code=call.code, day=call.retention_until.strftime("%d.%m.%Y.")))


def stale_drafts(now: datetime, calls: list[Call] | None = None) -> list[Application]:
    query = (select(Application).join(Call, Call.id == Application.call_id)
             .where(Application.status == "draft", Call.closes_at < now - DRAFT_AGE))
    if calls is not None:
        query = query.where(Call.id.in_([c.id for c in calls]))
    return list(db.session.scalars(query.order_by(Application.id)))


def _delete_draft(application: Application) -> None:
    audit.record("application", application.id, "purge_draft", "draft", "draft", None,
                 data={"call": application.call.code})
    for model in (BudgetLine, ApplicationFile, Attachment, KeptDraft):
        db.session.execute(delete(model).where(model.application_id == application.id))
    db.session.delete(application)


def _linked_to_kept_call(today: date):
    """Users with anything in a call whose records are still kept (no retention date or not yet passed)."""
    kept = Call.retention_until.is_(None) | (Call.retention_until >= today)
    as_member = exists().where(Application.organisation_id == User.organisation_id,
                               Application.status != "draft", Application.call_id == Call.id, kept)
    as_evaluator = exists().where(Assignment.evaluator_id == User.id, Assignment.application_id == Application.id,
                                  Application.call_id == Call.id, kept)
    return as_member | as_evaluator


def _linked_to_purgeable_call(today: date):
    past = Call.retention_until.is_not(None) & (Call.retention_until < today)
    as_member = exists().where(Application.organisation_id == User.organisation_id,
                               Application.status != "draft", Application.call_id == Call.id, past)
    as_evaluator = exists().where(Assignment.evaluator_id == User.id, Assignment.application_id == Application.id,
                                  Application.call_id == Call.id, past)
    return as_member | as_evaluator


def people_to_pseudonymise(now: datetime) -> list[User]:
    """NGO members and evaluators who took part in calls past their retention date and in no other. Staff are
    not: they act for their organiser, whose records these are."""
    today = _today(now)
    return list(db.session.scalars(
        select(User).where(User.pseudonymised_at.is_(None), User.role.in_(("applicant", "evaluator")),
                           _linked_to_purgeable_call(today), ~_linked_to_kept_call(today)).order_by(User.id)))


def pseudonymise(user: User, now: datetime) -> None:
    old_email = user.email
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == old_email))
    db.session.execute(update(Invitation).where(Invitation.email == old_email)
                       .values(email=f"invitation-{user.id}@{PSEUDONYM_DOMAIN}", name=""))
    db.session.execute(update(Message).where(Message.user_id == user.id).values(
        recipient=f"user-{user.id}@{PSEUDONYM_DOMAIN}", body_text="", body_html=""))
    user.name = _("Person %(id)s", id=user.id)
    user.email = f"user-{user.id}@{PSEUDONYM_DOMAIN}"
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the account cannot be used again
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None  # two-factor sign-in, and its codes
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.active = False
    user.session_version += 1
    user.pseudonymised_at = now
    audit.record("user", user.id, "pseudonymise", "active", "pseudonymised", None)


def purge(now: datetime | None = None, *, call: Call | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete stale drafts and pseudonymise the people of calls past retention. With `call`: that call only,
    refused while its records must be kept."""
    now = now or clock.now()
    if call is not None:
        require_past_retention(call, now)
    report = PurgeReport()
    today = _today(now)
    report.calls = [c.code for c in db.session.scalars(select(Call).order_by(Call.id)) if past_retention(c, today)
                    and (call is None or c.id == call.id)]
    drafts = stale_drafts(now, [call] if call is not None else None)
    people = people_to_pseudonymise(now)
    if call is not None:
        people = [u for u in people if _took_part(u, call)]
    report.drafts, report.people = [a.id for a in drafts], [u.id for u in people]
    if not dry_run:
        for application in drafts:
            _delete_draft(application)
        for user in people:
            pseudonymise(user, now)
        db.session.flush()
    return report


def _took_part(user: User, call: Call) -> bool:
    if user.role == "evaluator":
        return db.session.scalar(select(Assignment.id).join(Application).where(
            Assignment.evaluator_id == user.id, Application.call_id == call.id).limit(1)) is not None
    return db.session.scalar(select(Application.id).where(
        Application.organisation_id == user.organisation_id, Application.call_id == call.id,
        Application.status != "draft").limit(1)) is not None
