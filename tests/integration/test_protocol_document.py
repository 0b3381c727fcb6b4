"""The commission protocol read back from its PDF, the ranking page after confirming, protocol numbers within a
call, and letters in their recipient's language (issue 7, "Ranking, decision and the record").

Every call here is ranked through the real services and rendered by WeasyPrint; the PDFs are read with pypdf.
The expected figures are written out from the scores the test gives, never taken from the code under test.
"""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import Decision, Document, RankingProtocol
from app.services import evaluation, jobs
from app.services.workflow import fire
from tests.factories import admin_of, login_as, make_organisation, make_user, member_of

TECHNICAL_KEYS = ("submitted_at", "application_id", "mean_all", "closest_two", "strict", "skip",
                  "total_below_pass_mark", "minimum:2")


def squash(text: str) -> str:
    """PDF text with its line breaks and hyphenation undone (WeasyPrint hyphenates with U+2010) and spaces of any
    kind made one."""
    text = text.replace("\u2010\n", "").replace("\u00ad", "")
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_of(document_id: int) -> bytes:
    return jobs.ensure_rendered(db.session.get(Document, document_id)).content


def review(application, evaluator, half_points: dict[str, int]):
    """One evaluator's submitted review with these half-points per criterion code, through the real services."""
    call = application.call
    assignment = evaluation.assign(application, evaluator, admin_of(call))
    db.session.commit()
    fire(assignment, "declare_no_conflict", evaluator)
    db.session.commit()
    evaluation.save_scores(assignment, evaluator, {c.id: (half_points[c.code], "Pamatots vērtējums — ļoti labi.")
                                                   for c in call.criteria})
    db.session.commit()
    fire(assignment, "submit_review", evaluator)
    db.session.commit()
    return assignment


# half-points for criteria 2.1 (minimum 3 points), 2.2, 2.3; the pass mark is 9 points (18 half-points)
SCORES = {
    "A": {"2.1": 9, "2.2": 9, "2.3": 9},  # 13.5 points: rank 1, funded
    "B": {"2.1": 8, "2.2": 9, "2.3": 7},  # 12: ties C and D, above both by 2.2 (4.5 against 4); funded
    "C": {"2.1": 9, "2.2": 8, "2.3": 7},  # 12: below B by 2.2; the budget runs out here: reserve 1
    "D": {"2.1": 8, "2.2": 8, "2.3": 8},  # 12: ties C on 2.2 too; C was submitted earlier: reserve 2
    "E": {"2.1": 4, "2.2": 5, "2.3": 5},  # 7: below the pass mark and below the minimum of 2.1 (2 points)
    "F": {"2.1": 6, "2.2": 6, "2.3": 6},  # 9: passes, but an admin rejects it by hand before confirming
}
OVERRIDE = "Projekts jau saņem finansējumu no citas programmas; dubulta finansēšana nav pieļaujama."


@pytest.fixture
def ranked_call(make_call, make_applications):
    """A call of two projects' budget in ranking, its six applications reviewed, F rejected by hand."""
    call = make_call(state="announced", when="past", projects=2, criteria=3, tie_break_keys=["2.2", "submitted_at"])
    applications = dict(zip(SCORES, make_applications(call, ["in_review"] * len(SCORES))))
    evaluators = [make_user("evaluator", name=name) for name in ("Ilze Bērziņa", "Žanis Ūdris")]
    for key, application in applications.items():
        for evaluator in evaluators:
            review(application, evaluator, SCORES[key])
    admin = admin_of(call)
    fire(call, "finish_evaluation", admin)
    db.session.commit()
    fire(applications["F"], "reject", admin, OVERRIDE)
    db.session.commit()
    return call, applications, admin


