"""The questions of a call's own (issue 6): an admin words them, an applicant answers them, the server judges them.

The admin adds the questions through the call page's routes; the call is announced by a real fire; the applicant
answers through the guided form's "questions" step; the assertions read the stored rows, the page, the frozen
content and its hash, and the receipt PDF read back with pypdf.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import Application, AttachmentType, Call, Question
from app.services import applications, jobs
from app.services import questions as question_service
from tests import factories

pytestmark = pytest.mark.postgres

SHORT = {"kind": "short_text", "step": "questions", "required": "y",
         "label_lv": "Kura skola ir jūsu partneris?", "label_en": "Which school is your partner?",
         "help_lv": "Skolas pilns nosaukums.", "help_en": "The school's full name."}
LONG = {"kind": "long_text", "step": "activities", "label_lv": "Kā iesaistīsiet vecākus?",
        "label_en": "How will you involve the parents?"}
NUMBER = {"kind": "number", "step": "participants", "required": "y", "label_lv": "Cik brīvprātīgo piedalīsies?",
          "label_en": "How many volunteers take part?", "min_value": "0", "max_value": "50"}
DATE = {"kind": "date", "step": "questions", "label_lv": "Kad notiks pirmā tikšanās?",
        "label_en": "When is the first meeting?"}
CHOICE = {"kind": "choice", "step": "questions", "required": "y", "label_lv": "Kur notiks nodarbības?",
          "label_en": "Where do the sessions take place?",
          "options": "Skolā|At school\nJauniešu centrā|At the youth centre\nĀrpus telpām|Outdoors"}
YES_NO = {"kind": "yes_no", "step": "questions", "required": "y",
          "label_lv": "Vai projektā piedalīsies brīvprātīgie?", "label_en": "Do volunteers take part?"}
ALL = (SHORT, LONG, NUMBER, DATE, CHOICE, YES_NO)


def page(response) -> str:
    return response.get_data(as_text=True)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def in_language(client, lang: str) -> None:
    client.post("/language", data={"lang": lang})


def add_questions(client, call, *definitions) -> None:
    for definition in definitions:
        response = client.post(f"/admin/calls/{call.id}/questions/new", data=definition)
        assert response.status_code == 302, page(response)


def questions_of(call) -> list[Question]:
    db.session.expire_all()
    return list(db.session.scalars(select(Question).where(Question.call_id == call.id).order_by(Question.position)))


@pytest.fixture
def asking_call(app, client, login_as):
    """An open call whose admin added every kind of question through the call page."""
    call = factories.make_call(state="draft", when="now")
    login_as(client, factories.admin_of(call))
    add_questions(client, call, *ALL)
    factories.advance_call(call, "open")
    return call


@pytest.fixture
def draft(asking_call, client, login_as):
    """A draft to the asking call, its fixed form complete, its member logged in on `client`."""
    application = factories.make_application(asking_call, "draft")
    login_as(client, factories.member_of(application))
    return application


def post_step(client, application, step: str, answers: dict):
    """The guided form's step as a browser posts it: the hidden fields of the page it loaded, plus the answers."""
    url = f"/apply/applications/{application.id}/steps/{step}"
    html = page(client.get(url))
    data = {"version": hidden(html, "version"), "fingerprint": hidden(html, "fingerprint"), **answers}
    return client.post(url, data=data)


def key_of(call, label_lv: str) -> str:
    return next(q.key for q in questions_of(call) if q.label_lv == label_lv)


def field(call, definition: dict) -> str:
    return f"q-{key_of(call, definition['label_lv'])}"




def good_answers(call) -> dict:
    return {field(call, SHORT): "Ķekavas vidusskola", field(call, DATE): "2027-03-31",
            field(call, CHOICE): "o2", field(call, YES_NO): "yes"}


# --- the admin ------------------------------------------------------------------------------------------------

