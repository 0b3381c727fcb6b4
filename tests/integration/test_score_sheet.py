"""The evaluator's score sheet (issue 7, Scoring): the application beside the criteria with their scale anchors, a
points field in the criterion's step, the running total and pass state, every missing item listed at once, drafts
that are incomplete but never invalid, and the confirmation before submitting.

The call: criteria 2.1–2.3 of 0–5 points in steps of 0,5 (2.1 needs at least 3 to pass, comments required), 3.1 of
0–2 points in whole points (comment optional); pass mark 9 points. Everything the evaluator does goes through HTTP.
"""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import ApplicationFile, Assignment, AuditEvent, Criterion, Score
from app.services import calls, evaluation
from app.services.workflow import fire
from tests import factories

ANCHORS_LV = {"0": "neatbilst", "5": "daļēji atbilst", "10": "izcili"}
ANCHORS_EN = {"0": "does not meet", "5": "partly meets", "10": "excellent"}


def _call(**fields):
    call = factories.make_call("draft", when="past", criteria=3, **fields)
    for criterion in call.criteria:
        criterion.anchors, criterion.anchors_en = dict(ANCHORS_LV), dict(ANCHORS_EN)
    calls.add_criterion(call, code="3.1", title_lv="Publicitāte", title_en="Publicity", max_half_points=4,
                        step_half_points=2, comment_required=False)
    db.session.commit()
    return factories.advance_call(call, "announced")


@pytest.fixture
def sheet(app, client, stub_pdfs):
    """An accepted assignment of an application in review, its evaluator logged in, in English."""
    call = _call()
    application = factories.make_application(call, "in_review")
    evaluator = factories.make_user("evaluator", language="en")
    assignment = factories.make_assignment("accepted", application=application, evaluator=evaluator)
    factories.login_as(client, evaluator)
    return assignment


def ids(assignment) -> dict[str, int]:
    return {c.code: c.id for c in assignment.application.call.criteria}


def stored(assignment) -> dict[str, tuple[int | None, str]]:
    db.session.expire_all()
    codes = {c.id: c.code for c in assignment.application.call.criteria}
    return {codes[s.criterion_id]: (s.half_points, s.comment)
            for s in db.session.scalars(select(Score).where(Score.assignment_id == assignment.id))}


def status(assignment) -> str:
    db.session.expire_all()
    return db.session.get(Assignment, assignment.id).status


def form(assignment, scores: dict[str, str], comments: dict[str, str] | None = None) -> dict:
    """The sheet as the browser posts it: every criterion's score field (blank if not given) and comment."""
    criteria = ids(assignment)
    data = {f"score_{criteria[code]}": scores.get(code, "") for code in criteria}
    data.update({f"comment_{criteria[code]}": (comments or {}).get(code, "") for code in criteria})
    return data


def url(assignment, action=""):
    return f"/evaluate/assignments/{assignment.id}" + (f"/{action}" if action else "")


