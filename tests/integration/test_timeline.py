"""A grant's timeline (issue 8): every audit event of the application and of its payments, reports and reviews, in
order, with who and when, in the reader's words; an NGO sees its own, never the reviews or who evaluated."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from tests.factories import (admin_of, evaluators_of, login_as, make_application, make_payment, make_user,
                             member_of)

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def entries(response) -> list[str]:
    """Each entry of the timeline as its text reads."""
    body = response.get_data(as_text=True)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split())
            for item in re.findall(r"<li class=\"border-start[^>]*>(.*?)</li>", body, re.S)]


@pytest.fixture
def grant(app):
    application = make_application(state="contracted")
    make_payment("paid", application=application)
    return application


def _in_order(found: list[str], wanted: list[str]) -> bool:
    position = 0
    for entry in found:
        if position < len(wanted) and wanted[position] in entry:
            position += 1
    return position == len(wanted)


def test_the_admin_sees_every_step_in_order_with_who(client, grant):
    admin = admin_of(grant.call)
    member = member_of(grant)
    login_as(client, admin)

    found = entries(client.get(f"/admin/applications/{grant.id}/timeline"))

    assert _in_order(found, [
        f"{member.name} Projekta iesniegums: Izveidots",
        f"{member.name} Projekta iesniegums: Sagatave → Iesniegts",
        f"{admin.name} Projekta iesniegums: Iesniegts → Atbilst",
        "Vērtējums: Piešķirts → Apliecināts",
        "Projekta iesniegums: Novērtēts → Atbalstīts",
        f"{member.name} Projekta iesniegums: Atbalstīts → Piedāvājums pieņemts",
        f"{admin.name} Projekta iesniegums: Piedāvājums pieņemts → Līgums noslēgts",
        f"{admin.name} Maksājums 1: Ieplānots → Izmaksāts",
    ]), found
    assert any(evaluators_of(grant)[0].name in entry for entry in found)
    # every event of the application, its reviews, payments and reports is there, once
    assert len(found) == db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type.in_(("application", "assignment", "payment", "report", "recovery"))))


def test_the_ngo_sees_its_steps_but_no_review_and_no_staff_names(client, grant):
    login_as(client, member_of(grant))

    found = entries(client.get(f"/apply/applications/{grant.id}/timeline"))

    text = " ".join(found)
    assert "Projekta iesniegums: Sagatave → Iesniegts" in text and "Maksājums 1: Ieplānots → Izmaksāts" in text
    assert "Vērtējums" not in text
    assert all(e.name not in text for e in evaluators_of(grant))
    assert admin_of(grant.call).name not in text and "Konkursa administrators" in text


def test_the_timeline_is_in_the_readers_language(client, grant):
    login_as(client, member_of(grant))
    client.post("/language", data={"lang": "en"})

    text = " ".join(entries(client.get(f"/apply/applications/{grant.id}/timeline")))

    assert "Application: Draft → Submitted" in text and "Payment 1: Scheduled → Paid" in text
    assert "Iesniegts" not in text


def test_another_organisation_sees_no_timeline(client, grant):
    login_as(client, make_user("applicant"))
    assert client.get(f"/apply/applications/{grant.id}/timeline").status_code == 404
    login_as(client, admin_of(make_application(state="submitted").call))
    assert client.get(f"/admin/applications/{grant.id}/timeline").status_code == 404
