"""Attachments (DESIGN 4.3, 4.6; issue 6): the types a call asks for, uploads judged by their content, safe names,
downloads only through the policy, and the files frozen with the application and listed on its receipt.

The files are built here byte by byte (a PDF header, a DOCX's ZIP entries, an executable's "MZ"), so what each
must be recognised as is written by the test, not computed by the code under test."""
from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile

import pytest
from sqlalchemy import func, select

from app.errors import Refused
from app.extensions import db
from app.models import Application, ApplicationFile, AttachmentType, Clarification, Document, Message
from app.services import applications, attachments, calls, evaluation, jobs
from app.services.workflow import fire
from tests import factories

pytestmark = pytest.mark.postgres

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"


def zipped(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(zipfile.ZipInfo(stored_first), entries[stored_first], compress_type=zipfile.ZIP_STORED)
        for name, data in entries.items():
            if name != stored_first:
                archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
               "word/document.xml": b"<w:document>Valdes l\xc4\x93mums</w:document>"})
XLSX = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT = zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office:document/>"},
             stored_first="mimetype")
EDOC = zipped({"mimetype": b"application/vnd.etsi.asic-e+zip", "META-INF/signatures0.xml": b"<asic/>",
               "lemums.pdf": PDF}, stored_first="mimetype")


def declared_huge(data: bytes) -> bytes:
    """`data` (a ZIP) with its central directory claiming that every entry inflates to 3.9 GB."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        out[at + 24:at + 28] = struct.pack("<I", 0xF0000000)  # uncompressed size
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@pytest.fixture
def world(app, client, stub_pdfs):
    """An open call asking for a required board declaration (PDF or .edoc) and an optional partner letter (PDF or
    DOCX); a draft of organisation O with its member logged in; another organisation's member."""
    call = factories.make_call(state="draft", when="now")
    admin = factories.admin_of(call)
    board = attachments.add_type(call, admin, label_lv="Biedrības valdes parakstīts apliecinājums",
                                 label_en="Declaration signed by the NGO's board", formats=["pdf", "edoc"],
                                 required=True)
    letter = attachments.add_type(call, admin, label_lv="Partnera atbalsta vēstule", label_en="Partner's letter",
                                  formats=["pdf", "docx"], required=False)
    db.session.commit()
    factories.advance_call(call, "open")
    draft = factories.make_application(call, "draft")
    member = factories.member_of(draft)
    factories.login_as(client, member)
    return {"call": call, "admin": admin, "board": board, "letter": letter, "draft": draft, "member": member}


def upload(client, application, type_id, name, data):
    return client.post(f"/apply/applications/{application.id}/attachments",
                       data={"type_id": str(type_id), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def files(application) -> list[ApplicationFile]:
    db.session.expire_all()
    return db.session.scalars(select(ApplicationFile).where(ApplicationFile.application_id == application.id)
                              .order_by(ApplicationFile.id)).all()


def flashed(client) -> str:
    with client.session_transaction() as session:
        return " ".join(text for _category, text in session.get("_flashes", []))


# --- recognised by the content ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    (PDF, "pdf"), (DOCX, "docx"), (XLSX, "xlsx"), (ODT, "odt"), (EDOC, "edoc"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, "jpg"),
    (EXE, None), (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, None), (b"just some text", None),
    (zipped({"a.txt": b"hello"}), None),  # a plain ZIP is none of the allowed containers
    (zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/vbaProject.bin": b"macro"}),
     None),  # a DOCX with macros (a .docm in disguise)
])
def test_the_format_is_recognised_from_the_content(app, data, expected):
    assert attachments.recognise(data) == expected


def test_a_zip_bomb_is_refused_unopened(app):
    ratio_bomb = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\x00" * (8 * 1024 * 1024)})
    assert len(ratio_bomb) < 100_000  # 8 MB of zeros deflate to a few kilobytes
    for bomb in (ratio_bomb, declared_huge(DOCX)):
        with pytest.raises(Refused, match="ZIP bumba"):  # the default language is Latvian
            attachments.recognise(bomb)