def page(client, assignment, **query) -> str:
    response = client.get(url(assignment), query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def output(body: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', body, re.S)
    assert found, element_id
    return " ".join(found.group(1).split())


COMMENTS = {"2.1": "Mērķis skaidrs.", "2.2": "Labi.", "2.3": "Pietiekami."}


# --- the page --------------------------------------------------------------------------------------------------

def test_the_sheet_shows_the_application_beside_the_criteria_with_their_anchors(client, sheet):
    body = page(client, sheet)
    application = sheet.application
    left, right = body.split('class="col-lg-6 criteria-column"')
    assert 'class="col-lg-6 application-column"' in left and application.title in left  # wide: side by side
    assert 'id="score-sheet"' in right
    anchors = right.split('data-code="2.2"')[1].split("</fieldset>")[0]
    assert "does not meet" in anchors and "partly meets" in anchors and "excellent" in anchors
    assert "daļēji atbilst" not in anchors  # the evaluator reads English
    client.post("/language", data={"lang": "lv"})
    lv = page(client, sheet)
    assert "daļēji atbilst" in lv.split('data-code="2.2"')[1].split("</fieldset>")[0]


def test_each_score_is_a_number_in_the_criteria_step_with_a_slider_from_a_script_file(client, sheet):
    body = page(client, sheet)
    criteria = ids(sheet)
    half = re.search(rf'<input[^>]*id="score_{criteria["2.1"]}"[^>]*>', body, re.S).group(0)
    whole = re.search(rf'<input[^>]*id="score_{criteria["3.1"]}"[^>]*>', body, re.S).group(0)
    assert 'type="number"' in half and 'step="0.5"' in half and 'min="0"' in half and 'max="5"' in half
    assert 'step="1"' in whole and 'max="2"' in whole
    assert "<option" not in body.split('id="score-sheet"')[1]  # no list of 41 choices any more
    assert '<script src="/static/score_sheet.js" defer></script>' in body
    assert not re.search(r"<script(?![^>]*\ssrc=)", body)  # no inline script (CSP)
    assert client.get("/static/score_sheet.js").status_code == 200


# --- the running total and the pass state -------------------------------------------------------------------------

@pytest.mark.parametrize("scores, total, verdict", [
    # 2,5 + 4 + 3,5 = 10 points: above the pass mark of 9, but 2.1 is below its minimum of 3
    ({"2.1": "2.5", "2.2": "4", "2.3": "3.5"}, "10", "Does not pass: below the minimum on criterion 2.1."),
    # 3 + 4 + 3,5 + 1 = 11,5 points: every rule met
    ({"2.1": "3", "2.2": "4", "2.3": "3.5", "3.1": "1"}, "11.5",
     "Passes: the total reaches the pass mark and every minimum is met."),
    # 3 + 1 + 1 = 5 points, and 2.3 not applicable: below the pass mark
    ({"2.1": "3", "2.2": "1", "2.3": "na"}, "4",
     "Does not pass: total below the pass mark of 9 points."),
])
def test_the_total_and_the_pass_state_match_hand_computed_values(client, sheet, scores, total, verdict):
    response = client.post(url(sheet, "save"), data=form(sheet, scores, COMMENTS))
    assert response.status_code == 302
    body = page(client, sheet)
    assert output(body, "sheet-total") == total
    assert output(body, "sheet-pass") == verdict
    assert 'data-pass-mark="18"' in body  # what the script works with: half points


def test_the_total_is_shown_in_latvian_with_a_decimal_comma(client, sheet):
    client.post(url(sheet, "save"), data=form(sheet, {"2.1": "3", "2.2": "4", "2.3": "3.5", "3.1": "1"}))
    client.post("/language", data={"lang": "lv"})
    body = page(client, sheet)
    assert output(body, "sheet-total") == "11,5"
    assert output(body, "sheet-pass").startswith("Atbilst")


# --- validation on the server --------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, typed, message", [
    ("2.1", "2.25", "Criterion 2.1: the score must be from 0 to 5 in steps of 0.5."),
    ("2.1", "5.5", "Criterion 2.1: the score must be from 0 to 5 in steps of 0.5."),
    ("2.1", "-1", "Criterion 2.1: the score must be from 0 to 5 in steps of 0.5."),
    ("2.1", "1e1", "Criterion 2.1: enter the score as a number of points, for example 3 or 3,5."),
    ("2.1", "NaN", "Criterion 2.1: enter the score as a number of points, for example 3 or 3,5."),
    ("2.1", "0" * 200, "Criterion 2.1: enter the score as a number of points, for example 3 or 3,5."),
    ("2.1", "drei", "Criterion 2.1: enter the score as a number of points, for example 3 or 3,5."),
    ("3.1", "1.5", "Criterion 3.1: the score must be from 0 to 2 in steps of 1."),
    ("3.1", "3", "Criterion 3.1: the score must be from 0 to 2 in steps of 1."),
])
@pytest.mark.parametrize("action", ["save", "submit"])
def test_a_score_off_the_step_or_out_of_range_is_refused_whatever_the_browser_sends(client, sheet, code, typed,
                                                                                    message, action):
    scores = {"2.1": "3", "2.2": "4", "2.3": "3.5", "3.1": "1", code: typed}
    data = {**form(sheet, scores, COMMENTS), "confirmed": "1"}
    events = db.session.scalar(select(db.func.count(AuditEvent.id)))

    response = client.post(url(sheet, action), data=data)

    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body and "nothing was saved" in body
    assert stored(sheet) == {} and status(sheet) == "accepted"
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == events
    assert f'value="{typed}"' in body and "Mērķis skaidrs." in body  # everything typed is shown again


