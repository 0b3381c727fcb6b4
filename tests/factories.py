"""Builders for tests: a test names only what matters to it (Indico's factories habit).

Every builder works in the current application context (the `app` fixture pushes one), commits what it made, and
returns live ORM objects. Stateful records are never written with a state: calls and applications move only
through real fires (announce, the clock's catch_up, submit, record_checks, assign, declare, scores, submit_review,
start/finish evaluation, confirm, publish, accept, sign, ...), exactly as the views and `tick` move them.

    call = make_call(state="open")                         # draft, announced, open, closed, evaluation, ranking,
                                                           # awarded, reporting, completed, cancelled
    application = make_application(call, state="submitted")
    funded, reserve, rejected = make_applications(None, ["funded", "reserve", "rejected"])
    make_assignment("accepted"), make_report("submitted"), make_payment("scheduled"), make_recovery("demanded")
    admin_of(call), member_of(application), evaluators_of(application), settle_grant(application)

Times: "open" calls opened 10 days ago and close in 25 days; "closed" and later calls opened 60 days ago and closed
20 days ago. Applications are drafted and submitted inside the window, one second apart (the builder travels
there and back); every later move happens now. Every user's password is TEST_PASSWORD.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from stdnum.lv import pvn
from werkzeug.security import generate_password_hash

from app import clock
from app.extensions import db
from app.models import Application, Assignment, Call, Organisation, Organiser, Payment, Recovery, Report, User
from app.services import applications as application_service
from app.services import calls as call_service
from app.services import evaluation
from app.services import reporting as report_service
from app.services.workflow import catch_up, fire

TEST_PASSWORD = "pareiza-parole-2022"
_FAST_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")  # scrypt would cost ~0.1 s a user
IBAN = "LV80BANK0000435195001"
LUMP_SUM_CENTS = 460_000
BUDGETED_CENTS = 400_000
_numbers = itertools.count(1)

CALL_STATES = ("draft", "announced", "open", "closed", "evaluation", "ranking", "awarded", "reporting", "completed",
               "cancelled")
APPLICATION_STATES = ("draft", "submitted", "clarification", "eligible", "ineligible", "in_review", "reviewed",
                      "funded", "reserve", "rejected", "not_funded", "accepted", "declined", "contracted",
                      "terminated", "closed", "withdrawn", "appealed")
# The outcome the ranking must give an application on its way to each state.
OUTCOME_FOR = {"funded": "funded", "accepted": "funded", "declined": "funded", "contracted": "funded",
               "terminated": "funded", "closed": "funded", "reserve": "reserve", "not_funded": "reserve",
               "rejected": "rejected"}


def riga(year, month, day, hour=0, minute=0, second=0) -> datetime:
    """A wall-clock time in Riga, as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=clock.RIGA).astimezone(timezone.utc)


@contextmanager
def clock_at(moment: datetime):
    """Run the block at `moment`, then give the clock back as it was (frozen or running)."""
    before = clock._fixed  # the clock has no public getter for "is it frozen, and where"
    clock.travel_to(moment)
    try:
        yield
    finally:
        clock.travel_to(before)


