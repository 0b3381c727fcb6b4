"""The grant agreement (issue 8): issued with the offer and rendered by the worker before the offer's message
leaves, accepted online as the fixed PDF it is (who, when, its SHA-256), amended with a reason and accepted again,
the old versions kept; the NGO's and the admin's pages show it. Services answer in Latvian (the default), pages are
read in English."""
from __future__ import annotations

import hashlib
import io
import smtplib
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app import clock, documents
from app.errors import Refused, UserError
from app.extensions import db
from app.models import AuditEvent, Document, Message
from app.models.agreements import AgreementVersion
from app.services import agreements, jobs
from app.services.timeline import grant_timeline
from app.services.workflow import fire
from tests import factories
from tests.factories import admin_of, make_application, make_user, member_of, render_agreement


def login_as(client, user, lang="en"):
    factories.login_as(client, user)
    with client.session_transaction() as session:
        session["lang"] = lang


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _agreement(application) -> Document:
    return db.session.get(Document, application.agreement_document_id)


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.get_data(as_text=True).split())


def test_the_offer_queues_the_agreement_and_the_worker_renders_it_with_the_facts(app):
    funded = make_application(state="funded")
    agreement = _agreement(funded)
    (version,) = db.session.scalars(select(AgreementVersion).where(AgreementVersion.application_id == funded.id))
    assert (version.version, version.document_id, version.reason, version.accepted_at) == (1, agreement.id, None,
                                                                                            None)
    assert agreement.sha256 is None and agreement.content is None  # queued, not rendered in the offer's move

    assert jobs.run_pending() >= 1
    db.session.expire_all()
    agreement = _agreement(funded)
    assert agreement.sha256 == hashlib.sha256(agreement.content).hexdigest()
    text = _text(agreement.content)
    organisation = funded.organisation
    tranches_in_words = ("pēc finansējuma līguma noslēgšanas", "pēc noslēguma atskaites apstiprināšanas")
    for fact in (funded.number, organisation.name, organisation.registration_number, organisation.iban,
                 *tranches_in_words, "80 %", "20 %"):
        assert fact in text, fact


def test_the_agreement_is_rendered_before_the_offers_message_is_sent(app, smtp_server, monkeypatch):
    happened = []
    real_render, real_send = documents.render, smtplib.SMTP.send_message

    def render(kind, context, language):
        happened.append(("render", kind))
        return real_render(kind, context, language)

    def send(self, message, *args, **kwargs):
        happened.append(("send", str(message["Subject"])))
        return real_send(self, message, *args, **kwargs)

    monkeypatch.setattr(documents, "render", render)
    monkeypatch.setattr(smtplib.SMTP, "send_message", send)
    funded = make_application(state="funded")
    number = funded.number
    happened.clear()
    jobs.run_pending()
    decision = [i for i, (what, name) in enumerate(happened) if what == "send" and number in name]
    assert decision, happened
    assert happened.index(("render", "agreement")) < decision[0]


def test_accepting_records_who_when_and_the_hash_and_never_renders(app, monkeypatch):
    funded = make_application(state="funded")
    member = member_of(funded)
    with pytest.raises(Refused, match="vēl tiek sagatavots"):  # not fixed yet: nothing to accept
        agreements.accept(funded, member, None)
    db.session.rollback()
    jobs.run_pending()
    db.session.expire_all()
    issued = _agreement(funded)

    def refuse(*args, **kwargs):
        raise AssertionError("the PDF renderer was called during the acceptance")

    monkeypatch.setattr(documents, "render", refuse)
    clock.travel_to(clock.now())  # frozen: the time recorded is the time of the acceptance
    agreements.accept(funded, member, issued.sha256)
    db.session.commit()
    db.session.expire_all()
    version = agreements.current_version(funded)
    assert funded.status == "accepted"
    assert (funded.accepted_by, funded.accepted_at, funded.agreement_sha256) == (member.id, clock.now(),
                                                                                 issued.sha256)
    assert (version.accepted_by, version.accepted_sha256, version.accepted_via) == (member.id, issued.sha256,
                                                                                    "online")


def test_an_acceptance_of_a_version_the_page_no_longer_shows_is_refused(app):
    funded = make_application(state="funded")
    render_agreement(funded)
    db.session.commit()
    with pytest.raises(Refused, match="Kopš atvērāt lapu, līgums ir mainīts"):
        agreements.accept(funded, member_of(funded), "0" * 64)
    db.session.rollback()
    assert funded.status == "funded"


def test_after_the_offers_deadline_it_cannot_be_accepted(app):
    funded = make_application(state="funded")
    render_agreement(funded)
    db.session.commit()
    sha256, member = _agreement(funded).sha256, member_of(funded)
    clock.travel_to(funded.offer_deadline + timedelta(minutes=1))
    with pytest.raises(UserError):  # the clock's move declines the offer first: accepting is no longer possible
        agreements.accept(funded, member, sha256)
    db.session.rollback()
    db.session.expire_all()
    assert funded.status == "funded" and funded.accepted_at is None  # the refused request changed nothing