@pytest.mark.parametrize("half_points", [11, -1, 3])
def test_the_service_refuses_a_score_off_the_scale_too(app, sheet, half_points):
    """The rule is the service's: a caller other than the form (a script, an import) meets it as well."""
    criterion = next(c for c in sheet.application.call.criteria if c.code == "3.1")  # whole points, max 2
    with pytest.raises(Refused):
        evaluation.save_scores(sheet, sheet.evaluator, {criterion.id: (half_points, "")})
    db.session.rollback()
    assert stored(sheet) == {}


def test_every_bad_value_is_listed_at_once_each_linked_to_its_field(client, sheet):
    criteria = ids(sheet)
    response = client.post(url(sheet, "save"), data=form(sheet, {"2.1": "9", "2.2": "0.3", "3.1": "0.5"}))
    assert response.status_code == 400
    summary = response.get_data(as_text=True).split('id="sheet-invalid"')[1].split("</ul>")[0]
    links = re.findall(r'<a href="#score_(\d+)">', summary)
    assert links == [str(criteria["2.1"]), str(criteria["2.2"]), str(criteria["3.1"])]


def test_submit_lists_every_missing_score_and_comment_at_once(client, sheet):
    """K1–K3 all missing: three messages, not only the first; each is a link to its field."""
    criteria = ids(sheet)
    response = client.post(url(sheet, "submit"), data=form(sheet, {"3.1": "1"}))
    assert response.status_code == 302 and "check=1" in response.headers["Location"]
    body = page(client, sheet, check="1")
    summary = body.split('id="sheet-missing"')[1].split("</ul>")[0]
    items = re.findall(r'<li><a href="#(score|comment)_(\d+)">(.*?)</a></li>', summary)
    assert items == [("score", str(criteria[code]), f"Criterion {code} has no score and no comment.")
                     for code in ("2.1", "2.2", "2.3")]
    assert "Your scores are saved, but the review is not submitted yet." in body
    assert status(sheet) == "accepted" and stored(sheet) == {"3.1": (2, "")}

    # with the scores given but one comment left out, exactly that comment is named
    client.post(url(sheet, "submit"), data=form(sheet, {"2.1": "3", "2.2": "4", "2.3": "3.5", "3.1": "1"},
                                                {"2.1": "Labi.", "2.3": "Labi."}))
    summary = page(client, sheet, check="1").split('id="sheet-missing"')[1].split("</ul>")[0]
    assert re.findall(r'<li><a href="#(score|comment)_(\d+)">(.*?)</a></li>', summary) == [
        ("comment", str(criteria["2.2"]), "Criterion 2.2 needs a comment.")]


def test_the_missing_items_are_in_the_evaluators_language(client, sheet):
    client.post("/language", data={"lang": "lv"})
    client.post(url(sheet, "submit"), data=form(sheet, {}))
    summary = page(client, sheet, check="1").split('id="sheet-missing"')[1].split("</ul>")[0]
    assert summary.count("<li>") == 4
    assert "Kritērijam 2.1 nav ne vērtējuma, ne komentāra." in summary
    assert "Kritērijam 3.1 nav vērtējuma." in summary


# --- drafts --------------------------------------------------------------------------------------------------------

def test_a_draft_may_be_incomplete_and_a_cleared_score_is_taken_back(client, sheet):
    client.post(url(sheet, "save"), data=form(sheet, {"2.1": "3.5", "2.3": "na"}, {"2.1": "Skaidrs."}))
    assert stored(sheet) == {"2.1": (7, "Skaidrs."), "2.3": (None, "")}
    body = page(client, sheet)
    assert 'value="3.5"' in re.search(rf'<input[^>]*id="score_{ids(sheet)["2.1"]}"[^>]*>', body).group(0)
    assert re.search(rf'id="na_{ids(sheet)["2.3"]}" checked', body)

    client.post(url(sheet, "save"), data=form(sheet, {"2.3": "na"}))  # 2.1's number deleted
    assert stored(sheet) == {"2.3": (None, "")}


