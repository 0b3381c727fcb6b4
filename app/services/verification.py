"""Re-checking a call's result: the ranking recomputed from what is stored, compared with what was recorded.

`verify(call)` recomputes the ranking of the applications the confirmed protocol ranked, from their stored scores,
amounts and the call's rules (`scoring.compute`), and compares, in this order:
1. the recomputation with the protocol's stored rows, application by application;
2. the decisions published from the protocol with its rows, and every later decision (a promotion from the
   reserve list, a re-ranking after an upheld appeal) with its override in the audit trail;
3. the hash of the ranking's inputs now with the one the protocol stored at confirmation;
4. the call's settings with the definition hash frozen at announcement (the rules the recomputation used).
The first difference is named in plain words: which application, what the record says, what the recomputation
says. `flask --app wsgi ranking verify CALL` and the "Re-check the result" page both show this result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app import formatting
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, Decision, RankingProtocol
from app.services import calls, protocols, scoring
from workflows.application import APPLICATION

RANKING, DECISIONS, INPUTS, DEFINITION = "ranking", "decisions", "inputs", "definition"
# The facts of a protocol row, in the order a difference is looked for.
ROW_FIELDS = ("decision", "rank", "passed", "failures", "total", "weighted_total", "tie_broken_by", "amount_cents")
# An admin's decision after publishing, each with its justification in the audit trail (DESIGN 3, "override").
OVERRIDE_OUTCOME = {"promote": "funded", "fund": "funded", "reserve": "reserve", "reject": "rejected"}


@dataclass(frozen=True)
class Check:
    name: str  # RANKING, DECISIONS, INPUTS or DEFINITION
    title: str
    agrees: bool
    compared: str  # what was compared, e.g. "6 applications"
    difference: str | None = None  # the first difference, in plain words
    note: str | None = None  # what the check could not cover


@dataclass(frozen=True)
class Verification:
    call: Call
    protocol: RankingProtocol | None
    checks: tuple[Check, ...] = field(default_factory=tuple)
    problem: str | None = None  # why nothing could be compared (no confirmed protocol)

    @property
    def ok(self) -> bool:
        return self.problem is None and all(c.agrees for c in self.checks)

    @property
    def first_difference(self) -> str | None:
        if self.problem:
            return self.problem
        return next((c.difference for c in self.checks if not c.agrees), None)

    def lines(self) -> list[str]:
        """The result as the command prints it."""
        lang = formatting.current_lang()
        head = _("Call %(code)s", code=self.call.code)
        if self.protocol is not None:
            head += " · " + _("protocol confirmed %(moment)s", moment=formatting.moment(self.protocol.confirmed_at,
                                                                                         lang))
        found = [head]
        for check in self.checks:
            found.append(f"  {_('agrees') if check.agrees else _('differs')}: {check.title} ({check.compared})")
            if check.note:
                found.append(f"    {check.note}")
        if self.ok:
            found.append(_("All checks agree."))
        else:
            found.append(_("First difference: %(difference)s", difference=self.first_difference))
        return found


def find_call(reference: str) -> Call | None:
    """A call by its id or its code."""
    if reference.isdigit():
        found = db.session.get(Call, int(reference))
        if found is not None:
            return found
    return db.session.scalar(select(Call).where(Call.code == reference))


def verify(call: Call) -> Verification:
    protocol = calls.latest_protocol(call)
    if protocol is None:
        return Verification(call, None, problem=_("No ranking has been confirmed for this call: there is no "
                                                  "protocol to re-check."))
    ids = [row["application_id"] for row in protocol.ranking]
    applications = {a.id: a for a in db.session.scalars(select(Application).where(Application.id.in_(ids or [-1])))}
    return Verification(call, protocol, (
        _ranking_check(call, protocol, applications),
        _decisions_check(call, protocol, applications),
        _inputs_check(call, protocol, ids),
        _definition_check(call),
    ))


# --- 1. the ranking recomputed -------------------------------------------------------------------------------

def _ranking_check(call: Call, protocol: RankingProtocol, applications: dict[int, Application]) -> Check:
    title = _("The ranking recomputed from the stored scores, amounts and rules")
    compared = _applications_compared(len(protocol.ranking))
    try:
        recomputed = {row["application_id"]: row for row in protocols.stored_rows(
            scoring.compute(call, application_ids=list(applications)))}
    except ValueError as problem:  # the stored rules no longer make sense (e.g. a tie-break key naming nothing)
        return Check(RANKING, title, False, compared, _("The ranking cannot be recomputed: %(problem)s",
                                                        problem=str(problem)))
    for row in protocol.ranking:
        application = applications.get(row["application_id"])
        if application is None:
            return Check(RANKING, title, False, compared, _(
                "Application no. %(id)s of the protocol is no longer stored.", id=row["application_id"]))
        again = recomputed[application.id]
        key = _first_differing(row, again)
        if key is not None:
            words = _("Application %(number)s: the protocol says %(protocol)s; the recomputation says "
                      "%(recomputed)s.", number=application.number, protocol=_value_words(call, key, row),
                      recomputed=_value_words(call, key, again))
            again_reviewed = _resubmitted_after(list(applications.values()), protocol)
            if again_reviewed:  # an upheld appeal: the protocol holds the scores before it, the database today's
                words += " " + _("Reviews of %(numbers)s were submitted again after the protocol was confirmed "
                                 "(the last on %(moment)s).",
                                 numbers=", ".join(a.number for a, _at in again_reviewed),
                                 moment=formatting.moment(max(at for _a, at in again_reviewed),
                                                          formatting.current_lang()))
            return Check(RANKING, title, False, compared, words)
    return Check(RANKING, title, True, compared)


def _first_differing(recorded: dict, again: dict) -> str | None:
    """The first field of the recorded row the recomputation does not reproduce. Only the ranking's facts are
    compared: a row's other fields, if any, explain them (in the words of the language it was stored in)."""
    for key in ROW_FIELDS:
        if key not in recorded or key not in again:
            continue
        if key in ("total", "weighted_total"):
            if Fraction(recorded[key]) != Fraction(again[key]):
                return key
        elif recorded[key] != again[key]:
            return key
    return None


