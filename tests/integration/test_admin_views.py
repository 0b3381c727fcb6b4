"""The programme administrator's pages (/admin/…) through the Flask test client.

Each test posts what a browser would post and then reads what an admin would check: the stored rows, the states,
the message on the next page. Fixtures and builders come from tests/conftest.py and tests/factories.py.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import (Application, AuditEvent, Call, Check, CheckResult, Criterion, Document, Job, Payment,
                        RankingProtocol, Report)
from tests import factories

CALL_FORM = {
    "code": "PMP-2030", "number_prefix": "PMP-2030", "title_lv": "Jauniešu iniciatīvu projekti 2030",
    "title_en": "Youth initiative projects 2030", "description_lv": "Apraksts.", "description_en": "About.",
    "funder": "IKVD", "programme": "8.3.4.0/16/I/001", "funding_mode": "lump_sum", "amount": "4 600,00",
    "budget": "13800", "max_applications_per_organisation": "1",
    "opens_at": "2030-03-01T09:00", "closes_at": "05.04.2030 00:00", "decision_on": "2030-05-06",
    "implementation_start": "01.06.2030.", "implementation_end": "2030-11-30", "reserve_expires_at": "",
    "retention_until": "", "pass_mark": "3", "evaluators_per_application": "2",
    "divergence_threshold_percent": "30", "divergence_policy": "mean_all", "allocation_policy": "strict",
    "tie_break_keys-0": "submitted_at", "review_days": "14", "acceptance_days": "10", "appeal_days": "30",
    "delivery_allowance_working_days": "2",  # the rows of the report schedule and of the tranches:
    "report_schedule-0-kind": "interim", "report_schedule-0-due_on": "2030-08-15",
    "report_schedule-1-kind": "final", "report_schedule-1-due_on": "2030-12-14",
    "payment_tranches-0-percent": "80", "payment_tranches-0-on": "sign",
    "payment_tranches-1-percent": "20", "payment_tranches-1-on": "final_report_approved",
}
CRITERION = {"code": "2.2", "title_lv": "Projekta mērķis", "title_en": "Project aim", "max_points": "5",
             "step": "1", "min_points": "3", "weight_percent": "100", "comment_required": "y",
             "anchors": "0 = neatbilst\n5 = izcili"}


@pytest.fixture
def login_as():
    """conftest's login_as, reading the pages in English so the assertions name the msgids."""
    def login(client, user):
        factories.login_as(client, user)
        with client.session_transaction() as session:
            session["lang"] = "en"
    return login


@pytest.fixture
def admin(make_organiser, make_user):
    return make_user("admin", organiser=make_organiser("Jelgavas novada pašvaldība"))


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as(client, admin)
    return client


def _create_call(client, **changes) -> Call:
    response = client.post("/admin/calls/new", data={**CALL_FORM, **changes, "organiser_id": _organiser_of(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Call).where(Call.code == (changes.get("code") or CALL_FORM["code"])))


def _organiser_of(client) -> str:
    from app.models import Organiser

    return str(db.session.scalar(select(Organiser.id).where(Organiser.name == "Jelgavas novada pašvaldība")))


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


# --- creating and editing a call ---------------------------------------------------------------------------------

def test_new_call_is_stored_with_amounts_in_cents_and_the_deadline_in_utc(admin_client, admin):
    call = _create_call(admin_client)

    assert call.status == "draft" and call.organiser_id == admin.organisers[0].id
    assert (call.amount_cents, call.budget_cents) == (460_000, 1_380_000)
    assert call.min_amount_cents is None and call.max_amount_cents is None
    # 05.04.2030 00:00 in Riga (summer time, UTC+3) is 04.04.2030 21:00 UTC; opening 09:00 Riga is 06:00 UTC.
    assert call.closes_at == datetime(2030, 4, 4, 21, 0, tzinfo=timezone.utc)
    assert call.opens_at == datetime(2030, 3, 1, 7, 0, tzinfo=timezone.utc)  # winter time, UTC+2
    assert call.pass_mark_half_points == 6
    assert call.tie_break_keys == ["submitted_at"]  # criteria come after the call: chosen from them on editing
    assert call.report_schedule == [{"kind": "interim", "due_on": "2030-08-15"},
                                    {"kind": "final", "due_on": "2030-12-14"}]
    assert call.payment_tranches == [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "call",
                                                         AuditEvent.entity_id == call.id)).all()
    assert [(e.trigger, e.to_state, e.actor_id) for e in events] == [("create", "draft", admin.id)]


