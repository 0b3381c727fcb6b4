"""Evaluators: who serves a call, their affiliations and their load (DESIGN 2.3, issue 7).

An admin invites an evaluator by e-mail: the account is made at once, without a password anybody knows and unable to
log in (`unconfirmed_since` set, as for a self-registered member who has not opened their link yet), and the e-mail
carries a link signed over the user's id and a fingerprint of the password hash (itsdangerous, salt
"evaluator-invitation", as app/services/password_reset.py does), valid for INVITATION_VALID. Setting the password
changes the hash, so the link works once. The evaluator then logs in as anybody does.

The evaluators an admin sees are those of their organisers: invited by one of them, serving one of their calls, or
assigned one of their applications (app/policies.py `evaluators_filter`); a programme-level admin sees all.
"""
from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired
from sqlalchemy import case, delete, func, select

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import (Application, Assignment, Call, CallEvaluator, EvaluatorAffiliation, Organisation, User)
from app.services import accounts, audit, conflicts, jobs
from app.services.links import public_link, serializer
from app.services.password_reset import _fingerprint

log = logging.getLogger("app")

INVITATION_VALID = timedelta(days=7)
SALT = "evaluator-invitation"
LIVE = ("assigned", "accepted")  # work still to do
LANGUAGES = ("lv", "en")


def pool(call: Call) -> list[User]:
    """The active evaluators who may be assigned applications of the call: those serving it, or every active
    evaluator when the call names none. An invited evaluator who has not set a password yet is in no pool."""
    query = select(User).where(User.role == "evaluator", User.active, User.unconfirmed_since.is_(None))
    if db.session.scalar(select(CallEvaluator.id).where(CallEvaluator.call_id == call.id).limit(1)) is not None:
        query = query.where(User.id.in_(select(CallEvaluator.evaluator_id).where(CallEvaluator.call_id == call.id)))
    return list(db.session.scalars(query.order_by(User.id)))


def in_pool(evaluator: User, call: Call) -> bool:
    """Is the evaluator in the call's pool (`pool`), asked in one query (every assignment asks it)."""
    if evaluator.role != "evaluator" or not evaluator.active or evaluator.unconfirmed_since is not None:
        return False
    named, serves = db.session.execute(select(
        func.count(CallEvaluator.id), func.sum(case((CallEvaluator.evaluator_id == evaluator.id, 1), else_=0)))
        .where(CallEvaluator.call_id == call.id)).one()
    return not named or bool(serves)


def serving(evaluator: User) -> list[Call]:
    return list(db.session.scalars(select(Call).join(CallEvaluator, CallEvaluator.call_id == Call.id)
                                   .where(CallEvaluator.evaluator_id == evaluator.id).order_by(Call.code)))


def affiliations(evaluator: User) -> list[EvaluatorAffiliation]:
    return list(db.session.scalars(select(EvaluatorAffiliation).where(
        EvaluatorAffiliation.evaluator_id == evaluator.id).order_by(EvaluatorAffiliation.kind,
                                                                    EvaluatorAffiliation.id)))


