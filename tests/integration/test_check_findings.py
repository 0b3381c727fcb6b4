"""The checks section of the admin's application page explains what the system found, in words (issue 6):
the deadline, the registration number, the amount, the dates, the per-organisation limit, the attachments."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from app.extensions import db
from app.models import AttachmentType
from app.services import automatic_checks
from tests.factories import admin_of, login_as, riga

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

OPENS = riga(2030, 3, 1)
CLOSES = riga(2030, 4, 5)  # accepted until 04.04.2030 23:59; decision 19.04.2030: implementation 26.04.–23.10.2030


@pytest.fixture
def submitted(clock, make_call, make_application):
    clock.travel_to(OPENS - timedelta(days=5))
    call = make_call(state="announced", opens_at=OPENS, closes_at=CLOSES, checks=("A1", "A2", "A3", "A4"),
                     max_applications_per_organisation=2)
    clock.travel_to(riga(2030, 3, 10, 14, 5, 7))
    return make_application(call, state="submitted")


def findings_on_the_page(client, application, language: str) -> list[str]:
    admin = admin_of(application.call)
    admin.language = language
    db.session.commit()
    login_as(client, admin)
    body = client.get(f"/admin/applications/{application.id}").get_data(as_text=True)
    section = body.split('class="list-unstyled small automatic-findings"', 1)[1].split("</ul>", 1)[0]
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split())
            for item in re.findall(r"<li[^>]*>(.*?)</li>", section, re.S)]


def test_the_page_explains_every_finding_in_english(client, submitted):
    number = submitted.organisation.registration_number
    assert findings_on_the_page(client, submitted, "en") == [
        "Yes Submitted on time: Submitted 10.03.2030 14:05:07 (Riga time), within the deadline: until 04.04.2030 23:59.",
        f"Yes Valid registration number: Registration number {number}: valid, a legal entity's.",
        "Yes Amount within the call's rules: €4,600.00 asked for: within the call's rule (the call funds exactly "
        "€4,600.00 per project).",
        "Yes Form complete, dates within the call: The project runs 26.04.2030–23.10.2030, inside the "
        "implementation period 26.04.2030–23.10.2030.",
        "Yes Applications per organisation: This organisation's applications in the call: 1 of at most 2 (drafts "
        "and withdrawn ones not counted).",
        "Yes Required attachments present: The call asks for no required attachments.",
    ]


def test_the_page_explains_every_finding_in_latvian(client, submitted):
    found = findings_on_the_page(client, submitted, "lv")
    # (the page's no-break spaces in "4 600,00 €" read as spaces here)
    assert found[0].endswith("Iesniegts 10.03.2030. 14:05:07 (Rīgas laiks), termiņā: līdz 04.04.2030. plkst. 23:59.")
    assert found[2].endswith("Pieprasīti 4 600,00 €: atbilst konkursa noteikumam (konkurss finansē tieši "
                             "4 600,00 € vienam projektam).")
    assert found[3].endswith("Projekts norisinās 26.04.2030.–23.10.2030., īstenošanas periodā 26.04.2030.–23.10.2030.")
    assert found[5].endswith("Konkurss neprasa obligātus pielikumus.")


def test_the_explanation_sits_beside_the_check_it_prefills(client, submitted):
    admin = admin_of(submitted.call)
    admin.language = "en"
    db.session.commit()
    login_as(client, admin)
    body = unescape(client.get(f"/admin/applications/{submitted.id}").get_data(as_text=True))
    row = body.split("<strong>A1</strong>", 1)[1].split("</th>", 1)[0]
    assert "System suggests: Yes — Submitted 10.03.2030 14:05:07 (Riga time), within the deadline" in " ".join(
        row.split())


def by_key(application) -> dict[str, automatic_checks.Finding]:
    return {f.key: f for f in automatic_checks.findings(application)}


def test_what_fails_is_said_with_its_facts(app, submitted, make_application):
    """Facts no real submission can have (the submit guards refuse them), set on the object to read the words."""
    submitted.submitted_at = CLOSES + timedelta(minutes=3)
    submitted.content = {**submitted.content, "start_on": "2030-04-01"}
    db.session.add(AttachmentType(call=submitted.call, position=0, label_lv="Valdes lēmums", label_en="Board decision",
                                  formats=["pdf"], required=True))
    db.session.flush()
    found = by_key(submitted)
    assert (found["on_time"].passed, found["on_time"].explanation) == (
        False, "Iesniegts 05.04.2030. 00:03:00 (Rīgas laiks), pēc termiņa: līdz 04.04.2030. plkst. 23:59.")
    assert (found["dates"].passed, found["dates"].explanation) == (
        False, "Projekts norisinās 01.04.2030.–23.10.2030., ārpus īstenošanas perioda 26.04.2030.–23.10.2030.")  # one dot
    assert (found["attachments"].passed, found["attachments"].explanation) == (False, "Trūkst: Valdes lēmums.")
    db.session.rollback()


def test_the_limit_counts_the_organisations_other_applications(app, submitted, make_applications):
    second, = make_applications(submitted.call, ["submitted"], organisation=submitted.organisation)
    found = by_key(second)["organisation_limit"]
    assert found.passed is True
    assert "2 no ne vairāk kā 2" in found.explanation
