"""The NGO's application from draft to eligibility (DESIGN 2.2, first half)."""
from __future__ import annotations

import hashlib

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, CheckResult, Clarification, User
from app.services import attachments, audit, jobs, numbering, organisations, questions
from app.services.audit import canonical_json
from app.services.registry import effect, guard, targets
from app.services.workflow import fire
from workflows.call import CALL

CONTENT_FIELDS = ("summary", "objectives", "activities", "target_group", "participants", "participants_at_risk",
                  "start_on", "end_on", "declared_conflicts", "results", "indicators")
COUNTED_STATES_EXCLUDED = ("draft", "withdrawn")


def create_draft(call, actor: User) -> Application:
    application = Application(call_id=call.id, organisation_id=actor.organisation_id, created_by=actor.id,
                              status="draft", content={},
                              amount_cents=call.amount_cents if call.funding_mode == "lump_sum" else 0)
    db.session.add(application)
    db.session.flush()
    audit.record("application", application.id, "create", None, "draft", actor.id, data={"call": call.code})
    return application


def save_draft(application: Application, actor: User, *, title: str, content: dict, amount_cents: int,
               declarations_accepted: bool, version: int) -> None:
    """Save the form. `version` is what the user loaded: a stale save is refused, not merged."""
    if application.status != "draft":
        raise Refused(_("A submitted application can no longer be changed."))
    if application.version != version:
        raise Refused(_("Someone else saved this application meanwhile. Reload the page and enter your changes "
                        "again."))
    if not application.call.accepting(_now()):
        raise Refused(_("The call is closed: drafts are read-only."))
    application.title = title.strip()
    kept = {"questions": application.content["questions"]} if "questions" in (application.content or {}) else {}
    application.content = {**{k: content.get(k) for k in CONTENT_FIELDS}, **kept}  # answers: questions.save
    # The amount is not the form's: a lump-sum call's is fixed at create_draft, a budgeted call's is its budget
    # table's total (app/services/budget.py). `amount_cents` stays in the signature for the callers that pass it.
    application.declarations_accepted = declarations_accepted


def _now():
    from app import clock

    return clock.now()


def frozen_content(application: Application, files=None) -> dict:
    """What the submission's SHA-256 is over. `files`: the application's files when the caller has them."""
    frozen = {"call": application.call.code, "organisation": application.organisation.registration_number,
              "title": application.title, "content": application.content, "amount_cents": application.amount_cents,
              "budget": [[b.category, b.description, b.quantity, b.unit_cost_cents, b.amount_cents]
                       for b in application.budget_lines]}
    if application.call.questions:  # the call's own questions: key, both labels, answer (none: the old shape)
        frozen["questions"] = questions.frozen(application)
    files = attachments.frozen(application, files)
    if files:  # each file's type, name, format, size and SHA-256 (none: the old shape)
        frozen["attachments"] = files
    return frozen


# --- submit --------------------------------------------------------------------------------------------

@guard("call_accepting")
def _call_accepting(ctx):
    call = ctx.entity.call
    if not call.accepting(ctx.now):
        lang = formatting.current_lang()  # the times in the message's own language ('plkst.' only in Latvian)
        return _("The call is not accepting applications at %(time)s (Riga time). The deadline was %(deadline)s.",
                 time=formatting.moment(ctx.now, lang), deadline=formatting.deadline(call.closes_at, lang))
    return None


def content_problems(application: Application) -> list[str]:
    return [message for _field, message in field_problems(application)]


def field_problems(application: Application) -> list[tuple[str, str]]:
    """What submission still needs, each with the form field it is about (the guided form links it to its step)."""
    c = application.content or {}
    problems = []
    if not application.title.strip():
        problems.append(("title", _("Give the project a title.")))
    for key, label in (("summary", _("Summary")), ("activities", _("Activities"))):
        if not (c.get(key) or "").strip():
            problems.append((key, _("Fill in: %(field)s.", field=label)))
    participants, at_risk = c.get("participants"), c.get("participants_at_risk")
    if not isinstance(participants, int) or participants < 1:
        problems.append(("participants", _("Enter the planned number of participants.")))
    elif not isinstance(at_risk, int) or not 0 <= at_risk <= participants:
        problems.append(("participants_at_risk",
                         _("Participants at risk must be between 0 and the number of participants.")))
    call = application.call
    period = application.project_period
    if not period.complete:
        problems.append(("start_on", _("Enter the project's start and end dates.")))
    elif not (call.implementation_start <= period.start <= period.end <= call.implementation_end):
        problems.append(("start_on", _("The project must run within %(start)s–%(end)s.",
                                       start=formatting.day(call.implementation_start, formatting.current_lang()),
                                       end=formatting.day(call.implementation_end, formatting.current_lang()))))
    return problems


@guard("application_complete")
def _complete(ctx):
    problems = content_problems(ctx.entity)
    return " ".join(problems) if problems else None