def test_an_amendment_is_a_new_version_accepted_again_and_the_old_one_kept(app, stub_pdfs):
    accepted = make_application(state="accepted")
    first = _agreement(accepted)
    admin, member = admin_of(accepted.call), member_of(accepted)
    with pytest.raises(Refused, match="Norādiet grozījumu iemeslu"):
        agreements.amend(accepted, admin, "  ")
    db.session.rollback()

    agreements.amend(accepted, admin, "Precizēts īstenošanas laiks.")
    db.session.commit()
    rows = agreements.versions(accepted)
    assert [(v.version, v.reason) for v in rows] == [(1, None), (2, "Precizēts īstenošanas laiks.")]
    assert rows[0].accepted_at is not None and rows[1].accepted_at is None
    assert accepted.agreement_document_id == rows[1].document_id != first.id
    assert db.session.get(Document, first.id).sha256 == first.sha256  # the old version is kept as it was
    assert accepted.status == "accepted"
    notice = db.session.scalars(select(Message).where(Message.user_id == member.id)
                                .order_by(Message.id.desc())).first()
    assert accepted.number in notice.subject and "Precizēts īstenošanas laiks." in notice.body_text

    with pytest.raises(Refused, match="vēl tiek sagatavots"):
        agreements.accept(accepted, member, None)
    db.session.rollback()
    with pytest.raises(Refused, match="nav pieņēmusi līguma 2. versiju"):  # not signed on an unaccepted version
        fire(accepted, "sign", admin)
    db.session.rollback()
    jobs.run_pending()
    db.session.expire_all()
    second = _agreement(accepted)
    agreements.accept(accepted, member, second.sha256)
    db.session.commit()
    assert agreements.current_version(accepted).accepted_sha256 == second.sha256
    assert accepted.agreement_sha256 == second.sha256
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "application",
                                                         AuditEvent.entity_id == accepted.id)
                                .order_by(AuditEvent.id)).all()
    assert [e.trigger for e in events][-2:] == ["amend_agreement", "accept_amendment"]
    assert events[-2].note == "Precizēts īstenošanas laiks." and events[-2].actor_id == admin.id
    assert second.sha256 in events[-1].data and events[-1].actor_id == member.id
    with pytest.raises(Refused, match="Nav līguma, kas gaidītu"):
        agreements.accept(accepted, member, second.sha256)
    db.session.rollback()
    fire(accepted, "sign", admin)  # the current version accepted: the organiser signs
    db.session.commit()
    assert accepted.status == "contracted"
    steps = [entry.what for entry in grant_timeline(accepted, admin, "lv")]
    assert "Līgums grozīts" in steps and "Grozītais līgums pieņemts" in steps


def test_a_closed_grant_s_agreement_cannot_be_amended(app, stub_pdfs):
    declined = make_application(state="declined")
    with pytest.raises(Refused, match="nevar grozīt"):
        agreements.amend(declined, admin_of(declined.call), "Kļūda.")
    db.session.rollback()


def test_the_pages_show_the_agreement_its_versions_and_the_amendment_flow(app, client, stub_pdfs):
    accepted = make_application(state="accepted")
    admin, member = admin_of(accepted.call), member_of(accepted)
    app_id = accepted.id
    login_as(client, admin)
    response = client.post(f"/admin/applications/{app_id}/agreement/amend", data={"reason": "Mainīts konts."},
                           follow_redirects=True)
    page = _page(response)
    assert "Mainīts konts." in page and "agreement-versions" in page
    jobs.run_pending()
    db.session.expire_all()
    second = _agreement(accepted)

    login_as(client, member)
    page = _page(client.get(f"/apply/applications/{app_id}/view"))
    assert second.sha256 in page and f"/documents/{second.id}" in page
    assert "Mainīts konts." in page and "/agreement/signed" in page and "/agreement/accept" in page
    response = client.post(f"/apply/applications/{app_id}/agreement/accept",
                           data={"sha256": second.sha256, "confirm": "y"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert agreements.current_version(accepted).accepted_by == member.id

    login_as(client, admin)
    page = _page(client.get(f"/admin/applications/{app_id}"))
    assert second.sha256 in page and "Mainīts konts." in page and "online" in page


def test_a_member_of_another_organisation_cannot_accept_amend_or_download(app, client, stub_pdfs):
    funded = make_application(state="funded")
    render_agreement(funded)
    db.session.commit()
    stranger = make_user("applicant")
    db.session.commit()
    login_as(client, stranger)
    assert client.get(f"/documents/{funded.agreement_document_id}").status_code == 404
    response = client.post(f"/apply/applications/{funded.id}/agreement/accept",
                           data={"sha256": _agreement(funded).sha256, "confirm": "y"})
    assert response.status_code == 404
    assert client.post(f"/admin/applications/{funded.id}/agreement/amend", data={"reason": "x"}).status_code in (
        403, 404)
    db.session.expire_all()
    assert funded.status == "funded" and len(agreements.versions(funded)) == 1


@pytest.fixture
def empty(empty_database_url, tmp_path):
    """An app on an empty database and an engine to look at it with (as in test_migrations.py)."""
    from sqlalchemy import create_engine

    from app import create_app
    from tests.conftest import IsolatedCliRunner

    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, UPLOAD_DIR=str(tmp_path / "up"))
    engine = create_engine(empty_database_url)
    try:
        yield IsolatedCliRunner(flask_app), engine
    finally:
        engine.dispose()
        with flask_app.app_context():
            db.engine.dispose()


def test_agreements_issued_before_the_migration_become_version_one(empty):
    """An agreement issued and accepted before a6e1c0de0015 is its version 1, accepted as recorded."""
    from sqlalchemy import text

    runner, engine = empty

    def flask_db(*args):
        result = runner.invoke(args=["db", *args])
        assert result.exit_code == 0, result.output

    flask_db("upgrade")
    with runner.app.app_context():
        accepted = make_application(state="accepted")
        expected = (accepted.id, accepted.agreement_document_id, accepted.accepted_by, accepted.agreement_sha256)
        db.session.remove()
    flask_db("downgrade", "a6e1c0de0014")
    flask_db("upgrade")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT application_id, document_id, accepted_by, accepted_sha256, "
                                       "accepted_via, version FROM agreement_versions")).all()
    assert [tuple(r) for r in rows] == [(*expected, "online", 1)]
