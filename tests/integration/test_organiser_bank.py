"""The account an organiser's grants are paid from, set on a page by its admins (issue 8, the SEPA file's debtor):
checked as the bank would, every change in the audit trail."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organiser
from tests.factories import admin_of, login_as, make_call, make_user

pytestmark = pytest.mark.postgres

ACCOUNT = {"iban": "LV76 TREL 2140 2800 0100 0", "bic": "TRELLV22", "street": "Pasta iela", "building": "37",
           "postcode": "LV-3001", "town": "Jelgava", "country": "lv"}


def test_the_admin_sets_the_account_and_the_change_is_audited(app, client):
    call = make_call("draft")
    login_as(client, admin_of(call))

    answer = client.post(f"/admin/organisers/{call.organiser_id}/bank", data=ACCOUNT, follow_redirects=True)

    assert "Bankas konts ir saglabāts." in answer.get_data(as_text=True)
    db.session.expire_all()
    organiser = db.session.get(Organiser, call.organiser_id)
    assert (organiser.bank_iban, organiser.bank_bic, organiser.address_town, organiser.address_country) == (
        "LV76TREL2140280001000", "TRELLV22", "Jelgava", "LV")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "organiser")).one()
    assert event.trigger == "set_bank_details" and event.actor_id == admin_of(call).id
    assert json.loads(event.data)["changed"]["bank_iban"] == [None, "LV76TREL2140280001000"]


def test_a_wrong_iban_saves_nothing_and_says_why(app, client):
    call = make_call("draft")
    login_as(client, admin_of(call))

    answer = client.post(f"/admin/organisers/{call.organiser_id}/bank", data={**ACCOUNT, "iban": "LV76TREL2140280001001"})

    assert answer.status_code == 400 and "IBAN" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organiser, call.organiser_id).bank_iban is None
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.entity_type == "organiser")) is None


def test_another_organisers_admin_sees_nothing(app, client):
    call = make_call("draft")
    login_as(client, admin_of(make_call("draft")))
    assert client.get(f"/admin/organisers/{call.organiser_id}/bank").status_code == 404
    assert client.post(f"/admin/organisers/{call.organiser_id}/bank", data=ACCOUNT).status_code == 404
    login_as(client, make_user("applicant"))
    assert client.get(f"/admin/organisers/{call.organiser_id}/bank").status_code == 403