def _locked(evaluator: User) -> User:
    """The evaluator's row, locked: their audit chain grows under it."""
    return db.session.scalars(select(User).where(User.id == evaluator.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _record(evaluator: User, trigger: str, actor: User, **data) -> None:
    state = "active" if evaluator.active else "inactive"
    audit.record("user", evaluator.id, trigger, state, state, actor.id if actor else None, data=data)


# --- invitation -----------------------------------------------------------------------------------------------------

def invite(admin: User, *, name: str, email: str, language: str = "lv") -> User:
    """Make the evaluator's account (no usable password yet) in the admin's organisers, and send the link that sets
    the password. Refused, nothing written, when the address has an account or the name or address is missing."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    problems = []
    if not name:
        problems.append(_("Enter the evaluator's name."))
    if "@" not in email or not conflicts.domain_of(email) or " " in email:
        problems.append(_("Enter a valid e-mail address."))
    if language not in LANGUAGES:
        problems.append(_("Choose the language."))
    if not problems and db.session.scalar(select(User.id).where(User.email == email)) is not None:
        problems.append(_("An account with this e-mail already exists."))
    if problems:
        raise Refused(" ".join(problems))
    evaluator = User(email=email, name=name, role="evaluator", language=language, active=True,
                     unconfirmed_since=clock.now())
    evaluator.set_password(secrets.token_urlsafe(32))  # nobody knows it: the link sets the real one
    evaluator.organisers = list(admin.organisers)
    db.session.add(evaluator)
    db.session.flush()
    _record(evaluator, "invite_evaluator", admin)
    send_invitation(evaluator, admin)
    return evaluator


def send_invitation(evaluator: User, admin: User) -> None:
    """(Again) the e-mail with the link, while the evaluator has not set a password."""
    if evaluator.unconfirmed_since is None:
        raise Refused(_("This evaluator has set a password already."))
    link = public_link("auth.evaluator_welcome", welcome_token=serializer(SALT).dumps(
        {"user": evaluator.id, "password": _fingerprint(evaluator.password_hash)}))
    jobs.notify(evaluator, "evaluator_invitation", _l("You are invited to evaluate applications in Pumpurs Grants"),
                admin=admin.name, link=link, days=INVITATION_VALID.days)
    if not current_app.config.get("MAIL_SERVER"):
        log.warning("e-mail is off: the evaluator %s sets a password at %s", evaluator.email, link)


def invited(token: str, *, lock: bool = False) -> User:
    """The evaluator whose invitation link this is, while it works; Refused with what is wrong with it."""
    try:
        data = serializer(SALT).loads(token, max_age=int(INVITATION_VALID.total_seconds()))
    except SignatureExpired:
        raise Refused(_("This invitation has expired: it works for %(days)s days. Ask the administrator to send "
                        "it again.", days=INVITATION_VALID.days)) from None
    except BadData:
        raise Refused(_("This invitation link is not valid. Check that the whole link was copied.")) from None
    user_id = data.get("user") if isinstance(data, dict) else None
    query = select(User).where(User.id == user_id, User.role == "evaluator")
    if lock:  # the link posted twice at once sets one password: the second sees the new hash
        query = query.with_for_update().execution_options(populate_existing=True)
    user = db.session.scalars(query).first() if isinstance(user_id, int) else None
    if user is None or not user.active:
        raise Refused(_("This invitation link is not valid any more. Ask the administrator."))
    if user.unconfirmed_since is None or data.get("password") != _fingerprint(user.password_hash):
        raise Refused(_("This invitation has been used already: your password is set. Log in, or ask for a new "
                        "password on the login page."))
    return user


def accept(token: str, password: str) -> User:
    """The invited evaluator chooses their password; then they log in with it. Refused, nothing changed, when the
    link does not work or the password is weak."""
    evaluator = invited(token, lock=True)
    accounts.change_password(evaluator, password)
    evaluator.unconfirmed_since = None
    _record(evaluator, "set_password", evaluator)
    return evaluator


# --- affiliations ---------------------------------------------------------------------------------------------------

def add_affiliation(evaluator: User, actor: User, *, kind: str, organisation_id: int | None = None,
                    domain: str = "", text: str = "") -> EvaluatorAffiliation:
    """Record a tie of the evaluator: a registered organisation, an e-mail domain (not a public mail provider: it
    would tie them to nobody) or free text. Refused, nothing written, when it is empty, unknown or there already."""
    _locked(evaluator)
    existing = affiliations(evaluator)
    affiliation = EvaluatorAffiliation(evaluator_id=evaluator.id, kind=kind, added_by_id=actor.id,
                                       created_at=clock.now())
    if kind == "organisation":
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is None:
            raise Refused(_("Choose a registered organisation."))
        if any(a.organisation_id == organisation.id for a in existing):
            raise Refused(_("This affiliation is recorded already."))
        affiliation.organisation_id = organisation.id
    elif kind == "domain":
        domain = conflicts.clean_domain(domain)
        if not domain or "." not in domain or " " in domain:
            raise Refused(_("Enter an e-mail domain, for example lu.lv."))
        if domain in conflicts.PUBLIC_MAIL_DOMAINS:
            raise Refused(_("%(domain)s is a public mail provider: it ties nobody to an organisation.", domain=domain))
        if any(a.domain == domain for a in existing):
            raise Refused(_("This affiliation is recorded already."))
        affiliation.domain = domain
    elif kind == "text":
        text = (text or "").strip()
        if not text:
            raise Refused(_("Describe the affiliation."))
        affiliation.text = text[:500]
    else:
        raise Refused(_("Choose the kind of affiliation."))
    db.session.add(affiliation)
    db.session.flush()
    _record(evaluator, "add_affiliation", actor, affiliation=affiliation.id, kind=kind,
            value=affiliation.organisation_id or affiliation.domain or affiliation.text)
    return affiliation


def remove_affiliation(evaluator: User, actor: User, affiliation_id: int) -> None:
    _locked(evaluator)
    affiliation = db.session.get(EvaluatorAffiliation, affiliation_id)
    if affiliation is None or affiliation.evaluator_id != evaluator.id:
        raise Refused(_("This affiliation is not recorded."))
    _record(evaluator, "remove_affiliation", actor, affiliation=affiliation.id, kind=affiliation.kind,
            value=affiliation.organisation_id or affiliation.domain or affiliation.text)
    db.session.delete(affiliation)
    db.session.flush()


# --- the calls they serve -------------------------------------------------------------------------------------------

def serve(evaluator: User, call: Call, actor: User) -> None:
    """The evaluator serves the call (the caller checked that the actor administers it)."""
    _locked(evaluator)
    if evaluator.role != "evaluator":
        raise Refused(_("Choose an evaluator."))
    if db.session.scalar(select(CallEvaluator.id).where(CallEvaluator.call_id == call.id,
                                                         CallEvaluator.evaluator_id == evaluator.id)):
        raise Refused(_("The evaluator serves this call already."))
    db.session.add(CallEvaluator(call_id=call.id, evaluator_id=evaluator.id, added_by_id=actor.id,
                                 created_at=clock.now()))
    db.session.flush()
    _record(evaluator, "serve_call", actor, call=call.id)


def unserve(evaluator: User, call: Call, actor: User) -> None:
    """The evaluator no longer serves the call; their assignments in it stay (the admin reassigns them)."""
    _locked(evaluator)
    gone = db.session.execute(delete(CallEvaluator).where(CallEvaluator.call_id == call.id,
                                                          CallEvaluator.evaluator_id == evaluator.id)).rowcount
    if not gone:
        raise Refused(_("The evaluator does not serve this call."))
    _record(evaluator, "unserve_call", actor, call=call.id)


# --- active or not --------------------------------------------------------------------------------------------------

def deactivate(evaluator: User, actor: User) -> None:
    """The evaluator can no longer log in (every session of theirs ends) nor be assigned; their live assignments
    stay as they are and are listed for the admin to reassign."""
    _locked(evaluator)
    if not evaluator.active:
        raise Refused(_("The evaluator is inactive already."))
    accounts.deactivate(evaluator)
    audit.record("user", evaluator.id, "deactivate", "active", "inactive", actor.id)


def reactivate(evaluator: User, actor: User) -> None:
    _locked(evaluator)
    if evaluator.active:
        raise Refused(_("The evaluator is active already."))
    evaluator.active = True
    audit.record("user", evaluator.id, "reactivate", "inactive", "active", actor.id)


# --- load -----------------------------------------------------------------------------------------------------------

@dataclass
class Load:
    live: int = 0  # assigned or accepted, not yet submitted
    submitted: int = 0
    late: int = 0  # live and past review_due_at
    per_call: dict[int, int] = field(default_factory=dict)  # call id -> live assignments


def loads(evaluator_ids, call_ids=None) -> dict[int, Load]:
    """Each evaluator's load, in one query: live assignments (per call too), submitted reviews, late ones.
    `call_ids`: count only these calls' applications (an admin's scope); None: every call."""
    evaluator_ids = list(evaluator_ids)
    found: dict[int, Load] = defaultdict(Load)
    if not evaluator_ids:
        return found
    now = clock.now()
    is_live = Assignment.status.in_(LIVE)
    query = (select(Assignment.evaluator_id, Application.call_id,
                    func.sum(case((is_live, 1), else_=0)),
                    func.sum(case((Assignment.status == "submitted", 1), else_=0)),
                    func.sum(case((is_live & (Assignment.review_due_at < now), 1), else_=0)))
             .join(Application, Application.id == Assignment.application_id)
             .where(Assignment.evaluator_id.in_(evaluator_ids))
             .group_by(Assignment.evaluator_id, Application.call_id))
    if call_ids is not None:
        query = query.where(Application.call_id.in_(list(call_ids) or [-1]))
    for evaluator_id, call_id, live, submitted, late in db.session.execute(query):
        load = found[evaluator_id]
        load.live += int(live or 0)
        load.submitted += int(submitted or 0)
        load.late += int(late or 0)
        if live:
            load.per_call[call_id] = int(live)
    return found


def live_assignments(evaluator: User, call_ids=None) -> list[Assignment]:
    """The evaluator's assignments still to do (to reassign after a deactivation), oldest first."""
    query = (select(Assignment).join(Application, Application.id == Assignment.application_id)
             .where(Assignment.evaluator_id == evaluator.id, Assignment.status.in_(LIVE)))
    if call_ids is not None:
        query = query.where(Application.call_id.in_(list(call_ids) or [-1]))
    return list(db.session.scalars(query.order_by(Assignment.review_due_at, Assignment.id)))


# --- what the pages show --------------------------------------------------------------------------------------------

def _scope_call_ids(viewer: User) -> list[int]:
    from app import policies

    return list(db.session.scalars(select(Call.id).where(policies.visible_calls_filter(viewer))))


def list_query(viewer: User):
    """The evaluators the viewer may see, by name (app/policies.py `evaluators_filter`)."""
    from app import policies

    return select(User).where(policies.evaluators_filter(viewer)).order_by(User.name, User.id)


def list_context(shown: list[User], viewer: User) -> dict:
    """For the list page: each shown evaluator's load and served calls, counted within the viewer's calls only."""
    call_ids = _scope_call_ids(viewer)
    codes = dict(db.session.execute(select(Call.id, Call.code).where(Call.id.in_(call_ids or [-1]))).all())
    served = defaultdict(list)
    for evaluator_id, call_id in db.session.execute(select(CallEvaluator.evaluator_id, CallEvaluator.call_id).where(
            CallEvaluator.evaluator_id.in_([e.id for e in shown] or [-1]), CallEvaluator.call_id.in_(codes or [-1]))):
        served[evaluator_id].append(codes[call_id])
    found = loads([e.id for e in shown], call_ids)
    rows = [{"evaluator": e, "load": found[e.id], "served": sorted(served[e.id]),
             "per_call": sorted((codes[c], n) for c, n in found[e.id].per_call.items() if c in codes)}
            for e in shown]
    return {"rows": rows, "may_invite": viewer.role == "admin", "languages": LANGUAGES}


def evaluator_context(evaluator: User, viewer: User) -> dict:
    """For one evaluator's page: ties, calls served and servable, load and live assignments within the viewer's
    calls, and the registered organisations to choose an affiliation from."""
    from app import policies

    call_ids = _scope_call_ids(viewer)
    served = [c for c in serving(evaluator) if c.id in set(call_ids)]
    servable = []
    if viewer.role == "admin":
        served_ids = {c.id for c in served}
        servable = [c for c in db.session.scalars(select(Call).where(
            Call.id.in_(call_ids or [-1]), Call.status.not_in(("completed", "cancelled"))).order_by(Call.code))
            if c.id not in served_ids and policies.administers(viewer, c)]
    assignments = live_assignments(evaluator, call_ids)
    return {
        "evaluator": evaluator,
        "invitation_pending": evaluator.unconfirmed_since is not None,
        "affiliations": affiliations(evaluator),
        "organisations": list(db.session.scalars(select(Organisation).order_by(Organisation.name))),
        "served": served,
        "servable": servable,
        "load": loads([evaluator.id], call_ids)[evaluator.id],
        "assignments": assignments,
        "codes": dict(db.session.execute(select(Call.id, Call.code).where(Call.id.in_(call_ids or [-1]))).all()),
        "may_act": viewer.role == "admin",
        "now": clock.now(),
    }
