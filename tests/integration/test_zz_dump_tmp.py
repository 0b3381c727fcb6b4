import io
from datetime import timedelta
from app import clock as app_clock
from app.extensions import db
from app.services import reporting
from app.services.workflow import fire
from tests import factories as f
from tests.factories import admin_of, login_as, member_of


def test_dump(app, client):
    now = app_clock.now()
    call = f.make_call(state="announced", funding="budgeted", opens_at=now - timedelta(days=80),
                       closes_at=now - timedelta(days=40))
    application = f.make_application(call, state="contracted")
    application.content = {**application.content, "indicators": [{"name": "Darbnīcas", "target": 12}]}
    db.session.commit()
    report = f.make_report("changes_requested", application=application)
    member, admin = member_of(application), admin_of(call)
    login_as(client, member)
    client.post(f"/apply/reports/{report.id}/files", data={"kind": "participant_list", "file": (io.BytesIO(b"%PDF-1.7\n%%EOF\n"), "Saraksts.pdf")}, content_type="multipart/form-data")
    open("/tmp/rp/ngo.html", "w").write(client.get(f"/apply/reports/{report.id}").get_data(as_text=True))
    final = f.make_report("draft", application=application, kind="final")
    open("/tmp/rp/ngo_final.html", "w").write(client.get(f"/apply/reports/{final.id}").get_data(as_text=True))
    login_as(client, admin)
    open("/tmp/rp/admin.html", "w").write(client.get(f"/admin/reports/{report.id}").get_data(as_text=True))
    open("/tmp/rp/admin_final.html", "w").write(client.get(f"/admin/reports/{final.id}").get_data(as_text=True))
