"""The application form as guided steps (issue 6): the one list of steps, their fields and their status.

Each step is a page of its own (applicant.step), saved when the user leaves it; the task list (applicant.edit) shows
every step as not started, in progress or completed, computed here from what is stored. Budget and attachments are
steps whose pages live elsewhere (`endpoint`): they are shown only while that page exists and, for the budget, only
on budgeted calls. The call's own questions (app/services/questions.py, when present) join the step they are placed
in; the "questions" step is shown only when the call asks some there.

Saving a step writes only its own fields. The optimistic check: the form carries the application's version and a
fingerprint of the step's stored values as loaded. A save on top of a newer version goes ahead only when this
step's stored values are still those the user loaded (another member saved another step meanwhile); otherwise it is
refused and the other member's save stands whole.

Kept drafts: a step posted after the session expired is kept for a day (`keep`), and shown again after logging in.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import Application, KeptDraft
from app.services import applications
from app.services.registry import GUARDS, INPUT, Context

NOT_STARTED, IN_PROGRESS, COMPLETED = "not_started", "in_progress", "completed"
STATUS_LABELS = {NOT_STARTED: _l("Not started"), IN_PROGRESS: _l("In progress"), COMPLETED: _l("Completed")}
KEPT_FOR = timedelta(hours=24)
KEEP_SIGNATURE_AGE = 7 * 24 * 3600  # a form may stay open in a tab for days before its session expires
KEPT_MAX_PAIRS, KEPT_MAX_CHARS = 300, 20_000


@dataclass(frozen=True)
class Step:
    name: str
    title: object  # a lazy text: the step's name on the task list and as the page's heading
    fields: tuple[str, ...] = ()  # what the step stores: "title", "declarations_accepted", or content keys
    endpoint: str | None = None  # the page of a step built elsewhere (it takes app_id)
    status_module: str | None = None  # ... and the module whose step_status(application) judges it
    budgeted_only: bool = False

    @property
    def own(self) -> bool:
        return self.endpoint is None


STEPS: tuple[Step, ...] = (
    Step("project", _l("The project"), ("title", "summary", "objectives", "start_on", "end_on")),
    Step("activities", _l("Activities"), ("activities",)),
    Step("participants", _l("Participants"), ("target_group", "participants", "participants_at_risk")),
    Step("results", _l("Results and indicators"), ("results", "indicators")),
    Step("budget", _l("Budget"), endpoint="applicant.budget", status_module="app.services.budget",
         budgeted_only=True),
    Step("attachments", _l("Attachments"), endpoint="applicant.attachments",
         status_module="app.services.attachments"),
    Step("questions", _l("Questions of the call")),
    Step("declarations", _l("Conflicts of interest and declarations"), ("declared_conflicts", "declarations_accepted")),
)
BY_NAME = {step.name: step for step in STEPS}
# A submit guard's refusal → the step that puts it right (application_complete is split by field, questions by step).
GUARD_STEPS = {"amount_allowed": "budget", "declarations_accepted": "declarations"}


def module(name: str | None):
    """The module `name` when it exists (another engineer's step may not, yet), else None."""
    if not name:
        return None
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except ImportError:
        return None


def _questions():
    found = module("app.services.questions")
    return found if found is not None and hasattr(found, "for_step") else None


def questions_for(application: Application, step_name: str) -> list:
    """The call's own questions placed in `step_name` ([] while the questions service does not exist)."""
    found = _questions()
    return [q for q in found.for_step(application.call, step_name) if q.kind != "file"] if found else []


def _budget_step_exists() -> bool:
    return BY_NAME["budget"].endpoint in current_app.view_functions and module("app.services.budget") is not None


def fields_of(application: Application, step: Step) -> tuple[str, ...]:
    """The step's stored fields for this application: a budgeted call without a budget page asks the amount in the
    project step, so that it can still be submitted."""
    if step.name == "project" and application.call.funding_mode == "budgeted" and not _budget_step_exists():
        return (*step.fields, "amount_cents")
    return step.fields


def shown(application: Application) -> list[Step]:
    """The steps of this application's form, in order."""
    found = []
    for step in STEPS:
        if step.budgeted_only and application.call.funding_mode != "budgeted":
            continue
        if not step.own and (step.endpoint not in current_app.view_functions
                             or not hasattr(module(step.status_module), "step_status")):
            continue
        if step.name == "questions" and not questions_for(application, "questions"):
            continue
        found.append(step)
    return found


def find(application: Application, name: str) -> Step | None:
    """The step of this application's form named `name` whose page is the guided form's own, or None."""
    return next((s for s in shown(application) if s.name == name and s.own), None)


def url(application: Application, step: Step, anchor: str | None = None) -> str:
    if step.own:
        return url_for("applicant.step", app_id=application.id, step=step.name, _anchor=anchor)
    return url_for(step.endpoint, app_id=application.id, _anchor=anchor)


# --- what is stored ------------------------------------------------------------------------------------------

def stored(application: Application, name: str):
    if name == "title":
        return application.title or ""
    if name == "amount_cents":
        return application.amount_cents or 0
    if name == "declarations_accepted":
        return bool(application.declarations_accepted)
    return (application.content or {}).get(name)


def _blank(value) -> bool:
    return value in (None, "", [], {}, False, 0) or (isinstance(value, str) and not value.strip())


def fingerprint(application: Application, step: Step) -> str:
    """The step's stored values (its own fields and its questions' answers), hashed: what the user loaded."""
    answers = (application.content or {}).get("questions") or {}
    values = {name: stored(application, name) for name in fields_of(application, step)}
    values["questions"] = {q.key: answers.get(q.key) for q in questions_for(application, step.name)}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def status(application: Application, step: Step) -> str:
    """Not started, in progress or completed, from what is stored."""
    if not step.own:
        judged = module(step.status_module).step_status(application)
        return judged if judged in STATUS_LABELS else NOT_STARTED
    found = _questions()
    asked = found.step_status(application, step.name) if found and questions_for(application, step.name) else None
    filled = [n for n in fields_of(application, step) if not _blank(stored(application, n))]
    if not filled and asked in (None, NOT_STARTED):
        return NOT_STARTED
    if asked in (None, COMPLETED) and not any(p.step == step.name for p in problems(application, None)):
        return COMPLETED
    return IN_PROGRESS


def task_list(application: Application) -> list[dict]:
    return [{"step": step, "status": status(application, step), "label": STATUS_LABELS[status(application, step)],
             "url": url(application, step)} for step in shown(application)]


# --- what still blocks submitting ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    message: str
    step: str | None = None  # the step that puts it right (None: nothing in the form does)
    url: str | None = None


def _step_of_field(application: Application, name: str) -> Step | None:
    return next((s for s in shown(application) if name in fields_of(application, s)), None)


def problems(application: Application, user) -> list[Problem]:
    """The checklist: every field problem (applications.field_problems) and every submit guard's refusal, each
    linked to its step. `user` None judges only the form (the task list's statuses); a user adds the guards that
    depend on who submits, and the workflow's own check (role, state) when nothing else is found."""
    found: list[Problem] = []

    def add(message: str, step: Step | None, anchor: str | None = None):
        if step is None:
            found.append(Problem(message))
        else:
            found.append(Problem(message, step.name, url(application, step, anchor)))

    for name, message in applications.field_problems(application):
        add(message, _step_of_field(application, name), f"field-{name}")
    questions = _questions()
    if questions is not None:
        for question in questions.missing(application):
            step = next((s for s in shown(application) if s.name == question.step and s.own), None)
            add(_("Answer the question: %(label)s", label=question.label(_lang())), step, f"field-q-{question.key}")
    context = Context(entity=application, trigger="submit", actor=user, now=clock.now(), source=application.status)
    for name in _submit_guards():
        if name in ("application_complete", "questions_answered") or name in INPUT or name not in GUARDS:
            continue
        if user is None and name not in GUARD_STEPS:
            continue
        with db.session.no_autoflush:
            message = GUARDS[name](context)
        if message:
            step = _guard_step(application, name)
            anchor = "field-amount" if step is not None and step.name == "project" else None
            add(message, step, anchor)
    if user is not None and not found:
        from app.services.workflow import check

        message = check(application, "submit", user)
        if message:
            add(message, None)
    return found


def _guard_step(application: Application, guard: str) -> Step | None:
    wanted = GUARD_STEPS.get(guard) or ("attachments" if "attach" in guard else "budget" if "budget" in guard else None)
    steps = {s.name: s for s in shown(application)}
    if wanted == "budget" and "budget" not in steps:
        wanted = "project"  # the amount is asked there while no budget page exists
    return steps.get(wanted)


def _submit_guards() -> list[str]:
    from app.services.workflow import engine

    return [g for tr in engine().workflow("application").transitions if tr.trigger == "submit" for g in tr.guards]


def _lang() -> str:
    from app.formatting import current_lang

    return current_lang()


# --- saving a step -------------------------------------------------------------------------------------------

CONFLICT = _l("Another member saved this step meanwhile. Their text is kept; yours is shown below, not saved. "
              "Compare, then save again to replace theirs.")


def save(application: Application, actor, step: Step, values: dict, *, answers: dict | None, version: int,
         loaded: str) -> None:
    """Store `values` (the step's fields, judged by its form) and `answers` (its questions, judged by
    questions.parse_answers). `version` and `loaded` (the fingerprint) are what the user loaded."""
    if application.status != "draft":
        raise Refused(_("A submitted application can no longer be changed."))
    if not application.call.accepting(clock.now()):
        raise Refused(_("The call is closed: drafts are read-only."))
    if application.version != version and fingerprint(application, step) != loaded:
        raise Refused(str(CONFLICT))
    own = fields_of(application, step)
    content = dict(application.content or {})
    for name, value in values.items():
        if name not in own:
            continue
        if name == "title":
            application.title = (value or "").strip()
        elif name == "amount_cents":
            application.amount_cents = value or 0
        elif name == "declarations_accepted":
            application.declarations_accepted = bool(value)
        else:
            content[name] = value
    application.content = content
    questions = _questions()
    if answers and questions is not None:
        questions.save(application, actor, answers)
    try:
        db.session.flush()  # the version column: a save committed since this request read the row is refused
    except StaleDataError:
        db.session.rollback()
        raise Refused(str(CONFLICT)) from None


# --- kept drafts ---------------------------------------------------------------------------------------------

def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="kept-step")