def test_criteria_and_checks_are_added_to_the_draft_and_removed_again(admin_client):
    call = _create_call(admin_client)

    assert admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION).status_code == 302
    assert admin_client.post(f"/admin/calls/{call.id}/checks", data={
        "code": "A1", "title_lv": "Iesniegts laikā", "title_en": "Submitted on time", "automatic": "on_time"},
    ).status_code == 302

    criterion = db.session.scalar(select(Criterion).where(Criterion.call_id == call.id))
    assert (criterion.code, criterion.max_half_points, criterion.step_half_points, criterion.min_half_points) == (
        "2.2", 10, 1, 6)
    assert criterion.anchors == {"0": "neatbilst", "10": "izcili"} and criterion.comment_required
    check = db.session.scalar(select(Check).where(Check.call_id == call.id))
    assert (check.code, check.automatic) == ("A1", "on_time")

    page = admin_client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert "Project aim" in page and "Submitted on time" in page  # English titles on an English page

    admin_client.post(f"/admin/calls/{call.id}/checks/{check.id}/delete")
    assert db.session.scalar(select(func.count(Check.id)).where(Check.call_id == call.id)) == 0


def test_a_duplicate_criterion_code_is_refused_with_a_message(admin_client):
    call = _create_call(admin_client)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    response = admin_client.post(f"/admin/calls/{call.id}/criteria", data={**CRITERION, "title_lv": "Cits"})

    assert response.status_code == 200
    assert "This call already has a criterion with this code." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Criterion.id)).where(Criterion.call_id == call.id)) == 1


@pytest.mark.parametrize("field, value, message", [
    ("amount", "četri tūkstoši", "Enter an amount in euros"),
    ("closes_at", "31.02.2030 25:00", "Enter a date and time"),
    ("pass_mark", "30,25", "Points go in steps of 0,5"),
    ("payment_tranches-1-percent", "30", "The tranches add up to 110 %; they must add up to 100 %."),
    ("code", "PMP 2030/1", "Use letters, digits, dots, dashes and underscores only."),
])
def test_bad_input_saves_nothing_and_says_what_is_wrong(admin_client, field, value, message):
    response = admin_client.post("/admin/calls/new",
                                 data={**CALL_FORM, field: value, "organiser_id": _organiser_of(admin_client)})

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Call.id))) == 0


def test_a_budgeted_call_needs_its_minimum_below_its_maximum(admin_client):
    response = admin_client.post("/admin/calls/new", data={
        **CALL_FORM, "funding_mode": "budgeted", "amount": "", "min_amount": "5000", "max_amount": "1000",
        "organiser_id": _organiser_of(admin_client)})

    assert "The maximum must not be below the minimum." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Call.id))) == 0


def test_a_call_code_already_taken_is_refused(admin_client, make_call, admin):
    existing = make_call(state="draft", organiser=admin.organisers[0], admin=admin)

    response = admin_client.post("/admin/calls/new", data={**CALL_FORM, "code": existing.code,
                                                           "organiser_id": _organiser_of(admin_client)})

    assert "Another call already has this code." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Call.id))) == 1


def test_a_draft_is_edited_and_an_announced_call_is_not(admin_client, admin, make_call):
    call = _create_call(admin_client)
    response = admin_client.post(f"/admin/calls/{call.id}/edit",
                                 data={**CALL_FORM, "budget": "18 400,00", "organiser_id": _organiser_of(admin_client)})
    assert response.status_code == 302
    db.session.refresh(call)
    assert call.budget_cents == 1_840_000
    edit = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "edit"))
    assert (edit.entity_id, edit.data) == (call.id, '{"changed":["budget_cents"]}')

    announced = make_call(state="announced", organiser=admin.organisers[0], admin=admin)
    budget = announced.budget_cents
    response = admin_client.post(f"/admin/calls/{announced.id}/edit",
                                 data={**CALL_FORM, "code": announced.code, "number_prefix": announced.number_prefix,
                                       "budget": "1", "organiser_id": _organiser_of(admin_client)})
    assert response.status_code == 302
    db.session.refresh(announced)
    assert announced.budget_cents == budget
    assert "The call is announced; its definition is frozen." in _flashes(admin_client)