def test_the_admin_adds_each_kind_and_the_labels_render_by_language(asking_call, client, login_as):
    stored = questions_of(asking_call)
    assert [(q.kind, q.step, q.required) for q in stored] == [
        ("short_text", "questions", True), ("long_text", "activities", False), ("number", "participants", True),
        ("date", "questions", False), ("choice", "questions", True), ("yes_no", "questions", True)]
    assert [q.key for q in stored] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    number, choice = stored[2], stored[4]
    assert (number.min_value, number.max_value) == (0, 50)
    assert choice.options == [{"value": "o1", "lv": "Skolā", "en": "At school"},
                              {"value": "o2", "lv": "Jauniešu centrā", "en": "At the youth centre"},
                              {"value": "o3", "lv": "Ārpus telpām", "en": "Outdoors"}]

    application = factories.make_application(asking_call, "draft")
    login_as(client, factories.member_of(application))
    url = f"/apply/applications/{application.id}/steps/questions"
    in_language(client, "lv")
    latvian = page(client.get(url))
    assert "Kura skola ir jūsu partneris?" in latvian and "Skolas pilns nosaukums." in latvian
    assert "Jauniešu centrā" in latvian and "Which school" not in latvian
    assert 'aria-describedby="q-q1-help"' in latvian and "(obligāts)" in latvian
    in_language(client, "en")
    english = page(client.get(url))
    assert "Which school is your partner?" in english and "The school&#39;s full name." in english
    assert "At the youth centre" in english and "Kura skola" not in english
    # placed in other steps: they are asked there, not in the questions step
    assert "How many volunteers" not in english
    assert "How many volunteers take part?" in page(client.get(f"/apply/applications/{application.id}/steps/participants"))


def test_the_admin_form_refuses_what_is_wrong_and_saves_nothing(app, client, login_as):
    call = factories.make_call(state="draft")
    login_as(client, factories.admin_of(call))
    in_language(client, "en")
    cases = [
        ({**SHORT, "label_en": ""}, "Write the question in Latvian and in English."),
        ({**CHOICE, "options": "Tikai viena|Only one"}, "A choice needs at least two options."),
        ({**CHOICE, "options": "Bez tulkojuma\nOtrā|Second"}, "Write each option on a line of its own"),
        ({**NUMBER, "min_value": "10", "max_value": "5"}, "The largest number cannot be less than the smallest."),
        ({**NUMBER, "min_value": "1,5"}, "Enter a whole number, e.g. 12."),
        ({**SHORT, "kind": "diagram"}, "Choose the kind of answer."),
        ({**SHORT, "step": "budget"}, "Choose the step the question is asked in."),
        ({**SHORT, "label_lv": "Jautājums \u202e"}, "U+202E"),
    ]
    for definition, message in cases:
        response = client.post(f"/admin/calls/{call.id}/questions/new", data=definition)
        assert response.status_code == 400, definition
        assert message in page(response), (definition, page(response))
    assert questions_of(call) == []


def test_the_admin_edits_reorders_and_removes_while_a_draft(app, client, login_as):
    call = factories.make_call(state="draft")
    login_as(client, factories.admin_of(call))
    add_questions(client, call, SHORT, YES_NO, DATE)
    first, second, third = questions_of(call)
    response = client.post(f"/admin/calls/{call.id}/questions/{first.id}",
                           data={**SHORT, "label_en": "Which school works with you?", "required": ""})
    assert response.status_code == 302
    client.post(f"/admin/calls/{call.id}/questions/{third.id}/move", data={"direction": "up"})
    client.post(f"/admin/calls/{call.id}/questions/{second.id}/delete")
    stored = questions_of(call)
    assert [(q.key, q.label_en, q.required) for q in stored] == [
        ("q1", "Which school works with you?", False), ("q3", "When is the first meeting?", False)]
    add_questions(client, call, CHOICE)  # a new key, never the removed one's: answers never land on another
    assert [q.key for q in questions_of(call)] == ["q1", "q3", "q4"]
    in_language(client, "lv")
    shown = page(client.get(f"/admin/calls/{call.id}"))
    assert "Konkursa jautājumi" in shown and "Kura skola ir jūsu partneris?" in shown and "Datums" in shown


def test_a_file_question_is_asked_as_an_attachment_of_the_call(app, client, login_as):
    call = factories.make_call(state="draft", when="now")
    login_as(client, factories.admin_of(call))
    add_questions(client, call, {"kind": "file", "step": "questions", "required": "y",
                                 "label_lv": "Partnera atbalsta vēstule", "label_en": "The partner's letter of support"},
                  SHORT)
    asked = db.session.scalars(select(AttachmentType).where(AttachmentType.call_id == call.id)).all()
    assert [(t.label_lv, t.label_en, t.required, sorted(t.formats)) for t in asked] == [
        ("Partnera atbalsta vēstule", "The partner's letter of support", True,
         ["docx", "edoc", "jpg", "odt", "pdf", "png", "xlsx"])]
    assert [q.kind for q in questions_of(call)] == ["short_text"]  # the file is no question row
    question = questions_of(call)[0]
    in_language(client, "en")
    response = client.post(f"/admin/calls/{call.id}/questions/{question.id}", data={**SHORT, "kind": "file"})
    assert response.status_code == 400 and "Choose the kind of answer." in page(response)
    assert questions_of(call)[0].kind == "short_text"

    factories.advance_call(call, "open")
    application = factories.make_application(call, "draft")
    member = factories.member_of(application)
    question_service.save(application, member, {"q1": "Ķekavas vidusskola"})
    db.session.commit()
    with pytest.raises(Refused) as refused:  # the attachments' own guard asks for the file
        applications.submit(application, member)
    db.session.rollback()
    assert "Partnera atbalsta vēstule" in refused.value.message


