"""Who is told of what, and how (issue 8 "Notifications", DESIGN 4.5).

Every message is in the recipient's in-app list. It is also e-mailed unless the recipient chose "in the system
only" for its kind; legal notices (a receipt, a decision, a request with a deadline, an account's security) are
always e-mailed, whatever was chosen. The effects below tell the people a move concerns: the NGO when its report is
approved, a payment is made, its grant is closed or terminated; the call's admins when an NGO submits a report,
answers a clarification, appeals, accepts or declines an offer.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import formatting
from app.extensions import db
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
    "submitted": Kind(_l("The receipt of a submitted application"), True, ("applicant",)),
    "clarification": Kind(_l("A request to clarify an application"), True, ("applicant",)),
    "decision": Kind(_l("The decision on an application"), True, ("applicant",)),
    "appeal_decided": Kind(_l("The decision on an appeal"), True, ("applicant",)),
    "signed": Kind(_l("The signed agreement"), True, ("applicant",)),
    "agreement_amended": Kind(_l("An amended agreement to accept"), True, ("applicant",)),
    "grant_terminated": Kind(_l("A grant terminated"), True, ("applicant",)),
    "shortfall": Kind(_l("A grant reduced or a repayment demanded for a shortfall"), True, ("applicant",)),
    "withdrawn": Kind(_l("An application withdrawn"), False, ("applicant",)),
    "declined": Kind(_l("An offer declined"), False, ("applicant",)),
    "report_changes": Kind(_l("A report returned for changes"), False, ("applicant",)),
    "report_approved": Kind(_l("A report approved"), False, ("applicant",)),
    "report_reminder": Kind(_l("A reminder of a report due"), False, ("applicant",)),
    "payment_made": Kind(_l("A payment made"), False, ("applicant",)),
    "grant_closed": Kind(_l("A grant closed"), False, ("applicant",)),
    "call_announced": Kind(_l("A new call announced"), False, ("applicant",)),
    "call_cancelled": Kind(_l("A call cancelled"), True, ("applicant",)),
    "call_reopened": Kind(_l("A call reopened"), False, ("applicant",)),
    "deadline_extended": Kind(_l("A deadline extended"), False, ("applicant",)),
    # an evaluator
    "assigned": Kind(_l("An application to evaluate"), False, ("evaluator",)),
    "review_reminder": Kind(_l("A reminder of a review due"), False, ("evaluator",)),
    "review_reopened": Kind(_l("A review reopened"), False, ("evaluator",)),
    # the call's admins
    "staff_report_submitted": Kind(_l("An NGO submitted a report"), False, ("admin",)),
    "staff_clarified": Kind(_l("An NGO answered a clarification"), False, ("admin",)),
    "staff_appealed": Kind(_l("An NGO appealed"), False, ("admin",)),
    "staff_offer_accepted": Kind(_l("An NGO accepted an offer"), False, ("admin",)),
    "staff_offer_declined": Kind(_l("An NGO declined an offer"), False, ("admin",)),
    # an account's security: always
    "registration_confirm": Kind(_l("Confirming a registration"), True, ()),
    "registration_exists": Kind(_l("A registration with an address that has an account"), True, ()),
    "password_reset": Kind(_l("Resetting a password"), True, ()),
    "invitation": Kind(_l("An invitation"), True, ()),
    "evaluator_invitation": Kind(_l("An invitation"), True, ()),
    "two_factor_on": Kind(_l("Two-factor sign-in turned on"), True, ()),
    "two_factor_off": Kind(_l("Two-factor sign-in turned off"), True, ()),
    "recovery_codes_renewed": Kind(_l("New recovery codes"), True, ()),
    "recovery_code_used": Kind(_l("A recovery code used to sign in"), True, ()),
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


def tell_admins(application: Application, kind: str, subject, entity=None, **context) -> None:
    """Each active admin of the application's call: the staff_notice template, its sentence chosen by `kind`; the
    message points at `entity` (the application itself unless given)."""
    entity = entity if entity is not None else application
    for admin in admins_of(application.call):
        jobs.notify(admin, "staff_notice", subject, entity_type=ENTITY_TYPES[type(entity).__name__],
                    entity_id=entity.id, **_about(application, kind=kind, **context))


def tell_members(application: Application, template: str, subject, entity=None, **context) -> None:
    """Each active member of the application's organisation, in their language (a value of `context` that is a
    function is called with the member's language: an amount or a date written their way)."""
    entity = entity if entity is not None else application
    for member in members_of(application):
        written = {key: value(member.language) if callable(value) else value for key, value in context.items()}
        jobs.notify(member, template, subject, entity_type=ENTITY_TYPES[type(entity).__name__],
                    entity_id=entity.id, **_about(application, **written))


ENTITY_TYPES = {"Application": "application", "Report": "report", "Payment": "payment"}


# --- to the call's admins ----------------------------------------------------------------------------------------

@effect("tell_admins_report_submitted")
def _report_submitted(ctx):
    report = ctx.entity
    tell_admins(report.application, "staff_report_submitted", _l("Report submitted: %(number)s"), report,
                report_kind=report.kind)


@effect("tell_admins_clarified")
def _clarified(ctx):
    tell_admins(ctx.entity, "staff_clarified", _l("Clarification answered: %(number)s"))


@effect("tell_admins_appealed")
def _appealed(ctx):
    tell_admins(ctx.entity, "staff_appealed", _l("Appeal lodged: %(number)s"), note=ctx.note or "")


@effect("tell_admins_offer_accepted")
def _offer_accepted(ctx):
    tell_admins(ctx.entity, "staff_offer_accepted", _l("Offer accepted: %(number)s"))


@effect("tell_admins_offer_declined")
def _offer_declined(ctx):
    tell_admins(ctx.entity, "staff_offer_declined", _l("Offer declined: %(number)s"), note=ctx.note or "")


# --- to the NGO --------------------------------------------------------------------------------------------------

@effect("tell_report_approved")
def _report_approved(ctx):
    report = ctx.entity
    tell_members(report.application, "report_approved", _l("Report approved: %(number)s"), report,
                 report_kind=report.kind)


@effect("tell_payment_made")
def _payment_made(ctx):
    payment = ctx.entity
    tell_members(db.session.get(Application, payment.application_id), "payment_made", _l("Payment made: %(number)s"),
                 payment, amount=lambda lang: formatting.money(payment.amount_cents, lang), tranche=payment.tranche,
                 paid_on=lambda lang: formatting.day(payment.paid_on, lang) if payment.paid_on else "")


@effect("tell_grant_closed")
def _grant_closed(ctx):
    tell_members(ctx.entity, "grant_closed", _l("Grant closed: %(number)s"))


@effect("tell_grant_terminated")
def _grant_terminated(ctx):
    tell_members(ctx.entity, "grant_terminated", _l("Grant terminated: %(number)s"), note=ctx.note or "")