def _value_words(call: Call, key: str, row: dict) -> str:
    lang = formatting.current_lang()
    value = row[key]
    if key == "decision":
        return _("decision: %(decision)s", decision=APPLICATION.label(value, lang))
    if key == "rank":
        return _("rank %(rank)s", rank=value) if value is not None else _("no rank (does not pass)")
    if key == "passed":
        return _("passes") if value else _("fails")
    if key == "failures":
        return (_("fails: %(reasons)s", reasons="; ".join(protocols.failure_words(f, call) for f in value))
                if value else _("no reason to fail"))
    if key == "total":
        return _("total %(points)s points", points=formatting.points(Fraction(value), lang))
    if key == "weighted_total":
        return _("weighted total %(points)s points", points=formatting.points(Fraction(value), lang))
    if key == "tie_broken_by":
        return _("tie broken by %(key)s", key=protocols.tie_words(value)) if value else _("no tie to break")
    if key == "amount_cents":
        return _("amount %(amount)s", amount=formatting.money(value, lang))
    return f"{key} {value}"


def _resubmitted_after(applications: list[Application], protocol: RankingProtocol) -> list[tuple]:
    """(application, when) for each application whose reviews were last submitted after the protocol was
    confirmed (an appeal upheld on scoring grounds reopens them), in number order."""
    latest = dict(db.session.execute(
        select(Assignment.application_id, db.func.max(Assignment.submitted_at))
        .where(Assignment.application_id.in_([a.id for a in applications] or [-1]), Assignment.status == "submitted")
        .group_by(Assignment.application_id)).all())
    return sorted(((a, latest[a.id]) for a in applications
                   if latest.get(a.id) is not None and latest[a.id] > protocol.confirmed_at),
                  key=lambda pair: pair[0].number or "")


# --- 2. the published decisions and the overrides --------------------------------------------------------------

def _decisions_check(call: Call, protocol: RankingProtocol, applications: dict[int, Application]) -> Check:
    title = _("The published decisions and the overrides after them")
    history: dict[int, list[Decision]] = {}
    for decision in db.session.scalars(select(Decision).where(Decision.application_id.in_(list(applications) or [-1]))
                                       .order_by(Decision.id)):
        history.setdefault(decision.application_id, []).append(decision)
    if not any(d.protocol_id == protocol.id for found in history.values() for d in found):
        return Check(DECISIONS, title, True, _("not yet published"),
                     note=_("No decision has been published from this protocol yet."))
    overrides = _override_events(list(applications))
    counted = 0
    for row in protocol.ranking:
        application = applications[row["application_id"]]
        found = history.get(application.id, [])
        published = next((d for d in found if d.protocol_id == protocol.id), None)
        if published is None:
            return Check(DECISIONS, title, False, "", _(
                "Application %(number)s: the protocol says %(protocol)s, but no decision was published from it.",
                number=application.number, protocol=_value_words(call, "decision", row)))
        difference = _published_difference(call, application, row, published)
        if difference:
            return Check(DECISIONS, title, False, "", difference)
        later = found[found.index(published) + 1:]
        difference = _overrides_difference(application, later, overrides.get(application.id, []))
        if difference:
            return Check(DECISIONS, title, False, "", difference)
        current = [d for d in found if d.current]
        if current and current[-1] is not found[-1]:
            return Check(DECISIONS, title, False, "", _(
                "Application %(number)s: its current decision is not its latest one.", number=application.number))
        counted += len(later)
    return Check(DECISIONS, title, True, _applications_compared(len(protocol.ranking)) + "; " + _(
        "overrides after publishing: %(n)s", n=counted))


def _applications_compared(n: int) -> str:
    return ngettext("%(num)s application", "%(num)s applications", n)