def login_as(client, user) -> None:
    """Log `client` in as `user` by writing Flask-Login's session keys (the login form has its own tests)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()  # the id and the session version (app/services/accounts.py)
        session["_fresh"] = True
        session["two_factor_passed"] = user.id  # its second step passed (app/views/two_factor.py PASSED)


def enrol_two_factor(user) -> list[str]:
    """Turn two-factor sign-in on for `user` as the enrolment page does (a fresh secret, confirmed by its current
    code); the ten recovery codes. Flushes, does not commit."""
    from app.services import two_factor

    token = two_factor.new_secret_token()
    return two_factor.enable(user, token, totp_code(two_factor.reveal(token)))


def totp_code(secret: str, *, after_step: int | None = None) -> str:
    """The code an authenticator app with `secret` shows now (app.clock), or, when `after_step` (the user's last
    used step) is now or later, the code of the next step, which the server still accepts (one step of drift)."""
    import pyotp

    from app import clock
    from app.services import two_factor

    step = int(clock.now().timestamp()) // two_factor.STEP_SECONDS
    if after_step is not None and after_step >= step:
        step = after_step + 1
    return pyotp.TOTP(secret, interval=two_factor.STEP_SECONDS).at(step * two_factor.STEP_SECONDS)


def finish_sign_in(client, email: str) -> None:
    """After the login form's POST (a test client): what two-factor sign-in asks next, done as the user with the
    authenticator app would: the code step, or an admin's or auditor's enrolment at the first sign-in."""
    import re

    from app.services import two_factor

    with client.session_transaction() as session:
        pending, logged_in = "two_factor_pending" in session, "_user_id" in session
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if pending:
        response = client.post("/login/code", data={"code": user_totp_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)
    elif logged_in and two_factor.required_for(user) and not two_factor.enabled(user):
        page = client.get("/account/two-factor/setup").get_data(as_text=True)
        secret = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")
        response = client.post("/account/two-factor/setup", data={"code": totp_code(secret)})
        assert "recovery-codes" in response.get_data(as_text=True), response.get_data(as_text=True)


def user_totp_code(user) -> str:
    """The code that signs `user` (two-factor on) in now without being a replay."""
    from app.services import two_factor

    return totp_code(two_factor.secret_of(user), after_step=user.totp_last_step)


def confirmation_path(email: str) -> str:
    """The path of the link that the latest registration e-mail to `email` carries (what the NGO clicks)."""
    import re

    from app.models import Message

    db.session.expire_all()  # the registration was committed by a request in a session of its own
    body = db.session.scalars(select(Message.body_text).where(Message.recipient == email.strip().lower())
                              .order_by(Message.id.desc())).first()
    found = re.search(r"https?://[^/\s]+(/register/confirm/\S+)", body or "")
    assert found, f"no registration link was sent to {email}: {body!r}"
    return found.group(1)


def confirm_registration(client, email: str, **options):
    """Open the link the registration sent to `email` and press its button, as the NGO does; the response."""
    with client.application.app_context():
        path = confirmation_path(email)
    assert client.get(path).status_code == 200
    return client.post(path, **options)


def _commit(value):
    db.session.commit()
    return value


def _fire(entity, trigger, actor, note=None, **data):
    """Fire and commit, as one request would; roll back and re-raise when refused."""
    try:
        event = fire(entity, trigger, actor, note, **data)
        db.session.commit()
        return event
    except Exception:
        db.session.rollback()
        raise


# --- people ------------------------------------------------------------------------------------------------------

def registration_number(n: int | None = None) -> str:
    """A valid Latvian legal-entity registration number (checked by stdnum.lv.pvn), different for each n."""
    n = next(_numbers) if n is None else n
    for prefix in itertools.count(n * 10):
        for last in "0123456789":
            candidate = f"4{prefix % 10**9:09d}{last}"
            if pvn.is_valid(candidate):
                return candidate
    raise AssertionError("unreachable")


def make_organiser(name: str | None = None) -> Organiser:
    organiser = Organiser(name=name or f"Testa novada pašvaldība {next(_numbers)}")
    db.session.add(organiser)
    return _commit(organiser)


def make_organisation(name: str | None = None, *, registration: str | None = None, email: str | None = None,
                      legal_form: str = "biedriba", iban: str = IBAN,
                      municipality: str | None = "Jelgavas novads") -> Organisation:
    n = next(_numbers)
    organisation = Organisation(name=name or f"Biedrība „Jauniešu iniciatīva {n}”",
                                registration_number=registration or registration_number(n), legal_form=legal_form,
                                iban=iban, email=email or f"info@biedriba-{n}.example.lv", address=f"Rīgas iela {n}",
                                municipality=municipality)
    db.session.add(organisation)
    return _commit(organisation)


def make_user(role: str = "applicant", *, organisation: Organisation | None = None,
              organiser: Organiser | None = None, organisers=None, programme_level: bool = False,
              email: str | None = None, name: str | None = None, language: str = "lv") -> User:
    """An active user with TEST_PASSWORD. An applicant gets a new organisation unless given one; an admin or
    auditor gets a new organiser unless given `organiser`/`organisers` or `programme_level=True`."""
    n = next(_numbers)
    if role == "applicant" and organisation is None:
        organisation = make_organisation()
    if role in ("admin", "auditor") and organisers is None:
        organisers = [organiser] if organiser else ([] if programme_level else [make_organiser()])
    domain = {"applicant": organisation.email_domain if organisation else "", "evaluator": "eksperti.example.com",
              "admin": "pasvaldiba.example.lv", "auditor": "ikvd.example.lv"}[role]
    user = User(email=email or f"{role}{n}@{domain}", name=name or f"{role.capitalize()} {n}", role=role,
                language=language, organisation_id=organisation.id if organisation else None,
                programme_level=programme_level, password_hash=_FAST_HASH, active=True)
    user.organisers = list(organisers or [])
    db.session.add(user)
    return _commit(user)


def make_organiser_admin(organiser: Organiser) -> User:
    return make_user("admin", organiser=organiser)


def admin_of(call: Call) -> User:
    """The first admin of the call's organiser (make_call creates one)."""
    for user in db.session.scalars(select(User).where(User.role == "admin", User.active).order_by(User.id)):
        if call.organiser_id in user.organiser_ids:
            return user
    raise LookupError(f"no admin administers call {call.code}")


