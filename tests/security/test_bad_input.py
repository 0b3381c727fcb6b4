"""Bad input (DESIGN 6.2): hostile text in every form field → a clear message, never a 500, nothing half-saved.

Hypothesis posts what no browser would: any unicode (control characters, NUL, right-to-left marks), strings far past
every length limit, numbers people and attackers type ("-1", "1e309", "NaN", "4 600,00", "²"), impossible dates
("2022-02-30"), choices outside the list, criterion ids of another call, and `next` targets that try to leave the
site. Each test builds its scenario once (the `app` fixture's database lives for the whole test) and every example
runs against it, putting back only what an accepted example moved (a filed appeal is dismissed, a submitted review
reopened, an answered clarification asked again).

Every example checks:
- no 500 and no traceback text in the body;
- a page with a message or a redirect; every message on these Latvian pages comes from the Latvian catalogue
  (a WTForms default such as "This field is required." would be English on a Latvian page);
- on refusal nothing is stored: row counts, the row's content and version, no audit event.
"""
from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import app as app_package
from app import clock
from app.extensions import db
from app.forms.applications import APPEAL_GROUNDS
from app.models import (Appeal, Application, Assignment, AuditEvent, Clarification, LoginAttempt, Organisation,
                        Score, User)
from app.services.workflow import fire
from tests import factories

pytestmark = pytest.mark.postgres  # run on PostgreSQL too when TEST_DATABASE_URL is set (NUL, varchar limits)

EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TRACEBACK = "Traceback (most recent call last)"
OMIT = object()  # a field the browser did not send at all

# --- what is typed ------------------------------------------------------------------------------------------------

SPECIAL = (
    "", " ", "\t\n", "-1", "0", "1", "1e309", "-1e309", "NaN", "nan", "Infinity", "-inf", "sNaN", "4 600,00",
    "4.600,00", "4,600.00", "4600", "0,001", "-0,01", "99999999999999999999", "99999999", "2147483648", "9" * 30,
    "1_000", "²", "٣", "３", "1.5", "2022-02-30", "2022-13-01", "30.02.2022.", "0000-00-00", "9999-12-31",
    "0001-01-01", "2022-02-28T25:00", "\x00", "a\x00b", "\u202e\u0644", "\ufeff", "\r\n", "İ" * 150,
    "<script>alert(1)</script>", "' OR 1=1 --", "%(x)s %s", "{{ 7*7 }}", "y", "on", "false", "na", "None", "[]",
)
LONG = st.builds(lambda char, n: char * n, st.characters(codec="utf-8"),
                 st.sampled_from((199, 201, 301, 2001, 3001, 4001, 6001, 7000)))
HOSTILE = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=60), LONG)

OFF_SITE = (
    "//evil.example", "https://evil.example", "http://evil.example/", "/\\evil.example", "\\\\evil.example",
    "\\/evil.example", " //evil.example", "\t//evil.example", "/\t/evil.example", "/\n/evil.example",
    "///evil.example", "//localhost@evil.example", "http://localhost@evil.example", "https:evil.example",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "\x00//evil.example", "%2F%2Fevil.example",
    "/%2F/evil.example", "//evil.example/%2F..", "\u3002/evil.example", "/\u2215evil.example",
)
NEXT = st.one_of(st.sampled_from(OFF_SITE), HOSTILE,
                 st.builds(str.__add__, st.sampled_from(("/", "//", "/\\", "\\", " ", "https:", "//\t")),
                           st.text(max_size=20)))


@pytest.fixture(autouse=True)
def _no_diagrams(monkeypatch):
    """The process diagram on the pages depends on the state only, never on what was typed; drawing it is most of a
    page's time, so it is left out here."""
    from workflows import diagram

    monkeypatch.setattr(diagram, "to_svg", lambda *args, **kwargs: "<svg></svg>")


# --- what the answer must be --------------------------------------------------------------------------------------

def _checked(response) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:2000]
    assert TRACEBACK not in body
    return body


def _page_messages(body: str) -> list[str]:
    """The flash messages and field errors a page shows."""
    found = re.findall(r'<div class="alert alert-\w+" role="alert">(.*?)</div>', body, re.S)
    found += re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', body, re.S)
    return [html.unescape(text).strip() for text in found]


