"""Who may see and do what, object by object. Every view asks here; nothing else decides access."""
from __future__ import annotations

from sqlalchemy import and_, or_, select, true

from app.errors import NotAllowed, NotFound
from app.extensions import db
from app.models import (Application, ApplicationFile, Assignment, Call, Message, Payment,
                        Recovery, Report)

OPEN_ASSIGNMENT = ("accepted", "submitted")


def may_turn_off_two_factor(user) -> bool:
    """Two-factor sign-in is required of admins and auditors (they decide over public money), optional for the
    others (app/services/two_factor.py)."""
    from app.services import two_factor

    return user.is_authenticated and not two_factor.required_for(user)


def in_organiser_scope(user, call: Call) -> bool:
    return user.role in ("admin", "auditor") and (user.programme_level or call.organiser_id in user.organiser_ids)


def administers(user, call: Call) -> bool:
    return user.role == "admin" and in_organiser_scope(user, call)


def may_export(user, call: Call, kind: str) -> bool:
    """A call's exports (app/services/exports.py). The applications and the ranking hold every evaluator's scores
    and comments: the call's admins and auditors only; an evaluator never gets them (DESIGN 2.3 and 3: they see no
    other's scores, and of a conflicted application nothing). The 360Giving file ("360giving") is the open data of
    the signed grants, no scores: an evaluator may have it too, less every application they are conflicted with."""
    if not user.is_authenticated:
        return False
    if kind == "360giving" and user.role == "evaluator":
        return True
    return in_organiser_scope(user, call)


def is_conflicted(user, application: Application) -> bool:
    """A known conflict (app/services/conflicts.py, the rules' one home: the same that refuses an assignment)."""
    from app.services import conflicts

    return user.role == "evaluator" and conflicts.reason(user, application) is not None


def conflicted_application_ids(user, applications) -> set[int]:
    """`is_conflicted` for many applications at once, in a fixed number of queries whatever their number."""
    from app.services import conflicts

    if user.role != "evaluator":
        return set()
    return conflicts.conflicted_application_ids(user, applications)


def evaluators_filter(user):
    """A where-clause limiting evaluators (users) to those an admin or auditor may see: a programme-level one sees
    all; another those of the common pool (of no organiser: they serve every call that names no evaluators), those
    of their organisers (invited by one), and those serving one of their calls or assigned one of their calls'
    applications. What the pages show of an evaluator's work is limited to the viewer's calls."""
    from app.models import CallEvaluator, User, user_organisers

    if user.programme_level:
        return User.role == "evaluator"
    organisers = user.organiser_ids or {-1}
    in_scope = select(Call.id).where(Call.organiser_id.in_(organisers))
    return (User.role == "evaluator") & or_(
        User.id.not_in(select(user_organisers.c.user_id)),
        User.id.in_(select(user_organisers.c.user_id).where(user_organisers.c.organiser_id.in_(organisers))),
        User.id.in_(select(CallEvaluator.evaluator_id).where(CallEvaluator.call_id.in_(in_scope))),
        User.id.in_(select(Assignment.evaluator_id).join(Application, Application.id == Assignment.application_id)
                    .where(Application.call_id.in_(in_scope))))


def evaluator_for(evaluator_id: int, user, *, write: bool = False):
    """An evaluator for the admin pages: 404 outside the viewer's scope, 403 to act without being an admin."""
    from app.models import User

    if user.role not in ("admin", "auditor"):
        raise NotFound()
    evaluator = db.session.scalar(select(User).where(User.id == evaluator_id, evaluators_filter(user)))
    if evaluator is None:
        raise NotFound()
    if write and user.role != "admin":
        raise NotAllowed()
    return evaluator


def assignment_of(user, application: Application) -> Assignment | None:
    return db.session.scalars(select(Assignment).where(
        Assignment.application_id == application.id, Assignment.evaluator_id == user.id,
        Assignment.status.in_(("assigned", *OPEN_ASSIGNMENT)))).first()


def can_view_application(user, application: Application) -> bool:
    if not user.is_authenticated:
        return False
    if user.role == "applicant":
        return user.organisation_id == application.organisation_id
    if user.role in ("admin", "auditor"):
        return in_organiser_scope(user, application.call) and application.status != "draft"
    if user.role == "evaluator":
        if is_conflicted(user, application):
            return False
        assignment = assignment_of(user, application)
        return assignment is not None and assignment.status in OPEN_ASSIGNMENT
    return False


def _application_of(entity) -> Application | None:
    if isinstance(entity, Application):
        return entity
    if isinstance(entity, (Assignment, Report, Payment, Recovery)):
        return db.session.get(Application, entity.application_id)
    return None


def _call_of(entity) -> Call:
    return entity if isinstance(entity, Call) else _application_of(entity).call


def may_act_on(user, entity) -> bool:
    """The object half of a permission: is this entity within the user's reach for their role?"""
    if user.role == "admin":
        return administers(user, _call_of(entity))
    if user.role == "applicant":
        application = _application_of(entity)
        return application is not None and application.organisation_id == user.organisation_id
    if user.role == "evaluator":
        return isinstance(entity, Assignment) and entity.evaluator_id == user.id
    return False  # auditors change nothing