def member_of(application: Application) -> User:
    return db.session.scalars(select(User).where(User.organisation_id == application.organisation_id)
                              .order_by(User.id)).first()


def evaluators_of(application: Application) -> list[User]:
    return list(db.session.scalars(select(User).join(Assignment, Assignment.evaluator_id == User.id)
                                   .where(Assignment.application_id == application.id).order_by(Assignment.id)))


# --- calls -------------------------------------------------------------------------------------------------------

def _window(when: str, now: datetime) -> tuple[datetime, datetime]:
    if when == "future":
        opens = now + timedelta(days=2)
        return opens, opens + timedelta(days=35)
    if when == "now":
        return now - timedelta(days=10), now + timedelta(days=25)
    assert when == "past", when
    return now - timedelta(days=60), now - timedelta(days=20)


def _default_when(state: str) -> str:
    return {"draft": "future", "announced": "future", "open": "now"}.get(state, "past")


def make_call(state: str = "open", funding: str = "lump_sum", *, when: str | None = None, criteria: int = 5,
              projects: int = 3, organiser: Organiser | None = None, admin: User | None = None,
              opens_at: datetime | None = None, closes_at: datetime | None = None, checks=("A1", "A3"),
              **fields) -> Call:
    """A call moved by real fires to `state`, with its admin (see admin_of).

    `when` places the submission window: "future" (opens in 2 days; default for draft and announced), "now"
    (opened 10 days ago, closes in 25; default for open) or "past" (opened 60 and closed 20 days ago; default for
    the rest). `make_call(state="announced", when="past")` is a call the clock owes two moves. `criteria`
    criteria of 0–5 points (10 half-points) each, the first with a minimum of 3 points; pass mark 60 % of the
    maximum; budget for `projects` projects; `fields` override any Call column (e.g. allocation_policy="skip")."""
    assert state in CALL_STATES, state
    assert 0 <= criteria <= 10
    now = clock.now()
    organiser = organiser or make_organiser()
    admin = admin or make_organiser_admin(organiser)
    default_opens, default_closes = _window(when or _default_when(state), now)
    opens_at, closes_at = opens_at or default_opens, closes_at or default_closes
    decision = clock.to_riga(closes_at).date() + timedelta(days=14)
    start, end = decision + timedelta(days=7), decision + timedelta(days=187)
    n = next(_numbers)
    amount = LUMP_SUM_CENTS if funding == "lump_sum" else None
    values = dict(
        code=f"TEST-{n}", number_prefix=f"T{n}", title_lv=f"Jaunatnes iniciatīvu konkurss {n}",
        title_en=f"Youth initiative call {n}", description_lv="Konkursa apraksts.", description_en="About the call.",
        funder="IKVD", programme="8.3.4.0/16/I/001", funding_mode=funding, amount_cents=amount,
        min_amount_cents=None if amount else 100_000, max_amount_cents=None if amount else 500_000,
        budget_cents=projects * (amount or BUDGETED_CENTS), opens_at=opens_at, closes_at=closes_at,
        decision_on=decision, implementation_start=start, implementation_end=end,
        pass_mark_half_points=criteria * 10 * 60 // 100, tie_break_keys=["submitted_at"],
        report_schedule=[{"kind": "interim", "due_on": (start + timedelta(days=60)).isoformat()},
                         {"kind": "final", "due_on": (end + timedelta(days=14)).isoformat()}],
        payment_tranches=[{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}],
    )
    values.update(fields)
    call = call_service.create(organiser.id, admin, **values)
    for i in range(criteria):
        call_service.add_criterion(call, code=f"2.{i + 1}", title_lv=f"Kritērijs 2.{i + 1}",
                                   title_en=f"Criterion 2.{i + 1}", max_half_points=10, step_half_points=1,
                                   min_half_points=6 if i == 0 else None)
    if funding == "budgeted":  # the categories _draft's budget lines name (no cap: tests of caps add their own)
        from app.models import CostCategory

        db.session.add_all([CostCategory(call=call, position=0, code="staff", label_lv="Personāls", label_en="Staff"),
                            CostCategory(call=call, position=1, code="materials", label_lv="Materiāli",
                                         label_en="Materials")])
    automatic = {"A1": "on_time", "A2": "amount", "A3": "registration_number", "A4": "dates"}
    for code in checks:
        call_service.add_check(call, code=code, title_lv=f"Pārbaude {code}", title_en=f"Check {code}",
                               automatic=automatic.get(code))
    db.session.commit()
    advance_call(call, state)
    return call


