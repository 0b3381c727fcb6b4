"""Conflicts of interest between evaluators and organisations: the one home of the rules (DESIGN 3, issue 7).

A conflict is known when
- the evaluator belongs to the organisation;
- the evaluator is affiliated with it (an affiliation of kind "organisation");
- an e-mail domain of the evaluator (their own address, or an affiliated domain) is an e-mail domain of the
  organisation: its own address **or the address of any of its members** (so an evaluator at @eksperti.lv is
  conflicted with an NGO whose member writes from @eksperti.lv); a public mail provider (PUBLIC_MAIL_DOMAINS) never
  counts, since thousands of strangers share it;
- a conflict is recorded (ConflictOfInterest): declared by the evaluator (a recusal), named by the NGO, or recorded by
  an admin (a voided review);
- the evaluator recused from, or had voided, a review of the very application.

`known(evaluators, organisations)` computes all of them in three queries whatever the numbers, and everything else here
reads it: `reason` for one pair (assignment: app/services/evaluation.py `conflict_reason`; access: app/policies.py
`is_conflicted`), `conflicted_application_ids` for list pages, `conflict_register` for the call's register page and
its protocol.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import (Application, Assignment, Call, ConflictOfInterest, EvaluatorAffiliation, Organisation,
                        User)

# Public mail providers: an address there says nothing about where its owner works. The one list of them.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "inbox.lv", "outlook.com", "outlook.lv", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "mail.ru", "yandex.ru", "yandex.com", "icloud.com", "me.com", "apollo.lv", "one.lv",
    "tvnet.lv", "lattelecom.lv", "protonmail.com", "proton.me", "gmx.com", "gmx.net", "aol.com",
})

# Where a conflict comes from: derived by the rules, or recorded (ConflictOfInterest.source).
SOURCE_LABELS = {
    "organisation": lazy_gettext("member of the organisation"),
    "affiliation": lazy_gettext("affiliation"),
    "domain": lazy_gettext("e-mail domain"),
    "evaluator": lazy_gettext("declared by the evaluator"),
    "applicant": lazy_gettext("named by the applicant"),
    "admin": lazy_gettext("recorded by an administrator"),
    "recused": lazy_gettext("recusal from this application"),
}
RECUSED = ("recused", "voided")


def domain_of(email: str | None) -> str:
    return (email or "").rsplit("@", 1)[-1].strip().lower() if "@" in (email or "") else ""


def clean_domain(value: str) -> str:
    """A domain as stored and compared: "@LU.lv", "https://www.lu.lv/" and "lu.lv" are all "lu.lv"."""
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.split("/", 1)[0].lstrip("@").removeprefix("www.")
    return value


def counts(domain: str) -> bool:
    """May this domain tie anybody to an organisation (a real domain, not a public mail provider)?"""
    return bool(domain) and "." in domain and domain not in PUBLIC_MAIL_DOMAINS


@dataclass(frozen=True)
class Conflict:
    evaluator_id: int
    organisation_id: int
    source: str  # a key of SOURCE_LABELS
    detail: str = ""  # the domain(s), the affiliation's text, or the recorded reason
    at: datetime | None = None  # when it was recorded (None: derived from addresses that have no one date)
    named_by_id: int | None = None
    application_id: int | None = None  # only for "recused": the application it concerns

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])

    @property
    def reason(self) -> str:
        """Why, in the current language (read when shown: the protocol renders in the call's language)."""
        if self.source == "organisation":
            return _("The evaluator belongs to the applicant organisation.")
        if self.source == "affiliation":
            return _("The evaluator is affiliated with the organisation.")
        if self.source == "domain":
            return _("The evaluator's e-mail domain %(domain)s is also the e-mail domain of the organisation or of "
                     "one of its members.", domain=self.detail)
        if self.source == "recused":
            return _("The evaluator recused from this application, or their review of it was voided.")
        return self.detail or _("A conflict of interest is recorded for this evaluator and organisation.")


def known(evaluators, organisations) -> dict[tuple[int, int], list[Conflict]]:
    """Every known conflict between the evaluators and the organisations (objects), keyed by (evaluator id,
    organisation id), each list in a fixed order: organisation, affiliation, domain, then recorded ones by time."""
    evaluators = [e for e in evaluators if e is not None]
    organisations = {o.id: o for o in organisations if o is not None}
    found: dict[tuple[int, int], list[Conflict]] = defaultdict(list)
    if not evaluators or not organisations:
        return found
    evaluator_ids = [e.id for e in evaluators]
    organisation_domains: dict[int, set[str]] = {oid: {domain_of(o.email)} for oid, o in organisations.items()}
    for organisation_id, email in db.session.execute(select(User.organisation_id, User.email).where(
            User.organisation_id.in_(list(organisations)), User.pseudonymised_at.is_(None))):
        organisation_domains[organisation_id].add(domain_of(email))
    organisation_domains = {oid: {d for d in domains if counts(d)} for oid, domains in organisation_domains.items()}
    affiliations = defaultdict(list)
    for affiliation in db.session.scalars(select(EvaluatorAffiliation).where(
            EvaluatorAffiliation.evaluator_id.in_(evaluator_ids)).order_by(EvaluatorAffiliation.id)):
        affiliations[affiliation.evaluator_id].append(affiliation)
    for evaluator in evaluators:
        domains = {domain_of(evaluator.email)} | {a.domain for a in affiliations[evaluator.id] if a.kind == "domain"}
        domains = {d for d in domains if counts(d)}
        tied = {a.organisation_id: a for a in affiliations[evaluator.id] if a.kind == "organisation"}
        for organisation_id in organisations:
            key = (evaluator.id, organisation_id)
            if evaluator.organisation_id == organisation_id:
                found[key].append(Conflict(evaluator.id, organisation_id, "organisation"))
            if organisation_id in tied:
                found[key].append(Conflict(evaluator.id, organisation_id, "affiliation",
                                           at=tied[organisation_id].created_at))
            shared = domains & organisation_domains[organisation_id]
            if shared:
                found[key].append(Conflict(evaluator.id, organisation_id, "domain", ", ".join(sorted(shared))))
    for row in db.session.scalars(select(ConflictOfInterest).where(
            ConflictOfInterest.evaluator_id.in_(evaluator_ids),
            ConflictOfInterest.organisation_id.in_(list(organisations))).order_by(ConflictOfInterest.id)):
        found[(row.evaluator_id, row.organisation_id)].append(Conflict(
            row.evaluator_id, row.organisation_id, row.source, row.note or "", row.created_at, row.named_by_id))
    return found


def _organisations(ids) -> list[Organisation]:
    """The organisations, in one query (a list page must not load them one by one)."""
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(list(ids) or [-1]))))