@pytest.mark.parametrize("given, stored, shown", [
    ("../../etc/passwd", "passwd.pdf", "passwd"),
    ("..\\..\\windows\\system32\\cmd.exe", "cmd.pdf", "cmd.exe"),
    ("Valdes lēmums.pdf", "Valdes_lēmums.pdf", "Valdes lēmums.pdf"),
    ("rēķins\u202egnp.exe", "rēķinsgnp.pdf", "rēķinsgnp.exe"),  # the bidi override is dropped
    ("a\x00b\r\n.pdf", "ab.pdf", "ab.pdf"),
    ("...", "file.pdf", "..."),
    ("Ž" * 300 + ".pdf", "Ž" * 100 + ".pdf", "Ž" * 200),
])
def test_stored_names_are_safe_and_keep_latvian_letters(app, given, stored, shown):
    assert attachments.safe_name(given, "pdf") == stored
    assert attachments.display_name(given) == shown


# --- the NGO's page: upload, replace, remove ----------------------------------------------------------------------

def test_upload_replace_and_remove_keep_one_row_per_type(world, client):
    draft, board = world["draft"], world["board"]
    page = client.get(f"/apply/applications/{draft.id}/attachments").get_data(as_text=True)
    assert "Biedrības valdes parakstīts apliecinājums" in page and "Partnera atbalsta vēstule" in page

    assert upload(client, draft, board.id, "Valdes lēmums.pdf", PDF).status_code == 302
    (first,) = files(draft)
    assert (first.type_id, first.filename, first.original_name, first.format, first.size, first.sha256) == (
        board.id, "Valdes_lēmums.pdf", "Valdes lēmums.pdf", "pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assert bytes(first.content) == PDF

    replacement = PDF.replace(b"1.7", b"1.6")
    assert upload(client, draft, board.id, "lēmums-2.pdf", replacement).status_code == 302
    (replaced,) = files(draft)  # still one row, now the new file
    assert replaced.id == first.id and replaced.sha256 == hashlib.sha256(replacement).hexdigest()
    assert replaced.original_name == "lēmums-2.pdf"

    assert client.post(f"/apply/applications/{draft.id}/attachments/{replaced.id}/remove").status_code == 302
    assert files(draft) == []
    assert 'class="attachment-name"' not in client.get(f"/apply/applications/{draft.id}/attachments").get_data(
        as_text=True)


def test_a_50_mb_upload_gets_the_413_page_in_the_users_language(world, client):
    draft = world["draft"]
    boundary = "----attachments-test"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="type_id"\r\n\r\n{world["board"].id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="liels.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n").encode() + PDF + b"\x00" * (50 * 1024 * 1024) + (
        f"\r\n--{boundary}--\r\n").encode()  # built here, in memory: the test client would spool it to a file
    response = client.post(f"/apply/applications/{draft.id}/attachments", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "Faila lielums nedrīkst pārsniegt 10 MB." in body  # the member's language is Latvian
    assert "Nekas netika saglabāts" in body
    assert files(draft) == []


@pytest.mark.parametrize("name, data, said", [
    ("lēmums.pdf", EXE, "nav atļauta formāta"),  # an executable renamed .pdf
    ("lēmums.pdf", b"", "Fails ir tukšs"),
    ("lēmums.docx", DOCX, "nav atļauta formāta"),  # a real DOCX, but the board's declaration is PDF or .edoc
    ("lēmums.docx", declared_huge(DOCX), "ZIP bumba"),
])
def test_a_refused_file_is_said_why_and_nothing_is_stored(world, client, name, data, said):
    draft = world["draft"]
    assert upload(client, draft, world["board"].id, name, data).status_code == 302
    assert said in flashed(client)
    assert files(draft) == []


def test_a_zip_bomb_declared_as_docx_is_refused(world, client):
    bomb = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\x00" * (8 * 1024 * 1024)})
    assert upload(client, world["draft"], world["letter"].id, "pieteikums.docx", bomb).status_code == 302
    assert "ZIP bumba" in flashed(client)
    assert files(world["draft"]) == []


def test_a_path_as_the_file_name_is_stored_safely(world, client):
    draft = world["draft"]
    upload(client, draft, "other", "../../etc/passwd", PDF)
    (row,) = files(draft)
    assert (row.filename, row.original_name, row.type_id) == ("passwd.pdf", "passwd", None)
    response = client.get(f"/attachments/{row.id}")
    assert response.status_code == 200 and response.data == PDF
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "/" not in disposition and ".." not in disposition
    assert response.headers["Content-Type"] == "application/pdf"


def test_an_upload_to_another_organisations_draft_is_refused(world, client):
    stranger = factories.make_user("applicant")
    factories.login_as(client, stranger)
    assert upload(client, world["draft"], world["board"].id, "x.pdf", PDF).status_code == 404
    assert files(world["draft"]) == []
    attachments.upload(world["draft"], world["member"], world["board"].id, "lēmums.pdf", PDF)
    db.session.commit()
    (row,) = files(world["draft"])
    assert client.post(f"/apply/applications/{world['draft'].id}/attachments/{row.id}/remove").status_code == 404
    assert client.get(f"/attachments/{row.id}").status_code == 404
    assert len(files(world["draft"])) == 1


def test_a_file_id_of_another_application_cannot_be_removed_through_ones_own(world, client):
    other_draft = factories.make_application(world["call"], "draft")
    attachments.upload(other_draft, factories.member_of(other_draft), None, "svešs.pdf", PDF)
    db.session.commit()
    (theirs,) = files(other_draft)
    assert client.post(f"/apply/applications/{world['draft'].id}/attachments/{theirs.id}/remove").status_code == 302
    assert len(files(other_draft)) == 1


def test_script_in_a_file_name_is_escaped_on_the_page(world, client):
    draft = world["draft"]
    upload(client, draft, world["board"].id, "<img src=x onerror=alert(1)><script>alert(1).pdf", PDF)
    page = client.get(f"/apply/applications/{draft.id}/attachments").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1).pdf" in page
    (row,) = files(draft)
    assert row.filename == "img_src_x_onerror_alert_1_script_alert_1.pdf"


# --- submit: required types, frozen content, receipt ---------------------------------------------------------------

def _submit(client, application):
    return client.post(f"/apply/applications/{application.id}/submit", data={"confirmed": "1"})


def test_submit_is_refused_while_a_required_type_is_missing(world, client):
    draft = world["draft"]
    _submit(client, draft)
    assert "Pievienojiet obligātos pielikumus: Biedrības valdes parakstīts apliecinājums." in flashed(client)
    db.session.expire_all()
    assert db.session.get(Application, draft.id).status == "draft"
    assert attachments.step_status(draft) == "not_started"
    upload(client, draft, world["letter"].id, "vēstule.docx", DOCX)
    assert attachments.step_status(draft) == "in_progress"
    upload(client, draft, world["board"].id, "Valdes lēmums.pdf", PDF)
    assert attachments.step_status(draft) == "completed"
    _submit(client, draft)
    db.session.expire_all()
    assert db.session.get(Application, draft.id).status == "submitted"


def test_the_files_are_frozen_and_listed_on_the_receipt(world, client):
    draft, board, letter = world["draft"], world["board"], world["letter"]
    upload(client, draft, board.id, "Valdes lēmums.pdf", PDF)
    upload(client, draft, letter.id, "<script>alert(1).docx", DOCX)
    _submit(client, draft)
    db.session.expire_all()
    submitted = db.session.get(Application, draft.id)
    assert submitted.status == "submitted"
    pdf_hash, docx_hash = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(DOCX).hexdigest()
    assert applications.frozen_content(submitted)["attachments"] == [
        {"type": "Biedrības valdes parakstīts apliecinājums", "name": "Valdes lēmums.pdf",
         "stored_name": "Valdes_lēmums.pdf", "format": "pdf", "size": len(PDF), "sha256": pdf_hash},
        {"type": "Partnera atbalsta vēstule", "name": "<script>alert(1).docx", "stored_name": "script_alert_1.docx",
         "format": "docx", "size": len(DOCX), "sha256": docx_hash}]

    page = client.get(f"/apply/applications/{draft.id}/receipt").get_data(as_text=True)
    assert pdf_hash in page and docx_hash in page and "Valdes lēmums.pdf" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1).docx" in page

    message = db.session.scalars(select(Message).where(Message.entity_type == "application",
                                                       Message.entity_id == draft.id)).one()
    assert pdf_hash in message.body_text and docx_hash in message.body_html
    assert "&lt;script&gt;alert(1).docx" in message.body_html and "<script>" not in message.body_html
    assert "Valdes lēmums.pdf" in message.body_text

    # the stored content changes nothing the application froze: its hash still matches the stored files
    row = db.session.scalars(select(ApplicationFile).where(ApplicationFile.type_id == board.id)).one()
    assert row.sha256 == pdf_hash


