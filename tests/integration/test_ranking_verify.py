"""`flask --app wsgi ranking verify CALL` and the "Re-check the result" page (issue 7, re-checkable results).

The demo's PMP-2022 is a published, completed call: a funded NGO declined, the next on the reserve list was
promoted (an override with its justification), an appeal was dismissed. It is loaded once for the module into a
file; each test works on a copy of that file, so an edit made behind the app's back (an SQL UPDATE) stays in its
test. The smaller cases at the end build their own calls through the factories, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select, text, update

from app import create_app
from app.demo import load_demo
from app.extensions import db
from app.models import Application, Assignment, Call, RankingProtocol, Score
from app.services import scoring, verification
from tests import factories
from tests.conftest import IsolatedCliRunner, IsolatedClient

FIRST_DIFFERENCE = "First difference: "


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, _sqlite_template):
    """A database file holding the demo, loaded once."""
    folder = tmp_path_factory.mktemp("demo-verify")
    shutil.copyfile(_sqlite_template, folder / "grants.sqlite")
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'grants.sqlite'}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="")
    with flask_app.app_context():
        load_demo()
        db.session.remove()
        db.engine.dispose()
    return folder / "grants.sqlite"


@pytest.fixture
def demo(demo_file, tmp_path):
    """The app on this test's own copy of the demo, with an application context pushed."""
    shutil.copyfile(demo_file, tmp_path / "grants.sqlite")
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'grants.sqlite'}",
                           UPLOAD_DIR=str(tmp_path / "uploads"), MAIL_SERVER="")
    flask_app.test_cli_runner_class = IsolatedCliRunner
    flask_app.test_client_class = IsolatedClient
    context = flask_app.app_context()
    context.push()
    try:
        yield flask_app
    finally:
        db.session.remove()
        db.engine.dispose()
        context.pop()


def _verify(flask_app, call="PMP-2022", lang="en"):
    return flask_app.test_cli_runner().invoke(args=["ranking", "verify", call, "--lang", lang])


def _first_difference(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(FIRST_DIFFERENCE)]
    assert len(lines) == 1, output
    return lines[0][len(FIRST_DIFFERENCE):]


def _application(number: str) -> Application:
    return db.session.scalar(select(Application).where(Application.number == number))


def _sql(statement: str, **values) -> None:
    """An edit made directly in the database, past every service and the audit trail."""
    db.session.execute(text(statement), values)
    db.session.commit()


# --- the published 2022 call -----------------------------------------------------------------------------------

def test_the_published_2022_call_verifies(demo):
    call = db.session.scalar(select(Call).where(Call.code == "PMP-2022"))
    assert call.status == "completed"  # long after publishing: funded → closed, declined, not_funded, rejected
    result = _verify(demo)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Call PMP-2022 · protocol confirmed 29.04.2022 15:00:00"
    assert lines[1:] == [
        "  agrees: The ranking recomputed from the stored scores, amounts and rules (6 applications)",
        "  agrees: The published decisions and the overrides after them (6 applications; overrides after "
        "publishing: 1)",
        f"  agrees: The input hash stored with the protocol (SHA-256 {_protocol(call).inputs_sha256[:16]}…)",
        f"  agrees: The call's rules as frozen at announcement (SHA-256 {call.definition_sha256[:16]}…)",
        "All checks agree."]
    by_id = _verify(demo, str(call.id))
    assert by_id.exit_code == 0 and by_id.output == result.output


def _protocol(call: Call) -> RankingProtocol:
    return db.session.scalar(select(RankingProtocol).where(RankingProtocol.call_id == call.id))


def test_the_input_hash_is_that_of_the_ranked_applications_whatever_their_state_now(demo):
    """The old fault: the hash looked only at applications still `reviewed`, so after publishing it never matched."""
    call = db.session.scalar(select(Call).where(Call.code == "PMP-2022"))
    protocol = _protocol(call)
    ranked = [row["application_id"] for row in protocol.ranking]
    assert not db.session.scalars(select(Application).where(Application.call_id == call.id,
                                                            Application.status == "reviewed")).all()
    assert scoring.inputs_hash(call, application_ids=ranked) == protocol.inputs_sha256
    assert scoring.inputs_hash(call) != protocol.inputs_sha256  # what publish_results compares: today's reviewed