def may_fire(user, entity, trigger: str) -> bool:
    from app.services.workflow import effective_status, engine, workflow_name

    roles = engine().roles_of(workflow_name(entity), trigger, effective_status(entity))
    return user.role in roles and may_act_on(user, entity)


def require_fire(user, entity, transition) -> None:
    if not may_act_on(user, entity):
        raise NotAllowed()


# --- loading objects for views: 404 when the user may not know it exists, 403 when they may see but not act ---

def call_for_admin(call_id: int, user, *, write: bool = False) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or not in_organiser_scope(user, call):
        raise NotFound()
    if write and not administers(user, call):
        raise NotAllowed()
    return call


def application_for(application_id: int, user, *, write: bool = False) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or not can_view_application(user, application):
        raise NotFound()
    if write and not may_act_on(user, application):
        raise NotAllowed()
    return application


def assignment_for(assignment_id: int, user) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.evaluator_id != user.id or assignment.status in ("revoked",):
        raise NotFound()
    return assignment


def report_for(report_id: int, user, *, write: bool = False) -> Report:
    report = db.session.get(Report, report_id)
    if report is None or not can_view_application(user, report.application):
        raise NotFound()
    if write and not may_act_on(user, report):
        raise NotAllowed()
    return report


def visible_calls_filter(user):
    """A where-clause limiting calls to the admin's or auditor's organisers."""
    if user.programme_level:
        return True
    return Call.organiser_id.in_(user.organiser_ids or {-1})


def outgoing_messages_filter(user):
    """A where-clause for the e-mails an admin or auditor follows in the outbox: those about a call of their
    organisers, or about an application of such a call (or its assignment, report or payment). A message about no
    call (an invitation, a password reset) is the programme level's to see."""
    if user.programme_level:
        return true()
    calls = select(Call.id).where(visible_calls_filter(user))
    applications = select(Application.id).where(Application.call_id.in_(calls))
    about = {"call": calls, "application": applications,
             "assignment": select(Assignment.id).where(Assignment.application_id.in_(applications)),
             "report": select(Report.id).where(Report.application_id.in_(applications)),
             "payment": select(Payment.id).where(Payment.application_id.in_(applications))}
    return or_(*[and_(Message.entity_type == kind, Message.entity_id.in_(ids)) for kind, ids in about.items()])


def outgoing_message_for(message_id: int, user) -> Message:
    """A message of the outbox, for an admin who may send it again (404 outside their organisers)."""
    message = db.session.scalar(select(Message).where(Message.id == message_id, outgoing_messages_filter(user)))
    if message is None:
        raise NotFound()
    if user.role != "admin":
        raise NotAllowed()
    return message


def visible_messages_filter(user):
    """A where-clause for the user's own in-app messages, less an evaluator's messages about an assignment on an
    application they are conflicted with (recused, voided, or a conflict with its organisation): of such an
    application they see nothing, not even its number in a message subject."""
    from app.services import conflicts

    clause = Message.user_id == user.id
    if user.role != "evaluator":
        return clause
    # every known conflict (conflicts.py, as is_conflicted), also one that surfaced after the assignment (a member
    # who joined later at the evaluator's domain): the user's assignments, then their applications, in two queries
    held = db.session.execute(select(Assignment.id, Assignment.application_id)
                              .where(Assignment.evaluator_id == user.id)).all()
    applications = db.session.scalars(select(Application).where(
        Application.id.in_({application_id for _id, application_id in held} or {-1}))).all()
    hidden = conflicts.conflicted_application_ids(user, applications)
    conflicted = [assignment_id for assignment_id, application_id in held if application_id in hidden]
    return clause & or_(Message.entity_type.is_distinct_from("assignment"),
                        Message.entity_id.not_in(conflicted or [-1]))


def can_download(user, document) -> bool:
    """Regulations are public; application documents follow the application; protocols the call's admins."""
    if document.kind == "regulations":
        return True
    if not user.is_authenticated:
        return False
    if document.entity_type == "application":
        application = db.session.get(Application, document.entity_id)
        return application is not None and can_view_application(user, application) and (
            user.role != "evaluator" or document.kind == "receipt")
    if document.entity_type == "call":
        call = db.session.get(Call, document.entity_id)
        return call is not None and in_organiser_scope(user, call)
    if document.entity_type == "report":
        report = db.session.get(Report, document.entity_id)
        return report is not None and user.role != "evaluator" and can_view_application(user, report.application)
    return False


def attachment_for(file_id: int, user) -> ApplicationFile:
    """An application's file, for download: whoever may see its application (the organisation's members; the
    call's admins and auditors once it is submitted; an evaluator assigned who declared no conflict, never a
    conflicted one). 404 to everyone else, anonymous visitors included: an id confirms nothing."""
    found = db.session.get(ApplicationFile, file_id)
    if found is None or not user.is_authenticated:
        raise NotFound()
    if not can_view_application(user, db.session.get(Application, found.application_id)):
        raise NotFound()
    return found
