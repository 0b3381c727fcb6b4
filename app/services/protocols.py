"""The ranking as the commission protocol stores it, its rows as pages and the protocol show them, the words that
explain each placement, and the protocol itself: its number within the call, its frozen content, its documents.

One home for the explanations: `explain` reads a stored ranking and says, for every row, why it landed where it
did (pass or fail against the pass mark and each criterion minimum, with the figures; the key that broke a tie
with the row above, in words; where the budget ran out), the reserve list in order, and every override with its
justification and who made it. The ranking page shows it in the reader's language; the protocol freezes it in
both languages at confirmation, so the same protocol can be rendered later in the other language unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, Decision, RankingProtocol, User
from app.ranking import APPLICATION_ID, SUBMITTED_AT, Ranked
from app.services import conflicts

LANGUAGES = ("lv", "en")
# The language a call's protocol is written in: calls have no language setting, so the organiser's, Latvian.
PROTOCOL_LANGUAGE = "lv"
# The application moves by which an admin sets one result by hand, with a written justification (DESIGN 3).
OVERRIDE_TRIGGERS = ("fund", "reserve", "reject", "promote")


def stored_rows(ranked: list[Ranked]) -> list[dict]:
    """The ranking as `RankingProtocol.ranking` stores it (JSON; totals and criterion means as exact fractions
    written as text, so that a failure or a tie is explained with the figures the engine compared)."""
    return [{"application_id": r.application_id, "rank": r.rank, "decision": r.decision, "passed": r.passed,
             "failures": list(r.failures), "total": str(r.aggregate.total),
             "weighted_total": str(r.aggregate.weighted_total), "tie_broken_by": r.tie_broken_by,
             "amount_cents": r.amount_cents,
             "per_criterion": {code: None if mean is None else str(mean)
                               for code, mean in r.aggregate.per_criterion.items()}} for r in ranked]


@dataclass(frozen=True)
class RankingRow:
    """One application's line of a ranking, read back from its stored form, with its explanation."""

    application: Application  # with its organisation loaded
    rank: int | None
    decision: str
    passed: bool
    failures: tuple[str, ...]  # "total_below_pass_mark", "minimum:<criterion code>"
    total: Fraction
    weighted_total: Fraction
    tie_broken_by: str | None  # the key that broke a tie with the row above
    amount_cents: int
    failure_words: tuple[str, ...]  # each failure in the reader's language, with the figures
    tie_words: str  # the key that broke the tie, in words ("earlier submission"); "" when there was no tie
    placement: str  # pass or fail, and why
    tie: str  # the tie with the row above and how it was broken, in a sentence; "" when there was none
    allocation: str  # what the budget did with it
    line_before: bool  # the allocation line (where the budget ran out) is drawn above this row


@dataclass(frozen=True)
class Override:
    number: str
    organisation: str
    outcome: str
    justification: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Explanation:
    rows: list[RankingRow]
    allocation_line: str  # where the budget ran out and what remained
    reserve: list[RankingRow]  # the reserve list in order
    funded_cents: int
    remaining_cents: int
    overrides: list[Override]


# --- words ------------------------------------------------------------------------------------------------------

def _points(value, lang: str) -> str:
    return formatting.points(value, lang)


def failure_words(failure: str, call: Call, row: dict | None = None, lang: str | None = None) -> str:
    """Why an aggregate does not pass (a code of `ranking.pass_failures`), in the current language; with the row
    (a stored ranking row), with the figures compared."""
    lang = lang or formatting.current_lang()
    mark = _points(call.pass_mark_half_points, lang)
    if failure == "total_below_pass_mark":
        if row is not None:
            return _("total %(total)s points, below the pass mark of %(mark)s points",
                     total=_points(Fraction(row["total"]), lang), mark=mark)
        return _("total below the pass mark of %(mark)s points", mark=mark)
    if failure.startswith("minimum:"):
        code = failure.split(":", 1)[1]
        criterion = next((c for c in call.criteria if c.code == code), None)
        minimum = _points(criterion.min_half_points, lang) if criterion and criterion.min_half_points else "—"
        mean = (row or {}).get("per_criterion", {}).get(code, "missing") if row is not None else "missing"
        if row is None or mean == "missing":
            return _("below the minimum on criterion %(code)s", code=code)
        if mean is None:
            return _("criterion %(code)s not scored, its minimum is %(minimum)s points", code=code, minimum=minimum)
        return _("criterion %(code)s: %(score)s points, below its minimum of %(minimum)s points",
                 code=code, score=_points(Fraction(mean), lang), minimum=minimum)
    return failure


def tie_words(key: str | None) -> str:
    """A tie-break key in words, never the key itself."""
    if not key:
        return ""
    if key == SUBMITTED_AT:
        return _("earlier submission")
    if key == APPLICATION_ID:
        return _("earlier registration in the system")
    return _("higher score in criterion %(code)s", code=key)