def advance_call(call: Call, state: str) -> Call:
    """Move the call forward by real fires until it reaches `state` (or is cancelled)."""
    admin = admin_of(call)
    order = CALL_STATES[:9]
    if state == "cancelled":
        _fire(call, "cancel", admin, "Konkurss atcelts testā.")
        return call
    target = order.index(state)
    while order.index(call.status) < target:
        current = call.status
        if current == "draft":
            _fire(call, "announce", admin)
        elif current in ("announced", "open"):
            if not catch_up(call):
                raise AssertionError(f"call {call.code} cannot move past '{current}' by the clock now; "
                                     f"make it with state='{state}' so its dates are in the past")
            db.session.commit()
        elif current == "closed":
            _fire(call, "start_evaluation", admin)
        elif current == "evaluation":
            _fire(call, "finish_evaluation", admin)
        elif current == "ranking":
            _fire(call, "confirm_ranking", admin)
            _fire(call, "publish_results", admin)
        elif current == "awarded":
            _fire(call, "start_reporting", admin)
        elif current == "reporting":
            _fire(call, "complete", admin)
    return call


# --- applications ------------------------------------------------------------------------------------------------

def _content(call: Call) -> dict:
    return {"summary": "Radošās darbnīcas jauniešiem ar mācību grūtībām.", "objectives": "Mazināt kavējumus.",
            "activities": "Darbnīcas, mentorings, izbraukumi.", "target_group": "13–18 gadus veci jaunieši.",
            "participants": 16, "participants_at_risk": 9, "start_on": call.implementation_start.isoformat(),
            "end_on": call.implementation_end.isoformat(), "declared_conflicts": ""}


def _draft(call: Call, organisation: Organisation | None, title: str | None) -> Application:
    member = make_user("applicant", organisation=organisation) if organisation is None else (
        db.session.scalars(select(User).where(User.organisation_id == organisation.id)).first()
        or make_user("applicant", organisation=organisation))
    application = application_service.create_draft(call, member)
    db.session.flush()
    application_service.save_draft(
        application, member, title=title or f"Projekts {next(_numbers)}", content=_content(call),
        amount_cents=BUDGETED_CENTS if call.funding_mode == "budgeted" else 0, declarations_accepted=True,
        version=application.version)
    if call.funding_mode == "budgeted":
        from app.models import BudgetLine

        half = BUDGETED_CENTS // 2
        application.budget_lines = [BudgetLine(position=0, category="staff", description="Vadītāji", quantity=1,
                                               unit_cost_cents=half, amount_cents=half),
                                    BudgetLine(position=1, category="materials", description="Materiāli",
                                               quantity=1, unit_cost_cents=BUDGETED_CENTS - half,
                                               amount_cents=BUDGETED_CENTS - half)]
        application.amount_cents = BUDGETED_CENTS  # the budget's total, as app/services/budget.save sets it
    db.session.commit()
    return application