def test_a_score_edited_in_the_database_is_named(demo):
    application = _application("PMP-2022-002")
    score = db.session.scalars(select(Score).join(Assignment).where(Assignment.application_id == application.id)
                               .order_by(Score.id)).first()
    assert score.half_points == 9
    _sql("UPDATE scores SET half_points = 8 WHERE id = :id", id=score.id)
    result = _verify(demo)
    assert result.exit_code == 1
    # one review of two loses half a point: the mean total 44.5 points becomes 44.25
    assert _first_difference(result.output) == ("Application PMP-2022-002: the protocol says total 44.5 points; "
                                                "the recomputation says total 44.25 points.")
    assert "  differs: The input hash stored with the protocol" in result.output


def test_an_amount_edited_in_the_database_is_named(demo):
    _sql("UPDATE applications SET amount_cents = 400000 WHERE number = 'PMP-2022-004'")
    result = _verify(demo)
    assert result.exit_code == 1
    assert _first_difference(result.output) == ("Application PMP-2022-004: the protocol says amount €4,600.00; "
                                                "the recomputation says amount €4,000.00.")
    in_latvian = _verify(demo, lang="lv")
    assert in_latvian.exit_code == 1
    assert "Pirmā atšķirība: Projekta iesniegums PMP-2022-004: protokolā — summa 4\u00a0600,00\u00a0€; " \
           "atkārtotajā aprēķinā — summa 4\u00a0000,00\u00a0€." in in_latvian.output


def test_an_override_edited_in_the_database_is_named(demo):
    promoted = _application("PMP-2022-006")  # promoted from the reserve list on 12.05.2022 10:00
    _sql("UPDATE decisions SET amount_cents = 400000 WHERE application_id = :id AND override_justification "
         "IS NOT NULL", id=promoted.id)
    result = _verify(demo)
    assert result.exit_code == 1
    assert _first_difference(result.output) == (
        "Application PMP-2022-006: the override in the audit trail (12.05.2022 10:00:00) says Funded, €4,600.00; "
        "the stored decision says Funded, €4,000.00.")
    assert "  agrees: The ranking recomputed" in result.output  # the protocol itself still stands


def test_an_override_justification_rewritten_is_named(demo):
    promoted = _application("PMP-2022-006")
    _sql("UPDATE decisions SET override_justification = 'Komisija tā nolēma.' WHERE application_id = :id "
         "AND override_justification IS NOT NULL", id=promoted.id)
    result = _verify(demo)
    assert result.exit_code == 1
    assert _first_difference(result.output) == (
        "Application PMP-2022-006: the justification of its override (12.05.2022 10:00:00) is not the one the "
        "audit trail recorded.")


def test_a_published_decision_edited_is_named(demo):
    _sql("UPDATE decisions SET outcome = 'reserve' WHERE application_id = :id",
         id=_application("PMP-2022-003").id)
    result = _verify(demo)
    assert result.exit_code == 1
    assert _first_difference(result.output) == ("Application PMP-2022-003: the protocol says decision: Rejected; "
                                                "the published decision says decision: Reserve list.")


def test_a_rule_edited_in_the_database_breaks_the_frozen_definition_and_the_input_hash(demo):
    _sql("UPDATE calls SET divergence_threshold_percent = 50 WHERE code = 'PMP-2022'")
    result = _verify(demo)
    assert result.exit_code == 1
    assert "  differs: The input hash stored with the protocol" in result.output
    assert "  differs: The call's rules as frozen at announcement" in result.output
    assert _first_difference(result.output).startswith("The protocol's input hash is ")


def test_a_call_without_a_confirmed_ranking_has_nothing_to_verify(demo):
    in_evaluation = db.session.scalar(select(Call).where(Call.code.like("PMP-%-R")))
    result = _verify(demo, in_evaluation.code)
    assert result.exit_code == 1
    assert _first_difference(result.output) == ("No ranking has been confirmed for this call: there is no protocol "
                                                "to re-check.")
    unknown = _verify(demo, "NO-SUCH-CALL")
    assert unknown.exit_code == 2 and "no call with id or code 'NO-SUCH-CALL'" in unknown.output


# --- the page ------------------------------------------------------------------------------------------------------

def _lv(msgid: str, **values) -> str:
    with force_locale("lv"):
        return gettext(msgid, **values)