def _tie_sentence(row: dict, above: dict, above_number: str, application: Application, above_app: Application,
                  lang: str) -> str:
    key = row["tie_broken_by"]
    shared = _points(Fraction(row["weighted_total"]), lang)
    if key == SUBMITTED_AT:
        how = _("%(number)s was submitted earlier (%(earlier)s, this one %(later)s)", number=above_number,
                earlier=formatting.moment(above_app.submitted_at, lang),
                later=formatting.moment(application.submitted_at, lang))
    elif key == APPLICATION_ID:
        how = _("%(number)s was registered in the system earlier", number=above_number)
    else:
        mine, theirs = row.get("per_criterion", {}).get(key), above.get("per_criterion", {}).get(key)
        how = _("%(number)s has a higher score in criterion %(code)s (%(higher)s against %(lower)s points)",
                number=above_number, code=key, higher=_points(Fraction(theirs) if theirs else None, lang),
                lower=_points(Fraction(mine) if mine else None, lang))
    return _("Tied with %(number)s at %(total)s weighted points; the tie was broken by %(key)s: %(how)s.",
             number=above_number, total=shared, key=tie_words(key), how=how)


def _placement(row: dict, call: Call, lang: str) -> str:
    if row["passed"]:
        return _("passes: %(total)s points, at least the pass mark of %(mark)s, and every criterion minimum met",
                 total=_points(Fraction(row["total"]), lang), mark=_points(call.pass_mark_half_points, lang))
    return _("fails: %(reasons)s", reasons="; ".join(failure_words(f, call, row, lang) for f in row["failures"]))


# --- the explanation of one stored ranking ---------------------------------------------------------------------

def ranking_rows(call: Call, stored: list[dict]) -> list[RankingRow]:
    """The rows of a stored (or just computed, see `stored_rows`) ranking, in its order, with their applications
    loaded in one query: the one reading of a ranking, for the ranking page and the protocol alike."""
    return explain(call, stored).rows


def explain(call: Call, stored: list[dict], *, overrides_until: datetime | None = None,
            lang: str | None = None) -> Explanation:
    """Every placement of a stored ranking in words, in the current language (formatted for `lang`)."""
    lang = lang or formatting.current_lang()
    found = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_([r["application_id"] for r in stored] or [-1]))
        .options(joinedload(Application.organisation)))}
    remaining, stopped_at, line_drawn = call.budget_cents, None, False
    allocation: dict[int, str] = {}
    line_before: set[int] = set()
    by_rank = sorted((r for r in stored if r["passed"]), key=lambda r: r["rank"])
    for r in by_rank:
        amount = formatting.money(r["amount_cents"], lang)
        if r["decision"] == "funded":
            remaining -= r["amount_cents"]
            allocation[r["application_id"]] = _(
                "funded: %(amount)s within the budget; %(left)s remain after it",
                amount=amount, left=formatting.money(remaining, lang))
            continue
        if not line_drawn:
            line_before.add(r["application_id"])
            line_drawn = True
        if stopped_at is not None:
            allocation[r["application_id"]] = _(
                "reserve: funding stopped at rank %(rank)s, the first application the budget did not cover",
                rank=stopped_at)
        elif call.allocation_policy == "strict":
            stopped_at = r["rank"]
            allocation[r["application_id"]] = _(
                "reserve: the remaining %(left)s does not cover %(amount)s; funding stops here, and every application "
                "below goes to the reserve list",
                left=formatting.money(remaining, lang), amount=amount)
        else:
            allocation[r["application_id"]] = _(
                "reserve: the remaining %(left)s does not cover %(amount)s; it is passed over, and later applications "
                "that fit are funded", left=formatting.money(remaining, lang), amount=amount)
    rows, above = [], None
    for r in stored:
        application = found[r["application_id"]]
        tie = ""
        if r["tie_broken_by"] and above is not None:
            tie = _tie_sentence(r, above, found[above["application_id"]].number, application,
                                found[above["application_id"]], lang)
        rows.append(RankingRow(
            application=application, rank=r["rank"], decision=r["decision"], passed=r["passed"],
            failures=tuple(r["failures"]), total=Fraction(r["total"]), weighted_total=Fraction(r["weighted_total"]),
            tie_broken_by=r["tie_broken_by"], amount_cents=r["amount_cents"],
            failure_words=tuple(failure_words(f, call, r, lang) for f in r["failures"]),
            tie_words=tie_words(r["tie_broken_by"]), placement=_placement(r, call, lang), tie=tie,
            allocation=allocation.get(r["application_id"], _("not ranked: it does not pass")),
            line_before=r["application_id"] in line_before))
        above = r if r["passed"] else above
    funded = sum(r.amount_cents for r in rows if r.decision == "funded")
    return Explanation(rows=rows, allocation_line=_allocation_line(call, rows, funded, lang),
                       reserve=sorted((r for r in rows if r.decision == "reserve"), key=lambda r: r.rank),
                       funded_cents=funded, remaining_cents=call.budget_cents - funded,
                       overrides=overrides(call, until=overrides_until))