def test_the_receipt_pdf_shows_the_hashes_with_latvian_letters(world, client, monkeypatch):
    """A real WeasyPrint render, read back with pypdf."""
    from pypdf import PdfReader

    from app import documents

    monkeypatch.undo()  # stub_pdfs is not wanted here
    assert documents.render.__module__ == "app.documents"
    draft = world["draft"]
    upload(client, draft, world["board"].id, "Valdes lēmums.pdf", PDF)
    upload(client, draft, "other", "<script>alert(1).pdf", PDF.replace(b"1.7", b"1.5"))
    _submit(client, draft)
    db.session.expire_all()
    submitted = db.session.get(Application, draft.id)
    document = jobs.ensure_rendered(db.session.get(Document, submitted.receipt_document_id))
    db.session.commit()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "Valdeslēmums.pdf" in flat and "Biedrībasvaldesparakstītsapliecinājums" in flat
    assert hashlib.sha256(PDF).hexdigest() in flat
    assert hashlib.sha256(PDF.replace(b"1.7", b"1.5")).hexdigest() in flat
    assert "<script>alert(1).pdf" in text  # shown as the text it is, not taken for markup


def test_after_submit_nothing_can_change(world, client):
    draft = world["draft"]
    upload(client, draft, world["board"].id, "Valdes lēmums.pdf", PDF)
    _submit(client, draft)
    (row,) = files(draft)
    before = (row.id, row.sha256, row.filename)
    flashed(client)
    upload(client, draft, world["board"].id, "cits.pdf", PDF.replace(b"1.7", b"1.4"))
    assert "Iesniegtu projekta iesniegumu vairs nevar mainīt." in flashed(client)
    client.post(f"/apply/applications/{draft.id}/attachments/{row.id}/remove")
    upload(client, draft, "other", "vēl.pdf", PDF)
    (after,) = files(draft)
    assert (after.id, after.sha256, after.filename) == before
    page = client.get(f"/apply/applications/{draft.id}/attachments").get_data(as_text=True)
    assert 'type="file"' not in page and "Valdes lēmums.pdf" in page