def _auditor_page(flask_app, call: Call) -> str:
    from app.models import User

    auditor = db.session.scalar(select(User).where(User.email == "auditors@ikvd.gov.lv"))
    assert auditor.role == "auditor" and auditor.language == "lv"
    client = flask_app.test_client()
    factories.login_as(client, auditor)
    call_page = client.get(f"/admin/calls/{call.id}")
    assert f'href="/admin/calls/{call.id}/verification"' in call_page.get_data(as_text=True)
    response = client.get(f"/admin/calls/{call.id}/verification")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_auditor_sees_the_same_verdict_on_the_page(demo):
    call = db.session.scalar(select(Call).where(Call.code == "PMP-2022"))
    page = _auditor_page(demo, call)
    assert _lv("All checks agree.") in page
    assert page.count(f'<span class="badge text-bg-success">{_lv("agrees")}</span>') == 4
    assert _lv("differs") not in page


def test_an_auditor_sees_the_same_first_difference_on_the_page(demo):
    _sql("UPDATE applications SET amount_cents = 400000 WHERE number = 'PMP-2022-004'")
    command = _verify(demo, lang="lv")
    difference = next(line for line in command.output.splitlines() if line.startswith("Pirmā atšķirība: "))
    call = db.session.scalar(select(Call).where(Call.code == "PMP-2022"))
    page = _auditor_page(demo, call)
    assert _lv("The result differs from the record.") in page
    assert difference in page
    assert page.count(f'<span class="badge text-bg-danger">{_lv("differs")}</span>') == 2  # ranking, input hash


# --- calls built for the test (SQLite and PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
def test_verify_passes_right_after_publishing_and_names_an_edit_of_the_submission_time(app, make_call,
                                                                                      make_applications):
    call = make_call(state="announced", when="past", projects=1)
    funded, reserve, rejected = make_applications(call, ["funded", "reserve", "rejected"])
    assert call.status == "awarded" and (funded.status, reserve.status, rejected.status) == (
        "funded", "reserve", "rejected")
    result = verification.verify(call)
    assert result.ok, result.first_difference
    assert [(c.name, c.agrees) for c in result.checks] == [
        ("ranking", True), ("decisions", True), ("inputs", True), ("definition", True)]

    # an input that moves no placement (the rejected one's submission time): only the hash can tell
    db.session.execute(update(Application).where(Application.id == rejected.id)
                       .values(submitted_at=rejected.submitted_at - timedelta(hours=1)))
    db.session.commit()
    result = verification.verify(call)
    assert [(c.name, c.agrees) for c in result.checks] == [
        ("ranking", True), ("decisions", True), ("inputs", False), ("definition", True)]
    assert not result.ok


@pytest.mark.postgres
def test_the_cli_on_a_fresh_call_by_id(app, runner, make_call, make_applications):
    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["funded", "rejected"])
    result = runner.invoke(args=["ranking", "verify", str(call.id)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "All checks agree."


@pytest.mark.postgres
def test_an_application_reviewed_again_after_an_upheld_appeal_is_named_with_the_reason(app, make_call,
                                                                                      make_applications):
    """A known limit, said plainly: the protocol holds the scores before the appeal, the database only today's, so
    the recomputation differs for that application; the command says why. The re-ranking itself is an override
    the decisions check accepts (same outcome, amount and justification as its audit event)."""
    from app.services import evaluation
    from app.services.workflow import fire

    call = make_call(state="announced", when="past", projects=2)
    funded, appealed = make_applications(call, ["funded", "appealed"], appeal_from="rejected")
    admin = factories.make_organiser_admin(call.organiser)
    fire(appealed, "uphold_appeal", admin, "Vērtētāji nepamatoti novērtēja 2. kritēriju.")
    db.session.commit()
    for review in db.session.scalars(select(Assignment).where(Assignment.application_id == appealed.id)):
        evaluation.save_scores(review, review.evaluator,
                               {c.id: (c.max_half_points, "Pārskatīts.") for c in call.criteria})
        fire(review, "submit_review", review.evaluator)
        db.session.commit()
    fire(appealed, "fund", admin, "Apmierināts apstrīdējums; budžetā ir brīvi līdzekļi.")
    db.session.commit()

    with force_locale("en"):
        result = verification.verify(call)
    checks = {c.name: c for c in result.checks}
    assert not checks["ranking"].agrees and checks["decisions"].agrees and not checks["inputs"].agrees
    # the first row that moved is the funded one (the appealed application now ranks above it); the reason follows
    assert checks["ranking"].difference.startswith(f"Application {funded.number}: the protocol says rank 1; the "
                                                   "recomputation says rank 2. ")
    assert f"Reviews of {appealed.number} were submitted again after the protocol was confirmed" in \
        checks["ranking"].difference
    assert checks["decisions"].compared == "2 applications; overrides after publishing: 1"