def _recused(evaluator_ids, application_ids) -> set[tuple[int, int]]:
    return set(db.session.execute(select(Assignment.evaluator_id, Assignment.application_id).where(
        Assignment.evaluator_id.in_(list(evaluator_ids)), Assignment.application_id.in_(list(application_ids)),
        Assignment.status.in_(RECUSED))).all())


def conflicts_of(evaluator: User, application: Application) -> list[Conflict]:
    """Every known conflict of `evaluator` with `application` (its organisation, and a recusal from it)."""
    found = list(known([evaluator], [application.organisation]).get((evaluator.id, application.organisation_id), []))
    if (evaluator.id, application.id) in _recused([evaluator.id], [application.id]):
        found.append(Conflict(evaluator.id, application.organisation_id, "recused", application_id=application.id))
    return found


def reason(evaluator: User, application: Application) -> str | None:
    """The first known conflict's reason, or None: an evaluator with a reason is never assigned the application
    and sees nothing of it."""
    found = conflicts_of(evaluator, application)
    return found[0].reason if found else None


def conflicted_application_ids(evaluator: User, applications) -> set[int]:
    """The applications (of many) the evaluator has a known conflict with, in a fixed number of queries."""
    applications = list(applications)
    if not applications:
        return set()
    pairs = known([evaluator], _organisations({a.organisation_id for a in applications}))
    recused = _recused([evaluator.id], [a.id for a in applications])
    return {a.id for a in applications if pairs.get((evaluator.id, a.organisation_id))
            or (evaluator.id, a.id) in recused}


def conflicted_evaluator_ids(evaluators, application: Application) -> set[int]:
    """The evaluators (of many) with a known conflict with the application."""
    evaluators = list(evaluators)
    if not evaluators:
        return set()
    pairs = known(evaluators, [application.organisation])
    recused = _recused([e.id for e in evaluators], [application.id])
    return {e.id for e in evaluators if pairs.get((e.id, application.organisation_id))
            or (e.id, application.id) in recused}


# --- conflicts named by the NGO ------------------------------------------------------------------------------------

NAMING_STATES = ("draft", "submitted", "clarification", "eligible")
REASON_LIMIT = 1000


def naming_problem(application: Application) -> str | None:
    """Why the NGO may not name a conflicted evaluator for this application now, or None: while drafting or after
    submitting, until the first evaluator is assigned."""
    if application.status not in NAMING_STATES:
        return _("Conflicts of interest can be named only until the application is given to evaluators.")
    if db.session.scalar(select(Assignment.id).where(Assignment.application_id == application.id).limit(1)):
        return _("Evaluators have been assigned already: conflicts of interest can no longer be named here. "
                 "Write to the call's administrator.")
    return None


def named_by_organisation(organisation_id: int) -> list[ConflictOfInterest]:
    return list(db.session.scalars(select(ConflictOfInterest).where(
        ConflictOfInterest.organisation_id == organisation_id, ConflictOfInterest.source == "applicant")
        .order_by(ConflictOfInterest.id)))


def nameable(application: Application) -> list[User]:
    """The evaluators of the call's pool the NGO may name (those it has not named yet), by name: the page shows
    names only, never an address."""
    from app.services import evaluators as evaluator_pool

    named = {c.evaluator_id for c in named_by_organisation(application.organisation_id)}
    return sorted((e for e in evaluator_pool.pool(application.call) if e.id not in named),
                  key=lambda e: (e.name, e.id))