def keep_signature(application: Application, step: Step) -> str:
    """Carried by the step's form: proves, when the session has expired, that this server gave the form for this
    step of this application to a member of its organisation (nobody else can make one)."""
    return _signer().dumps([application.id, step.name, application.organisation_id])


def keep(signature: str, app_id: int, step_name: str, pairs: list[tuple[str, str]], allowed) -> str | None:
    """Keep what was posted to a step without a session, when the form's signature matches; the token, or None
    when nothing is kept. `allowed(name)` says which posted fields belong to the step's form."""
    try:
        signed_app, signed_step, organisation_id = _signer().loads(signature or "", max_age=KEEP_SIGNATURE_AGE)
    except (BadSignature, ValueError, TypeError):
        return None
    application = db.session.get(Application, app_id)
    if (signed_app, signed_step) != (app_id, step_name) or application is None or application.status != "draft" \
            or application.organisation_id != organisation_id:
        return None
    kept = [[name, value[:KEPT_MAX_CHARS]] for name, value in pairs if allowed(name)][:KEPT_MAX_PAIRS]
    now = clock.now()
    db.session.execute(delete(KeptDraft).where(KeptDraft.expires_at < now))
    token = secrets.token_urlsafe(32)
    db.session.add(KeptDraft(token=token, application_id=app_id, step=step_name, data=kept, created_at=now,
                             expires_at=now + KEPT_FOR))
    db.session.commit()
    return token