def _in_window(call: Call) -> datetime:
    """A moment when the call accepts submissions: now if it does, else one day after it opened."""
    now = clock.now()
    return now if call.opens_at <= now < call.closes_at else call.opens_at + timedelta(days=1)


def _record_checks(application: Application, admin: User, passed: bool) -> None:
    results = {c.id: (True, "") for c in application.call.checks}
    if not passed:
        first = application.call.checks[0]
        results[first.id] = (False, "Iesniegts pēc termiņa.")
    try:
        application_service.record_checks(application, admin, results)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _review(application: Application, evaluator: User, half_points: int) -> Assignment:
    admin = admin_of(application.call)
    assignment = evaluation.assign(application, evaluator, admin)
    db.session.commit()
    _fire(assignment, "declare_no_conflict", evaluator)
    evaluation.save_scores(assignment, evaluator, {c.id: (min(half_points, c.max_half_points), "Pamatots vērtējums.")
                                                   for c in application.call.criteria})
    db.session.commit()
    _fire(assignment, "submit_review", evaluator)
    return assignment


def _evaluators(count: int) -> list[User]:
    return [make_user("evaluator") for _ in range(count)]


SCORE_FOR = {"funded": 9, "reserve": 7, "rejected": 3}  # half-points per criterion (of 10); 60 % passes


def make_application(call: Call | None = None, state: str = "submitted", **options) -> Application:
    """One application moved by real fires to `state` (see make_applications)."""
    return make_applications(call, [state], **options)[0]


def make_applications(call: Call | None, states, *, organisation: Organisation | None = None,
                      appeal_from: str = "ineligible", title: str | None = None,
                      scores: list[int] | None = None) -> list[Application]:
    """Applications to `call`, each moved by real fires to its state in `states`, the call moved along as needed.

    Without a call, one is made: open for drafts, otherwise one whose window has passed (closed once the
    applications are in). A given call must still be announced or open. The states must be able to live together in
    one call (no 'submitted' beside 'in_review': a call cannot start evaluation with unchecked applications; no
    'in_review' beside 'reviewed': it cannot finish evaluation with reviews missing; no 'reviewed' beside a
    result). Results come from the real ranking: funded ones are scored highest, reserve ones pass below them,
    rejected ones fail; when a reserve is wanted, extra funded applications fill the budget first.
    `appeal_from` is the state an 'appealed' application appealed from (ineligible, rejected or reserve).
    `scores` gives each application's half-points per criterion (0–10) instead of the outcome's default."""
    states = list(states)
    assert all(s in APPLICATION_STATES for s in states), states
    if call is None:  # a budget for exactly the funded ones, so a reserve needs no extra applications
        funded = max(1, sum(1 for s in states if OUTCOME_FOR.get(s) == "funded"))
        call = (make_call(state="open", projects=funded) if set(states) <= {"draft"}
                else make_call(state="announced", when="past", projects=funded))
    if call.status not in ("announced", "open"):
        raise ValueError(f"call {call.code} is {call.status}: applications are made while a call is announced or "
                         "open (e.g. make_call(state='announced', when='past'), or pass no call)")
    admin = admin_of(call)
    outcome = {i: OUTCOME_FOR.get(s) or (appeal_from if s == "appealed" and appeal_from != "ineligible" else None)
               for i, s in enumerate(states)}
    wants_review = {i for i, s in enumerate(states) if s in ("in_review", "reviewed") or outcome[i]}
    _refuse_impossible(states, outcome, wants_review)

    plan = list(enumerate(states))
    if "reserve" in outcome.values():  # fill the budget with funded applications ranked above the reserve
        amount = call.amount_cents or BUDGETED_CENTS
        funded = sum(1 for o in outcome.values() if o == "funded")
        if funded > call.budget_cents // amount:
            raise ValueError(f"the budget funds {call.budget_cents // amount} projects, not {funded}")
        fillers = call.budget_cents // amount - funded
        for _ in range(fillers):
            index = len(plan)
            plan.append((index, "funded"))
            outcome[index] = "funded"
            wants_review.add(index)

    made: dict[int, Application] = {}
    start = _in_window(call)
    for index, state in plan:  # one second apart, so that ties break by submission time deterministically
        with clock_at(start + timedelta(seconds=index)):
            made[index] = _draft(call, organisation if index < len(states) else None, title)
            if state != "draft":
                _fire(made[index], "submit", member_of(made[index]))
    if call.closes_at <= clock.now():
        advance_call(call, "closed")
    for index, state in plan:
        application = made[index]
        if state == "clarification":
            _fire(application, "request_clarification", admin, question="Lūdzu precizējiet budžetu.",
                  answer_due_at=clock.now() + timedelta(days=5))
        elif state == "withdrawn":
            _fire(application, "withdraw", member_of(application))
        elif state == "ineligible" or (state == "appealed" and appeal_from == "ineligible"):
            _record_checks(application, admin, passed=False)
        elif state == "eligible" or index in wants_review:
            _record_checks(application, admin, passed=True)

    if wants_review:
        advance_call(call, "evaluation")
    reviewed = [i for i in wants_review if states_of(plan)[i] != "in_review"]
    if reviewed:
        evaluators = _evaluators(call.evaluators_per_application)
        for index in reviewed:
            for evaluator in evaluators:
                points = scores[index] if scores and index < len(scores) else SCORE_FOR.get(outcome[index], 8)
                _review(made[index], evaluator, points)
        advance_call(call, "ranking")
    if any(outcome[i] for i in reviewed):
        advance_call(call, "awarded")
    for index, state in plan:
        _after_result(made[index], state, appeal_from)
    for application in made.values():
        db.session.refresh(application)
    return [made[i] for i in range(len(states))]