def _take_flashes(client) -> list[str]:
    """The messages waiting for the page a redirect leads to (taken, so that they don't pile up)."""
    with client.session_transaction() as session:
        return [str(message) for _category, message in session.pop("_flashes", [])]


@cache
def _latvian() -> tuple[re.Pattern, ...]:
    """The Latvian catalogue's messages as patterns, placeholders matching anything."""
    path = Path(app_package.__file__).parent / "translations" / "lv" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalogue = read_po(po)
    placeholder = re.compile(r"%\(\w+\)[sdif]|%[sd]")
    patterns = set()
    for message in catalogue:
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for text in strings:
            if message.id and text and placeholder.sub("", text).strip():
                patterns.add(".+?".join(re.escape(part) for part in placeholder.split(text)))
    return tuple(re.compile(pattern, re.S) for pattern in patterns)


@cache
def _is_latvian(message: str) -> bool:
    """One message of the catalogue, or several joined by spaces (a refusal lists every problem)."""
    if any(pattern.fullmatch(message) for pattern in _latvian()):
        return True
    return any(_is_latvian(message[:cut]) and _is_latvian(message[cut + 1:])
               for cut in range(len(message)) if message[cut] == " " and message[cut - 1] in ".!?")


def _assert_latvian(messages: list[str]) -> None:
    for message in messages:
        assert _is_latvian(message), f"not a message of the Latvian catalogue: {message!r}"


@cache
def _lv(msgid: str) -> str:
    """What a Latvian page shows for `msgid` (the app's compiled catalogue)."""
    from babel.support import NullTranslations, Translations

    catalogue = Translations.load(str(Path(app_package.__file__).parent / "translations"), ["lv"])
    if type(catalogue) is NullTranslations:
        pytest.fail("The Latvian catalogue is not compiled: run `make translations`.", pytrace=False)
    return catalogue.gettext(msgid)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _form(base: dict, changes: dict) -> dict:
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not OMIT}


def _logged_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def _leaves_site(location: str) -> bool:
    """Whether a browser following `location` from http://localhost/ would end up elsewhere. Browsers (WHATWG URL
    parsing) strip leading and trailing controls and spaces, drop tabs and newlines anywhere, and read a backslash
    as a slash."""
    url = re.sub(r"[\t\n\r]", "", location.strip("".join(map(chr, range(0x21))))).replace("\\", "/")
    parts = urlsplit(url)
    if parts.scheme and not (parts.scheme in ("http", "https") and parts.netloc == "localhost"):
        return True
    return bool(parts.netloc) and parts.netloc != "localhost"


# --- registration and login ---------------------------------------------------------------------------------------

REGISTER_FIELDS = ("organisation_name", "registration_number", "legal_form", "iban", "organisation_email", "address",
                   "user_name", "email", "password", "password_again")


_registrations = itertools.count(500_000)  # far from the numbers the factories use


def _registration() -> dict:
    n = next(_registrations)
    return {"organisation_name": f"Biedrība „Jaunieši {n}”", "registration_number": factories.registration_number(n),
            "legal_form": "biedriba", "iban": factories.IBAN, "organisation_email": f"info@jauniesi-{n}.lv",
            "address": "Lielā iela 1, Jelgava", "user_name": "Anna Kalniņa", "email": f"anna{n}@jauniesi-{n}.lv",
            "password": "parole-1234567", "password_again": "parole-1234567"}


@EXAMPLES
@example(changes={"email": "anna\x00@jauniesi.lv"})
@example(changes={"email": "İ" * 64 + "@" + "a" * 63 + "." + "b" * 59 + ".lv"})  # 192 characters, 254 in lower case
@example(changes={"registration_number": "²" * 11, "legal_form": "sabiedrība"})
@given(changes=st.dictionaries(st.sampled_from(REGISTER_FIELDS), st.one_of(HOSTILE, st.just(OMIT)), min_size=1,
                               max_size=3))
def test_register_takes_any_text_in_any_field_and_saves_all_or_nothing(client, changes):
    before = _count(Organisation), _count(User), _count(AuditEvent)
    response = client.post("/register", data=_form(_registration(), changes))
    body = _checked(response)

    if response.status_code == 302:  # every change happened to be valid: the NGO and its member, together,
        # waiting for the link sent to the e-mail (the audit trail records the registration when it is confirmed)
        assert urlsplit(response.location).path == "/register/sent"
        assert (_count(Organisation), _count(User), _count(AuditEvent)) == (before[0] + 1, before[1] + 1, before[2])
        assert not _logged_in(client)
        _assert_latvian(_take_flashes(client))
        with client.session_transaction() as session:
            session.clear()
        return
    assert response.status_code == 200
    assert (_count(Organisation), _count(User), _count(AuditEvent)) == before
    assert not _logged_in(client)
    messages = _page_messages(body)
    assert messages, "the form came back without saying what is wrong"
    _assert_latvian(messages)


