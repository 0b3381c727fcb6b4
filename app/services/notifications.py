"""Who is told of what, and how (issue 8 "Notifications", DESIGN 4.5).

Every message is in the recipient's in-app list. It is also e-mailed unless the recipient chose "in the system
only" for its kind; legal notices (a receipt, a decision, a request with a deadline, an account's security) are
always e-mailed, whatever was chosen. The effects below tell the people a move concerns: the NGO when its report is
approved, a payment is made, its grant is closed or terminated; the call's admins when an NGO submits a report,
answers a clarification, appeals, accepts or declines an offer.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app import formatting
from app.extensions import db
from app.i18n import N_
from app.models import Application, Call, User
from app.services import jobs
from app.services.registry import effect


@dataclass(frozen=True)
class Kind:
    label: str  # msgid: what the settings page calls it
    legal: bool  # always e-mailed
    roles: tuple[str, ...]  # who may receive it (the settings page lists these kinds)


KINDS = {
    # an NGO's member
    "submitted": Kind(N_("The receipt of a submitted application"), True, ("applicant",)),
    "clarification": Kind(N_("A request to clarify an application"), True, ("applicant",)),
    "decision": Kind(N_("The decision on an application"), True, ("applicant",)),
    "appeal_decided": Kind(N_("The decision on an appeal"), True, ("applicant",)),
    "signed": Kind(N_("The signed agreement"), True, ("applicant",)),
    "agreement_amended": Kind(N_("An amended agreement to accept"), True, ("applicant",)),
    "grant_terminated": Kind(N_("A grant terminated"), True, ("applicant",)),
    "withdrawn": Kind(N_("An application withdrawn"), False, ("applicant",)),
    "declined": Kind(N_("An offer declined"), False, ("applicant",)),
    "report_changes": Kind(N_("A report returned for changes"), False, ("applicant",)),
    "report_approved": Kind(N_("A report approved"), False, ("applicant",)),
    "report_reminder": Kind(N_("A reminder of a report due"), False, ("applicant",)),
    "payment_made": Kind(N_("A payment made"), False, ("applicant",)),
    "grant_closed": Kind(N_("A grant closed"), False, ("applicant",)),
    "call_announced": Kind(N_("A new call announced"), False, ("applicant",)),
    "call_cancelled": Kind(N_("A call cancelled"), True, ("applicant",)),
    "call_reopened": Kind(N_("A call reopened"), False, ("applicant",)),
    "deadline_extended": Kind(N_("A deadline extended"), False, ("applicant",)),
    # an evaluator
    "assigned": Kind(N_("An application to evaluate"), False, ("evaluator",)),
    "review_reminder": Kind(N_("A reminder of a review due"), False, ("evaluator",)),
    "review_reopened": Kind(N_("A review reopened"), False, ("evaluator",)),
    # the call's admins
    "staff_report_submitted": Kind(N_("An NGO submitted a report"), False, ("admin",)),
    "staff_clarified": Kind(N_("An NGO answered a clarification"), False, ("admin",)),
    "staff_appealed": Kind(N_("An NGO appealed"), False, ("admin",)),
    "staff_offer_accepted": Kind(N_("An NGO accepted an offer"), False, ("admin",)),
    "staff_offer_declined": Kind(N_("An NGO declined an offer"), False, ("admin",)),
    # an account's security: always
    "registration_confirm": Kind(N_("Confirming a registration"), True, ()),
    "registration_exists": Kind(N_("A registration with an address that has an account"), True, ()),
    "password_reset": Kind(N_("Resetting a password"), True, ()),
    "invitation": Kind(N_("An invitation"), True, ()),
    "evaluator_invitation": Kind(N_("An invitation"), True, ()),
}


def wants_email(user: User, kind: str) -> bool:
    found = KINDS.get(kind)
    if found is None or found.legal:
        return True
    return kind not in (user.email_off_kinds or [])


def choosable(user: User) -> list[tuple[str, Kind]]:
    """The kinds the user's settings page lists, legal ones included (shown as always e-mailed)."""
    return [(key, kind) for key, kind in KINDS.items() if user.role in kind.roles]