def _allocation_line(call: Call, rows: list[RankingRow], funded: int, lang: str) -> str:
    budget, left = formatting.money(call.budget_cents, lang), formatting.money(call.budget_cents - funded, lang)
    first_out = next((r for r in rows if r.line_before), None)
    if first_out is None:
        return _("The budget of %(budget)s covers every passing application: %(funded)s awarded, %(left)s remain "
                 "unallocated.", budget=budget, funded=formatting.money(funded, lang), left=left)
    last_in = [r for r in rows if r.decision == "funded" and r.rank < first_out.rank]
    return _("The budget of %(budget)s runs out at rank %(rank)s (%(number)s, %(amount)s): %(remaining)s remained "
             "after rank %(last)s. Awarded in total %(funded)s; %(left)s remain unallocated.",
             budget=budget, rank=first_out.rank, number=first_out.application.number,
             amount=formatting.money(first_out.amount_cents, lang),
             remaining=formatting.money(call.budget_cents - sum(r.amount_cents for r in last_in), lang),
             last=last_in[-1].rank if last_in else "—", funded=formatting.money(funded, lang), left=left)


def overrides(call: Call, *, until: datetime | None = None) -> list[Override]:
    """Every result of the call's applications that an admin set by hand, with its justification and who set it
    (the admin of the audit event that recorded it), in the order they were made; only those made by `until`."""
    query = (select(Decision, Application).join(Application, Application.id == Decision.application_id)
             .where(Application.call_id == call.id, Decision.override_justification.is_not(None))
             .options(joinedload(Application.organisation)).order_by(Decision.decided_at, Decision.id))
    if until is not None:
        query = query.where(Decision.decided_at <= until)
    found = db.session.execute(query).all()
    events = db.session.execute(
        select(AuditEvent.entity_id, AuditEvent.note, AuditEvent.to_state, User.name)
        .join(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.entity_type == "application", AuditEvent.trigger.in_(OVERRIDE_TRIGGERS),
               AuditEvent.entity_id.in_([a.id for _d, a in found] or [-1])).order_by(AuditEvent.id)).all()
    by = {(entity_id, note, state): name for entity_id, note, state, name in events}
    return [Override(number=a.number, organisation=a.organisation.name, outcome=d.outcome,
                     justification=d.override_justification,
                     by=by.get((a.id, d.override_justification, d.outcome), "—"), at=d.decided_at)
            for d, a in found]


# --- the protocol ------------------------------------------------------------------------------------------------

def next_number(call: Call) -> int:
    """The call's next protocol number. Called by `confirm_ranking`'s effect, which runs under the call's row lock
    (workflow.fire locks the entity it moves; SQLite's BEGIN IMMEDIATE holds the write lock): two confirmations of
    one call take their numbers one after the other, and the unique (call, number) pair refuses a duplicate."""
    last = db.session.scalar(select(func.max(RankingProtocol.number)).where(RankingProtocol.call_id == call.id))
    return (last or 0) + 1


def store(call: Call, actor: User, now: datetime) -> RankingProtocol:
    """`confirm_ranking`'s effect: the protocol with its number, its ranking and inputs hash, its document queued."""
    from app.services import jobs, scoring

    protocol = RankingProtocol(call_id=call.id, number=next_number(call), confirmed_by=actor.id, confirmed_at=now,
                               inputs_sha256=scoring.inputs_hash(call), ranking=stored_rows(scoring.compute(call)))
    db.session.add(protocol)
    db.session.flush()
    document = jobs.queue_document("protocol", "call", call.id, PROTOCOL_LANGUAGE, protocol_context(call, protocol),
                                   filename(call, protocol, PROTOCOL_LANGUAGE))
    protocol.document_id = document.id
    return protocol


def filename(call: Call, protocol: RankingProtocol, lang: str) -> str:
    stem = f"{call.code}-protokols-{protocol.number}"
    return f"{stem}.pdf" if lang == PROTOCOL_LANGUAGE else f"{stem}-{lang}.pdf"


def other_language(protocol: RankingProtocol) -> str:
    from app.models import Document

    main = db.session.get(Document, protocol.document_id)
    language = main.language if main is not None else PROTOCOL_LANGUAGE
    return next(lang for lang in LANGUAGES if lang != language)