@pytest.fixture
def member(make_user):
    return make_user("applicant")


@EXAMPLES
@example(email="İ" * 150, password="x")  # lower() doubles it: past the 200 characters of the column
@example(email="\x00", password="\x00")
@given(email=st.one_of(HOSTILE, st.sampled_from(("REAL", " REAL ", "REAL\x00"))), password=HOSTILE)
def test_login_with_junk_says_so_and_logs_nobody_in(client, member, email, password):
    email = email.replace("REAL", member.email.upper())
    users, audit, attempts = _count(User), _count(AuditEvent), _count(LoginAttempt)
    response = client.post("/login", data={"email": email, "password": password})
    body = _checked(response)

    assert response.status_code == 200
    assert not _logged_in(client)
    messages = _page_messages(body)
    assert messages
    _assert_latvian(messages)
    assert (_count(User), _count(AuditEvent)) == (users, audit)
    assert _count(LoginAttempt) - attempts in (0, 1)


@EXAMPLES
@example(route="language", target="/\t/evil.example", lang="en")
@example(route="login", target="/\n", lang="lv")
@given(route=st.sampled_from(("language", "login")), target=NEXT,
       lang=st.one_of(st.sampled_from(("lv", "en")), HOSTILE))
def test_next_never_leaves_the_site(client, member, route, target, lang):
    if route == "language":
        with client.session_transaction() as session:
            before = session.get("lang")
        response = client.post("/language", data={"lang": lang, "next": target})
        with client.session_transaction() as session:
            assert session.get("lang") == (lang if lang in ("lv", "en") else before)
    else:
        response = client.post("/login", query_string={"next": target},
                               data={"email": member.email, "password": factories.TEST_PASSWORD})
        with client.session_transaction() as session:
            session.clear()
    _checked(response)

    assert response.status_code == 302
    assert not _leaves_site(response.headers["Location"]), response.headers["Location"]


# --- the application draft ----------------------------------------------------------------------------------------

EDIT_FIELDS = ("title", "summary", "objectives", "activities", "target_group", "participants",
               "participants_at_risk", "start_on", "end_on", "declared_conflicts", "amount", "declarations", "version")
TEXT_FIELDS = ("summary", "objectives", "activities", "target_group", "declared_conflicts")


@pytest.fixture
def draft(client, make_call, make_application, stub_pdfs):
    call = make_call("open", "budgeted")
    application = make_application(call, "draft")
    factories.login_as(client, factories.member_of(application))
    return application


def _complete(application: Application, **changes) -> dict:
    call = application.call
    return _form({"title": "Vasaras nometne", "summary": "Nometne un darbnīcas.", "objectives": "Mācības turpinās.",
                  "activities": "Piecas darbnīcas.", "target_group": "Jaunieši 13–18.", "participants": "20",
                  "participants_at_risk": "12", "start_on": call.implementation_start.isoformat(),
                  "end_on": call.implementation_end.isoformat(), "declared_conflicts": "", "amount": "4 000,00",
                  "declarations": "y", "version": str(application.version)}, changes)


def _stored(application: Application) -> tuple:
    db.session.refresh(application)
    return (application.status, application.title, application.content, application.amount_cents,
            application.declarations_accepted, application.version)


@EXAMPLES
@example(changes={"amount": ""})
@example(changes={"amount": "99999999999999999999"})
@example(changes={"participants": "1" * 2001})
@example(changes={"version": "²"})
@example(changes={"version": OMIT})
@example(changes={"start_on": "2022-02-30", "summary": "a\x00b"})
@given(changes=st.dictionaries(st.sampled_from(EDIT_FIELDS), st.one_of(HOSTILE, st.just(OMIT)), min_size=1,
                               max_size=3))