def render_agreement(application: Application):
    """The worker's part of an offer: the agreement rendered and stored, so that it can be accepted."""
    from app.models import Document
    from app.services import jobs

    return jobs.ensure_rendered(db.session.get(Document, application.agreement_document_id))


def states_of(plan) -> dict[int, str]:
    return dict(plan)


def _refuse_impossible(states, outcome, wants_review) -> None:
    states = set(states)
    if wants_review and states & {"submitted", "clarification"}:
        raise ValueError("a call cannot start evaluation while an application waits for its checks: "
                         "make these applications on separate calls")
    if "in_review" in states and ({"reviewed"} & states or any(outcome.values())):
        raise ValueError("a call cannot finish evaluation while an application lacks its reviews")
    if "reviewed" in states and any(outcome.values()):
        raise ValueError("publishing moves every reviewed application: 'reviewed' cannot sit beside a result")


def _after_result(application: Application, state: str, appeal_from: str) -> None:
    member, admin = member_of(application), admin_of(application.call)
    if state in ("accepted", "contracted", "terminated", "closed"):
        render_agreement(application)  # as the worker does before the offer's message leaves
        _fire(application, "accept_offer", member)
    if state in ("contracted", "terminated", "closed"):
        _fire(application, "sign", admin)
    if state == "declined":
        _fire(application, "decline", member)
    elif state == "not_funded":
        _fire(application, "expire_reserve", None)
    elif state == "terminated":
        _fire(application, "terminate", admin, "Projekts netiek īstenots.")
    elif state == "closed":
        settle_grant(application)
        _fire(application, "close_grant", admin)
    elif state == "appealed":
        _fire(application, "appeal", member, "Lūdzam pārskatīt lēmumu.",
              grounds="eligibility" if appeal_from == "ineligible" else "scoring")


def settle_grant(application: Application) -> None:
    """Submit and approve every report of a contracted grant, then pay every payment: ready for close_grant."""
    member, admin = member_of(application), admin_of(application.call)
    for report in _reports(application):
        _submit_report(report, member)
        _fire(report, "approve", admin)
    for payment in _payments(application):
        _fire(payment, "pay", admin, bank_reference=f"REF-{payment.id}")


def _reports(application: Application) -> list[Report]:
    return list(db.session.scalars(select(Report).where(Report.application_id == application.id)
                                   .order_by(Report.id)))


def _payments(application: Application) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                   .order_by(Payment.id)))


REPORT_CONTENT = {"activities": "Notika 12 darbnīcas.", "participants": 16, "participants_at_risk": 9,
                  "results": "Kavējumi samazinājās.", "declaration": True}


