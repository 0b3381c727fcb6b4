"""The whole call assigned in one step through the admin's pages, replacements by the same solver, the review
progress page and its reminders (issue 7: app/services/assignment_plans.py, app/services/review_progress.py)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Assignment, ConflictOfInterest, Message, ReviewReminder
from app.services import clockwork
from app.services.workflow import fire
from tests import factories as f

pytestmark = pytest.mark.postgres


def _closed_call(count: int, **fields):
    """A closed call with `count` eligible applications, each of its own organisation."""
    call = f.make_call(state="announced", when="past", **fields)
    applications = f.make_applications(call, ["eligible"] * count)
    assert call.status == "closed"
    return call, applications


def _pairs(html: str) -> set[tuple[int, int]]:
    return {(int(a), int(e)) for a, e in re.findall(r'name="pair" value="(\d+):(\d+)"', html)}


def _stored(call) -> set[tuple[int, int]]:
    db.session.expire_all()
    return set(db.session.execute(select(Assignment.application_id, Assignment.evaluator_id)
                                  .where(Assignment.status == "assigned")).all())


def _plan_url(call) -> str:
    return f"/admin/calls/{call.id}/assignment-plan"


def test_preview_change_and_confirm_through_the_web(db_backend, client):
    call, applications = _closed_call(3)
    people = [f.make_user("evaluator") for _ in range(3)]
    f.login_as(client, f.admin_of(call))

    page = client.get(_plan_url(call))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    proposed = _pairs(html)
    # three applications × two evaluators among three: every one gets two distinct, each evaluator two
    assert len(proposed) == 6
    assert all(sum(1 for a, _e in proposed if a == x.id) == 2 for x in applications)
    assert all(sum(1 for _a, e in proposed if e == p.id) == 2 for p in people)
    assert _stored(call) == set()  # the preview writes nothing

    # the admin swaps one evaluator of the first application for the one it was not given
    first = applications[0].id
    theirs = sorted(e for a, e in proposed if a == first)
    other = next(p.id for p in people if p.id not in theirs)
    kept = sorted(proposed - {(first, theirs[0])})
    changed = {"pair": [f"{a}:{e}" for a, e in kept], f"add-{first}": str(other)}
    revised = client.post(_plan_url(call), data={**changed, "action": "revise"})
    text = revised.get_data(as_text=True)
    assert revised.status_code == 200 and 'id="plan-revised"' in text and "plan-problems" not in text
    expected = set(kept) | {(first, other)}
    assert _pairs(text) == expected
    assert _stored(call) == set()

    asked = client.post(_plan_url(call), data={"pair": [f"{a}:{e}" for a, e in sorted(expected)],
                                               "action": "confirm"})
    assert asked.status_code == 200 and 'name="confirmed" value="1"' in asked.get_data(as_text=True)
    assert _stored(call) == set()  # asking is not doing

    done = client.post(_plan_url(call), data={"pair": [f"{a}:{e}" for a, e in sorted(expected)],
                                              "action": "confirm", "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/calls/{call.id}/progress")
    assert _stored(call) == expected
    told = db.session.scalar(select(func.count(Message.id)).where(Message.entity_type == "assignment"))
    assert told == 6


def test_a_conflict_recorded_between_preview_and_confirm_refuses_everything(db_backend, client):
    call, applications = _closed_call(2)
    people = [f.make_user("evaluator") for _ in range(3)]
    f.login_as(client, f.admin_of(call))
    proposed = _pairs(client.get(_plan_url(call)).get_data(as_text=True))
    assert len(proposed) == 4
    application_id, evaluator_id = sorted(proposed)[-1]
    target = next(a for a in applications if a.id == application_id)
    db.session.add(ConflictOfInterest(evaluator_id=evaluator_id, organisation_id=target.organisation_id,
                                      source="admin", note="Vērtētājs ir biedrības valdes loceklis."))
    db.session.commit()

    answer = client.post(_plan_url(call), data={"pair": [f"{a}:{e}" for a, e in sorted(proposed)],
                                                "action": "confirm", "confirmed": "1"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Vērtētājs ir biedrības valdes loceklis." in text  # the reason, in the list of problems
    assert _stored(call) == set()  # nothing half-saved: not even the three pairs still valid
    assert len(people) == 3


def test_confirm_refuses_when_the_conflict_surfaces_only_inside_the_transaction(db_backend, app):
    """The service itself: a plan validated earlier, then a conflict; confirm raises and the view's rollback leaves
    nothing."""
    from app.errors import Refused
    from app.services import assignment_plans

    call, applications = _closed_call(2)
    [f.make_user("evaluator") for _ in range(2)]
    proposal = assignment_plans.propose(call)
    application_id, evaluator_id = proposal.pairs[0]
    organisation_id = next(a.organisation_id for a in applications if a.id == application_id)
    db.session.add(ConflictOfInterest(evaluator_id=evaluator_id, organisation_id=organisation_id, source="admin",
                                      note="Radniecība."))
    db.session.commit()
    with pytest.raises(Refused, match="Radniecība"):
        assignment_plans.confirm(call, proposal.pairs, f.admin_of(call))
    db.session.rollback()
    assert _stored(call) == set()


def test_an_added_conflicted_evaluator_is_refused_on_the_server(db_backend, client):
    call, (application,) = _closed_call(1)
    people = [f.make_user("evaluator") for _ in range(3)]
    db.session.add(ConflictOfInterest(evaluator_id=people[2].id, organisation_id=application.organisation_id,
                                      source="admin", note="Projekta vadītāja māsa."))
    db.session.commit()
    f.login_as(client, f.admin_of(call))
    proposed = _pairs(client.get(_plan_url(call)).get_data(as_text=True))
    assert proposed == {(application.id, people[0].id), (application.id, people[1].id)}

    # a browser sends the conflicted evaluator although the page never offered them
    data = {"pair": [f"{application.id}:{people[0].id}"], f"add-{application.id}": str(people[2].id)}
    text = client.post(_plan_url(call), data={**data, "action": "revise"}).get_data(as_text=True)
    assert "plan-problems" in text and "Projekta vadītāja māsa." in text
    refused = client.post(_plan_url(call), data={**data, "action": "confirm", "confirmed": "1"})
    assert refused.status_code == 200 and "plan-problems" in refused.get_data(as_text=True)
    assert _stored(call) == set()


def test_the_uncoverable_application_is_named_with_its_reason(db_backend, client):
    call, (covered, uncovered) = _closed_call(2)
    people = [f.make_user("evaluator") for _ in range(3)]
    for person in people[1:]:
        db.session.add(ConflictOfInterest(evaluator_id=person.id, organisation_id=uncovered.organisation_id,
                                          source="evaluator", note="Pazīstu vadītāju."))
    db.session.commit()
    f.login_as(client, f.admin_of(call))
    text = client.get(_plan_url(call)).get_data(as_text=True)
    short = text[text.index('class="card border-danger mb-4 plan-short"'):]
    short = short[:short.index("</section>")]
    assert uncovered.number in short and covered.number not in short
    assert "Too few evaluators without a conflict" in short or "Par maz vērtētāju bez interešu konflikta" in short
    # the only evaluator it may have takes it; the covered one gets the other two, so everybody holds one
    assert _pairs(text) == {(uncovered.id, people[0].id), (covered.id, people[1].id), (covered.id, people[2].id)}


def test_the_maximum_per_evaluator_holds_and_confirm_stores_it(db_backend, client):
    """Four applications × two = 8 assignments, four evaluators of at most 2: everyone exactly at 2."""
    call, applications = _closed_call(4, max_assignments_per_evaluator=2)
    people = [f.make_user("evaluator") for _ in range(4)]
    f.login_as(client, f.admin_of(call))
    proposed = _pairs(client.get(_plan_url(call)).get_data(as_text=True))
    assert sorted(sum(1 for _a, e in proposed if e == p.id) for p in people) == [2, 2, 2, 2]
    # one more pair for an evaluator already at 2 (swapping application 1's pair for another's evaluator)
    full = next(e for a, e in proposed if a != applications[0].id and (applications[0].id, e) not in proposed)
    data = {"pair": [f"{a}:{e}" for a, e in sorted(proposed) if a != applications[0].id]
            + [f"{applications[0].id}:{full}"], "action": "confirm", "confirmed": "1"}
    text = client.post(_plan_url(call), data=data).get_data(as_text=True)
    assert "above the maximum of 2" in text or "vairāk par maksimālo skaitu 2" in text
    assert _stored(call) == set()


def test_a_recusal_is_replaced_by_the_least_loaded_evaluator_in_the_call(db_backend, app):
    """A and B in review. A: E1, E2; B: E3. E2 recuses from A: E3 holds one review of the call, E4 none → E4."""
    call = f.make_call(state="announced", when="past")
    a, b = f.make_applications(call, ["in_review", "in_review"])
    e1, e2, e3, e4 = (f.make_user("evaluator") for _ in range(4))
    admin = f.admin_of(call)
    from app.services import evaluation

    evaluation.assign(a, e1, admin)
    recusing = evaluation.assign(a, e2, admin)
    evaluation.assign(b, e3, admin)
    evaluation.assign(b, e1, admin)
    db.session.commit()
    fire(recusing, "recuse", e2, "Pazīstu projekta vadītāju.")
    db.session.commit()
    live = set(db.session.scalars(select(Assignment.evaluator_id).where(
        Assignment.application_id == a.id, Assignment.status == "assigned")))
    assert live == {e1.id, e4.id}
    assert e3  # held one, so was not chosen


def test_a_replacement_never_passes_the_maximum(db_backend, app):
    call = f.make_call(state="announced", when="past", max_assignments_per_evaluator=1)
    a, b = f.make_applications(call, ["in_review", "in_review"])
    e1, e2, e3 = (f.make_user("evaluator") for _ in range(3))
    admin = f.admin_of(call)
    from app.services import evaluation

    recusing = evaluation.assign(a, e1, admin)
    evaluation.assign(a, e2, admin)
    evaluation.assign(b, e3, admin)
    db.session.commit()
    fire(recusing, "recuse", e1, "Interešu konflikts.")
    db.session.commit()
    # E2 has A already, E3 is at the maximum of 1, E1 recused: nobody → A stays one short
    assert db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.application_id == a.id, Assignment.status == "assigned")) == 1


# --- progress and reminders ------------------------------------------------------------------------------------

def test_tick_reminds_once_before_and_once_after_the_due_time(db_backend, app, clock):
    assignment = f.make_assignment("accepted")
    done = f.make_assignment("submitted")
    due = assignment.review_due_at

    def reminders():
        db.session.expire_all()
        return list(db.session.scalars(select(Message.subject).where(
            Message.entity_type == "assignment", Message.entity_id == assignment.id,
            Message.subject.like("%termiņš%")).order_by(Message.id)))

    clock.travel_to(due - timedelta(days=3))
    clockwork.tick()
    assert reminders() == []  # not yet within two days
    clock.travel_to(due - timedelta(days=1))
    clockwork.tick()
    clockwork.tick()
    number = assignment.application.number
    assert reminders() == [f"Drīz beidzas vērtēšanas termiņš: {number}"]
    clock.travel_to(due + timedelta(hours=1))
    clockwork.tick()
    clockwork.tick()
    assert reminders() == [f"Drīz beidzas vērtēšanas termiņš: {number}", f"Nokavēts vērtēšanas termiņš: {number}"]
    kinds = set(db.session.execute(select(ReviewReminder.assignment_id, ReviewReminder.kind)).all())
    assert kinds == {(assignment.id, "before"), (assignment.id, "after")}  # nothing for the submitted review
    assert done.status == "submitted"


def test_a_tick_that_first_runs_after_the_due_time_sends_only_the_overdue_reminder(db_backend, app, clock):
    assignment = f.make_assignment("assigned")
    clock.travel_to(assignment.review_due_at + timedelta(days=1))
    clockwork.tick()
    assert set(db.session.scalars(select(ReviewReminder.kind))) == {"after"}


def test_the_progress_page_shows_late_reviews_and_sends_a_reminder(db_backend, client, clock):
    assignment = f.make_assignment("accepted")
    call = assignment.application.call
    evaluator = assignment.evaluator
    clock.travel_to(assignment.review_due_at + timedelta(hours=2))
    f.login_as(client, f.admin_of(call))
    page = client.get(f"/admin/calls/{call.id}/progress").get_data(as_text=True)
    row = page[page.index(f'id="evaluator-{evaluator.id}"'):]
    row = row[:row.index("</tr>")]
    assert assignment.application.number in row and ("nokavēts" in row or "late" in row)
    assert db.session.scalar(select(func.count(ReviewReminder.id))) == 0  # late is derived: the GET wrote nothing

    sent = client.post(f"/admin/calls/{call.id}/progress/remind", data={"evaluator_id": str(evaluator.id)})
    assert sent.status_code == 302
    db.session.expire_all()
    message = db.session.scalars(select(Message).where(Message.user_id == evaluator.id,
                                                       Message.entity_type == "call")).one()
    assert message.subject == f"Atgādinājums: neizpildīti vērtējumi konkursā {call.code}"
    assert assignment.application.number in message.body_text and "nokavēts" in message.body_text


# --- the call's setting ----------------------------------------------------------------------------------------

def test_the_call_editor_stores_the_maximum_and_the_frozen_definition_covers_it(db_backend, client):
    from app.models import Call
    from app.services import calls
    from tests.integration.test_call_editor import CALL_FORM

    admin = f.make_user("admin", organiser=f.make_organiser())
    f.login_as(client, admin)
    form = {**CALL_FORM, "organiser_id": str(admin.organisers[0].id)}
    assert "max_assignments_per_evaluator" in client.get("/admin/calls/new").get_data(as_text=True)
    refused = client.post("/admin/calls/new", data={**form, "max_assignments_per_evaluator": "0"})
    assert refused.status_code == 200 and db.session.scalar(select(func.count(Call.id))) == 0
    assert client.post("/admin/calls/new", data={**form, "max_assignments_per_evaluator": "12"}).status_code == 302
    call = db.session.scalar(select(Call).where(Call.code == CALL_FORM["code"]))
    assert call.max_assignments_per_evaluator == 12
    assert calls.definition(call)["max_assignments_per_evaluator"] == 12
    call.max_assignments_per_evaluator = None  # a call without a maximum keeps the definition it always had
    assert "max_assignments_per_evaluator" not in calls.definition(call)
    db.session.rollback()
    edited = client.post(f"/admin/calls/{call.id}/edit", data={**form, "max_assignments_per_evaluator": ""})
    assert edited.status_code == 302
    db.session.expire_all()
    assert db.session.get(Call, call.id).max_assignments_per_evaluator is None