# --- announcing --------------------------------------------------------------------------------------------------

def test_announce_is_refused_with_the_guards_message_when_criteria_are_missing(admin_client):
    call = _create_call(admin_client)

    response = admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "announce"})

    assert response.status_code == 302
    assert "Add at least one criterion with points before announcing." in _flashes(admin_client)
    db.session.refresh(call)
    assert call.status == "draft" and call.frozen_at is None and call.regulations_document_id is None
    assert db.session.scalar(select(func.count(Document.id))) == 0


def test_announce_is_refused_when_a_tie_break_key_names_no_criterion(admin_client):
    call = _create_call(admin_client)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)
    call.tie_break_keys = ["9.9", "submitted_at"]  # chosen while 9.9 was a criterion, which was removed since
    db.session.commit()

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "announce"})

    assert "The tie-break keys name criteria this call does not have: 9.9." in _flashes(admin_client)
    db.session.refresh(call)
    assert call.status == "draft"


def test_announce_freezes_the_call_and_queues_the_regulations(admin_client):
    call = _create_call(admin_client)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    response = admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "announce"})

    assert response.status_code == 302
    db.session.refresh(call)
    assert call.status == "announced"
    assert call.frozen_at is not None and len(call.definition_sha256) == 64
    document = db.session.get(Document, call.regulations_document_id)
    assert (document.kind, document.entity_type, document.entity_id) == ("regulations", "call", call.id)
    assert db.session.scalar(select(Job.status).where(Job.kind == "document", Job.target_id == document.id)) == \
        "pending"
    page = admin_client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert f"/documents/{document.id}" in page
    # frozen: no more criteria
    admin_client.post(f"/admin/calls/{call.id}/criteria", data={**CRITERION, "code": "2.3"})
    assert db.session.scalar(select(func.count(Criterion.id)).where(Criterion.call_id == call.id)) == 1


def test_a_short_application_period_needs_the_confirmation(admin_client):
    call = _create_call(admin_client, closes_at="2030-03-20T00:00")
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "announce"})
    db.session.refresh(call)
    assert call.status == "draft"

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "announce", "confirm_short_period": "y"})
    db.session.refresh(call)
    assert call.status == "announced"


def test_extend_deadline_takes_a_riga_time_and_a_reason(admin_client, admin, make_call):
    call = make_call(state="open", organiser=admin.organisers[0], admin=admin)

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "extend_deadline", "note": "",
                                                            "closes_at": "2099-01-01T00:00"})
    assert "Please write the reason." in _flashes(admin_client)

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "extend_deadline", "note": "Servera kļūme",
                                                            "closes_at": "2099-01-01T00:00"})
    db.session.refresh(call)
    assert call.closes_at == datetime(2098, 12, 31, 22, 0, tzinfo=timezone.utc)


# --- who may do what ----------------------------------------------------------------------------------------------