def test_a_field_not_sent_at_all_keeps_its_stored_score(client, sheet):
    client.post(url(sheet, "save"), data=form(sheet, {"2.1": "3.5"}, {"2.1": "Skaidrs."}))
    client.post(url(sheet, "save"), data={f"score_{ids(sheet)['2.2']}": "4"})
    assert stored(sheet) == {"2.1": (7, "Skaidrs."), "2.2": (8, "")}


def test_a_comment_without_a_score_is_said_not_to_be_kept(client, sheet):
    response = client.post(url(sheet, "save"), data=form(sheet, {}, {"2.2": "Vēl domāju."}), follow_redirects=True)
    assert "Criterion 2.2: a comment is kept only with a score or “not applicable”." in response.get_data(as_text=True)
    assert stored(sheet) == {}


# --- submitting asks first ------------------------------------------------------------------------------------------

def test_submit_asks_for_confirmation_then_submits(client, sheet):
    data = form(sheet, {"2.1": "3", "2.2": "4", "2.3": "3.5", "3.1": "1"}, COMMENTS)
    asked = client.post(url(sheet, "submit"), data=data)
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Submit the review?" in body and "This cannot be undone." in body
    assert "Your scores are submitted and count in the ranking." in body
    assert f'action="/evaluate/assignments/{sheet.id}/submit"' in body and 'name="confirmed" value="1"' in body
    for name, value in data.items():  # the button posts the same sheet again
        assert f'name="{name}" value="{value}"' in body
    assert status(sheet) == "accepted" and stored(sheet)["2.2"] == (8, "Labi.")  # saved, not submitted

    done = client.post(url(sheet, "submit"), data={**data, "confirmed": "1"})
    assert done.status_code == 302 and status(sheet) == "submitted"
    body = page(client, sheet)
    assert output(body, "sheet-total") == "11.5" and 'id="score-sheet"' not in body


# --- the admin writes the anchors ------------------------------------------------------------------------------------

def test_the_admin_gives_each_criterion_anchors_in_both_languages(client, app, stub_pdfs):
    call = factories.make_call("draft")
    factories.login_as(client, factories.admin_of(call))
    response = client.post(f"/admin/calls/{call.id}/criteria", data={
        "code": "4.1", "title_lv": "Ilgtspēja", "title_en": "Sustainability", "max_points": "5", "step": "1",
        "weight_percent": "100", "comment_required": "y",
        "anchors": "0 = neatbilst\n2,5 = daļēji\n5 = izcili", "anchors_en": "0 = fails\n2.5 = partly\n5 = excellent"})
    assert response.status_code == 302
    criterion = db.session.scalar(select(Criterion).where(Criterion.call_id == call.id, Criterion.code == "4.1"))
    assert criterion.anchors == {"0": "neatbilst", "5": "daļēji", "10": "izcili"}
    assert criterion.anchors_en == {"0": "fails", "5": "partly", "10": "excellent"}
    body = client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert "2,5 = daļēji" in body and "2,5 = partly" in body


def test_the_applications_files_are_on_the_sheet_and_download_once_declared(client, app, stub_pdfs):
    call = _call()
    application = factories.make_application(call, "in_review")
    pdf = b"%PDF-1.7\n%% darba plans\n%%EOF\n"
    attached = ApplicationFile(application_id=application.id, filename="plans.pdf", original_name="Darba plāns.pdf",
                               format="pdf", content_type="application/pdf", size=len(pdf),
                               sha256=hashlib.sha256(pdf).hexdigest(), content=pdf,
                               uploaded_by=factories.member_of(application).id)
    db.session.add(attached)
    db.session.commit()
    evaluator = factories.make_user("evaluator", language="en")
    assigned = factories.make_assignment("assigned", application=application, evaluator=evaluator)
    factories.login_as(client, evaluator)
    assert client.get(f"/attachments/{attached.id}").status_code == 404  # not before the declaration

    fire(assigned, "declare_no_conflict", evaluator)
    db.session.commit()
    body = page(client, assigned)
    assert f'href="/attachments/{attached.id}"' in body.split('class="col-lg-6 criteria-column"')[0]
    download = client.get(f"/attachments/{attached.id}")
    assert download.status_code == 200 and download.data == pdf
