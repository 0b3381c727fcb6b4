"""The call editor (issue 6, "Administrators: the call"): tranches, reports and tie-breaks as rows in words, the
summary of what blocks announcing, the previews, a copy of an earlier call, and the e-mail of a new call.

Each test posts what a browser would post and reads what the admin or the NGO would check: the stored rows, the
text of the page (tags stripped), the PDF's bytes, the mail that arrived.
"""
from __future__ import annotations

import html
import io
import re
import shutil
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app import clock as app_clock
from app import create_app
from app.extensions import db
from app.models import AttachmentType, Call, CostCategory, Document, Message, Question, User
from app.services import calls
from tests import factories
from tests.factories import admin_of, login_as, riga

ROWS = {  # the rows of the report schedule and of the tranches, as the form posts them
    "report_schedule-0-kind": "interim", "report_schedule-0-due_on": "2030-08-15",
    "report_schedule-1-kind": "final", "report_schedule-1-due_on": "2030-12-14",
    "payment_tranches-0-percent": "80", "payment_tranches-0-on": "sign",
    "payment_tranches-1-percent": "20", "payment_tranches-1-on": "final_report_approved",
}
CALL_FORM = {
    "code": "PMP-2030", "number_prefix": "PMP-2030", "title_lv": "Jauniešu iniciatīvu projekti 2030",
    "title_en": "Youth initiative projects 2030", "description_lv": "Apraksts.", "description_en": "About.",
    "funder": "IKVD", "programme": "8.3.4.0/16/I/001", "funding_mode": "lump_sum", "amount": "4 600,00",
    "budget": "13800", "max_applications_per_organisation": "1",
    "opens_at": "2030-03-01T09:00", "closes_at": "05.04.2030 00:00", "decision_on": "2030-05-06",
    "implementation_start": "2030-06-01", "implementation_end": "2030-11-30", "reserve_expires_at": "",
    "retention_until": "", "pass_mark": "3", "evaluators_per_application": "2",
    "divergence_threshold_percent": "30", "divergence_policy": "mean_all", "allocation_policy": "strict",
    "tie_break_keys-0": "submitted_at", "review_days": "14", "acceptance_days": "10", "appeal_days": "30",
    "delivery_allowance_working_days": "2", **ROWS,
}
CRITERION = {"code": "2.2", "title_lv": "Projekta mērķis", "title_en": "Project aim", "max_points": "5",
             "step": "1", "min_points": "3", "weight_percent": "100", "comment_required": "y", "anchors": ""}
TECHNICAL = ("submitted_at", "final_report_approved", "sign ", "interim_report", "lump_sum", "mean_all")