def request_translation(call: Call, protocol: RankingProtocol, actor: User):
    """The same protocol as a second document in the other language: the frozen context of the first, rendered in
    the other language (both were written at confirmation). Asking again gives the document already queued."""
    from app.models import Document
    from app.services import jobs

    if protocol.call_id != call.id or protocol.document_id is None:
        raise Refused(_("There is no confirmed protocol to translate."))
    if protocol.translation_document_id is not None:
        return db.session.get(Document, protocol.translation_document_id)
    main = db.session.get(Document, protocol.document_id)
    lang = other_language(protocol)
    document = jobs.queue_document("protocol", "call", call.id, lang, main.context, filename(call, protocol, lang))
    protocol.translation_document_id = document.id
    return document


def protocol_context(call: Call, protocol: RankingProtocol) -> dict:
    """The protocol's frozen content: the same facts written in each language (`lv`, `en`), and what is the same in
    both. The template shows `content[lang]`; the document in the other language reuses this context as it is."""
    reviews = db.session.execute(
        select(Assignment.application_id, User.name).join(User, User.id == Assignment.evaluator_id)
        .where(Assignment.application_id.in_([r["application_id"] for r in protocol.ranking] or [-1]),
               Assignment.status == "submitted")
        .order_by(Assignment.application_id, Assignment.id)).all()
    evaluators: dict[int, list[str]] = {}
    for application_id, name in reviews:
        evaluators.setdefault(application_id, []).append(name)
    confirmed_by = db.session.get(User, protocol.confirmed_by)
    content = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            content[lang] = _content_in(call, protocol, evaluators, lang)
            content[lang]["conflicts"] = conflicts.register_rows(call, lang)  # the call's conflict register
            content[lang]["consensus_notes"] = _consensus_rows(call, lang)  # the evaluators' notes (issue 7)
    return {"number": protocol.number, "call_code": call.code, "inputs_sha256": protocol.inputs_sha256,
            "confirmed_by": confirmed_by.name if confirmed_by else "", "content": content}


def _consensus_rows(call: Call, lang: str) -> list[dict]:
    from app.services import reviews

    return [{"number": application.number, "text": note.text, "by": note.author.name,
             "at": formatting.moment(note.created_at, lang)}
            for application, notes in reviews.notes_of_call(call) for note in notes]


def _content_in(call: Call, protocol: RankingProtocol, evaluators: dict[int, list[str]], lang: str) -> dict:
    explained = explain(call, protocol.ranking, overrides_until=protocol.confirmed_at, lang=lang)
    money = lambda cents: formatting.money(cents, lang)  # noqa: E731
    rows = [{"rank": r.rank, "number": r.application.number, "title": r.application.title,
             "organisation": r.application.organisation.name, "total": _points(r.total, lang),
             "weighted_total": _points(r.weighted_total, lang), "decision": r.decision,
             "decision_words": _decision_words(r.decision), "amount": money(r.amount_cents),
             "placement": r.placement, "tie": r.tie, "tie_words": r.tie_words, "allocation": r.allocation,
             "line_before": r.line_before, "evaluators": evaluators.get(r.application.id, [])}
            for r in explained.rows]
    return {
        "call": {"title": call.title(lang), "organiser": call.organiser.name, "budget": money(call.budget_cents),
                 "pass_mark": _points(call.pass_mark_half_points, lang),
                 "minimums": [_("criterion %(code)s: at least %(minimum)s points", code=c.code,
                                minimum=_points(c.min_half_points, lang))
                              for c in call.criteria if c.min_half_points],
                 "allocation_policy": _policy_words(call.allocation_policy),
                 "tie_break_keys": [tie_words(k) for k in (call.tie_break_keys or [SUBMITTED_AT])]},
        "rows": rows, "funded_total": money(explained.funded_cents), "remaining": money(explained.remaining_cents),
        "allocation_line": explained.allocation_line,
        "reserve": [{"position": n, "rank": r.rank, "number": r.application.number,
                     "organisation": r.application.organisation.name, "amount": money(r.amount_cents)}
                    for n, r in enumerate(explained.reserve, start=1)],
        "overrides": [{"number": o.number, "organisation": o.organisation, "outcome": _decision_words(o.outcome),
                       "justification": o.justification, "by": o.by, "at": formatting.moment(o.at, lang)}
                      for o in explained.overrides],
        "confirmed_at": formatting.moment(protocol.confirmed_at, lang),
        "confirmed_on": formatting.day(protocol.confirmed_at, lang),
    }


def _decision_words(decision: str) -> str:
    return {"funded": _("Funded"), "reserve": _("Reserve list"), "rejected": _("Not funded"),
            "ineligible": _("Ineligible")}.get(decision, decision)


def _policy_words(policy: str) -> str:
    if policy == "strict":
        return _("funding stops at the first passing application that the remaining budget does not cover; it "
                 "and all below it go to the reserve list")
    return _("an application that the remaining budget does not cover goes to the reserve list, and later "
             "applications that fit are funded")