def set_email_off(user: User, kinds: set[str]) -> None:
    """The user's choice: these kinds in the system only. Legal and unknown kinds are ignored (a forged form
    cannot silence a legal notice)."""
    allowed = {key for key, kind in choosable(user) if not kind.legal}
    user.email_off_kinds = sorted(kinds & allowed)


def admins_of(call: Call) -> list[User]:
    """The active admins of the call's organiser (not the programme-level ones: they oversee, the organiser acts)."""
    organiser = call.organiser
    return sorted((u for u in organiser_users(organiser.id) if u.role == "admin" and u.active
                   and u.pseudonymised_at is None), key=lambda u: u.id)


def organiser_users(organiser_id: int) -> list[User]:
    from app.models.accounts import user_organisers

    return list(db.session.scalars(select(User).join(user_organisers, user_organisers.c.user_id == User.id)
                                   .where(user_organisers.c.organiser_id == organiser_id)))


def members_of(application: Application) -> list[User]:
    return sorted((m for m in application.organisation.members if m.active and m.pseudonymised_at is None),
                  key=lambda m: m.id)


def _about(application: Application, **context) -> dict:
    """What every notice of an application says: its number, title and organisation."""
    return {"number": application.number, "title": application.title,
            "organisation": application.organisation.name, **context}


# --- to the call's admins (one template, staff_notice, its sentence chosen by `kind`) -----------------------------

@effect("tell_admins_report_submitted")
def _report_submitted(ctx):
    report = ctx.entity
    for admin in admins_of(report.application.call):
        jobs.notify(admin, "staff_notice", N_("Report submitted: %(number)s"), entity_type="report",
                    entity_id=report.id, **_about(report.application, kind="staff_report_submitted",
                                                  report_kind=report.kind))


@effect("tell_admins_clarified")
def _clarified(ctx):
    for admin in admins_of(ctx.entity.call):
        jobs.notify(admin, "staff_notice", N_("Clarification answered: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity, kind="staff_clarified"))


@effect("tell_admins_appealed")
def _appealed(ctx):
    for admin in admins_of(ctx.entity.call):
        jobs.notify(admin, "staff_notice", N_("Appeal lodged: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity, kind="staff_appealed", note=ctx.note or ""))


@effect("tell_admins_offer_accepted")
def _offer_accepted(ctx):
    for admin in admins_of(ctx.entity.call):
        jobs.notify(admin, "staff_notice", N_("Offer accepted: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity, kind="staff_offer_accepted"))


@effect("tell_admins_offer_declined")
def _offer_declined(ctx):
    for admin in admins_of(ctx.entity.call):
        jobs.notify(admin, "staff_notice", N_("Offer declined: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity, kind="staff_offer_declined", note=ctx.note or ""))


# --- to the NGO --------------------------------------------------------------------------------------------------

@effect("tell_report_approved")
def _report_approved(ctx):
    report = ctx.entity
    for member in members_of(report.application):
        jobs.notify(member, "report_approved", N_("Report approved: %(number)s"), entity_type="report",
                    entity_id=report.id, **_about(report.application, report_kind=report.kind))


@effect("tell_payment_made")
def _payment_made(ctx):
    payment = ctx.entity
    application = db.session.get(Application, payment.application_id)
    for member in members_of(application):
        jobs.notify(member, "payment_made", N_("Payment made: %(number)s"), entity_type="payment",
                    entity_id=payment.id, **_about(
                        application, amount=formatting.money(payment.amount_cents, member.language),
                        tranche=payment.tranche,
                        paid_on=formatting.day(payment.paid_on, member.language) if payment.paid_on else ""))


@effect("tell_grant_closed")
def _grant_closed(ctx):
    for member in members_of(ctx.entity):
        jobs.notify(member, "grant_closed", N_("Grant closed: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity))


@effect("tell_grant_terminated")
def _grant_terminated(ctx):
    for member in members_of(ctx.entity):
        jobs.notify(member, "grant_terminated", N_("Grant terminated: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, **_about(ctx.entity, note=ctx.note or ""))