def test_the_draft_form_saves_a_valid_form_whole_and_nothing_of_an_invalid_one(client, draft, changes):
    before, audit = _stored(draft), _count(AuditEvent)
    response = client.post(f"/apply/applications/{draft.id}", data=_complete(draft, **changes))
    body = _checked(response)
    after = _stored(draft)

    assert _count(AuditEvent) == audit
    if response.status_code == 400:
        assert after == before
        messages = _page_messages(body)
        assert _lv("Some fields need correcting; nothing was saved.") in messages
        if "version" in changes and not re.fullmatch(r"[0-9]+", str(changes["version"])):
            assert _lv("The form is out of date. Reload the page.") in messages
        _assert_latvian(messages)
        return
    assert response.status_code == 302 and urlsplit(response.location).path == f"/apply/applications/{draft.id}"
    messages = _take_flashes(client)
    _assert_latvian(messages)
    if messages == [_lv("Saved.")]:
        assert after[-1] in (before[-1], before[-1] + 1)  # unchanged when nothing changed
        for name, value in changes.items():
            if name in TEXT_FIELDS:
                assert after[2][name] == ("" if value is OMIT else value.strip())
            elif name == "title":
                assert after[1] == ("" if value is OMIT else value.strip())
        page = client.get(f"/apply/applications/{draft.id}")  # what was saved can be shown again
        assert page.status_code == 200 and TRACEBACK not in _checked(page)
    else:  # a stale version: refused with the reason
        assert after == before and messages


@EXAMPLES
@given(changes=st.dictionaries(st.sampled_from([f for f in EDIT_FIELDS if f != "declarations"]),
                               st.one_of(HOSTILE, st.just(OMIT)), min_size=1, max_size=3))
def test_submitting_a_bad_draft_form_submits_nothing_and_saves_only_a_valid_form(client, draft, changes):
    """The declarations are never ticked, so the submission itself is always refused by its guard."""
    before, audit = _stored(draft), _count(AuditEvent)
    response = client.post(f"/apply/applications/{draft.id}/submit",
                           data=_complete(draft, declarations=OMIT, **changes))
    body = _checked(response)
    after = _stored(draft)

    assert after[0] == "draft" and _count(AuditEvent) == audit
    if response.status_code == 400:
        assert after == before
        messages = _page_messages(body)
        assert _lv("Some fields need correcting; nothing was saved or submitted.") in messages
        _assert_latvian(messages)
        return
    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    if _lv("Your changes are saved, but the application is not submitted yet.") in messages:
        assert after[-1] in (before[-1], before[-1] + 1)
    else:
        assert after == before


# --- after submission: clarification and appeal --------------------------------------------------------------------

@pytest.fixture
def in_clarification(client, make_application, stub_pdfs):
    application = make_application(state="clarification")
    factories.login_as(client, factories.member_of(application))
    return application


def _answered(application: Application) -> int:
    return db.session.scalar(select(func.count(Clarification.id)).where(
        Clarification.application_id == application.id, Clarification.answer.is_not(None)))


@EXAMPLES
@example(answer="x" * 6001)
@example(answer="\x00")
@given(answer=st.one_of(HOSTILE, st.just(OMIT)))
def test_a_clarification_answer_is_sent_whole_or_refused_with_a_message(client, in_clarification, answer):
    application = in_clarification
    audit, answered = _count(AuditEvent), _answered(application)
    response = client.post(f"/apply/applications/{application.id}/clarify", data=_form({"answer": answer}, {}))
    _checked(response)
    db.session.refresh(application)

    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    if application.status == "clarification":  # refused: nothing answered, nothing recorded
        assert (_count(AuditEvent), _answered(application)) == (audit, answered)
        if answer is not OMIT and len(answer) > 6000 and answer.strip():
            assert any("6000" in m or "6 000" in m for m in messages), messages  # says the answer is too long
        return
    assert application.status == "submitted" and messages == [_lv("Your answer is sent.")]
    assert _count(AuditEvent) > audit
    admin = factories.admin_of(application.call)
    fire(application, "request_clarification", admin, question="Lūdzu precizējiet vēlreiz.",
         answer_due_at=clock.now() + timedelta(days=5))
    db.session.commit()


@pytest.fixture
def rejected(client, make_application, stub_pdfs):
    application = make_application(state="rejected")
    factories.login_as(client, factories.member_of(application))
    return application


GROUNDS = [choice.value for choice in APPEAL_GROUNDS]


