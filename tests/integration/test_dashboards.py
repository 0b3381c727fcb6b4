"""The programme at a glance (issue 8): a call's dashboard and the programme's, their figures against what the
test set up, the charts as SVG and PNG, and who may see them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Assignment, Report
from app.services import dashboards
from tests.factories import (admin_of, login_as, make_application, make_applications, make_assignment, make_call,
                             make_payment, make_report, make_user, riga)

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]
NBSP = "\u00a0"


def euros(text: str) -> str:
    return text.replace(" ", NBSP)


@pytest.fixture
def awarded_call(app):
    """A lump-sum call with a budget for 3 projects: 2 contracted grants (the first one's first tranche paid, 80 %)
    and 1 rejected application; the second grant's interim report submitted."""
    call = make_call("announced", when="past", projects=3)
    first, second, rejected = make_applications(call, ["contracted", "contracted", "rejected"])
    make_payment("paid", application=first)
    make_report("submitted", application=second, kind="interim")
    return call, first, second


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_call_figures_are_what_happened(awarded_call):
    call, _first, _second = awarded_call
    figures = dashboards.call_figures(call)

    assert figures.by_state == {"contracted": 2, "rejected": 1}
    assert figures.money == dashboards.Money(budget=1_380_000, awarded=920_000, paid=368_000,
                                             to_pay=92_000 + 460_000)
    assert figures.money.unawarded == 460_000
    # before the interim reports are due: 3 owed later (2 finals, 1 interim), 1 interim submitted
    assert figures.reports == dashboards.Reports(upcoming=3, overdue=0, submitted=1, approved=0)


def test_a_report_is_overdue_the_day_after_its_due_date_in_riga(awarded_call):
    call, first, _second = awarded_call
    interim_due = db.session.scalar(select(Report.due_on).where(Report.application_id == first.id,
                                                                Report.kind == "interim"))
    on_the_day = riga(interim_due.year, interim_due.month, interim_due.day, 23, 59, 59)
    assert dashboards.call_figures(call, on_the_day).reports.overdue == 0
    next_day = on_the_day + timedelta(seconds=1)
    assert dashboards.call_figures(call, next_day).reports == dashboards.Reports(upcoming=2, overdue=1, submitted=1,
                                                                                approved=0)


def test_the_evaluation_figures_count_late_reviews_from_their_due_time(app):
    application = make_application(state="in_review")
    on_time = make_assignment("assigned", application=application)
    late = make_assignment("accepted", application=application)
    make_assignment("submitted", application=application)
    make_assignment("recused", application=application)  # no longer counts
    late.review_due_at = app_clock.now() - timedelta(minutes=1)
    db.session.commit()

    reviews = dashboards.call_figures(application.call).reviews

    assert db.session.get(Assignment, on_time.id).review_due_at > app_clock.now()
    # the factories' own reviews of the application are none: it was in review with no evaluator yet
    assert reviews == dashboards.Reviews(on_time=1, late=1, submitted=1)


def test_the_dashboard_page_shows_the_figures_and_the_charts(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))

    page = text(client.get(f"/admin/calls/{call.id}/dashboard"))

    assert "Pārskats" in page
    # (the page's text with its no-break spaces read as spaces)
    assert "Konkursa budžets 13 800,00 €" in page and "Piešķirts 9 200,00 €" in page
    assert "Izmaksāts 3 680,00 €" in page and "Paredzēts, vēl nav izmaksāts 5 520,00 €" in page
    assert "Nav piešķirts 4 600,00 €" in page
    assert "Iesniegtas, jāpārbauda 1" in page
    body = client.get(f"/admin/calls/{call.id}/dashboard").get_data(as_text=True)
    for name in ("applications", "money", "reports", "reviews"):
        assert f'src="/admin/calls/{call.id}/charts/{name}.svg"' in body
        assert f'href="/admin/calls/{call.id}/charts/{name}.png?download=1"' in body


def test_the_money_chart_is_an_svg_with_the_figures_and_no_script(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))

    response = client.get(f"/admin/calls/{call.id}/charts/money.svg")

    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<?xml") and "<svg" in svg
    assert euros("9 200,00 €") in svg and euros("3 680,00 €") in svg and "Piešķirts" in svg
    assert "<script" not in svg and "http://kozea" not in svg.split("-->")[-1]
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "frame-ancestors 'none'" in policy


def test_the_chart_downloads_as_png(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))

    response = client.get(f"/admin/calls/{call.id}/charts/applications.png?download=1")

    assert response.mimetype == "image/png" and response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{call.code}-applications.png"'


def test_the_charts_are_in_the_readers_language(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))
    client.post("/language", data={"lang": "en"})

    svg = client.get(f"/admin/calls/{call.id}/charts/money.svg").get_data(as_text=True)

    assert "Awarded" in svg and "€9,200.00" in svg and "Piešķirts" not in svg


def test_an_unknown_chart_is_not_found(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))
    assert client.get(f"/admin/calls/{call.id}/charts/secrets.svg").status_code == 404
    assert client.get(f"/admin/calls/{call.id}/charts/money.gif").status_code == 404


def test_another_organisers_admin_sees_nothing_and_an_auditor_in_scope_reads(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(make_call("draft")))
    assert client.get(f"/admin/calls/{call.id}/dashboard").status_code == 404
    assert client.get(f"/admin/calls/{call.id}/charts/money.svg").status_code == 404
    login_as(client, make_user("auditor", organiser=call.organiser))
    assert "Piešķirts 9 200,00 €" in text(client.get(f"/admin/calls/{call.id}/dashboard"))


def test_the_programme_dashboard_sums_every_organiser(client, awarded_call):
    call, _first, _second = awarded_call
    other = make_call("announced", when="past", projects=2)  # another organiser, nothing awarded yet
    make_call("draft", organiser=other.organiser)  # a draft counts nowhere
    login_as(client, make_user("auditor", programme_level=True))

    figures = dashboards.programme_figures([call.organiser, other.organiser])
    page = text(client.get("/admin/programme"))

    assert [(r.calls, r.applications, r.funded, r.budget, r.awarded, r.paid) for r in figures.rows] == [
        (1, 3, 2, 1_380_000, 920_000, 368_000), (1, 0, 0, 920_000, 0, 0)]
    assert "Programmas pārskats" in page and call.organiser.name in page and other.organiser.name in page
    assert "23 000,00 €" in page  # the budgets of both calls
    svg = client.get("/admin/programme/charts/money.svg").get_data(as_text=True)
    assert call.organiser.name in svg and euros("9 200,00 €") in svg


def test_the_programme_dashboard_is_for_programme_level_staff_only(client, awarded_call):
    call, _first, _second = awarded_call
    login_as(client, admin_of(call))
    assert client.get("/admin/programme").status_code == 403
    assert client.get("/admin/programme/charts/money.svg").status_code == 403
    login_as(client, make_user("applicant"))
    assert client.get("/admin/programme").status_code == 403