def test_an_auditor_reads_every_page_and_every_post_is_forbidden(client, login_as, make_user, make_application):
    application = make_application(state="submitted")
    call = application.call
    before = call.status
    auditor = make_user("auditor", organiser=call.organiser)
    login_as(client, auditor)

    for url in ("/admin/", f"/admin/calls/{call.id}", f"/admin/calls/{call.id}/applications",
                f"/admin/calls/{call.id}/ranking", f"/admin/applications/{application.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'name="trigger"' not in response.get_data(as_text=True), url  # no buttons to press

    for url, data in ((f"/admin/calls/{call.id}/fire", {"trigger": "cancel", "note": "x"}),
                      ("/admin/calls/new", {**CALL_FORM, "code": "AUD-1"}),
                      (f"/admin/applications/{application.id}/checks", {}),
                      (f"/admin/calls/{call.id}/criteria", CRITERION)):
        assert client.post(url, data=data).status_code == 403, url
    db.session.refresh(call)
    assert call.status == before
    assert db.session.scalar(select(func.count(CheckResult.id))) == 0


def test_an_admin_of_another_organiser_gets_404(client, login_as, make_user, make_application):
    application = make_application(state="submitted")
    call = application.call
    before = call.status
    login_as(client, make_user("admin"))  # a new organiser of their own

    for url in (f"/admin/calls/{call.id}", f"/admin/calls/{call.id}/applications", f"/admin/calls/{call.id}/ranking",
                f"/admin/applications/{application.id}", f"/admin/calls/{call.id}/edit"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "cancel", "note": "x"}).status_code == 404
    assert client.post(f"/admin/applications/{application.id}/fire",
                       data={"trigger": "request_clarification"}).status_code == 404
    assert call.code not in client.get("/admin/").get_data(as_text=True)
    db.session.refresh(call)
    assert call.status == before


@pytest.mark.parametrize("role", ["applicant", "evaluator"])
def test_applicants_and_evaluators_are_forbidden(client, login_as, make_user, role):
    login_as(client, make_user(role))
    assert client.get("/admin/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_programme_level_admin_sees_every_organiser(client, login_as, make_user, make_call):
    call = make_call(state="draft")
    login_as(client, make_user("admin", programme_level=True))
    assert call.code in client.get("/admin/").get_data(as_text=True)
    assert client.get(f"/admin/calls/{call.id}").status_code == 200


# --- applications ------------------------------------------------------------------------------------------------

def _count_queries(client, url) -> tuple[int, str]:
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def test_the_applications_list_uses_the_same_queries_for_few_rows_and_many(admin_client, admin, make_call,
                                                                           make_applications):
    few = make_call(state="announced", when="past", organiser=admin.organisers[0], admin=admin)
    make_applications(few, ["submitted"])
    many = make_call(state="announced", when="past", organiser=admin.organisers[0], admin=admin)
    made = make_applications(many, ["submitted"] * 4 + ["ineligible"] * 2 + ["withdrawn"] + ["draft"])

    queries_few, _page = _count_queries(admin_client, f"/admin/calls/{few.id}/applications")
    queries_many, page = _count_queries(admin_client, f"/admin/calls/{many.id}/applications")

    assert queries_many == queries_few <= 10
    assert all(a.number in page for a in made if a.status != "draft")
    assert page.count('href="/admin/applications/') == 7  # drafts are not listed

    _queries, filtered = _count_queries(admin_client, f"/admin/calls/{many.id}/applications?status=ineligible")
    assert filtered.count('href="/admin/applications/') == 2


def test_the_applications_list_shows_reviews_and_divergence_in_evaluation(admin_client, login_as, make_assignment):
    assignment = make_assignment(state="submitted")
    application = assignment.application
    login_as(admin_client, factories.admin_of(application.call))

    page = admin_client.get(f"/admin/calls/{application.call_id}/applications").get_data(as_text=True)

    assert application.number in page and "1 / 2" in page


def test_checks_are_recorded_and_move_the_application(admin_client, admin, make_call, make_application):
    call = make_call(state="announced", when="past", organiser=admin.organisers[0], admin=admin)
    application = make_application(call, state="submitted")
    page = admin_client.get(f"/admin/applications/{application.id}").get_data(as_text=True)
    assert application.content_sha256 in page and "System suggests" in page

    first, second = call.checks
    response = admin_client.post(f"/admin/applications/{application.id}/checks", data={
        f"passed_{first.id}": "yes", f"reason_{first.id}": "", f"passed_{second.id}": "no",
        f"reason_{second.id}": ""})
    assert response.status_code == 200  # the page again, with the answers as given
    page = response.get_data(as_text=True)
    assert "Give the reason for check A3." in page
    assert re.search(rf'<input checked[^>]*id="passed_{second.id}-1"', page)  # the "no" kept
    db.session.refresh(application)
    assert application.status == "submitted"
    assert db.session.scalar(select(func.count(CheckResult.id))) == 0

    admin_client.post(f"/admin/applications/{application.id}/checks", data={
        f"passed_{first.id}": "yes", f"passed_{second.id}": "yes"})
    db.session.refresh(application)
    assert application.status == "eligible"
    assert {(r.check_id, r.passed) for r in db.session.scalars(select(CheckResult))} == {
        (first.id, True), (second.id, True)}


def test_ranking_is_shown_confirmed_and_published_only_with_the_confirmation(admin_client, admin, make_call,
                                                                            make_applications):
    call = make_call(state="announced", when="past", organiser=admin.organisers[0], admin=admin, projects=1)
    first, second = make_applications(call, ["reviewed", "reviewed"])
    db.session.refresh(call)
    assert call.status == "ranking"

    page = admin_client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    assert first.number in page and second.number in page and "earlier submission" in page

    # Both steps are irreversible: without confirmed=1 the answer is the page that asks, and nothing moves.
    asked = admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "confirm_ranking", "back": "ranking"})
    assert "This cannot be undone." in asked.get_data(as_text=True)
    assert db.session.scalar(select(RankingProtocol).where(RankingProtocol.call_id == call.id)) is None
    admin_client.post(f"/admin/calls/{call.id}/fire",
                      data={"trigger": "confirm_ranking", "back": "ranking", "confirmed": "1"})
    protocol = db.session.scalar(select(RankingProtocol).where(RankingProtocol.call_id == call.id))
    assert protocol is not None and protocol.confirmed_by == admin.id
    # the page now says the ranking is confirmed, with the protocol's number and date, and no longer provisional
    page = admin_client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    state = re.search(r'id="ranking-state">(.*?)</p>', page, re.S).group(1)
    day = protocol.confirmed_at.astimezone(ZoneInfo("Europe/Riga")).strftime("%d.%m.%Y")
    assert f"The ranking is confirmed: commission protocol No. 1 of {day}." in state
    assert "Provisional" not in page and "provisional" not in page

    asked = admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "publish_results"})
    db.session.refresh(call)
    assert call.status == "ranking"
    assert "Publishing funds, reserves or rejects every reviewed application" in asked.get_data(as_text=True)

    admin_client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "publish_results", "confirmed": "1"})
    db.session.refresh(call)
    db.session.refresh(first)
    db.session.refresh(second)
    assert call.status == "awarded"
    assert (first.status, second.status) == ("funded", "reserve")
    page = admin_client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    assert f"/documents/{protocol.document_id}" in page