def text(response) -> str:
    """What a reader sees: the page without its tags, scripts' addresses and attribute values."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def in_english(client, user):
    login_as(client, user)
    with client.session_transaction() as session:
        session["lang"] = "en"


@pytest.fixture
def admin(make_organiser, make_user):
    return make_user("admin", organiser=make_organiser("Jelgavas novada pašvaldība"))


@pytest.fixture
def admin_client(client, admin):
    in_english(client, admin)
    return client


def _create(client, admin, **changes) -> Call:
    response = client.post("/admin/calls/new", data={**CALL_FORM, **changes,
                                                     "organiser_id": str(admin.organisers[0].id)})
    assert response.status_code == 302, text(response)
    return db.session.scalar(select(Call).where(Call.code == CALL_FORM["code"]))


def _calls() -> int:
    return db.session.scalar(select(func.count(Call.id)))


# --- the settings in words -------------------------------------------------------------------------------------

def test_tranches_and_reports_are_rows_stored_as_the_grants_read_them(admin_client, admin):
    call = _create(admin_client, admin)

    assert call.payment_tranches == [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}]
    assert call.report_schedule == [{"kind": "interim", "due_on": "2030-08-15"},
                                    {"kind": "final", "due_on": "2030-12-14"}]
    assert call.tie_break_keys == ["submitted_at"]


def test_tie_breaks_are_chosen_from_the_criteria_by_their_labels(admin_client, admin):
    call = _create(admin_client, admin)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    form = text(admin_client.get(f"/admin/calls/{call.id}/edit"))
    assert "Score of criterion 2.2: Project aim" in form and "Earlier submission" in form
    response = admin_client.post(f"/admin/calls/{call.id}/edit", data={
        **CALL_FORM, "organiser_id": str(admin.organisers[0].id), "tie_break_keys-0": "2.2",
        "tie_break_keys-1": "submitted_at"})

    assert response.status_code == 302
    db.session.refresh(call)
    assert call.tie_break_keys == ["2.2", "submitted_at"]
    page = text(admin_client.get(f"/admin/calls/{call.id}"))
    assert "1) score of criterion 2.2: Project aim; 2) earlier submission" in page
    assert "80 % on signing the agreement; 20 % after the final report is approved" in page


@pytest.mark.parametrize("path", ["/admin/calls/new", "/admin/calls/{id}/edit", "/admin/calls/{id}"])
def test_no_technical_key_is_shown_on_the_editor_pages(admin_client, admin, path):
    call = _create(admin_client, admin)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    page = text(admin_client.get(path.format(id=call.id)))

    assert [key for key in TECHNICAL if key in page] == []


def test_a_criterion_a_call_does_not_have_cannot_be_chosen_as_a_tie_break(admin_client, admin):
    call = _create(admin_client, admin)

    response = admin_client.post(f"/admin/calls/{call.id}/edit", data={
        **CALL_FORM, "organiser_id": str(admin.organisers[0].id), "tie_break_keys-0": "9.9"})

    assert response.status_code == 200 and "Choose the tie-break keys from the list." in text(response)
    db.session.refresh(call)
    assert call.tie_break_keys == ["submitted_at"]


def test_tranches_that_do_not_add_up_to_100_are_refused_in_latvian(client, admin):
    login_as(client, admin)  # Latvian, the default
    response = client.post("/admin/calls/new", data={**CALL_FORM, "organiser_id": str(admin.organisers[0].id),
                                                     "payment_tranches-1-percent": "30"})

    assert response.status_code == 200
    assert "Maksājuma daļas kopā ir 110 %; tām kopā jābūt 100 %." in text(response)
    assert _calls() == 0


@pytest.mark.parametrize(("changes", "message"), [
    ({"payment_tranches-1-on": ""}, "Give both the percentage and when it is paid, or leave the row empty."),
    ({"payment_tranches-1-on": "when_we_feel_like_it"}, "Choose when the tranche is paid from the list."),
    ({"payment_tranches-1-percent": "0", "payment_tranches-0-percent": "100"},
     "A tranche is between 1 and 100 percent."),
    ({"report_schedule-1-due_on": ""}, "Give both the report and its due date, or leave the row empty."),
    ({"report_schedule-1-kind": "interim"}, "Each report (interim, final) may appear only once."),
    ({"report_schedule-1-due_on": "2030-08-01"}, "The final report is due after the interim report."),
])
def test_a_wrong_row_says_what_is_wrong_and_saves_nothing(admin_client, admin, changes, message):
    response = admin_client.post("/admin/calls/new", data={**CALL_FORM, **changes,
                                                           "organiser_id": str(admin.organisers[0].id)})

    assert response.status_code == 200 and message in text(response)
    assert _calls() == 0


def test_an_emptied_row_is_dropped_and_no_rows_pay_everything_on_signing(admin_client, admin):
    call = _create(admin_client, admin, **{"report_schedule-0-kind": "", "report_schedule-0-due_on": "",
                                           "payment_tranches-0-percent": "", "payment_tranches-0-on": "",
                                           "payment_tranches-1-percent": "", "payment_tranches-1-on": ""})

    assert call.report_schedule == [{"kind": "final", "due_on": "2030-12-14"}]
    assert call.payment_tranches == []


def test_add_a_row_and_remove_one_without_scripts_and_without_saving(admin_client, admin):
    data = {**CALL_FORM, "organiser_id": str(admin.organisers[0].id)}

    added = admin_client.post("/admin/calls/new", data={**data, "row_action": "add:payment_tranches"})
    body = added.get_data(as_text=True)
    assert added.status_code == 200 and _calls() == 0
    assert 'name="payment_tranches-3-percent"' in body  # two filled, the blank one, and the one added

    removed = admin_client.post("/admin/calls/new", data={**data, "row_action": "remove:payment_tranches:0"})
    body = removed.get_data(as_text=True)
    assert removed.status_code == 200 and _calls() == 0
    assert re.search(r'name="payment_tranches-0-percent"[^>]*value="20"', body)  # the second row moved up

    assert admin_client.post("/admin/calls/new", data={**data, "row_action": "remove:calls:0"}).status_code == 400


def test_a_file_sent_in_a_row_is_a_bad_request_not_an_error(admin_client, admin):
    response = admin_client.post("/admin/calls/new", content_type="multipart/form-data", data={
        **CALL_FORM, "organiser_id": str(admin.organisers[0].id),
        "payment_tranches-0-percent": (io.BytesIO(b"80"), "percent.txt")})

    assert response.status_code == 400 and _calls() == 0


# --- what blocks announcing, and the previews ---------------------------------------------------------------------

def test_the_draft_page_lists_every_problem_that_blocks_announcing_each_linked(admin_client, admin):
    call = _create(admin_client, admin, budget="0", decision_on="", implementation_end="2030-05-01")

    page = admin_client.get(f"/admin/calls/{call.id}").get_data(as_text=True)

    summary = page[page.index('id="announce-summary"'):]
    summary = summary[:summary.index("</section>")]
    found = dict((html.unescape(m), href) for href, m in re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', summary))
    assert found == {
        "Add at least one criterion with points before announcing.": f"/admin/calls/{call.id}#criteria",
        "The budget must be more than zero.": f"/admin/calls/{call.id}/edit#budget",
        "Fill in the decision date.": f"/admin/calls/{call.id}/edit#decision_on",
        "Implementation must end after it starts.": f"/admin/calls/{call.id}/edit#implementation_end",
    }
    assert 'id="budget"' in admin_client.get(f"/admin/calls/{call.id}/edit").get_data(as_text=True)


def test_a_ready_draft_says_nothing_blocks_and_a_short_period_is_a_warning(admin_client, admin):
    call = _create(admin_client, admin, closes_at="2030-03-20T00:00")
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    page = text(admin_client.get(f"/admin/calls/{call.id}"))

    assert "Nothing blocks announcing the call." in page
    assert "To confirm when announcing: Fewer than 30 days between opening and deadline." in page


def test_the_public_page_is_previewed_for_the_admin_only_and_marked(app, admin_client, admin, make_user):
    call = _create(admin_client, admin)

    preview = text(admin_client.get(f"/admin/calls/{call.id}/preview"))

    assert "Preview — not public" in preview and "Youth initiative projects 2030" in preview
    assert "Lump sum" not in preview and "€4,600.00" in preview
    member = app.test_client()
    login_as(member, make_user("applicant"))
    assert member.get(f"/admin/calls/{call.id}/preview").status_code == 403
    assert app.test_client().get(f"/calls/{call.code}").status_code == 404  # the public sees no draft


def test_the_regulations_are_rendered_on_the_fly_inline_and_never_stored(admin_client, admin):
    call = _create(admin_client, admin)
    admin_client.post(f"/admin/calls/{call.id}/criteria", data=CRITERION)

    response = admin_client.get(f"/admin/calls/{call.id}/preview/regulations.pdf")

    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    pdf = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Jauniešu iniciatīvu projekti 2030" in " ".join(pdf.split())
    assert db.session.scalar(select(func.count(Document.id))) == 0
    db.session.refresh(call)
    assert call.status == "draft" and call.regulations_document_id is None


# --- the e-mail of a new call --------------------------------------------------------------------------------------

@pytest.fixture
def members(make_user, make_organisation):
    """Members of registered NGOs in every situation that matters to the announcement mail."""
    users = {
        "latvian": make_user("applicant", language="lv", name="Ilze Bērziņa"),
        "english": make_user("applicant", language="en"),
        "opted_out": make_user("applicant"),
        "unconfirmed": make_user("applicant"),
        "inactive": make_user("applicant"),
        "evaluator": make_user("evaluator"),
    }
    users["opted_out"].announcements_opt_out = True
    users["unconfirmed"].unconfirmed_since = datetime(2026, 11, 30, tzinfo=timezone.utc)
    users["inactive"].active = False
    db.session.commit()
    return users


@pytest.mark.postgres
def test_announcing_mails_the_confirmed_members_who_did_not_opt_out_in_their_language(
        app, make_call, members, smtp_server, stub_pdfs, runner):
    call = make_call(state="draft")

    calls.announce(call, admin_of(call))
    db.session.commit()
    runner.invoke(args=["worker", "--once"])

    told = set(db.session.scalars(select(Message.user_id).where(Message.entity_type == "call",
                                                                Message.entity_id == call.id)))
    assert told == {members["latvian"].id, members["english"].id}
    (latvian,) = smtp_server.to(members["latvian"].email)
    assert latvian.message["Subject"] == f"Jauns konkurss: {call.title_lv}"
    assert latvian.text.startswith("Labdien, Ilze Bērziņa!")
    (english,) = smtp_server.to(members["english"].email)
    assert english.message["Subject"] == f"New call: {call.title_en}"
    for name in ("opted_out", "unconfirmed", "inactive", "evaluator"):
        assert smtp_server.to(members[name].email) == [], name


def test_the_member_ticks_do_not_email_me_new_calls_and_unticks_it(client, make_user):
    member = make_user("applicant")
    in_english(client, member)
    assert "Do not e-mail me new calls" in text(client.get("/messages"))

    response = client.post("/apply/announcements", data={"announcements_opt_out": "y"})
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.announcements_opt_out is True
    assert re.search(r'id="announcements-opt-out"[^>]*checked', client.get("/messages").get_data(as_text=True))

    client.post("/apply/announcements", data={})
    db.session.refresh(member)
    assert member.announcements_opt_out is False


# --- copy from an earlier call ---------------------------------------------------------------------------------------

def test_a_copy_moves_every_date_to_a_chosen_opening_by_the_same_days(admin_client, admin, clock):
    clock.travel_to(riga(2029, 12, 1, 12))
    source = _create(admin_client, admin)
    admin_client.post(f"/admin/calls/{source.id}/criteria", data=CRITERION)
    db.session.add_all([  # the parts other stages keep per call come along too
        Question(call_id=source.id, key="q1", position=0, kind="choice", step="questions", required=True,
                 label_lv="Vai projektā piedalās skola?", label_en="Does a school take part?",
                 options=[{"value": "o1", "lv": "Jā", "en": "Yes"}]),
        AttachmentType(call_id=source.id, position=0, label_lv="Valdes apliecinājums",
                       label_en="Board's declaration", formats=["pdf", "edoc"], required=True),
        CostCategory(call_id=source.id, position=0, code="admin", label_lv="Administrācija",
                     label_en="Administration", cap_percent=10)])
    db.session.commit()

    response = admin_client.post("/admin/calls/new/copy", data={
        "source_id": str(source.id), "opens_at": "2030-03-11T09:00", "code": "PMP-2030-B",
        "number_prefix": "PMP-2030-B"})

    copy = db.session.scalar(select(Call).where(Call.code == "PMP-2030-B"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/calls/{copy.id}")
    assert copy.opens_at == riga(2030, 3, 11, 9)  # ten days later than 01.03.2030 09:00
    assert copy.closes_at == riga(2030, 4, 15)
    assert (copy.decision_on, copy.implementation_start, copy.implementation_end) == (
        date(2030, 5, 16), date(2030, 6, 11), date(2030, 12, 10))
    assert copy.report_schedule == [{"kind": "interim", "due_on": "2030-08-25"},
                                    {"kind": "final", "due_on": "2030-12-24"}]
    assert [c.code for c in copy.criteria] == ["2.2"] and copy.status == "draft"
    assert [(q.key, q.kind, q.required, q.label_lv, q.options) for q in copy.questions] == [
        ("q1", "choice", True, "Vai projektā piedalās skola?", [{"value": "o1", "lv": "Jā", "en": "Yes"}])]
    assert [(t.label_en, t.formats, t.required) for t in copy.attachment_types] == [
        ("Board's declaration", ["pdf", "edoc"], True)]
    assert [(c.code, c.label_lv, c.cap_percent) for c in copy.cost_categories] == [("admin", "Administrācija", 10)]
    assert source.questions[0].id != copy.questions[0].id  # new rows, the source's untouched


def test_an_admin_copies_only_calls_of_their_own_organisers(admin_client, admin, make_call):
    ogre = make_call(state="open", organiser=factories.make_organiser("Ogres novada pašvaldība"))
    before = _calls()

    response = admin_client.post("/admin/calls/new/copy", data={"source_id": str(ogre.id)})

    assert response.status_code == 200 and "Choose one of the calls in the list." in text(response)
    assert _calls() == before


def test_a_copy_whose_code_is_taken_is_refused_with_a_message(admin_client, admin, clock):
    clock.travel_to(riga(2029, 12, 1, 12))
    source = _create(admin_client, admin)

    response = admin_client.post("/admin/calls/new/copy", data={"source_id": str(source.id),
                                                                "code": "PMP-2030"}, follow_redirects=True)

    assert "Another call already has this code." in text(response)
    assert _calls() == 1
    response = admin_client.post("/admin/calls/new/copy", data={"source_id": str(source.id),
                                                                "number_prefix": "PMP-2031"})
    assert _calls() == 2  # the code derived (PMP-2031: a year on), the prefix as typed
    assert db.session.scalar(select(Call.code).where(Call.number_prefix == "PMP-2031")) == "PMP-2031"
    response = admin_client.post("/admin/calls/new/copy", data={"source_id": str(source.id)},
                                 follow_redirects=True)
    assert "Another call already has the code PMP-2031. Enter a code for the copy." in text(response)
    assert _calls() == 2


# --- the demo's 2022 competition, copied (last: it loads the demo once for itself) -----------------------------------

@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, _sqlite_template):
    folder = tmp_path_factory.mktemp("copy-demo")
    shutil.copyfile(_sqlite_template, folder / "grants.sqlite")
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'grants.sqlite'}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="")
    with flask_app.app_context():
        from app.demo import load_demo

        load_demo()
        db.session.remove()
    yield flask_app
    with flask_app.app_context():
        db.engine.dispose()


def _parts(call: Call) -> dict:
    return {
        "criteria": [(c.position, c.code, c.title_lv, c.title_en, c.description_lv, c.description_en,
                      c.max_half_points, c.step_half_points, c.min_half_points, c.weight_percent,
                      c.comment_required, c.anchors) for c in call.criteria],
        "checks": [(c.position, c.code, c.title_lv, c.title_en, c.automatic) for c in call.checks],
        "texts": (call.title_lv, call.title_en, call.description_lv, call.description_en, call.funder,
                  call.programme),
        "money": (call.funding_mode, call.amount_cents, call.budget_cents, call.max_applications_per_organisation),
        "rules": (call.pass_mark_half_points, call.tie_break_keys, call.payment_tranches, call.allocation_policy,
                  call.evaluators_per_application, call.divergence_policy, call.appeal_days),
    }


def test_copying_the_demos_2022_call_gives_an_announceable_draft_five_years_on(demo_app):
    with demo_app.app_context():
        app_clock.travel_to(riga(2026, 12, 1, 12))  # the 2022 opening is 01.03.2022: five years on is the future
        try:
            source = db.session.scalar(select(Call).where(Call.code == "PMP-2022"))
            admin = db.session.scalar(select(User).where(User.email == "admin@jelgava.lv"))
            client = demo_app.test_client()
            in_english(client, admin)
            assert "PMP-2022" in text(client.get("/admin/calls/new"))  # offered on the new-call page

            response = client.post("/admin/calls/new/copy", data={"source_id": str(source.id)})

            copy = db.session.scalar(select(Call).where(Call.code == "PMP-2027"))
            assert response.status_code == 302 and copy is not None
            assert (copy.status, copy.number_prefix, copy.organiser_id) == ("draft", "PMP-2027", source.organiser_id)
            assert _parts(copy) == _parts(source)
            assert (copy.opens_at, copy.closes_at) == (riga(2027, 3, 1), riga(2027, 4, 5))
            assert (copy.decision_on, copy.implementation_start, copy.implementation_end, copy.retention_until) == (
                date(2027, 5, 6), date(2027, 6, 1), date(2027, 11, 30), date(2033, 12, 31))
            assert copy.report_schedule == [{"kind": "interim", "due_on": "2027-08-15"},
                                            {"kind": "final", "due_on": "2027-12-14"}]
            assert copy.frozen_at is None and copy.regulations_document_id is None
            assert "Nothing blocks announcing the call." in text(client.get(f"/admin/calls/{copy.id}"))

            client.post(f"/admin/calls/{copy.id}/fire", data={"trigger": "announce"})

            db.session.expire_all()
            copy = db.session.get(Call, copy.id)
            assert copy.status == "announced" and len(copy.definition_sha256) == 64
            source = db.session.get(Call, source.id)
            assert source.status == "completed" and source.code == "PMP-2022"  # the source is untouched
        finally:
            app_clock.travel_to(None)
            db.session.remove()