@EXAMPLES
@example(grounds="scoring", text="Lūdzam pārskatīt lēmumu.", confirm="y")
@example(grounds="procedural", text="x" * 6001, confirm="y")
@given(grounds=st.one_of(st.sampled_from(GROUNDS), st.sampled_from(("scoring", "Procedural", " procedural", "")),
                         HOSTILE, st.just(OMIT)),
       text=st.one_of(HOSTILE, st.just("Lūdzam pārskatīt lēmumu."), st.just(OMIT)),
       confirm=st.one_of(st.sampled_from(("y", "")), HOSTILE, st.just(OMIT)))
def test_an_appeal_is_filed_whole_or_refused_with_a_message(client, rejected, grounds, text, confirm):
    application = rejected
    audit, appeals = _count(AuditEvent), _count(Appeal)
    response = client.post(f"/apply/applications/{application.id}/appeal",
                           data=_form({"grounds": grounds, "text": text, "confirm": confirm}, {}))
    _checked(response)
    db.session.refresh(application)

    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    if application.status == "rejected":
        assert (_count(AuditEvent), _count(Appeal)) == (audit, appeals)
        if text is not OMIT and len(text) > 6000 and text.strip():
            assert any("6000" in m or "6 000" in m for m in messages), messages
        return
    assert application.status == "appealed" and grounds in GROUNDS
    filed = db.session.scalars(select(Appeal).where(Appeal.application_id == application.id)
                               .order_by(Appeal.id.desc())).first()
    assert _count(Appeal) == appeals + 1 and filed.grounds == grounds and filed.text == text.strip()
    fire(application, "dismiss_appeal", factories.admin_of(application.call), "Lēmums paliek spēkā.")
    db.session.commit()


# --- reports ------------------------------------------------------------------------------------------------------

REPORT_FIELDS = ("activities", "participants", "participants_at_risk", "results", "version")


@pytest.fixture
def report(client, make_report, stub_pdfs):
    found = make_report("draft")
    factories.login_as(client, factories.member_of(found.application))
    return found


@EXAMPLES
@example(route="save", changes={"participants": "1" * 400, "results": "\x00"})
@example(route="submit", changes={"version": "²"})
@given(route=st.sampled_from(("save", "submit")),
       changes=st.dictionaries(st.sampled_from(REPORT_FIELDS), st.one_of(HOSTILE, st.just(OMIT)), min_size=1,
                               max_size=3))
def test_a_report_is_saved_whole_or_not_at_all(client, report, route, changes):
    db.session.refresh(report)
    before, audit = (report.status, report.content, report.version), _count(AuditEvent)
    data = _form({"activities": "Notika 12 darbnīcas.", "participants": "16", "participants_at_risk": "9",
                  "results": "Kavējumi samazinājās.", "version": str(report.version)}, changes)
    url = f"/apply/reports/{report.id}" + ("/submit" if route == "submit" else "")
    response = client.post(url, data=data)
    body = _checked(response)
    db.session.refresh(report)
    after = (report.status, report.content, report.version)

    if response.status_code == 400:
        assert after == before and _count(AuditEvent) == audit
        messages = _page_messages(body)
        assert messages
        _assert_latvian(messages)
        return
    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    if after[0] == "submitted":  # accepted whole: put it back for the next example
        fire(report, "request_changes", factories.admin_of(report.application.call), "Lūdzu papildiniet.")
        db.session.commit()
    elif after[2] == before[2]:
        assert after == before and _count(AuditEvent) == audit


# --- the evaluator's score sheet ----------------------------------------------------------------------------------

@pytest.fixture
def accepted(client, make_assignment, make_call, stub_pdfs):
    assignment = make_assignment("accepted")
    factories.login_as(client, assignment.evaluator)
    foreign = make_call("draft").criteria[0].id
    return assignment, foreign


def _scores(assignment: Assignment) -> dict:
    db.session.expire_all()
    return {s.criterion_id: (s.half_points, s.comment) for s in db.session.scalars(
        select(Score).where(Score.assignment_id == assignment.id))}


