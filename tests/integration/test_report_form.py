"""The report form's parts (issue 8, Reports): the indicators planned in the application with what was achieved,
spending per budget line against the plan (overspend flagged per line and in total), the files (a participant list
only for admins and auditors, every download logged), the declaration; each part judged on the server."""
from __future__ import annotations

import html
import io
from datetime import timedelta

from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Attachment, AttachmentDownload, BudgetLine, Report
from app.services import reporting
from tests import factories as f
from tests.factories import admin_of, login_as, member_of

PDF = b"%PDF-1.7\n%% saraksts\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(model, entity_id):
    db.session.expire_all()
    return db.session.get(model, entity_id)


def form_of(report: Report, **changes) -> dict:
    return {"version": str(fresh(Report, report.id).version), "activities": "Notika 12 darbnīcas.",
            "participants": "16", "participants_at_risk": "9", "results": "Kavējumi samazinājās.",
            "declaration": "y", **changes}


def english(user):
    user.language = "en"
    db.session.commit()
    return user


def with_indicators(report: Report) -> Report:
    application = report.application
    application.content = {**application.content, "indicators": [{"name": "Darbnīcas", "target": 12},
                                                                  {"name": "Mentoringa sesijas", "target": 30}]}
    db.session.commit()
    return report


def test_each_planned_indicator_is_shown_with_its_target_and_asks_what_was_achieved(app, client):
    report = with_indicators(f.make_report("draft"))
    member = english(member_of(report.application))
    login_as(client, member)
    shown = page(client.get(f"/apply/reports/{report.id}"))
    assert "Darbnīcas" in shown and "Mentoringa sesijas" in shown
    assert 'name="indicator-0-achieved"' in shown and 'name="indicator-1-comment"' in shown

    refused = client.post(f"/apply/reports/{report.id}", data=form_of(report, **{"indicator-0-achieved": "daudz"}))
    assert refused.status_code == 400 and "Enter a whole number from 0 to 10 000 000." in page(refused)
    assert fresh(Report, report.id).content == {}

    client.post(f"/apply/reports/{report.id}", data=form_of(report, **{
        "indicator-0-achieved": "14", "indicator-0-comment": "Divas papildu.", "indicator-1-achieved": ""}))
    saved = fresh(Report, report.id)
    assert saved.content["indicators"] == [
        {"name": "Darbnīcas", "target": 12, "achieved": 14, "comment": "Divas papildu."},
        {"name": "Mentoringa sesijas", "target": 30, "achieved": None, "comment": ""}]
    assert [p for p in reporting.problems(saved) if "rādītāja" in p] == [  # outside a request: Latvian
        "Ievadiet rādītāja “Mentoringa sesijas” sasniegto vērtību."]
    response = client.post(f"/apply/reports/{report.id}/submit", data=form_of(report, **{
        "indicator-0-achieved": "14", "indicator-1-achieved": "25"}), follow_redirects=True)
    assert "The report is submitted." in page(response)
    assert [i["achieved"] for i in fresh(Report, report.id).content["indicators"]] == [14, 25]


def test_the_declaration_is_required_to_submit(app, client):
    report = f.make_report("draft")
    member = english(member_of(report.application))
    login_as(client, member)
    data = form_of(report)
    del data["declaration"]
    response = client.post(f"/apply/reports/{report.id}/submit", data=data, follow_redirects=True)
    assert "Confirm the declaration." in page(response)
    assert fresh(Report, report.id).status == "draft"