def test_after_announce_the_questions_cannot_be_edited_and_are_in_the_definition_hash(app, client, login_as):
    call = factories.make_call(state="draft")
    admin = factories.admin_of(call)
    login_as(client, admin)
    add_questions(client, call, SHORT, CHOICE)
    factories.advance_call(call, "announced")
    first = questions_of(call)[0]

    response = client.post(f"/admin/calls/{call.id}/questions/{first.id}", data={**SHORT, "label_lv": "Cits"})
    assert response.status_code == 302
    assert client.post(f"/admin/calls/{call.id}/questions/new", data=DATE).status_code == 302
    client.post(f"/admin/calls/{call.id}/questions/{first.id}/delete")
    client.post(f"/admin/calls/{call.id}/questions/{first.id}/move", data={"direction": "down"})
    assert [(q.key, q.label_lv) for q in questions_of(call)] == [
        ("q1", "Kura skola ir jūsu partneris?"), ("q2", "Kur notiks nodarbības?")]
    for attempt in (lambda: question_service.update(first, admin, {**question_service.definition_values(first)}),
                    lambda: question_service.remove(first, admin),
                    lambda: question_service.add(call, admin, {"kind": "date", "label_lv": "a", "label_en": "b"})):
        with pytest.raises(Refused):
            attempt()
        db.session.rollback()

    # the frozen definition holds the questions: written out here, hashed as announce hashed it
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    definition = __import__("app.services.calls", fromlist=["definition"]).definition(call)
    assert definition["questions"] == [
        ["q1", "short_text", "questions", True, "Kura skola ir jūsu partneris?", "Which school is your partner?",
         "Skolas pilns nosaukums.", "The school's full name.", [], None, None],
        ["q2", "choice", "questions", True, "Kur notiks nodarbības?", "Where do the sessions take place?", "", "",
         [{"value": "o1", "lv": "Skolā", "en": "At school"},
          {"value": "o2", "lv": "Jauniešu centrā", "en": "At the youth centre"},
          {"value": "o3", "lv": "Ārpus telpām", "en": "Outdoors"}], None, None]]
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    assert call.definition_sha256 == hashlib.sha256(canonical.encode()).hexdigest()


# --- the applicant ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, message_en, message_lv", [
    ({"number": "12,5"}, "Enter a whole number, e.g. 12.", "Ievadiet veselu skaitli, piemēram, 12."),
    ({"number": "9" * 5000}, "Enter a whole number, e.g. 12.", "Ievadiet veselu skaitli, piemēram, 12."),
    ({"number": "51"}, "Enter a number from 0 to 50.", "Ievadiet skaitli no 0 līdz 50."),
    ({"date": "31.03.2027"}, "Enter a date as year-month-day", "Ievadiet datumu formā gads-mēnesis-diena"),
    ({"date": "2027-02-30"}, "Enter a date as year-month-day", "Ievadiet datumu formā gads-mēnesis-diena"),
    ({"choice": "o9"}, "Choose one of the options given.", "Izvēlieties vienu no dotajām atbilžu iespējām."),
    ({"yes_no": "maybe"}, "Answer yes or no.", "Atbildiet „jā” vai „nē”."),
    ({"short": ""}, "Answer this question.", "Atbildiet uz šo jautājumu."),
    ({"short": "x" * 501}, "Write at most 500 characters.", "Rakstiet ne vairāk kā 500 rakstzīmes."),
    ({"short": "Skola 2023\u202e"}, "U+202E", "U+202E"),
])
def test_wrong_answers_are_refused_on_the_server_and_nothing_is_saved(asking_call, draft, client, wrong,
                                                                     message_en, message_lv):
    call = asking_call
    fields = {"short": field(call, SHORT), "number": field(call, NUMBER), "date": field(call, DATE),
              "choice": field(call, CHOICE), "yes_no": field(call, YES_NO)}
    before = (dict(draft.content), draft.version)
    for lang, message in (("en", message_en), ("lv", message_lv)):
        in_language(client, lang)
        name, value = next(iter(wrong.items()))
        step = "participants" if name == "number" else "questions"
        answers = good_answers(call) if step == "questions" else {}
        response = post_step(client, draft, step, {**answers, fields[name]: value})
        assert response.status_code == 400
        assert message in page(response)
        assert 'aria-describedby="' in page(response) and f'id="{fields[name]}-error"' in page(response)
    db.session.expire_all()
    stored = db.session.get(Application, draft.id)
    assert (stored.content, stored.version) == before
    assert "questions" not in stored.content