def kept(token: str | None, application: Application, step: Step, user) -> KeptDraft | None:
    """The kept draft of this step named by `token`, for a member of the application's organisation; someone
    else's is discarded."""
    if not token:
        return None
    found = db.session.scalar(select(KeptDraft).where(KeptDraft.token == token[:64]))
    if found is None or found.application_id != application.id or found.step != step.name:
        return None
    if found.expires_at <= clock.now() or user.organisation_id != application.organisation_id:
        db.session.delete(found)
        db.session.commit()
        return None
    return found


def discard_for_stranger(token: str | None, app_id: int, user) -> None:
    """A kept draft opened by someone who is not a member of its organisation is deleted, unseen."""
    if not token:
        return
    found = db.session.scalar(select(KeptDraft).where(KeptDraft.token == token[:64]))
    if found is None or found.application_id != app_id:
        return
    application = db.session.get(Application, app_id)
    if application is None or application.organisation_id != getattr(user, "organisation_id", None):
        db.session.delete(found)
        db.session.commit()


def drop(token: str | None, application: Application) -> None:
    """After the step is saved: the kept text is in the application now (the caller commits)."""
    if token:
        db.session.execute(delete(KeptDraft).where(KeptDraft.token == token[:64],
                                                   KeptDraft.application_id == application.id))