VALID_SCORES = tuple(f"{v // 2}.5" if v % 2 else str(v // 2) for v in range(11)) + ("na",)  # points, 0–5
SCORE = st.one_of(st.sampled_from(VALID_SCORES + ("",)), HOSTILE, st.just(OMIT))


@EXAMPLES
@example(route="save", scores={0: "11", 1: "-1"}, comments={}, stray={"foreign": "5"})
@example(route="submit", scores={}, comments={0: "\x00"}, stray={"unknown": "5"})
@given(route=st.sampled_from(("save", "submit")), scores=st.dictionaries(st.integers(0, 4), SCORE, max_size=3),
       comments=st.dictionaries(st.integers(0, 4), st.one_of(HOSTILE, st.just(OMIT)), max_size=2),
       stray=st.dictionaries(st.sampled_from(("foreign", "unknown", "negative", "text")), SCORE, max_size=2))
def test_a_score_sheet_is_saved_whole_or_not_at_all(client, accepted, route, scores, comments, stray):
    assignment, foreign = accepted
    criteria = assignment.application.call.criteria
    data = {}
    for i, criterion in enumerate(criteria):
        data[f"score_{criterion.id}"] = scores.get(i, "4")
        data[f"comment_{criterion.id}"] = comments.get(i, "Pamatots vērtējums.")
    names = {"foreign": f"score_{foreign}", "unknown": "score_999999", "negative": "score_-1", "text": "score_x"}
    data.update({names[k]: v for k, v in stray.items()})
    if route == "submit":
        data["confirmed"] = "1"  # as the confirmation page posts it: this test is about the sheet, not the asking
    data = _form(data, {})
    before, audit, status = _scores(assignment), _count(AuditEvent), assignment.status

    response = client.post(f"/evaluate/assignments/{assignment.id}/{route}", data=data)
    body = _checked(response)
    after = _scores(assignment)
    db.session.refresh(assignment)

    assert set(after) <= {c.id for c in criteria}  # nothing stored against another call's criterion
    if response.status_code == 400:
        assert (after, assignment.status, _count(AuditEvent)) == (before, status, audit)
        messages = _page_messages(body)
        assert _lv("Some scores or comments are not valid; nothing was saved.") in messages
        _assert_latvian(messages)
        return
    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    for criterion in criteria:  # the whole sheet is stored as sent
        sent = data.get(f"score_{criterion.id}", "")
        if sent in VALID_SCORES:
            comment = data.get(f"comment_{criterion.id}", "")
            assert after[criterion.id] == (None if sent == "na" else int(float(sent) * 2), comment.strip())
        elif f"score_{criterion.id}" in data:  # sent blank: the number was deleted, a stored score goes with it
            assert sent.strip() == "" and criterion.id not in after
        else:  # not sent at all: what was stored stays
            assert after.get(criterion.id) == before.get(criterion.id)
    if assignment.status == "submitted":
        fire(assignment, "reopen", factories.admin_of(assignment.application.call), "Lūdzu pārskatiet.")
        db.session.commit()
    else:
        assert _count(AuditEvent) == audit


# --- the workflow buttons: a trigger no page offers, a reason too long ---------------------------------------------

@pytest.fixture
def buttons(make_assignment, stub_pdfs):
    """An accepted review (declaring again is not possible) of an application its NGO could withdraw."""
    assignment = make_assignment("accepted")
    return assignment, factories.member_of(assignment.application)


ACTION_TRIGGERS = ("withdraw", "accept_offer", "decline", "renounce", "declare_no_conflict", "submit_review", "")


@EXAMPLES
@example(who="evaluator", trigger="declare_no_conflict", note="x" * 3001)
@example(who="applicant", trigger="withdraw", note="\x00")
@given(who=st.sampled_from(("applicant", "evaluator")),
       trigger=st.one_of(st.sampled_from(ACTION_TRIGGERS), HOSTILE, st.just(OMIT)),
       note=st.one_of(HOSTILE, st.just(OMIT)))
def test_a_workflow_button_with_a_bad_trigger_or_reason_changes_nothing(client, buttons, who, trigger, note):
    """Never with the confirmation ticked, and never 'recuse': whatever is sent, nothing may move."""
    assignment, member = buttons
    application = assignment.application
    if who == "applicant":
        factories.login_as(client, member)
        url = f"/apply/applications/{application.id}/action"
    else:
        factories.login_as(client, assignment.evaluator)
        url = f"/evaluate/assignments/{assignment.id}/action"
    trigger = "recuse " if trigger == "recuse" else trigger
    before = application.status, assignment.status, _count(AuditEvent)

    response = client.post(url, data=_form({"trigger": trigger, "note": note}, {}))
    body = _checked(response)
    db.session.refresh(application)
    db.session.refresh(assignment)

    assert (application.status, assignment.status, _count(AuditEvent)) == before
    if response.status_code == 400:  # a trigger no page offers: a page that says so, in Latvian
        assert _lv("Nothing was changed. Go back, reload the page and try again.") in html.unescape(body)
        return
    assert response.status_code == 302
    messages = _take_flashes(client)
    assert messages
    _assert_latvian(messages)
    if note is not OMIT and len(note) > 3000 and note.strip():
        assert any("3000" in m or "3 000" in m for m in messages), messages


# --- characters that change the direction of writing ----------------------------------------------------------------
# U+202E in a title makes the rest of it display reversed: a receipt, a letter or the protocol would show what is not
# stored. Every text field refuses them with a message, the services refuse them in a note, and nothing is stored.

DIRECTION_MSGID = ("The text contains an invisible character that changes the direction of writing (%(code)s), so "
                   "it could read differently from what is saved. Delete it and type the text again.")
DIRECTION_CONTROLS = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
                      "\u200e", "\u200f", "\u061c")


def _direction_message(char: str, lang: str = "lv") -> str:
    text = _lv(DIRECTION_MSGID) if lang == "lv" else DIRECTION_MSGID
    return text % {"code": f"U+{ord(char):04X}"}


def test_the_latvian_message_for_direction_controls_is_latvian():
    assert _lv(DIRECTION_MSGID) != DIRECTION_MSGID and "%(code)s" in _lv(DIRECTION_MSGID)


@pytest.mark.parametrize("char", DIRECTION_CONTROLS)
def test_a_direction_control_in_the_title_is_refused_and_nothing_is_stored(client, draft, char):
    before, audit = _stored(draft), _count(AuditEvent)
    response = client.post(f"/apply/applications/{draft.id}",
                           data=_complete(draft, title=f"Vasaras nometne {char}3202"))

    assert response.status_code == 400
    messages = _page_messages(_checked(response))
    assert _direction_message(char) in messages
    assert _lv("Some fields need correcting; nothing was saved.") in messages
    assert _stored(draft) == before and _count(AuditEvent) == audit


def test_the_message_is_in_english_for_an_english_user(client, draft):
    with client.session_transaction() as session:
        session["lang"] = "en"
    before = _stored(draft)
    response = client.post(f"/apply/applications/{draft.id}",
                           data=_complete(draft, summary="Nometne \u2067un darbnīcas\u2069."))

    assert response.status_code == 400
    assert _direction_message("\u2067", "en") in _page_messages(_checked(response))
    assert _stored(draft) == before


def test_a_direction_control_in_a_registration_registers_nothing(client):
    before = _count(Organisation), _count(User), _count(AuditEvent)
    response = client.post("/register", data={**_registration(), "organisation_name": "Biedrība \u202eāžrūB"})

    assert response.status_code == 200 and not _logged_in(client)
    assert _direction_message("\u202e") in _page_messages(_checked(response))
    assert (_count(Organisation), _count(User), _count(AuditEvent)) == before


def test_a_direction_control_in_a_clarification_answer_sends_nothing(client, in_clarification):
    application = in_clarification
    audit, answered = _count(AuditEvent), _answered(application)
    response = client.post(f"/apply/applications/{application.id}/clarify",
                           data={"answer": "Budžets ir \u200f4600 EUR."})
    _checked(response)
    db.session.refresh(application)

    assert response.status_code == 302
    assert _take_flashes(client) == [_direction_message("\u200f")]
    assert application.status == "clarification"
    assert (_count(AuditEvent), _answered(application)) == (audit, answered)


def test_a_direction_control_in_the_admins_question_asks_nothing(client, make_application, stub_pdfs):
    application = make_application(state="submitted")
    factories.login_as(client, factories.admin_of(application.call))
    audit, questions = _count(AuditEvent), _count(Clarification)
    due = (clock.now() + timedelta(days=5)).astimezone(clock.RIGA).strftime("%Y-%m-%d %H:%M")
    response = client.post(f"/admin/applications/{application.id}/clarification",
                           data={"question": "Precizējiet budžetu \u202a(EUR).", "answer_due_at": due})
    db.session.refresh(application)

    assert response.status_code in (200, 400)
    assert _direction_message("\u202a") in _page_messages(_checked(response))
    assert application.status == "submitted"
    assert (_count(AuditEvent), _count(Clarification)) == (audit, questions)


def test_fire_refuses_a_note_with_a_direction_control(make_assignment, stub_pdfs):
    """A note can reach `fire` by another way than a form (a command, a cascade): the service refuses it too."""
    from app.errors import Refused

    assignment = make_assignment("accepted")
    status, audit = assignment.status, _count(AuditEvent)
    with pytest.raises(Refused) as refused:
        fire(assignment, "revoke", factories.admin_of(assignment.application.call), "Termiņš \u202enokavēts.")
    db.session.rollback()
    db.session.refresh(assignment)

    assert refused.value.message == _direction_message("\u202e")
    assert assignment.status == status and _count(AuditEvent) == audit


def _every_form(app):
    """An instance of every form of the app, bound to `formdata` (those built per call from a stand-in call)."""
    from types import SimpleNamespace

    from app.forms import FlaskForm
    from app.forms.admin import AssignForm, ChecksForm, checks_form
    from app.forms.calls import CallForm
    from app.forms.reviews import ScoreSheet, score_sheet

    built = {AssignForm: lambda formdata: AssignForm(formdata=formdata, evaluators=()),
             CallForm: lambda formdata: CallForm(formdata=formdata, organisers=()),
             ChecksForm: lambda formdata: checks_form([SimpleNamespace(id=7, code="1.1")], formdata=formdata),
             ScoreSheet: lambda formdata: score_sheet(
                 [SimpleNamespace(id=9, max_half_points=10, step_half_points=2)], "lv", formdata=formdata)}
    classes, found = [FlaskForm], []
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.startswith("app.forms.") and cls.__qualname__.count(".") == 0:
            found.append((cls, built.get(cls, lambda formdata, cls=cls: cls(formdata=formdata))))
    return found


def test_every_text_field_of_every_form_refuses_direction_controls(app):
    """Whatever form a page builds, now or later: the rule is the base class's, so no field can miss it."""
    import wtforms
    from werkzeug.datastructures import MultiDict

    checked = []
    for cls, build in _every_form(app):
        with app.test_request_context(method="POST"):
            names = [f.name for f in build(None) if isinstance(f, wtforms.StringField)
                     and not isinstance(f, wtforms.PasswordField) and f.name != "csrf_token"]
            for name in names:
                form = build(MultiDict({name: "Nometne \u202e2023"}))
                assert not form.validate()
                assert _direction_message("\u202e") in [str(e) for e in form[name].errors], (cls.__name__, name)
                checked.append(f"{cls.__name__}.{name}")
    assert len(checked) > 40 and "ApplicationForm.title" in checked and "ChecksForm.reason_7" in checked, checked


# --- ?page= ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("asked", "expected"), [
    (None, 1), ("", 1), ("1", 1), ("2", 2), ("0", 1), ("-3", 1), ("abc", 1), ("1.5", 1), (" 2", 1), ("²", 1),
    ("٣", 1), ("３", 1), ("0002", 2), ("99999999999999999999", 10**6), ("9" * 5000, 10**6), ("\x00", 1)])