def test_the_answers_are_stored_and_shown_back(asking_call, draft, client):
    in_language(client, "lv")
    response = post_step(client, draft, "questions", good_answers(asking_call))
    assert response.status_code == 302, page(response)
    response = post_step(client, draft, "participants", {field(asking_call, NUMBER): " 12 ",
                                                         "target_group": "Jaunieši", "participants": "16",
                                                         "participants_at_risk": "9"})
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    stored = db.session.get(Application, draft.id)
    assert stored.content["questions"] == {"q1": "Ķekavas vidusskola", "q3": 12, "q4": "2027-03-31", "q5": "o2",
                                           "q6": True}
    again = page(client.get(f"/apply/applications/{draft.id}/steps/questions"))
    assert 'value="Ķekavas vidusskola"' in again and 'value="2027-03-31"' in again
    assert re.search(r'id="q-q5-o2" value="o2" checked', again) and re.search(r'id="q-q6-yes" value="yes" checked', again)
    assert question_service.step_status(stored, "questions") == "completed"
    assert question_service.problems(stored) == []


def test_the_step_status_follows_the_answers(asking_call, draft):
    assert question_service.step_status(draft, "questions") == "not_started"
    assert question_service.step_status(draft, "declarations") is None  # no question placed there
    draft.content = question_service.merged(draft, {"q4": "2027-01-05"})
    assert question_service.step_status(draft, "questions") == "in_progress"
    draft.content = question_service.merged(draft, {"q1": "Skola", "q5": "o1", "q6": False})
    assert question_service.step_status(draft, "questions") == "completed"
    assert question_service.problems(draft) == ["Atbildiet uz jautājumu: Cik brīvprātīgo piedalīsies?"]  # the default language


def test_submit_is_refused_while_a_required_question_is_unanswered(asking_call, draft):
    member = factories.member_of(draft)
    with pytest.raises(Refused) as refused:
        applications.submit(draft, member)
    db.session.rollback()
    assert "Kura skola ir jūsu partneris?" in refused.value.message
    assert "Cik brīvprātīgo piedalīsies?" in refused.value.message
    assert db.session.get(Application, draft.id).status == "draft"

    question_service.save(draft, member, {"q1": "Skola", "q3": 4, "q5": "o1"})  # yes/no still unanswered
    db.session.commit()
    with pytest.raises(Refused) as refused:
        applications.submit(draft, member)
    db.session.rollback()
    assert "Vai projektā piedalīsies brīvprātīgie?" in refused.value.message
    assert "Kura skola" not in refused.value.message

    question_service.save(draft, member, {"q6": False})  # "no" is an answer
    applications.submit(draft, member)
    db.session.commit()
    assert db.session.get(Application, draft.id).status == "submitted"


def test_the_answers_are_in_the_frozen_content_and_its_hash(asking_call, draft):
    member = factories.member_of(draft)
    question_service.save(draft, member, {"q1": "Ķekavas vidusskola", "q3": 12, "q5": "o2", "q6": True})
    db.session.commit()
    frozen = applications.frozen_content(draft)
    assert frozen["questions"] == [
        ["q2", "Kā iesaistīsiet vecākus?", "How will you involve the parents?", None],
        ["q3", "Cik brīvprātīgo piedalīsies?", "How many volunteers take part?", 12],
        ["q1", "Kura skola ir jūsu partneris?", "Which school is your partner?", "Ķekavas vidusskola"],
        ["q4", "Kad notiks pirmā tikšanās?", "When is the first meeting?", None],
        ["q5", "Kur notiks nodarbības?", "Where do the sessions take place?", "o2"],
        ["q6", "Vai projektā piedalīsies brīvprātīgie?", "Do volunteers take part?", True]]

    def sha(content: dict) -> str:
        return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                         default=str).encode()).hexdigest()

    applications.submit(draft, member)
    db.session.commit()
    assert draft.content_sha256 == sha(frozen)
    other = json.loads(json.dumps(frozen))
    other["questions"][2][3] = "Ogres vidusskola"
    other["content"]["questions"]["q1"] = "Ogres vidusskola"
    assert draft.content_sha256 != sha(other)  # another answer, another checksum