def test_the_protocol_explains_every_placement(ranked_call):
    call, apps, admin = ranked_call
    fire(call, "confirm_ranking", admin)
    db.session.commit()
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    text = squash("\n".join(pages_of(pdf_of(protocol.document_id))))

    for key in "ABCDE":
        assert apps[key].number in text
    # pass or fail, with the figures
    assert "atbilst: 13,5 punkti, ne mazāk par minimālo punktu skaitu 9" in text
    assert "neatbilst: kopā 7 punkti, mazāk par minimālo punktu skaitu 9" in text
    assert "kritērijā 2.1 2 punkti, mazāk par minimālajiem 3 punktiem" in text
    # each tie with the key that broke it, in words and with the figures
    assert (f"Vienāds svērtais vērtējums ar {apps['B'].number} (12 punkti); izšķīra augstāks vērtējums kritērijā "
            f"2.2: {apps['B'].number} ir augstāks vērtējums kritērijā 2.2 (4,5 pret 4 punktiem).") in text
    assert f"Vienāds svērtais vērtējums ar {apps['C'].number} (12 punkti); izšķīra agrāk iesniegts" in text
    # the allocation line: 9 200 € budget, A and B funded, nothing left for C
    assert (f"Finansējuma robeža: Budžets 9 200,00 € beidzas pie 3. vietas ({apps['C'].number}, 4 600,00 €): "
            "pēc 2. vietas bija atlikuši 0,00 €.") in text
    assert "Nesadalītais atlikums: 0,00 €" in text
    # the reserve list in order: C then D
    reserve = text[text.index("Rezerves saraksts secībā"):]
    assert reserve.index(apps["C"].number) < reserve.index(apps["D"].number)
    # the override, its justification and who made it
    assert apps["F"].number in text and squash(OVERRIDE) in text and admin.name in text
    assert "Ilze Bērziņa" in text and "Žanis Ūdris" in text  # Latvian letters intact
    assert all(letter in text for letter in "āēīķņšžŽŪ")
    for key in TECHNICAL_KEYS:
        assert key not in text, key


def test_the_protocol_in_the_other_language_is_the_same_protocol(admin_client_for, ranked_call):
    call, apps, admin = ranked_call
    fire(call, "confirm_ranking", admin)
    db.session.commit()
    client = admin_client_for(admin, "lv")
    page = client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    assert "Arī angliski" in page
    client.post(f"/admin/calls/{call.id}/protocol/translation")
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    db.session.refresh(protocol)
    english = db.session.get(Document, protocol.translation_document_id)
    assert english.language == "en" and english.filename.endswith("-protokols-1-en.pdf")
    page = client.get(f"/admin/calls/{call.id}/ranking").get_data(as_text=True)
    assert f"/documents/{english.id}" in page and "Arī angliski" not in page

    text = squash("\n".join(pages_of(pdf_of(english.id))))
    assert "Evaluation commission protocol No. 1" in text.replace("EVALUATION COMMISSION PROTOCOL", "Evaluation "
                                                                  "commission protocol")
    assert "Youth initiative call" in text and "€9,200.00" in text
    assert f"tie was broken by higher score in criterion 2.2: {apps['B'].number} has a higher score" in text
    assert "tie was broken by earlier submission" in text
    assert "total 7 points, below the pass mark of 9 points" in text
    assert squash(OVERRIDE) in text and admin.name in text
    for key in TECHNICAL_KEYS:
        assert key not in text, key


