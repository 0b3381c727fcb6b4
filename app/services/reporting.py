"""Grantees' reports (DESIGN 2.4)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.i18n import N_
from app.models import Payment, Report, User
from app.services import jobs
from app.services.registry import effect, guard
from app.services.workflow import fire

EDITABLE = ("draft", "changes_requested")


def save(report: Report, actor: User, content: dict, version: int) -> None:
    if report.status not in EDITABLE:
        raise Refused(_("A submitted report can no longer be changed."))
    if report.version != version:
        raise Refused(_("Someone else saved this report meanwhile. Reload the page and enter your changes again."))
    report.content = {k: content.get(k) for k in ("activities", "participants", "participants_at_risk", "results")}


def problems(report: Report) -> list[str]:
    c = report.content or {}
    found = []
    if not (c.get("activities") or "").strip():
        found.append(_("Describe the activities held."))
    if not (c.get("results") or "").strip():
        found.append(_("Describe the results against the plan."))
    participants, at_risk = c.get("participants"), c.get("participants_at_risk")
    if not isinstance(participants, int) or participants < 0:
        found.append(_("Enter the number of participants reached."))
    elif not isinstance(at_risk, int) or not 0 <= at_risk <= participants:
        found.append(_("Participants at risk must be between 0 and the number of participants."))
    return found


@guard("grant_active")
def _grant_active(ctx):
    return None if ctx.entity.application.status == "contracted" else _("The grant is not active.")


@guard("report_complete")
def _report_complete(ctx):
    found = problems(ctx.entity)
    return " ".join(found) if found else None


@effect("stamp_report")
def _stamp(ctx):
    ctx.entity.submitted_at = ctx.now


@effect("notify_report_changes")
def _changes(ctx):
    ctx.entity.reviewer_note = ctx.note
    for member in ctx.entity.application.organisation.members:
        jobs.notify(member, "report_changes", N_("Report needs changes: %(number)s"), entity_type="report",
                    entity_id=ctx.entity.id, number=ctx.entity.application.number, note=ctx.note)


@effect("stamp_approval")
def _approve(ctx):
    ctx.entity.approved_by, ctx.entity.approved_at = ctx.actor.id, ctx.now


@effect("release_final_payment")
def _release(ctx):
    if ctx.entity.kind != "final":
        return
    for payment in db.session.scalars(select(Payment).where(
            Payment.application_id == ctx.entity.application_id, Payment.status == "scheduled",
            Payment.due_on_event == "final_report_approved")):
        payment.scheduled_at = ctx.now


def submit(report: Report, actor: User):
    return fire(report, "submit" if report.status == "draft" else "resubmit", actor)
