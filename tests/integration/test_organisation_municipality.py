"""The municipality an organisation works in: chosen from Latvia's 43 at registration or on the profile, stored as
chosen, kept in the audit trail when changed, and what the admin's list filters by (issue 6)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Organisation
from tests import factories
from tests.factories import login_as
from tests.integration.test_accounts import NEW_PASSWORD, in_english, text

pytestmark = pytest.mark.postgres

REGISTRATION = {
    "organisation_name": "Biedrība „Kopā”", "registration_number": "40008152656", "legal_form": "biedriba",
    "iban": factories.IBAN, "organisation_email": "info@kopa.example.lv", "address": "Pils iela 2, Cēsis",
    "user_name": "Anna Ozola", "email": "anna@kopa.example.lv", "password": NEW_PASSWORD,
    "password_again": NEW_PASSWORD}


def test_the_municipality_chosen_at_registration_is_stored(app, client):
    client.post("/register", data={**REGISTRATION, "municipality": "Cēsu novads"})
    db.session.expire_all()
    assert db.session.scalars(select(Organisation.municipality)).all() == ["Cēsu novads"]


def test_a_municipality_not_on_the_list_registers_nothing(app, client):
    answer = client.post("/register", data={**REGISTRATION, "municipality": "Cēsis; DROP TABLE"})
    assert "Pašvaldība, kurā organizācija darbojas" in text(answer)  # the form again, with the field
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_the_registration_form_lists_the_municipalities_in_english(app, client):
    in_english(client)
    page = client.get("/register").get_data(as_text=True)
    assert "Municipality where the organisation works" in page
    assert '<option value="Cēsu novads">Cēsis Municipality</option>' in page
    assert '<option value="Rīga">Riga</option>' in page


def test_a_changed_municipality_is_in_the_audit_trail(app, client, make_user):
    member = make_user("applicant")
    login_as(client, member)
    profile = {"name": member.organisation.name, "legal_form": member.organisation.legal_form,
               "iban": member.organisation.iban, "email": member.organisation.email,
               "address": member.organisation.address}

    client.post("/apply/organisation/", data={**profile, "municipality": "Ogres novads"})

    db.session.expire_all()
    assert db.session.get(Organisation, member.organisation_id).municipality == "Ogres novads"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.trigger == "edit_profile")).one()
    assert json.loads(event.data) == {"changed": {"municipality": ["Jelgavas novads", "Ogres novads"]}}

    client.post("/apply/organisation/", data=profile)  # a form without the field leaves it as it is
    db.session.expire_all()
    assert db.session.get(Organisation, member.organisation_id).municipality == "Ogres novads"


def test_a_forged_municipality_on_the_profile_changes_nothing(app, client, make_user):
    member = make_user("applicant")
    login_as(client, member)
    in_english(client)
    answer = client.post("/apply/organisation/", data={
        "name": "Cits nosaukums", "legal_form": member.organisation.legal_form, "iban": member.organisation.iban,
        "email": member.organisation.email, "address": "", "municipality": "Atlantīda"})
    assert "Not a valid choice." in text(answer)
    db.session.expire_all()
    stored = db.session.get(Organisation, member.organisation_id)
    assert (stored.name, stored.municipality) == (member.organisation.name, "Jelgavas novads")
