"""A move that concerns a person queues its message and document in the move's own transaction; the worker renders
the document once, stores its SHA-256 and delivers the e-mail through a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app import documents
from app.extensions import db
from app.models import Application, Document, Job, Message
from app.services import jobs
from app.services.workflow import fire
from tests.factories import admin_of

pytestmark = pytest.mark.postgres


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def renders(monkeypatch):
    """Counts the real renders (WeasyPrint still runs)."""
    made = []
    real = documents.render

    def counting(kind, context, language):
        made.append(kind)
        return real(kind, context, language)

    monkeypatch.setattr(documents, "render", counting)
    return made


@pytest.fixture
def draft(app, make_call, make_user, make_organisation, make_application):
    """A draft of an English-speaking member, with the queue emptied of what set-up left there (the call's
    regulations, rendered as a stub)."""
    call = make_call(state="open")  # before the member registers: no "new call" mail in the way
    member = make_user("applicant", organisation=make_organisation("Biedrība „Zaļā Ķekava”"), language="en")
    application = make_application(call, "draft", organisation=member.organisation,
                                   title="Ķekavas jauniešu darbnīcas")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "render", lambda kind, context, language: b"%PDF-1.4 stub")
        jobs.run_pending()
    return application, member


def test_submit_queues_the_message_and_the_receipt_in_its_own_transaction(draft):
    application, member = draft
    before = (db.session.scalar(select(func.count(Message.id))), db.session.scalar(select(func.count(Job.id))))

    fire(application, "submit", member)
    message = db.session.scalars(select(Message).where(Message.user_id == member.id)).one()
    receipt = db.session.get(Document, application.receipt_document_id)
    assert (message.document_id, receipt.kind, receipt.sha256) == (receipt.id, "receipt", None)
    queued = db.session.execute(select(Job.kind, Job.target_id, Job.status).order_by(Job.id)).all()[-2:]
    assert queued == [("document", receipt.id, "pending"), ("email", message.id, "pending")]

    db.session.rollback()  # the move failed after all: nothing of it may stay behind
    assert (db.session.scalar(select(func.count(Message.id))), db.session.scalar(select(func.count(Job.id)))) \
        == before
    assert db.session.get(Application, application.id).status == "draft"


def test_the_worker_delivers_the_receipt_rendered_once(draft, smtp_server, renders):
    application, member = draft
    fire(application, "submit", member)
    db.session.commit()

    done = jobs.run_pending()

    assert done == 2 and renders == ["receipt"]
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [member.email]
    assert mail.message["To"] == member.email
    assert mail.message["Subject"] == f"Application {application.number} received"
    assert f"Hello, {member.name}!" in mail.text
    assert f"Your application {application.number} “Ķekavas jauniešu darbnīcas” was received on" in mail.text
    assert application.content_sha256 in mail.text
    assert application.number in mail.html

    (filename, content_type, data), = mail.attachments
    assert (filename, content_type) == (f"{application.number}.pdf", "application/pdf")
    receipt = db.session.get(Document, application.receipt_document_id)
    assert receipt.sha256 == hashlib.sha256(data).hexdigest() == hashlib.sha256(receipt.content).hexdigest()
    text = pdf_text(data)
    assert application.number in text
    assert application.content_sha256 in text.replace("\n", "").replace(" ", "")
    assert "Zaļā Ķekava" in text

    message = db.session.scalars(select(Message).where(Message.user_id == member.id)).one()
    assert message.sent_at is not None
    assert db.session.scalars(select(Job.status)).all() == ["done"] * db.session.scalar(select(func.count(Job.id)))


def test_a_second_run_renders_and_sends_nothing(draft, smtp_server, renders):
    application, member = draft
    fire(application, "submit", member)
    db.session.commit()
    jobs.run_pending()
    sha256 = db.session.get(Document, application.receipt_document_id).sha256

    assert jobs.run_pending() == 0
    assert renders == ["receipt"]
    assert len(smtp_server.received) == 1
    assert db.session.get(Document, application.receipt_document_id).sha256 == sha256


def test_published_results_reach_each_organisation_with_its_letter(app, make_call, make_applications,
                                                                   smtp_server, stub_pdfs, monkeypatch):
    call = make_call(state="announced", when="past", projects=1)
    funded, rejected = make_applications(call, ["reviewed", "reviewed"], scores=[9, 3])
    fire(call, "confirm_ranking", admin_of(call))
    db.session.commit()
    jobs.run_pending()  # the receipts and the protocol, stubbed: not what this test reads
    smtp_server.received.clear()
    monkeypatch.undo()  # real PDFs from here on

    fire(call, "publish_results", admin_of(call))
    db.session.commit()
    jobs.run_pending()

    for application in (funded, rejected):
        member = application.organisation.members[0]
        (mail,) = smtp_server.to(member.email)
        message = db.session.scalars(select(Message).where(Message.user_id == member.id,
                                                           Message.document_id.is_not(None))
                                     .order_by(Message.id.desc())).first()
        assert mail.message["Subject"] == message.subject
        assert application.number in mail.message["Subject"]
        assert mail.text.replace("\r\n", "\n").strip() == message.body_text.strip()  # SMTP lines end in CRLF
        (filename, content_type, data), = mail.attachments
        assert (filename, content_type) == (f"{application.number}-lemums.pdf", "application/pdf")
        assert application.number in pdf_text(data)
        letter = db.session.get(Document, message.document_id)
        assert letter.kind == "letter" and letter.sha256 == hashlib.sha256(data).hexdigest()