def test_a_long_protocol_repeats_its_header_and_never_ends_on_a_lone_total(make_call, make_applications):
    count = 40
    call = make_call(state="announced", when="past", projects=12, criteria=3)
    # descending scores with ties (each pair shares its score), then failing ones
    scores = [10 - (i // 8) for i in range(count - 4)] + [3, 3, 2, 2]
    make_applications(call, ["reviewed"] * count, scores=scores)
    admin = admin_of(call)
    fire(call, "confirm_ranking", admin)
    db.session.commit()
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    pages = [squash(p) for p in pages_of(pdf_of(protocol.document_id))]
    assert len(pages) >= 3
    header = ("Vieta Projekta iesniegums Projekts un iesniedzējs Kopā Svērtais kopvērtējums Lēmums Finansējums "
              "Pamatojums Vērtētāji")
    assert header in pages[0] and header in pages[1], pages[1][:300]  # the table's header, repeated on page 2
    assert pages[1].index(header) < pages[1].index(f"{call.number_prefix}-")
    total = "Kopā piešķirts (no budžeta 55 200,00 €)"
    on_its_page = [p for p in pages if total in p]
    assert len(on_its_page) == 1
    page = on_its_page[0]
    rows_before = page[page.index(header) + len(header) if header in page else 0:page.index(total)]
    assert re.search(rf"{call.number_prefix}-\d{{3}}", rows_before), "the total row stands alone on its page"
    for number, text in enumerate(pages, start=1):
        assert f"{number}. lpp. no {len(pages)}" in text  # page X of Y


def test_the_first_protocol_of_a_call_is_number_one(make_call, make_applications):
    earlier = make_call(state="announced", when="past", projects=1)
    make_applications(earlier, ["reviewed"])
    fire(earlier, "confirm_ranking", admin_of(earlier))
    db.session.commit()
    fire(earlier, "confirm_ranking", admin_of(earlier))  # confirmed again: the call's second protocol
    db.session.commit()
    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["reviewed"])
    fire(call, "confirm_ranking", admin_of(call))
    db.session.commit()

    numbers = db.session.execute(select(RankingProtocol.call_id, RankingProtocol.number)
                                 .order_by(RankingProtocol.id)).all()
    assert numbers == [(earlier.id, 1), (earlier.id, 2), (call.id, 1)]
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    document = db.session.get(Document, protocol.document_id)
    assert document.filename == f"{call.code}-protokols-1.pdf"
    text = squash(pages_of(pdf_of(document.id))[0])
    assert "PROTOKOLS NR. 1" in text.upper()


def test_two_protocols_of_one_call_cannot_share_a_number(make_call, make_applications):
    from sqlalchemy.exc import IntegrityError

    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["reviewed"])
    fire(call, "confirm_ranking", admin_of(call))
    db.session.commit()
    first = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    db.session.add(RankingProtocol(call_id=call.id, number=first.number, confirmed_by=first.confirmed_by,
                                   inputs_sha256=first.inputs_sha256, ranking=first.ranking))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.fixture
def admin_client_for(app, client):
    def make(admin, language):
        admin.language = language
        db.session.commit()
        login_as(client, admin)
        client.post("/language", data={"lang": language})
        return client
    return make


@pytest.mark.parametrize(("member_language", "admin_language", "expected"), [
    ("en", "lv", ("To fund the project and to award a grant of €4,600.00.", "Youth initiative call",
                  "Evaluation summary", "Evaluator 1")),
    ("lv", "en", ("Finansēt projektu un piešķirt finansējumu 4 600,00 € apmērā.", "Jaunatnes iniciatīvu konkurss",
                  "Vērtējuma kopsavilkums", "Vērtētājs 1")),
])
def test_a_letter_is_in_its_recipients_language_whatever_the_admins(admin_client_for, make_call, make_applications,
                                                                   member_language, admin_language, expected):
    call = make_call(state="announced", when="past", projects=1)
    organisation = make_organisation()
    make_user("applicant", organisation=organisation, language=member_language)
    application, = make_applications(call, ["reviewed"], organisation=organisation)
    client = admin_client_for(admin_of(call), admin_language)
    for trigger in ("confirm_ranking", "publish_results"):
        client.post(f"/admin/calls/{call.id}/fire", data={"trigger": trigger, "confirmed": "1", "back": "ranking"})
    db.session.refresh(application)
    assert application.status == "funded" and member_of(application).language == member_language
    decision = db.session.scalars(select(Decision).where(Decision.application_id == application.id,
                                                         Decision.current)).one()
    letter = db.session.get(Document, decision.letter_document_id)
    assert letter.language == member_language
    text = squash("\n".join(pages_of(pdf_of(letter.id))))
    for phrase in expected:
        assert squash(phrase) in text, phrase
    other = ("Finansēt projektu", "Jaunatnes iniciatīvu konkurss") if member_language == "en" else (
        "To fund the project", "Youth initiative call")
    assert not any(phrase in text for phrase in other), text[:400]
