"""The regulations and the public page of a call list what an application to it contains: the call's own questions,
the attachment types and, for a budgeted call, the cost categories with their caps (issue 6)."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader

from app.extensions import db
from app.models import AttachmentType, Question
from tests.factories import admin_of, login_as, make_call, advance_call


def _with_contents(call):
    db.session.add_all([
        Question(call=call, key="q1", position=0, kind="long_text", step="questions", required=True,
                 label_lv="Kā projektā iesaistīsiet vecākus?", label_en="How will the project involve parents?"),
        AttachmentType(call=call, position=0, label_lv="Partnera atbalsta vēstule",
                       label_en="Partner's letter of support", formats=["pdf"], required=False),
    ])
    call.cost_categories[0].cap_percent = 10
    db.session.commit()
    return call


def _words(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_regulations_list_the_questions_attachments_and_capped_categories(app):
    call = _with_contents(make_call("draft", "budgeted"))
    client = app.test_client()
    login_as(client, admin_of(call))

    pdf = _words(client.get(f"/admin/calls/{call.id}/preview/regulations.pdf").data)

    assert "Pieteikuma saturs" in pdf
    assert "Kā projektā iesaistīsiet vecākus?" in pdf and "Garš teksts" in pdf
    assert "Partnera atbalsta vēstule" in pdf and "PDF" in pdf
    assert re.search(r"Personāls 10 %", pdf) and "Materiāli —" in pdf


def test_the_public_page_lists_them_in_the_readers_language(app):
    call = _with_contents(make_call("draft", "budgeted", when="now"))
    advance_call(call, "open")
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"

    page = client.get(f"/calls/{call.code}").get_data(as_text=True)

    assert "What the application contains" in page
    assert "How will the project involve parents?" in page and "Partner&#39;s letter of support" in page
    assert "Staff" in page and "(At most 10 %)" in page
    assert "Kā projektā" not in page