def name_conflict(application: Application, member: User, evaluator_id: int, note: str) -> ConflictOfInterest:
    """The NGO names an evaluator of the call's pool it considers conflicted, with its reason: from now on that
    evaluator is never assigned any application of the organisation. Refused, nothing written, otherwise."""
    from app.services import audit

    problem = naming_problem(application)
    if problem:
        raise Refused(problem)
    note = (note or "").strip()
    if not note:
        raise Refused(_("Write why you consider this evaluator conflicted."))
    if len(note) > REASON_LIMIT:
        raise Refused(_("The reason is too long: at most %(limit)s characters.", limit=REASON_LIMIT))
    organisation = db.session.scalars(select(Organisation).where(Organisation.id == application.organisation_id)
                                      .with_for_update().execution_options(populate_existing=True)).one()
    evaluator = next((e for e in nameable(application) if e.id == evaluator_id), None)
    if evaluator is None:
        raise Refused(_("Choose an evaluator from the list."))
    conflict = ConflictOfInterest(evaluator_id=evaluator.id, organisation_id=organisation.id, source="applicant",
                                  note=note, named_by_id=member.id, created_at=clock.now())
    db.session.add(conflict)
    db.session.flush()
    audit.record("organisation", organisation.id, "name_conflict", "registered", "registered", member.id,
                 data={"conflict": conflict.id, "evaluator": evaluator.id, "application": application.id})
    return conflict


# --- the register ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterRow:
    """One line of a call's conflict register."""

    evaluator: str
    organisation: str
    application: str  # its number (or title while it has none)
    source: str  # the label
    reason: str
    at: datetime | None
    assigned: bool  # does the evaluator hold a live assignment of it (a conflict surfaced late: reassign)
    source_key: str = ""


def conflict_register(call: Call) -> list[RegisterRow]:
    """Every known conflict relevant to the call's applications (all but drafts): between each application's
    organisation and every evaluator of the call's pool, every evaluator who ever had one of its applications, and
    every evaluator with a recorded conflict with one of its organisations. Ordered by application, evaluator."""
    from app.services import evaluators as evaluator_pool  # the pool reads the conflicts' neighbour, not the rules

    applications = list(db.session.scalars(select(Application).where(
        Application.call_id == call.id, Application.status != "draft").order_by(Application.number, Application.id)))
    if not applications:
        return []
    organisations = _organisations({a.organisation_id for a in applications})
    names = {o.id: o.name for o in organisations}
    candidates = {e.id: e for e in evaluator_pool.pool(call)}
    for evaluator in db.session.scalars(select(User).where(User.id.in_(
            select(Assignment.evaluator_id).where(Assignment.application_id.in_([a.id for a in applications]))))):
        candidates[evaluator.id] = evaluator
    for evaluator in db.session.scalars(select(User).where(User.id.in_(
            select(ConflictOfInterest.evaluator_id).where(
                ConflictOfInterest.organisation_id.in_([o.id for o in organisations]))))):
        candidates[evaluator.id] = evaluator
    pairs = known(candidates.values(), organisations)
    recused = _recused(candidates, [a.id for a in applications])
    live = set(db.session.execute(select(Assignment.evaluator_id, Assignment.application_id).where(
        Assignment.application_id.in_([a.id for a in applications]),
        Assignment.status.in_(("assigned", "accepted", "submitted")))).all())
    rows = []
    for application in applications:
        label = application.number or application.title
        for evaluator in sorted(candidates.values(), key=lambda e: (e.name, e.id)):
            found = list(pairs.get((evaluator.id, application.organisation_id), []))
            # a recusal or a voided review records its conflict (evaluator, admin): one row says it
            if (evaluator.id, application.id) in recused and not any(c.source in ("evaluator", "admin")
                                                                      for c in found):
                found.append(Conflict(evaluator.id, application.organisation_id, "recused",
                                      application_id=application.id))
            for conflict in found:
                rows.append(RegisterRow(evaluator=evaluator.name, organisation=names[application.organisation_id],
                                        application=label, source=conflict.source_label, reason=conflict.reason,
                                        at=conflict.at, assigned=(evaluator.id, application.id) in live,
                                        source_key=conflict.source))
    return rows



def evaluator_names(user_ids) -> dict[int, str]:
    """Names only (the NGO's page shows no address)."""
    ids = [i for i in user_ids if i is not None]
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids or [-1]))).all())


def register_rows(call: Call, lang: str) -> list[dict]:
    """The register as plain text in `lang` (the caller has forced that locale), for the frozen protocol."""
    from app import formatting

    return [{"evaluator": r.evaluator, "organisation": r.organisation, "application": r.application,
             "source": r.source, "reason": r.reason, "at": formatting.moment(r.at, lang) if r.at else "—"}
            for r in conflict_register(call)]