def _published_difference(call: Call, application: Application, row: dict, published: Decision) -> str | None:
    """The first field in which the decision published from the protocol is not the protocol's row."""
    stored = {"decision": published.outcome, "rank": published.rank, "failures": list(published.failures or []),
              "total": published.total, "weighted_total": published.weighted_total,
              "tie_broken_by": published.tie_broken_by,
              "amount_cents": published.amount_cents}
    expected = {"decision": row["decision"], "rank": row["rank"], "failures": list(row["failures"]),
                "total": row["total"], "weighted_total": row["weighted_total"], "tie_broken_by": row["tie_broken_by"],
                "amount_cents": row["amount_cents"] if row["decision"] == "funded" else 0}
    key = _first_differing(expected, stored)
    if key is None and not published.override_justification:
        return None
    if key is None:
        return _("Application %(number)s: the decision published from the protocol carries an override "
                 "justification that no step of the process wrote.", number=application.number)
    return _("Application %(number)s: the protocol says %(protocol)s; the published decision says %(published)s.",
             number=application.number, protocol=_value_words(call, key, expected),
             published=_value_words(call, key, stored))


def _override_events(application_ids: list[int]) -> dict[int, list[AuditEvent]]:
    """Each application's overrides after publishing as the audit trail recorded them: an admin's promotion or
    re-ranking, with the justification as its note."""
    found: dict[int, list[AuditEvent]] = {}
    for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "application", AuditEvent.entity_id.in_(application_ids or [-1]),
            AuditEvent.trigger.in_(list(OVERRIDE_OUTCOME)), AuditEvent.actor_id.is_not(None)).order_by(AuditEvent.id)):
        found.setdefault(event.entity_id, []).append(event)
    return found


def _overrides_difference(application: Application, later: list[Decision], events: list[AuditEvent]) -> str | None:
    """Every decision after the published one is an override the audit trail records, one for one: the same
    outcome, the same justification, and for a grant the application's amount."""
    lang = formatting.current_lang()
    for index, decision in enumerate(later):
        if index >= len(events):
            return _("Application %(number)s: a later decision (%(decision)s, %(amount)s) has no override in the "
                     "audit trail.", number=application.number, decision=APPLICATION.label(decision.outcome, lang),
                     amount=formatting.money(decision.amount_cents, lang))
        event = events[index]
        recorded = OVERRIDE_OUTCOME[event.trigger]
        amount = application.amount_cents if recorded == "funded" else 0
        if decision.outcome != recorded or decision.amount_cents != amount:
            return _("Application %(number)s: the override in the audit trail (%(moment)s) says %(recorded)s, "
                     "%(amount)s; the stored decision says %(stored)s, %(stored_amount)s.",
                     number=application.number, moment=formatting.moment(event.occurred_at, lang),
                     recorded=APPLICATION.label(recorded, lang), amount=formatting.money(amount, lang),
                     stored=APPLICATION.label(decision.outcome, lang),
                     stored_amount=formatting.money(decision.amount_cents, lang))
        if (decision.override_justification or "") != (event.note or ""):
            return _("Application %(number)s: the justification of its override (%(moment)s) is not the one the "
                     "audit trail recorded.", number=application.number,
                     moment=formatting.moment(event.occurred_at, lang))
    if len(events) > len(later):
        return _("Application %(number)s: the audit trail records an override (%(moment)s) that no stored decision "
                 "holds.", number=application.number, moment=formatting.moment(events[len(later)].occurred_at, lang))
    return None


# --- 3. and 4. the hashes ---------------------------------------------------------------------------------------

def _inputs_check(call: Call, protocol: RankingProtocol, ids: list[int]) -> Check:
    title = _("The input hash stored with the protocol")
    now = scoring.inputs_hash(call, application_ids=ids)
    if now == protocol.inputs_sha256:
        return Check(INPUTS, title, True, f"SHA-256 {now[:16]}…")
    return Check(INPUTS, title, False, f"SHA-256 {protocol.inputs_sha256[:16]}…", _(
        "The protocol's input hash is %(recorded)s…, but the stored scores, amounts and rules now hash to "
        "%(now)s…: something the ranking depends on changed after the protocol was confirmed.",
        recorded=protocol.inputs_sha256[:16], now=now[:16]))


def _definition_check(call: Call) -> Check:
    title = _("The call's rules as frozen at announcement")
    compared = f"SHA-256 {(call.definition_sha256 or '')[:16]}…"
    match = calls.frozen_definition_matches(call)
    if match == "current":
        return Check(DEFINITION, title, True, compared)
    if match == "legacy":
        return Check(DEFINITION, title, True, compared, note=_(
            "Frozen before the evaluators per application and the divergence threshold and policy were hashed: "
            "those settings are not covered."))
    return Check(DEFINITION, title, False, compared, _(
        "The call's settings (criteria, pass mark, tie-break keys, allocation, budget or divergence) are no "
        "longer those frozen when it was announced."))