def test_the_receipt_pdf_shows_the_latvian_question_and_answer(asking_call, draft):
    member = factories.member_of(draft)
    question_service.save(draft, member, {"q1": "Ķekavas vidusskola", "q3": 12, "q5": "o2", "q6": True})
    db.session.commit()
    applications.submit(draft, member)
    db.session.commit()
    document = jobs.ensure_rendered(draft_document(draft))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(document.content)).pages)
    flat = " ".join(text.split())
    assert "Konkursa jautājumi" in flat
    assert "Kura skola ir jūsu partneris?" in flat and "Ķekavas vidusskola" in flat
    assert "Vai projektā piedalīsies brīvprātīgie?" in flat and "Jā" in flat
    assert "Kur notiks nodarbības?" in flat and "Jauniešu centrā" in flat


def draft_document(application):
    from app.models import Document

    db.session.expire_all()
    return db.session.get(Document, db.session.get(Application, application.id).receipt_document_id)


def test_the_admin_and_the_applicant_read_the_answers_after_submitting(asking_call, draft, client, login_as):
    member = factories.member_of(draft)
    question_service.save(draft, member, {"q1": "Ķekavas vidusskola", "q3": 12, "q4": "2027-03-31", "q5": "o3",
                                          "q6": False})
    db.session.commit()
    applications.submit(draft, member)
    db.session.commit()
    in_language(client, "en")
    shown = page(client.get(f"/apply/applications/{draft.id}/view"))
    assert "Which school is your partner?" in shown and "Ķekavas vidusskola" in shown
    assert "Outdoors" in shown and "Do volunteers take part?" in shown
    login_as(client, factories.admin_of(asking_call))
    in_language(client, "lv")
    shown = page(client.get(f"/admin/applications/{draft.id}"))
    assert "Kad notiks pirmā tikšanās?" in shown and "31.03.2027." in shown and "Ārpus telpām" in shown


def test_the_csv_of_the_applications_has_a_column_per_question(asking_call, draft, client, login_as):
    member = factories.member_of(draft)
    question_service.save(draft, member, {"q1": "Ķekavas vidusskola", "q3": 12, "q4": "2027-03-31", "q5": "o3",
                                          "q6": False})
    db.session.commit()
    applications.submit(draft, member)
    db.session.commit()
    login_as(client, factories.admin_of(asking_call))
    in_language(client, "lv")
    body = client.get(f"/admin/calls/{asking_call.id}/applications.csv").get_data().decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body), delimiter=";"))
    answers = dict(zip(header, row))
    assert answers["Kad notiks pirmā tikšanās?"] == "31.03.2027."
    assert answers["Cik brīvprātīgo piedalīsies?"] == "12"
    assert "Ārpus telpām" in row and "Ķekavas vidusskola" in row
    assert answers["number"] == db.session.get(Application, draft.id).number


def test_script_in_a_label_and_in_an_answer_is_shown_as_text(app, client, login_as):
    call = factories.make_call(state="draft", when="now")
    login_as(client, factories.admin_of(call))
    add_questions(client, call, {**SHORT, "label_lv": "<script>alert('lv')</script>", "help_lv": "<b>palīgs</b>"})
    factories.advance_call(call, "open")
    application = factories.make_application(call, "draft")
    member = factories.member_of(application)
    login_as(client, member)
    in_language(client, "lv")
    response = post_step(client, application, "questions", {"q-q1": "<script>alert('answer')</script>"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).content["questions"]["q1"] == "<script>alert('answer')</script>"
    for url in (f"/apply/applications/{application.id}/steps/questions", f"/apply/applications/{application.id}/check"):
        shown = page(client.get(url))
        assert "<script>alert(" not in shown and "&lt;script&gt;alert(" in shown, url
        assert "<b>palīgs</b>" not in shown