@guard("amount_allowed")
def _amount_allowed(ctx):
    application, call = ctx.entity, ctx.entity.call
    if call.funding_mode == "lump_sum":
        if application.amount_cents != call.amount_cents:
            return _("This call funds exactly %(amount)s per project.", amount=formatting.money(call.amount_cents, formatting.current_lang()))
        return None
    from app.services import budget  # the budget table's rules: lines, category caps, the amount range

    problems = budget.submission_problems(application)
    return " ".join(problems) if problems else None


@guard("declarations_accepted")
def _declarations(ctx):
    return None if ctx.entity.declarations_accepted else _("Confirm the declarations before submitting.")


@guard("organisation_valid")
def _organisation_valid(ctx):
    problems = organisations.profile_problems(ctx.entity.organisation)
    return " ".join(problems) if problems else None


@guard("organisation_limit")
def _organisation_limit(ctx):
    """Counts without a lock: `fire` locks the organisation before a submit (workflow._lock_for)."""
    application = ctx.entity
    already = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == application.call_id, Application.organisation_id == application.organisation_id,
        Application.id != application.id, Application.status.notin_(COUNTED_STATES_EXCLUDED)))
    if already >= application.call.max_applications_per_organisation:
        return _("Your organisation has already submitted %(n)s application(s) to this call, the most allowed.",
                 n=already)
    return None


@effect("freeze_application")
def _freeze(ctx):
    application = ctx.entity
    application.submitted_at = ctx.now
    frozen = frozen_content(application, attachments.move_files(ctx))
    application.content_sha256 = hashlib.sha256(canonical_json(frozen).encode()).hexdigest()
    numbering.await_number(application)  # the real number is taken just before commit


@effect("queue_receipt")
def _receipt(ctx):
    """The receipt and its message, written with the stand-in number (see app/services/numbering.py)."""
    application = ctx.entity
    number = application.number
    context = {"application": {"number": number, "title": application.title,
                               "submitted": formatting.moment(ctx.now),
                               "sha256": application.content_sha256, "content": application.content,
                               "amount": formatting.money(application.amount_cents)},
               "organisation": {"name": application.organisation.name,
                                "registration_number": application.organisation.registration_number},
               "call": {"code": application.call.code, "title": application.call.title_lv}}
    lang = ctx.actor.language
    context["attachments"] = attachments.receipt_rows(application, lang, attachments.move_files(ctx))  # name,
    # type and SHA-256 of each file
    context["questions"] = questions.shown(application, lang)  # the call's own questions: label and answer
    from app.services import budget

    context["budget"] = budget.receipt_rows(application, lang)  # the budget table of a budgeted call
    from app.services.public import receipt_check_link  # here: public reads the page objects, which read us

    context["check_url"] = receipt_check_link()  # where anyone confirms the number and hash
    document = jobs.queue_document("receipt", "application", application.id, lang, context, f"{number}.pdf")
    application.receipt_document_id = document.id
    message = jobs.notify(ctx.actor, "submitted", _l("Application %(number)s received"), entity_type="application",
                          entity_id=application.id, document=document, number=number,
                          time=formatting.moment(ctx.now, lang), sha256=application.content_sha256,
                          title=application.title, attachments=context["attachments"],
                          budget=context["budget"], check_url=context["check_url"])
    numbering.fill_in_later(application, document, message)


def submit(application: Application, actor: User):
    return fire(application, "submit", actor)


# --- withdraw, clarification, checks ------------------------------------------------------------------------

@effect("notify_withdrawn")
def _withdrawn(ctx):
    for member in ctx.entity.organisation.members:
        jobs.notify(member, "withdrawn", _l("Application %(number)s withdrawn"), entity_type="application",
                    entity_id=ctx.entity.id, number=ctx.entity.number)


@guard("answer_deadline_given", input=True)
def _answer_deadline(ctx):
    due, question = ctx.data.get("answer_due_at"), (ctx.data.get("question") or "").strip()
    if not question:
        return _("Write the question for the applicant.")
    if due is None or due <= ctx.now:
        return _("The answer deadline must be in the future.")
    return None


@effect("store_question")
def _store_question(ctx):
    application = ctx.entity
    db.session.add(Clarification(application_id=application.id, question=ctx.data["question"].strip(),
                                 asked_by=ctx.actor.id, asked_at=ctx.now, answer_due_at=ctx.data["answer_due_at"]))
    for member in application.organisation.members:
        jobs.notify(member, "clarification", _l("Clarification requested: %(number)s"),
                    entity_type="application", entity_id=application.id, number=application.number,
                    question=ctx.data["question"], due=formatting.moment(ctx.data["answer_due_at"], member.language))


def open_clarification(application: Application) -> Clarification | None:
    return db.session.scalars(select(Clarification).where(
        Clarification.application_id == application.id, Clarification.answered_at.is_(None))
        .order_by(Clarification.id.desc())).first()