def test_spending_per_budget_line_is_compared_with_the_plan_and_overspend_flagged(app, client):
    now = app_clock.now()
    call = f.make_call(state="announced", funding="budgeted", opens_at=now - timedelta(days=80),
                       closes_at=now - timedelta(days=40))
    application = f.make_application(call, state="contracted")
    report = f.make_report("draft", application=application)
    lines = db.session.scalars(select(BudgetLine).where(BudgetLine.application_id == application.id)
                               .order_by(BudgetLine.id)).all()
    assert len(lines) == 2
    member, admin = english(member_of(application)), english(admin_of(call))
    login_as(client, member)
    shown = page(client.get(f"/apply/reports/{report.id}"))
    assert f'name="spent-{lines[0].id}"' in shown and f'name="spent-{lines[1].id}"' in shown

    refused = client.post(f"/apply/reports/{report.id}", data=form_of(report, **{f"spent-{lines[0].id}": "-5"}))
    assert refused.status_code == 400 and "Enter the amount spent in euros" in page(refused)

    over = lines[0].amount_cents + 1_000  # 10 € over the first line; the second 10 € under: not over in total
    under = lines[1].amount_cents - 1_000
    client.post(f"/apply/reports/{report.id}", data=form_of(report, **{
        f"spent-{lines[0].id}": f"{over // 100},{over % 100:02d}", f"spent-{lines[1].id}": f"{under // 100},00"}))
    saved = fresh(Report, report.id)
    assert [(s["line_id"], s["planned_cents"], s["spent_cents"]) for s in saved.content["spending"]] == [
        (lines[0].id, lines[0].amount_cents, over), (lines[1].id, lines[1].amount_cents, under)]
    shown = page(client.get(f"/apply/reports/{report.id}"))
    assert shown.count('class="badge text-bg-warning overspend"') == 1 and "overspend-total" not in shown

    planned_second = f"{lines[1].amount_cents // 100},{lines[1].amount_cents % 100:02d}"  # now over in total
    client.post(f"/apply/reports/{report.id}", data=form_of(report, **{
        f"spent-{lines[0].id}": f"{over // 100},{over % 100:02d}", f"spent-{lines[1].id}": planned_second}))
    login_as(client, admin)
    shown = page(client.get(f"/admin/reports/{report.id}"))
    assert shown.count('class="badge text-bg-warning overspend"') == 1 and "overspend-total" in shown


def test_a_participant_list_is_seen_only_by_admins_and_auditors_and_every_download_is_logged(app, client):
    report = f.make_report("draft")
    application = report.application
    member, admin = member_of(application), admin_of(application.call)
    auditor = f.make_user("auditor", organiser=application.call.organiser)
    evaluator, stranger = f.make_user("evaluator"), f.make_user("applicant")
    login_as(client, member)
    client.post(f"/apply/reports/{report.id}/files", data={"kind": "participant_list",
                                                            "file": (io.BytesIO(PDF), "Dalībnieki.pdf")},
                content_type="multipart/form-data")
    listed = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).one()
    assert (listed.kind, listed.restricted, listed.filename, listed.size) == (
        "participant_list", True, "Dalībnieki.pdf", len(PDF))

    assert client.get(f"/apply/reports/{report.id}/files/{listed.id}").status_code == 404  # not even the NGO
    login_as(client, stranger)
    assert client.get(f"/apply/reports/{report.id}/files/{listed.id}").status_code == 404
    login_as(client, evaluator)
    assert client.get(f"/admin/reports/{report.id}/files/{listed.id}").status_code == 403
    assert db.session.scalars(select(AttachmentDownload)).all() == []

    login_as(client, admin)
    response = client.get(f"/admin/reports/{report.id}/files/{listed.id}")
    assert response.status_code == 200 and response.data == PDF
    login_as(client, auditor)
    assert client.get(f"/admin/reports/{report.id}/files/{listed.id}").data == PDF
    logged = db.session.scalars(select(AttachmentDownload).order_by(AttachmentDownload.id)).all()
    assert [(d.attachment_id, d.user_id) for d in logged] == [(listed.id, admin.id), (listed.id, auditor.id)]


def test_a_photo_is_recognised_from_its_content(app, client):
    report = f.make_report("draft")
    member = english(member_of(report.application))
    login_as(client, member)
    response = client.post(f"/apply/reports/{report.id}/files", data={
        "kind": "photo", "file": (io.BytesIO(PDF), "foto.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "is not a file of an allowed format" in page(response)
    assert db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all() == []
    client.post(f"/apply/reports/{report.id}/files", data={"kind": "photo", "file": (io.BytesIO(PNG),
                                                                                     "foto.png")},
                content_type="multipart/form-data")
    photo = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).one()
    assert (photo.kind, photo.restricted, photo.content_type) == ("photo", False, "image/png")
    assert client.get(f"/apply/reports/{report.id}/files/{photo.id}").data == PNG  # not restricted: the NGO too


def test_a_submitted_report_takes_no_more_files(app, client):
    report = f.make_report("submitted")
    login_as(client, member_of(report.application))
    client.post(f"/apply/reports/{report.id}/files", data={"kind": "publicity",
                                                            "file": (io.BytesIO(PDF), "afiša.pdf")},
                content_type="multipart/form-data")
    assert db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all() == []