def test_page_number_reads_only_plain_numbers_and_caps_them(app, asked, expected):
    from app.views.common import page_number

    with app.test_request_context("/", query_string={} if asked is None else {"page": asked}):
        assert page_number() == expected


@pytest.mark.parametrize(("asked", "page", "names"), [
    ("1", 1, ["A", "B"]), ("2", 2, ["C"]), ("3", 2, ["C"]), ("99999999999999999999", 2, ["C"]),
    (str(2**63), 2, ["C"]), ("x", 1, ["A", "B"])])
def test_paginate_past_the_end_gives_the_last_page(app, make_organiser, asked, page, names):
    from app.models import Organiser
    from app.views.common import paginate

    for name in ("A", "B", "C"):
        make_organiser(name)
    db.session.commit()
    with app.test_request_context("/", query_string={"page": asked}):
        found = paginate(select(Organiser).order_by(Organiser.name), per_page=2)
    assert (found.page, [o.name for o in found.items], found.pages, found.total) == (page, names, 2, 3)


def test_paginate_an_empty_list_is_page_one(app):
    from app.models import Organiser
    from app.views.common import paginate

    with app.test_request_context("/", query_string={"page": "99999999999999999999"}):
        found = paginate(select(Organiser), per_page=2)
    assert (found.page, found.items, found.total) == (1, [], 0)
