"""Blind scoring, the others' scores after one's own (if the call allows), consensus notes, and an admin reopening a
submitted review (issue 7, Scoring; DESIGN 2.3).

One application in review with two evaluators: "first" has declared and is scoring; "second" has submitted, with a
comment nobody else may read before submitting their own review.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import policies
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import Assignment, AuditEvent, ConsensusNote, Document, Message, User
from app.services import evaluation
from app.services.workflow import fire
from tests import factories

SECRET = "Otrā vērtētāja slepenais komentārs 7731"
NOTE = "Vienojāmies: 2.2 vērtējums atšķiras, jo budžets nav pamatots."
REASON = "Kļūda vērtējumā kritērijā 2.1: lūdzu pārskatīt."

pytestmark = pytest.mark.postgres  # the locks, the audit chain and the guards on both databases


@dataclass
class Panel:
    call_id: int
    application_id: int
    first: Assignment
    second: Assignment
    admin: User


def _panel(show: bool) -> Panel:
    call = factories.make_call("announced", when="past", criteria=2, show_scores_after_review=show)
    application = factories.make_application(call, "in_review")
    first = factories.make_assignment("accepted", application=application,
                                      evaluator=factories.make_user("evaluator", language="en"))
    second = factories.make_assignment("accepted", application=application,
                                       evaluator=factories.make_user("evaluator", language="lv"))
    evaluation.save_scores(second, second.evaluator, {c.id: (7, SECRET) for c in call.criteria})
    db.session.commit()
    fire(second, "submit_review", second.evaluator)
    db.session.commit()
    return Panel(call.id, application.id, first, second, factories.admin_of(call))


@pytest.fixture
def shown(app, stub_pdfs):
    return _panel(show=True)


@pytest.fixture
def hidden(app, stub_pdfs):
    return _panel(show=False)


def sheet_of(assignment, half_points=8, comment="Mans komentārs.") -> dict:
    criteria = assignment.application.call.criteria
    return {**{f"score_{c.id}": str(half_points / 2) for c in criteria},
            **{f"comment_{c.id}": comment for c in criteria}}


def submit_over_http(client, assignment) -> None:
    response = client.post(f"/evaluate/assignments/{assignment.id}/submit",
                           data={**sheet_of(assignment), "confirmed": "1"})
    assert response.status_code == 302
    assert state(assignment) == "submitted"


def state(assignment) -> str:
    db.session.expire_all()
    return db.session.get(Assignment, assignment.id).status


def text(response) -> str:
    return response.get_data(as_text=True)


def crawl(client, start=("/", "/evaluate/", "/messages", "/account")) -> dict[str, str]:
    """Every page of this site the logged-in user reaches by following links from `start` (GETs only: a GET never
    writes), with what each answered."""
    seen, queue = {}, list(start)
    while queue and len(seen) < 200:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.get_data(as_text=response.mimetype.startswith("text"))
        if not response.mimetype.startswith("text/html"):
            continue
        for href in re.findall(r'href="([^"#]+)', seen[path]):
            parts = urlsplit(href)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not parts.netloc and target.startswith("/") and not target.startswith(("/static", "/bootstrap")):
                queue.append(target.replace("&amp;", "&"))
    return seen


# --- blind scoring ----------------------------------------------------------------------------------------------

def test_before_submitting_no_page_the_evaluator_reaches_shows_anothers_scores(client, shown):
    factories.login_as(client, shown.first.evaluator)
    pages = crawl(client, ("/", "/evaluate/", f"/evaluate/assignments/{shown.first.id}",
                           f"/evaluate/assignments/{shown.first.id}?check=1", "/messages"))
    assert f"/evaluate/assignments/{shown.first.id}" in pages and len(pages) > 5  # the walk went somewhere
    assert shown.first.application.title in pages[f"/evaluate/assignments/{shown.first.id}"]
    leaked = [path for path, body in pages.items() if isinstance(body, str) and SECRET in body
              or isinstance(body, bytes) and SECRET.encode() in body]
    assert leaked == []
    assert "other-reviews" not in pages[f"/evaluate/assignments/{shown.first.id}"]
    # the only documents an evaluator may download are the receipt (frozen at submission) and the regulations
    kinds = {d.kind for d in db.session.scalars(select(Document)) if policies.can_download(shown.first.evaluator, d)}
    assert kinds <= {"receipt", "regulations"}
    # and the other's assignment page is not theirs to open
    assert client.get(f"/evaluate/assignments/{shown.second.id}").status_code == 404


@pytest.mark.parametrize("show", [True, False])
def test_after_submitting_the_others_scores_show_only_if_the_call_allows(client, app, stub_pdfs, show):
    panel = _panel(show)
    factories.login_as(client, panel.first.evaluator)
    submit_over_http(client, panel.first)
    page = text(client.get(f"/evaluate/assignments/{panel.first.id}"))
    assert (SECRET in page) is show
    assert (panel.second.evaluator.name in page) is show
    assert ("The other evaluators’ submitted scores" in page) is show
    if show:
        others = page.split('class="mb-4 other-reviews"')[1].split("</section>")[0]
        assert others.count(">3.5<") == 2  # 7 half points on both criteria
    else:
        assert not [p for p, body in crawl(client).items() if isinstance(body, str) and SECRET in body]


# --- consensus notes --------------------------------------------------------------------------------------------

def test_a_consensus_note_is_stored_audited_and_shown_to_the_admin(client, shown):
    factories.login_as(client, shown.first.evaluator)
    refused = client.post(f"/evaluate/assignments/{shown.first.id}/consensus-note", data={"text": NOTE},
                          follow_redirects=True)
    assert "only after your review is submitted" in text(refused)  # not before one's own review
    assert db.session.scalars(select(ConsensusNote)).all() == []

    submit_over_http(client, shown.first)
    page = text(client.get(f"/evaluate/assignments/{shown.first.id}"))
    assert 'action="/evaluate/assignments/%d/consensus-note"' % shown.first.id in page
    done = client.post(f"/evaluate/assignments/{shown.first.id}/consensus-note", data={"text": f"  {NOTE}  "},
                       follow_redirects=True)
    assert "Your consensus note is recorded." in text(done) and NOTE in text(done)

    (note,) = db.session.scalars(select(ConsensusNote)).all()
    assert (note.application_id, note.author_id, note.text) == (shown.application_id, shown.first.evaluator_id,
                                                                NOTE)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "application",
                                                        AuditEvent.entity_id == shown.application_id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.trigger, event.actor_id, event.note) == ("consensus_note", shown.first.evaluator_id, NOTE)
    assert f'"consensus_note": {note.id}' in event.data or f'"consensus_note":{note.id}' in event.data

    second = client.application.test_client()
    factories.login_as(second, shown.second.evaluator)
    assert NOTE in text(second.get(f"/evaluate/assignments/{shown.second.id}"))  # the other evaluator reads it

    admin = client.application.test_client()
    factories.login_as(admin, shown.admin)
    application_page = text(admin.get(f"/admin/applications/{shown.application_id}"))
    assert NOTE in application_page.split('id="consensus"')[1]
    assert NOTE in text(admin.get(f"/admin/calls/{shown.call_id}/ranking"))


def test_no_consensus_note_when_the_call_does_not_show_the_scores(client, hidden):
    factories.login_as(client, hidden.first.evaluator)
    submit_over_http(client, hidden.first)
    assert "consensus-note" not in text(client.get(f"/evaluate/assignments/{hidden.first.id}"))
    client.post(f"/evaluate/assignments/{hidden.first.id}/consensus-note", data={"text": NOTE})
    assert db.session.scalars(select(ConsensusNote)).all() == []


def test_an_empty_note_is_refused(client, shown):
    factories.login_as(client, shown.first.evaluator)
    submit_over_http(client, shown.first)
    response = client.post(f"/evaluate/assignments/{shown.first.id}/consensus-note", data={"text": "   "},
                           follow_redirects=True)
    assert "Write the note." in text(response)
    assert db.session.scalars(select(ConsensusNote)).all() == []


# --- reopening a submitted review ---------------------------------------------------------------------------------

def reopen_over_http(client, panel, note):
    factories.login_as(client, panel.admin)
    client.post("/language", data={"lang": "en"})
    return client.post(f"/admin/assignments/{panel.second.id}/fire", data={"trigger": "reopen", "note": note},
                       follow_redirects=True)


def test_an_admin_reopens_a_review_with_a_reason_and_the_evaluator_is_told(client, shown):
    response = reopen_over_http(client, shown, REASON)
    assert response.status_code == 200 and state(shown.second) == "accepted"
    reopened = db.session.get(Assignment, shown.second.id)
    assert reopened.submitted_at is None and reopened.reason == REASON
    assert {s.comment for s in reopened.scores} == {SECRET}  # the scores are kept for correcting
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "assignment",
                                                        AuditEvent.entity_id == shown.second.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.trigger, event.from_state, event.to_state, event.actor_id, event.note) == (
        "reopen", "submitted", "accepted", shown.admin.id, REASON)
    message = db.session.scalars(select(Message).where(Message.user_id == shown.second.evaluator_id)
                                 .order_by(Message.id.desc())).first()
    number = shown.second.application.number
    assert message.subject == f"Jūsu vērtējums {number} ir atvērts labošanai"  # in the evaluator's Latvian
    assert REASON in message.body_text and "iesniedziet vērtējumu vēlreiz" in message.body_text
    assert message.entity_type == "assignment" and message.entity_id == shown.second.id

    evaluator = client.application.test_client()
    factories.login_as(evaluator, shown.second.evaluator)
    sheet = text(evaluator.get(f"/evaluate/assignments/{shown.second.id}"))
    assert 'id="score-sheet"' in sheet and f"Iemesls: {REASON}" in sheet  # the reason is on the sheet too
    submit_over_http(evaluator, shown.second)  # and submits again


def test_reopening_without_a_reason_is_refused(client, shown):
    response = reopen_over_http(client, shown, "  ")
    assert "Please write the reason." in text(response)
    assert state(shown.second) == "submitted"
    with pytest.raises(Refused):
        fire(shown.second, "reopen", shown.admin, None)
    db.session.rollback()
    assert state(shown.second) == "submitted"


def test_only_an_admin_reopens(client, shown):
    for user in (shown.second.evaluator, shown.first.evaluator):
        with pytest.raises((NotAllowed, Refused)):
            fire(shown.second, "reopen", user, REASON)
        db.session.rollback()
    factories.login_as(client, shown.second.evaluator)
    assert client.post(f"/admin/assignments/{shown.second.id}/fire",
                       data={"trigger": "reopen", "note": REASON}).status_code == 403
    other_admin = factories.make_user("admin")  # of another organiser
    with pytest.raises(NotAllowed):
        fire(shown.second, "reopen", other_admin, REASON)
    db.session.rollback()
    assert state(shown.second) == "submitted"


def _ranked(panel):
    evaluation.save_scores(panel.first, panel.first.evaluator,
                           {c.id: (8, "Labi.") for c in panel.first.application.call.criteria})
    db.session.commit()
    fire(panel.first, "submit_review", panel.first.evaluator)
    db.session.commit()
    call = panel.first.application.call
    fire(call, "finish_evaluation", panel.admin)
    db.session.commit()
    return call


def test_a_review_cannot_be_reopened_once_the_ranking_is_confirmed(client, shown):
    call = _ranked(shown)
    fire(call, "confirm_ranking", shown.admin)
    db.session.commit()
    response = reopen_over_http(client, shown, REASON)
    assert "The ranking of this call is confirmed: its reviews can no longer be reopened." in text(response)
    assert state(shown.second) == "submitted"


def test_the_ranking_is_not_confirmed_while_a_reopened_review_is_out(client, shown):
    call = _ranked(shown)
    reopen_over_http(client, shown, REASON)
    assert state(shown.second) == "accepted"
    with pytest.raises(Refused) as refused:
        fire(call, "confirm_ranking", shown.admin)
    db.session.rollback()
    assert shown.second.application.number in refused.value.message

    evaluation_client = client.application.test_client()
    factories.login_as(evaluation_client, shown.second.evaluator)
    submit_over_http(evaluation_client, shown.second)
    fire(db.session.get(type(call), call.id), "confirm_ranking", shown.admin)  # resubmitted: it may go ahead
    db.session.commit()


def test_the_confirmed_protocol_carries_the_consensus_notes(app):
    """The commission reads the notes in its protocol, rendered for real and read back from the PDF."""
    import io

    from pypdf import PdfReader

    from app.models import RankingProtocol
    from app.services import jobs, reviews

    panel = _panel(show=True)
    call = _ranked(panel)
    reviews.add_consensus_note(panel.second, panel.second.evaluator, NOTE)
    db.session.commit()
    fire(call, "confirm_ranking", panel.admin)
    db.session.commit()
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    pdf = jobs.ensure_rendered(db.session.get(Document, protocol.document_id)).content
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
                  .replace("\u2010\n", "").replace("\u00ad", "").replace("\u00a0", " "))
    assert "Konsensa piezīmes" in text and NOTE in text and panel.second.evaluator.name in text