def test_the_ranking_page_explains_each_placement_and_every_override(admin_client, admin, make_call,
                                                                    make_applications):
    call = make_call(state="announced", when="past", organiser=admin.organisers[0], admin=admin, projects=1)
    first, second, third = make_applications(call, ["funded", "reserve", "rejected"])
    factories._fire(first, "decline", factories.member_of(first))
    factories._fire(second, "promote", admin, "Atbalstītais atteicās; nākamais rezervē.")
    page = admin_client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&nbsp;", " ")
    assert "passes: 22.5 points, at least the pass mark of 15, and every criterion minimum met" in text
    assert "fails: total 7.5 points, below the pass mark of 15 points; criterion 2.1: 1.5 points, below its " \
           "minimum of 3 points" in text
    assert "tie was broken by earlier submission" not in text  # 22.5 and 17.5: no tie here
    assert f"The budget of €4,600.00 runs out at rank 2 ({second.number}, €4,600.00)" in text
    reserve = text[text.index("Reserve list, in order"):]
    assert second.number in reserve[:200]
    overrides = text[text.index("Results set by hand"):]
    assert "Atbalstītais atteicās; nākamais rezervē." in overrides and admin.name in overrides
    main = text[text.index("Ranking " + call.code):]
    for key in ("submitted_at", "mean_all", "closest_two", "strict", "skip", "total_below_pass_mark", "minimum:2"):
        assert key not in main, key


