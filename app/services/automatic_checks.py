"""What the system found about a submitted application, each finding explained in words for the admin who confirms
the checks (DESIGN 3: "checks that the system can decide are pre-filled by it; an admin confirms").

The yes/no of the four findings that pre-fill a check (`on_time`, `registration_number`, `amount`, `dates`, the
names of app/forms/calls.py AUTOMATIC_CHECKS) is `applications.suggested_checks`'s, so that the sentence and the
pre-filled answer never disagree; this module only puts the facts behind it into words. Two more findings have no
check of their own to pre-fill yet: the per-organisation limit and the required attachments.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import formatting
from app.extensions import db
from app.models import Application
from app.services import applications, attachments, organisations


@dataclass(frozen=True)
class Finding:
    key: str  # an AUTOMATIC_CHECKS name, or organisation_limit / attachments
    title: str
    passed: bool
    explanation: str


def findings(application: Application) -> list[Finding]:
    """Every finding, in the order an admin reads the form: time, applicant, amount, dates, limit, files."""
    lang = formatting.current_lang()
    suggested = applications.suggested_checks(application)
    return [_on_time(application, suggested["on_time"], lang),
            _registration_number(application, suggested["registration_number"]),
            _amount(application, suggested["amount"], lang),
            _dates(application, suggested["dates"], lang),
            _organisation_limit(application),
            _attachments(application, lang)]


def _on_time(application: Application, passed: bool, lang: str) -> Finding:
    words = dict(submitted=formatting.moment(application.submitted_at, lang),
                 deadline=formatting.deadline(application.call.closes_at, lang))
    explanation = (_("Submitted %(submitted)s (Riga time), within the deadline: until %(deadline)s.", **words)
                   if passed else
                   _("Submitted %(submitted)s (Riga time), after the deadline: until %(deadline)s.", **words))
    return Finding("on_time", _("Submitted on time"), passed, explanation)


def _registration_number(application: Application, passed: bool) -> Finding:
    number = application.organisation.registration_number
    problem = organisations.registration_number_problem(number)
    explanation = (_("Registration number %(number)s: valid, a legal entity's.", number=number) if problem is None
                   else _("Registration number %(number)s: %(problem)s", number=number, problem=problem))
    return Finding("registration_number", _("Valid registration number"), passed, explanation)


def _amount(application: Application, passed: bool, lang: str) -> Finding:
    call = application.call
    asked = formatting.money(application.amount_cents, lang)
    if call.funding_mode == "lump_sum":
        rule = _("the call funds exactly %(amount)s per project", amount=formatting.money(call.amount_cents, lang))
    elif call.min_amount_cents is not None and call.max_amount_cents is not None:
        rule = _("the call allows %(low)s to %(high)s", low=formatting.money(call.min_amount_cents, lang),
                 high=formatting.money(call.max_amount_cents, lang))
    else:
        rule = _("the call sets no range")
    explanation = (_("%(asked)s asked for: within the call's rule (%(rule)s).", asked=asked, rule=rule) if passed
                   else _("%(asked)s asked for: outside the call's rule (%(rule)s).", asked=asked, rule=rule))
    return Finding("amount", _("Amount within the call's rules"), passed, explanation)


def _dates(application: Application, passed: bool, lang: str) -> Finding:
    """The suggestion covers the whole form (app/services/applications.py content_problems); the words name the
    dates first, then whatever else the form lacks."""
    call, period = application.call, application.project_period
    inside = period.complete and call.implementation_start <= period.start <= period.end <= call.implementation_end
    words = dict(start=formatting.day(period.start, lang), end=formatting.day(period.end, lang),
                 low=formatting.day(call.implementation_start, lang), high=formatting.day(call.implementation_end, lang))
    if not period.complete:
        explanation = _("The project's start and end dates are missing.")
    elif inside:
        explanation = _("The project runs %(start)s–%(end)s, inside the implementation period %(low)s–%(high)s.",
                        **words)
    else:
        explanation = _("The project runs %(start)s–%(end)s, outside the implementation period %(low)s–%(high)s.",
                        **words)
    if inside and not passed:
        explanation += " " + _("The form is not complete: %(problems)s",
                               problems=" ".join(applications.content_problems(application)))
    return Finding("dates", _("Form complete, dates within the call"), passed, explanation)


def _organisation_limit(application: Application) -> Finding:
    call = application.call
    counted = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == call.id, Application.organisation_id == application.organisation_id,
        Application.status.notin_(applications.COUNTED_STATES_EXCLUDED)))
    most = call.max_applications_per_organisation
    passed = counted <= most
    return Finding("organisation_limit", _("Applications per organisation"), passed,
                   _("This organisation's applications in the call: %(n)s of at most %(most)s (drafts and withdrawn "
                     "ones not counted).", n=counted, most=most))


def _attachments(application: Application, lang: str) -> Finding:
    required = [t for t in attachments.types_of(application.call) if t.required]
    missing = attachments.missing_required(application)
    if not required:
        explanation = _("The call asks for no required attachments.")
    elif not missing:
        explanation = _("Every required attachment is there: %(names)s.",
                        names=", ".join(t.label(lang) for t in required))
    else:
        explanation = _("Missing: %(names)s.", names=", ".join(t.label(lang) for t in missing))
    return Finding("attachments", _("Required attachments present"), not missing, explanation)