# --- downloads ----------------------------------------------------------------------------------------------------

def test_downloads_follow_the_application_policy(app, client, stub_pdfs):
    """Another organisation's member, a conflicted evaluator, an admin of another organiser: 404. The
    organisation's member, the assigned evaluator who declared no conflict, the call's admin: the file."""
    call = factories.make_call(state="announced", when="past")
    application = factories.make_application(call, "in_review")
    member = factories.member_of(application)
    row = ApplicationFile(application_id=application.id, filename="lēmums.pdf", original_name="lēmums.pdf",
                          format="pdf", content_type="application/pdf", size=len(PDF),
                          sha256=hashlib.sha256(PDF).hexdigest(), content=PDF, uploaded_by=member.id)
    db.session.add(row)
    db.session.commit()
    evaluator, conflicted = factories.make_user("evaluator"), factories.make_user("evaluator")
    accepted = evaluation.assign(application, evaluator, factories.admin_of(call))
    recused = evaluation.assign(application, conflicted, factories.admin_of(call))
    db.session.commit()
    fire(accepted, "declare_no_conflict", evaluator)
    fire(recused, "recuse", conflicted, "Pazīstu projekta vadītāju.")  # a conflict of interest is recorded
    db.session.commit()
    other_admin = factories.make_organiser_admin(factories.make_organiser())
    expected = {None: 404, factories.make_user("applicant"): 404, conflicted: 404, other_admin: 404,
                member: 200, evaluator: 200, factories.admin_of(call): 200}
    for user, status in expected.items():
        visitor = app.test_client()
        if user is not None:
            factories.login_as(visitor, user)
        response = visitor.get(f"/attachments/{row.id}")
        assert response.status_code == status, (user and user.role, response.status_code)
        assert (response.data == PDF) == (status == 200)


# --- the call: types frozen at announce ---------------------------------------------------------------------------