def _submit_report(report: Report, member: User) -> None:
    """Complete: the achieved value of every planned indicator is its target, every budget line spent as planned.
    A report whose period has not begun yet at the clock's now is first allowed early by the call's admin."""
    application = report.application
    if report.status == "draft" and report_service.too_early(report):
        _fire(report, "allow_early", admin_of(application.call), "Periods sākas vēlāk; atļauts testā.")
    indicators = [{"achieved": i.get("target") or 0, "comment": ""}
                  for i in (application.content or {}).get("indicators") or [] if (i.get("name") or "").strip()]
    spending = ({str(line.id): line.amount_cents for line in application.budget_lines}
                if application.call.funding_mode == "budgeted" else {})
    report_service.save(report, member, {**REPORT_CONTENT, "indicators": indicators, "spending": spending},
                        report.version)
    db.session.commit()
    _fire(report, "submit" if report.status == "draft" else "resubmit", member)


# --- reviews, reports, payments, recoveries ------------------------------------------------------------------------

def make_assignment(state: str = "assigned", *, application: Application | None = None,
                    evaluator: User | None = None) -> Assignment:
    """A review assignment of an in_review application (call in evaluation), moved to `state`: assigned,
    accepted, submitted, recused, revoked or voided."""
    application = application or make_application(state="in_review")
    evaluator = evaluator or make_user("evaluator")
    admin = admin_of(application.call)
    assignment = evaluation.assign(application, evaluator, admin)
    db.session.commit()
    if state in ("accepted", "submitted", "voided"):
        _fire(assignment, "declare_no_conflict", evaluator)
    if state in ("submitted", "voided"):
        evaluation.save_scores(assignment, evaluator, {c.id: (8, "Labi.") for c in application.call.criteria})
        db.session.commit()
        _fire(assignment, "submit_review", evaluator)
    if state == "recused":
        _fire(assignment, "recuse", evaluator, "Pazīstu projekta vadītāju.")
    elif state == "revoked":
        _fire(assignment, "revoke", admin, "Termiņš nokavēts.")
    elif state == "voided":
        _fire(assignment, "void", admin, "Interešu konflikts atklājās vēlāk.")
    return assignment


def make_report(state: str = "draft", *, application: Application | None = None, kind: str = "interim") -> Report:
    """A report of a contracted grant, moved to `state`: draft, submitted, changes_requested or approved. Without
    an application, one of a call that closed 40 days ago: its implementation has begun (the interim report may be
    submitted; the final one not before the implementation ends, app/services/reporting.py `too_early`)."""
    if application is None:
        now = clock.now()
        call = make_call(state="announced", opens_at=now - timedelta(days=80), closes_at=now - timedelta(days=40))
        application = make_application(call, state="contracted")
    report = next(r for r in _reports(application) if r.kind == kind)
    member, admin = member_of(application), admin_of(application.call)
    if state in ("submitted", "changes_requested", "approved"):
        _submit_report(report, member)
    if state == "changes_requested":
        _fire(report, "request_changes", admin, "Lūdzu papildiniet rezultātus.")
    elif state == "approved":
        _fire(report, "approve", admin)
    return report


def make_payment(state: str = "scheduled", *, application: Application | None = None) -> Payment:
    """The first tranche (due on signing) of a contracted grant, moved to `state`: scheduled, paid, cancelled."""
    application = application or make_application(state="contracted")
    payment = _payments(application)[0]
    admin = admin_of(application.call)
    if state == "paid":
        _fire(payment, "pay", admin, bank_reference="REF-1")
    elif state == "cancelled":
        _fire(payment, "cancel", admin, "Maksājums atcelts.")
    return payment


def make_recovery(state: str = "demanded") -> Recovery:
    """A recovery demanded when a grant whose first tranche was paid is terminated; moved to `state`:
    demanded, repaid or written_off."""
    application = make_application(state="contracted")
    admin = admin_of(application.call)
    make_payment("paid", application=application)
    _fire(application, "terminate", admin, "Projekts netiek īstenots.")
    recovery = db.session.scalars(select(Recovery).where(Recovery.application_id == application.id)).one()
    if state == "repaid":
        _fire(recovery, "repay", admin)
    elif state == "written_off":
        _fire(recovery, "write_off", admin, "Biedrība likvidēta.")
    return recovery