@guard("before_answer_deadline")
def _before_answer_deadline(ctx):
    clarification = open_clarification(ctx.entity)
    if clarification is None or ctx.now >= clarification.answer_due_at:
        return _("The deadline for this clarification has passed.")
    return None


@guard("answer_written", input=True)
def _answer_written(ctx):
    return None if (ctx.data.get("answer") or "").strip() else _("Write your answer.")


@effect("store_answer")
def _store_answer(ctx):
    clarification = open_clarification(ctx.entity)
    clarification.answer = ctx.data["answer"].strip()
    clarification.answered_by, clarification.answered_at = ctx.actor.id, ctx.now
    files = ctx.data.get("files")  # [name, SHA-256] of the files sent with the answer (attachments.add_addenda)
    answered = canonical_json({"answer": clarification.answer, "files": files}) if files else clarification.answer
    clarification.answer_sha256 = hashlib.sha256(answered.encode()).hexdigest()


def suggested_checks(application: Application) -> dict[str, bool]:
    """What the system can decide itself, by the check's `automatic` name; an admin confirms."""
    org = application.organisation
    return {
        "on_time": application.submitted_at is not None and application.submitted_at < application.call.closes_at,
        "registration_number": organisations.registration_number_problem(org.registration_number) is None,
        "amount": application.call.funding_mode != "lump_sum"
        or application.amount_cents == application.call.amount_cents,
        "dates": not content_problems(application),
    }


def record_checks(application: Application, actor: User, results: dict[int, tuple[bool, str]]):
    """Store every check's answer, then move the application: all yes → eligible, any no → ineligible."""
    suggestions = suggested_checks(application)
    existing = {r.check_id: r for r in db.session.scalars(
        select(CheckResult).where(CheckResult.application_id == application.id))}
    for check in application.call.checks:
        if check.id not in results:
            raise Refused(_("Answer every check (%(code)s is missing).", code=check.code))
        passed, reason = results[check.id]
        if not passed and not reason.strip():
            raise Refused(_("Give the reason for check %(code)s.", code=check.code))
        row = existing.get(check.id) or CheckResult(application_id=application.id, check_id=check.id)
        row.passed, row.reason = passed, reason.strip()
        row.suggested = suggestions.get(check.automatic) if check.automatic else None
        row.recorded_by, row.recorded_at = actor.id, _now()
        db.session.add(row)
    db.session.flush()
    trigger = "pass_checks" if all(p for p, _r in results.values()) else "fail_checks"
    return fire(application, trigger, actor)


def check_results(application: Application) -> list[CheckResult]:
    return db.session.scalars(select(CheckResult).where(CheckResult.application_id == application.id)).all()


@guard("all_checks_passed", input=True)
def _all_passed(ctx):
    results = {r.check_id: r for r in check_results(ctx.entity)}
    if any(c.id not in results or not results[c.id].passed for c in ctx.entity.call.checks):
        return _("Every check must be recorded as passed.")
    return None


@guard("failed_check_reasons", input=True)
def _failed_reasons(ctx):
    failed = [r for r in check_results(ctx.entity) if r.passed is False]
    if not failed:
        return _("Record which check failed, with the reason.")
    return None


@targets("itself_once_evaluation_started")
def _itself_once_evaluation_started(ctx):
    """Eligible after the call's evaluation started (a late clarification, an upheld appeal): straight to review."""
    return [ctx.entity] if ctx.entity.call.status in CALL.groups["evaluation_started"] else []


@effect("letter_ineligible")
def _letter_ineligible(ctx):
    application = ctx.entity
    from app.services.decisions import letter_language, send_letter

    language = letter_language(application)  # the checks named in the NGO's language, as the rest of the letter
    reasons = [{"code": r.check.code, "title": r.check.title(language), "reason": r.reason}
               for r in check_results(application) if r.passed is False]

    send_letter(application, ctx, "ineligible", {"reasons": reasons})


def withdraw(application: Application, actor: User):
    return fire(application, "withdraw", actor)


def request_clarification(application, actor, question: str, answer_due_at):
    return fire(application, "request_clarification", actor, question=question, answer_due_at=answer_due_at)


def clarify(application, actor, answer: str, files=()):
    """Answer the open clarification. `files`, (name, bytes) pairs, are kept as an addendum with their own hashes,
    which the answer's hash covers; what was submitted never changes."""
    prepared = [attachments.prepare(name, data, attachments.ATTACHMENT_FORMATS) for name, data in files]
    if len(prepared) > attachments.MAX_OTHER_FILES:
        raise Refused(_("At most %(n)s other files may be attached.", n=attachments.MAX_OTHER_FILES))
    clarification = open_clarification(application)
    listed = {"files": [[p.name, p.sha256] for p in prepared]} if prepared else {}
    event = fire(application, "clarify", actor, answer=answer, **listed)
    attachments.add_addenda(application, clarification, actor, prepared)
    return event