def test_the_types_are_frozen_with_the_call(app, client, stub_pdfs):
    call = factories.make_call(state="draft")
    admin = factories.admin_of(call)
    factories.login_as(client, admin)
    response = client.post(f"/admin/calls/{call.id}/attachment-types", data={
        "label_lv": "Valdes lēmums", "label_en": "Board decision", "formats": ["pdf", "edoc"], "required": "y"})
    assert response.status_code == 302
    page = client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert "Valdes lēmums" in page and "PDF, .edoc / ASiC-E" in page
    db.session.expire_all()
    (kind,) = db.session.scalars(select(AttachmentType).where(AttachmentType.call_id == call.id)).all()
    assert (kind.label_lv, kind.label_en, kind.formats, kind.required) == ("Valdes lēmums", "Board decision",
                                                                          ["pdf", "edoc"], True)
    assert calls.definition(call)["attachment_types"] == [["Valdes lēmums", "Board decision", ["pdf", "edoc"], True]]

    factories.advance_call(call, "announced")
    client.post(f"/admin/calls/{call.id}/attachment-types", data={
        "label_lv": "Vēl", "label_en": "More", "formats": ["pdf"]})
    client.post(f"/admin/calls/{call.id}/attachment-types/{kind.id}/delete")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AttachmentType.id)).where(AttachmentType.call_id == call.id)) == 1
    with pytest.raises(Refused):
        attachments.add_type(call, admin, label_lv="x", label_en="y", formats=["pdf"], required=False)


# --- a clarification answer may add files: an addendum, the submitted content unchanged ---------------------------

def test_files_sent_with_a_clarification_answer_are_an_addendum(app, client, stub_pdfs):
    call = factories.make_call(state="announced", when="past")
    application = factories.make_application(call, "clarification")
    member = factories.member_of(application)
    frozen_hash, frozen = application.content_sha256, applications.frozen_content(application)
    factories.login_as(client, member)

    refused = client.post(f"/apply/applications/{application.id}/clarify", content_type="multipart/form-data",
                          data={"answer": "Pievienojam.", "files": [(io.BytesIO(EXE), "lēmums.pdf")]})
    assert refused.status_code == 302 and "nav atļauta formāta" in flashed(client)
    assert files(application) == [] and db.session.get(Application, application.id).status == "clarification"

    answer = "Pievienojam valdes lēmumu."
    client.post(f"/apply/applications/{application.id}/clarify", content_type="multipart/form-data",
                data={"answer": answer, "files": [(io.BytesIO(PDF), "Papildinājums.pdf")]})
    db.session.expire_all()
    answered = db.session.get(Application, application.id)
    assert answered.status == "submitted"
    (addendum,) = files(application)
    assert addendum.clarification_id is not None  # kept apart: nothing joins the submitted content
    assert (addendum.original_name, addendum.sha256) == ("Papildinājums.pdf", hashlib.sha256(PDF).hexdigest())
    assert answered.content_sha256 == frozen_hash and applications.frozen_content(answered) == frozen
    clarification = db.session.get(Clarification, addendum.clarification_id)
    covered = ('{"answer":"' + answer + '","files":[["Papildinājums.pdf","' + hashlib.sha256(PDF).hexdigest()
               + '"]]}')
    assert clarification.answer_sha256 == hashlib.sha256(covered.encode()).hexdigest()
    assert client.get(f"/attachments/{addendum.id}").data == PDF


def test_the_admin_and_the_evaluator_pages_link_the_files(app, client, stub_pdfs):
    call = factories.make_call(state="announced", when="past")
    application = factories.make_application(call, "in_review")
    row = ApplicationFile(application_id=application.id, filename="Valdes_lēmums.pdf",
                          original_name="<b>Valdes lēmums</b>.pdf", format="pdf", content_type="application/pdf",
                          size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(), content=PDF,
                          uploaded_by=factories.member_of(application).id)
    db.session.add(row)
    db.session.commit()
    evaluator = factories.make_user("evaluator")
    accepted = evaluation.assign(application, evaluator, factories.admin_of(call))
    db.session.commit()
    fire(accepted, "declare_no_conflict", evaluator)
    db.session.commit()
    for user, path in ((factories.admin_of(call), f"/admin/applications/{application.id}"),
                       (evaluator, f"/evaluate/assignments/{accepted.id}")):
        factories.login_as(client, user)
        page = client.get(path).get_data(as_text=True)
        assert f'href="/attachments/{row.id}"' in page, path
        assert "&lt;b&gt;Valdes lēmums&lt;/b&gt;.pdf" in page and "<b>Valdes" not in page