def test_a_payment_is_marked_paid_with_its_bank_reference(client, login_as, make_payment):
    payment = make_payment(state="scheduled")
    application = db.session.get(Application, payment.application_id)
    login_as(client, factories.admin_of(application.call))

    page = client.get(f"/admin/applications/{application.id}").get_data(as_text=True)
    assert 'name="bank_reference"' in page

    client.post(f"/admin/payments/{payment.id}/fire", data={"trigger": "pay", "bank_reference": ""})
    db.session.refresh(payment)
    assert payment.status == "scheduled"

    client.post(f"/admin/payments/{payment.id}/fire", data={"trigger": "pay", "bank_reference": "SEB-0042",
                                                            "paid_on": "2030-06-10"})
    db.session.refresh(payment)
    assert (payment.status, payment.bank_reference, payment.paid_on.isoformat()) == ("paid", "SEB-0042",
                                                                                     "2030-06-10")


def test_a_report_gets_changes_requested_then_approved(client, login_as, make_report):
    report = make_report(state="submitted")
    login_as(client, factories.admin_of(report.application.call))
    assert "Notika 12 darbnīcas." in client.get(f"/admin/reports/{report.id}").get_data(as_text=True)

    client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "request_changes", "note": "Pievienojiet foto."})
    db.session.refresh(report)
    assert (report.status, report.reviewer_note) == ("changes_requested", "Pievienojiet foto.")

    report = make_report(state="submitted")
    login_as(client, factories.admin_of(report.application.call))
    client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "approve"})
    db.session.refresh(report)
    assert report.status == "approved" and report.approved_at is not None


def test_an_auditor_cannot_approve_a_report(client, login_as, make_user, make_report):
    report = make_report(state="submitted")
    login_as(client, make_user("auditor", organiser=report.application.call.organiser))
    assert client.get(f"/admin/reports/{report.id}").status_code == 200
    assert client.post(f"/admin/reports/{report.id}/fire", data={"trigger": "approve"}).status_code == 403
    db.session.refresh(report)
    assert report.status == "submitted"
    assert db.session.get(Report, report.id).approved_at is None


def test_a_payment_of_another_organiser_is_not_found(client, login_as, make_user, make_payment):
    payment = make_payment(state="scheduled")
    login_as(client, make_user("admin"))
    assert client.post(f"/admin/payments/{payment.id}/fire",
                       data={"trigger": "pay", "bank_reference": "X"}).status_code == 404
    assert db.session.get(Payment, payment.id).status == "scheduled"


# --- bad input, generated -------------------------------------------------------------------------------------------

TEXT_FIELDS = ("code", "number_prefix", "amount", "budget", "opens_at", "closes_at", "decision_on", "pass_mark",
               "tie_break_keys-0", "payment_tranches-0-percent", "payment_tranches-0-on",
               "evaluators_per_application", "report_schedule-0-due_on", "report_schedule-0-kind",
               "min_amount", "max_amount", "reserve_expires_at")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(TEXT_FIELDS), value=st.text(max_size=40))
def test_any_text_in_any_call_field_is_a_message_or_a_draft_never_an_error(admin_client, field, value):
    before = db.session.scalar(select(func.count(Call.id)))
    code = f"H-{before}"
    response = admin_client.post("/admin/calls/new", data={
        **CALL_FORM, "code": code, "number_prefix": f"H-{before}", field: value,
        "organiser_id": _organiser_of(admin_client)})

    assert response.status_code in (200, 302)
    saved = db.session.scalar(select(func.count(Call.id)))
    if response.status_code == 200:
        assert saved == before and "Nothing was saved." in response.get_data(as_text=True)
    else:
        assert saved == before + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(("code", "max_points", "min_points", "weight_percent", "step", "anchors")),
       value=st.text(max_size=30))
def test_any_text_in_any_criterion_field_is_a_message_or_a_criterion_never_an_error(admin_client, field, value):
    call = db.session.scalar(select(Call).where(Call.code == CALL_FORM["code"])) or _create_call(admin_client)
    before = db.session.scalar(select(func.count(Criterion.id)))

    response = admin_client.post(f"/admin/calls/{call.id}/criteria",
                                 data={**CRITERION, "code": f"9.{before}", field: value})

    assert response.status_code in (200, 302)
    assert db.session.scalar(select(func.count(Criterion.id))) == before + (response.status_code == 302)
