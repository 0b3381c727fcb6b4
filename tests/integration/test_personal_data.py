"""A person downloads everything the system holds about them (issue 8): a ZIP of JSON files and the documents
their messages carried, with nothing of anyone else."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from app.extensions import db
from app.models import Document, Message
from tests.factories import admin_of, evaluators_of, login_as, make_application, member_of

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def archive(client) -> zipfile.ZipFile:
    response = client.get("/my-data.zip")
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pumpurs-grants-my-data.zip"'
    return zipfile.ZipFile(io.BytesIO(response.data))


def read(package: zipfile.ZipFile, name: str):
    return json.loads(package.read(name).decode("utf-8"))


def test_a_member_gets_their_account_messages_steps_applications_and_documents(client):
    application = make_application(state="eligible")
    member = member_of(application)
    receipt = db.session.get(Document, application.receipt_document_id)
    receipt.content = b"%PDF-1.7 kvits"
    db.session.commit()
    login_as(client, member)

    package = archive(client)

    profile = read(package, "profile.json")
    assert (profile["email"], profile["name"]) == (member.email, member.name)
    assert profile["organisation"]["registration_number"] == member.organisation.registration_number
    subjects = [m["subject"] for m in read(package, "messages.json")]
    assert subjects == [m.subject for m in db.session.query(Message).filter_by(user_id=member.id).order_by(Message.id)]
    steps = [(a["entity_type"], a["trigger"]) for a in read(package, "actions.json")]
    assert ("application", "create") in steps and ("application", "submit") in steps
    assert ("application", "mark_eligible") not in steps  # the admin's step, not theirs
    (written,) = read(package, "applications.json")
    assert (written["number"], written["title"]) == (application.number, application.title)
    assert package.read(f"documents/{receipt.id}-{receipt.filename}") == b"%PDF-1.7 kvits"
    assert "jūsu dati" in package.read("README.txt").decode("utf-8")


def test_an_evaluator_gets_their_own_scores_and_nobody_elses(client):
    application = make_application(state="reviewed")
    mine, other = evaluators_of(application)[:2]
    login_as(client, mine)

    package = archive(client)

    (review,) = read(package, "reviews.json")
    assert review["application"] == application.number and review["status"] == "submitted"
    assert [s["criterion"] for s in review["scores"]] == [c.code for c in application.call.criteria]
    everything = b" ".join(package.read(name) for name in package.namelist()).decode("utf-8")
    assert other.email not in everything and other.name not in everything
    assert admin_of(application.call).email not in everything
    assert "applications.json" not in package.namelist()


def test_the_download_needs_a_login(client):
    response = client.get("/my-data.zip")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
