"""Conflicts of interest the system knows (issue 7, "Evaluators"): the e-mail domain of any member of the NGO, not
only its own address; affiliations; public mail providers never count; conflicts the NGO names before assignment;
the call's conflict register as a page and in the commission protocol. Every expected text is written out here."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app import documents, policies
from app.errors import Refused
from app.extensions import db
from app.models import ConflictOfInterest, Document, EvaluatorAffiliation, RankingProtocol
from app.services import conflicts, evaluation
from app.services.workflow import fire
from tests import factories
from tests.factories import login_as

pytestmark = pytest.mark.postgres


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def in_english(client) -> None:
    client.post("/language", data={"lang": "en"})


@pytest.fixture
def ngo(app, make_organisation):
    """An NGO writing from its own domain, whose second member writes from an experts' firm's domain."""
    organisation = make_organisation("Biedrība „Zemgales jaunieši”", email="birojs@zemgalesjauniesi.lv")
    factories.make_user("applicant", organisation=organisation, email="anna@zemgalesjauniesi.lv")
    factories.make_user("applicant", organisation=organisation, email="peteris@eksperti.lv", name="Pēteris Kalns")
    return organisation


def in_review(organisation):
    return factories.make_application(state="in_review", organisation=organisation)


# --- the rules ------------------------------------------------------------------------------------------------------

def test_a_members_address_at_the_evaluators_domain_refuses_the_assignment(app, ngo):
    application = in_review(ngo)
    admin = factories.admin_of(application.call)
    colleague = factories.make_user("evaluator", email="inese@eksperti.lv")
    stranger = factories.make_user("evaluator", email="karlis@vertetaji.example.com")

    with pytest.raises(Refused) as refused:
        evaluation.assign(application, colleague, admin)
    db.session.rollback()
    assert "eksperti.lv" in refused.value.message

    made = evaluation.auto_assign(application, admin)
    db.session.commit()
    assert colleague.id not in [a.evaluator_id for a in made]
    assert stranger.id in [a.evaluator_id for a in made]
    assert policies.is_conflicted(colleague, application)  # and they see nothing of it
    assert not policies.can_view_application(colleague, application)


def test_a_public_mail_provider_never_makes_a_conflict(app, make_organisation):
    organisation = make_organisation(email="zemgalesjauniesi@gmail.com")
    factories.make_user("applicant", organisation=organisation, email="anna.kalnina@gmail.com")
    application = in_review(organisation)
    evaluator = factories.make_user("evaluator", email="inese.liepina@gmail.com")

    assert evaluation.conflict_reason(evaluator, application) is None
    assignment = evaluation.assign(application, evaluator, factories.admin_of(application.call))
    db.session.commit()
    assert assignment.status == "assigned"


def test_an_affiliated_domain_or_organisation_is_a_conflict(app, ngo, make_organisation):
    application = in_review(ngo)
    by_domain = factories.make_user("evaluator", email="inese@lu.lv")
    by_organisation = factories.make_user("evaluator")
    other = make_organisation()
    db.session.add_all([
        EvaluatorAffiliation(evaluator_id=by_domain.id, kind="domain", domain="zemgalesjauniesi.lv"),
        EvaluatorAffiliation(evaluator_id=by_organisation.id, kind="organisation", organisation_id=ngo.id),
        EvaluatorAffiliation(evaluator_id=by_organisation.id, kind="organisation", organisation_id=other.id),
        EvaluatorAffiliation(evaluator_id=by_organisation.id, kind="text", text="Valdes loceklis citur")])
    db.session.commit()

    for evaluator in (by_domain, by_organisation):
        with pytest.raises(Refused):
            evaluation.assign(application, evaluator, factories.admin_of(application.call))
        db.session.rollback()
    assert conflicts.conflicted_application_ids(by_organisation, [application]) == {application.id}


def test_an_admin_adds_a_domain_affiliation_but_never_a_public_provider(app, client, make_application):
    application = make_application(state="in_review")
    admin = factories.admin_of(application.call)
    evaluator = factories.make_user("evaluator")
    login_as(client, admin)
    in_english(client)

    refused = client.post(f"/admin/evaluators/{evaluator.id}/affiliations",
                          data={"kind": "domain", "domain": "Inbox.lv"}, follow_redirects=True)
    added = client.post(f"/admin/evaluators/{evaluator.id}/affiliations",
                        data={"kind": "domain", "domain": "@LU.lv"}, follow_redirects=True)

    assert "inbox.lv is a public mail provider: it ties nobody to an organisation." in text(refused)
    assert "The affiliation is recorded." in text(added)
    assert db.session.scalars(select(EvaluatorAffiliation.domain).where(
        EvaluatorAffiliation.evaluator_id == evaluator.id)).all() == ["lu.lv"]


# --- conflicts the NGO names ----------------------------------------------------------------------------------------

def test_an_evaluator_the_ngo_names_is_never_assigned(app, client, make_organisation):
    organisation = make_organisation()
    member = factories.make_user("applicant", organisation=organisation, name="Anna Kalniņa")
    application = factories.make_application(state="eligible", organisation=organisation)
    named = factories.make_user("evaluator", name="Marta Sproģe", email="marta.sproge@eksperti.example.com")
    login_as(client, member)
    in_english(client)
    page = client.get(f"/apply/applications/{application.id}/conflicts").get_data(as_text=True)
    assert "Marta Sproģe" in page and "marta.sproge@" not in page  # names only

    answer = client.post(f"/apply/applications/{application.id}/conflicts",
                         data={"evaluator_id": str(named.id), "reason": "Vērtētāja ir mūsu valdes locekles māsa."},
                         follow_redirects=True)

    assert "The conflict of interest is recorded" in text(answer)
    (row,) = db.session.scalars(select(ConflictOfInterest).where(ConflictOfInterest.evaluator_id == named.id))
    assert (row.organisation_id, row.source, row.named_by_id, row.note) == (
        organisation.id, "applicant", member.id, "Vērtētāja ir mūsu valdes locekles māsa.")
    with pytest.raises(Refused) as refused:
        evaluation.assign(application, named, factories.admin_of(application.call))
    db.session.rollback()
    assert refused.value.message == "Vērtētāja ir mūsu valdes locekles māsa."


def test_the_ngo_names_nobody_once_evaluators_are_assigned(app, client, make_organisation):
    organisation = make_organisation()
    member = factories.make_user("applicant", organisation=organisation)
    application = factories.make_application(state="eligible", organisation=organisation)
    evaluation.assign(application, factories.make_user("evaluator"), factories.admin_of(application.call))
    db.session.commit()
    late = factories.make_user("evaluator")
    login_as(client, member)
    in_english(client)

    answer = client.post(f"/apply/applications/{application.id}/conflicts",
                         data={"evaluator_id": str(late.id), "reason": "Pazīstam."}, follow_redirects=True)

    assert "Evaluators have been assigned already" in text(answer)
    assert db.session.scalars(select(ConflictOfInterest)).all() == []


def test_a_member_of_another_ngo_cannot_name_for_this_application(app, client, make_organisation):
    application = factories.make_application(state="eligible", organisation=make_organisation())
    evaluator = factories.make_user("evaluator")
    login_as(client, factories.make_user("applicant"))
    answer = client.post(f"/apply/applications/{application.id}/conflicts",
                         data={"evaluator_id": str(evaluator.id), "reason": "Pazīstam."})
    assert answer.status_code == 404
    assert db.session.scalars(select(ConflictOfInterest)).all() == []


# --- the register ---------------------------------------------------------------------------------------------------

def test_the_register_lists_every_known_conflict_of_the_call(app, client, ngo):
    application = in_review(ngo)
    admin = factories.admin_of(application.call)
    colleague = factories.make_user("evaluator", email="inese@eksperti.lv", name="Inese Liepiņa")
    named = factories.make_user("evaluator", name="Marta Sproģe")
    factories.make_user("evaluator", name="Kārlis Jansons")  # no conflict: no row
    db.session.add(ConflictOfInterest(evaluator_id=named.id, organisation_id=ngo.id, source="applicant",
                                      note="Mūsu bijusī darbiniece.", named_by_id=ngo.members[0].id))
    db.session.commit()

    rows = conflicts.conflict_register(application.call)
    assert [(r.evaluator, r.organisation, r.application, r.source_key) for r in rows] == [
        ("Inese Liepiņa", "Biedrība „Zemgales jaunieši”", application.number, "domain"),
        ("Marta Sproģe", "Biedrība „Zemgales jaunieši”", application.number, "applicant")]

    login_as(client, admin)
    in_english(client)
    page = client.get(f"/admin/calls/{application.call.id}/conflicts")
    found = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split())
             for r in re.findall(r'<tr class="conflict-row">(.*?)</tr>', page.get_data(as_text=True), re.S)]
    assert found[0].startswith(f"Inese Liepiņa Biedrība „Zemgales jaunieši” {application.number} e-mail domain "
                               "The evaluator's e-mail domain eksperti.lv is also the e-mail domain of the "
                               "organisation or of one of its members.")
    assert found[1].startswith(f"Marta Sproģe Biedrība „Zemgales jaunieši” {application.number} named by the "
                               "applicant Mūsu bijusī darbiniece.")
    assert len(found) == 2

    auditor = factories.make_user("auditor", organiser=application.call.organiser)
    login_as(client, auditor)
    assert "Mūsu bijusī darbiniece." in client.get(f"/admin/calls/{application.call.id}/conflicts").get_data(
        as_text=True)
    login_as(client, factories.make_organiser_admin(factories.make_organiser()))
    assert client.get(f"/admin/calls/{application.call.id}/conflicts").status_code == 404


def test_a_member_who_joins_after_the_assignment_surfaces_a_conflict_to_reassign(app, client, make_organisation):
    organisation = make_organisation(email="birojs@zemgalesjauniesi.lv")
    application = in_review(organisation)
    evaluator = factories.make_user("evaluator", email="inese@eksperti.lv", name="Inese Liepiņa")
    evaluation.assign(application, evaluator, factories.admin_of(application.call))
    db.session.commit()
    assert policies.can_view_application(evaluator, application) is False  # not yet declared: as before
    factories.make_user("applicant", organisation=organisation, email="janis@eksperti.lv")

    (row,) = conflicts.conflict_register(application.call)
    assert (row.evaluator, row.source_key, row.assigned) == ("Inese Liepiņa", "domain", True)
    assert policies.is_conflicted(evaluator, application)


def test_the_protocol_lists_the_register_in_both_languages(app, ngo, stub_pdfs):
    (application,) = factories.make_applications(None, ["reviewed"], organisation=ngo)
    call, admin = application.call, factories.admin_of(application.call)
    factories.make_user("evaluator", email="inese@eksperti.lv", name="Inese Liepiņa")

    fire(call, "confirm_ranking", admin)
    db.session.commit()

    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)).one()
    context = db.session.get(Document, protocol.document_id).context
    assert [(r["evaluator"], r["application"], r["source"]) for r in context["content"]["lv"]["conflicts"]] == [
        ("Inese Liepiņa", application.number, "e-pasta domēns")]
    assert [r["source"] for r in context["content"]["en"]["conflicts"]] == ["e-mail domain"]
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", documents.render_html("protocol", context, "lv"))).split())
    assert (f"Interešu konflikti Vērtētājs Projekta iesniegums Avots Pamatojums Laiks Inese Liepiņa {application.number} "
            "Biedrība „Zemgales jaunieši” e-pasta domēns Vērtētāja e-pasta domēns eksperti.lv ir arī organizācijas "
            "vai kāda tās biedra e-pasta domēns.") in page


def test_an_evaluators_recusal_is_a_declared_conflict_in_the_register(app, make_assignment):
    recused = make_assignment("recused")
    application = recused.application

    rows = [(r.evaluator, r.source_key, r.reason) for r in conflicts.conflict_register(application.call)]

    assert [r for r in rows if r[0] == recused.evaluator.name] == [
        (recused.evaluator.name, "evaluator", "Pazīstu projekta vadītāju.")]  # one row, not also the recusal
    assert recused.evaluator.id not in conflicts.conflicted_evaluator_ids([], application)  # none asked: none
    assert recused.evaluator.id in conflicts.conflicted_evaluator_ids([recused.evaluator], application)


def test_the_demos_2022_call_shows_a_named_and_a_members_domain_conflict(app, clock):
    from app.demo import load_demo
    from app.models import Call

    load_demo()
    call = db.session.scalars(select(Call).where(Call.code == "PMP-2022")).one()
    rows = {(r.evaluator, r.organisation, r.source_key) for r in conflicts.conflict_register(call)}
    assert ("Marta Sproģe", "Biedrība „Jaunieši Jelgavai”", "applicant") in rows
    assert ("Marta Sproģe", "Biedrība „Elejas jauniešu klubs”", "domain") in rows  # a member at lu.lv
