"""The programme at a glance: a call's dashboard and, for programme-level staff (IKVD), every organiser's figures.
Charts come as SVG (shown on the page, downloadable) and PNG; each has its figures as a table on the page."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app import charts, formatting, policies
from app.services import dashboards
from app.views.admin import _organisers, bp
from app.views.common import current_lang
from workflows.engine import WORKFLOWS

CALL_CHARTS = ("applications", "money", "reports", "reviews")
PROGRAMME_CHARTS = ("money", "applications")
FORMATS = ("svg", "png")


def _money(value) -> str:
    return formatting.money(int(value), current_lang())


def _count(value) -> str:
    return str(int(value))


def _call_chart(figures: dashboards.CallFigures, name: str) -> bytes:
    lang = current_lang()
    if name == "applications":
        application = WORKFLOWS["application"]
        rows = [(application.label(state, lang), count) for state, count in figures.by_state.items()]
        return charts.bars(_("Applications by state"), rows, _count)
    if name == "money":
        money = figures.money
        rows = [(_("Budget of the call"), money.budget), (_("Awarded"), money.awarded), (_("Paid out"), money.paid),
                (_("Scheduled, not yet paid"), money.to_pay), (_("Not awarded"), money.unawarded)]
        return charts.bars(_("Money"), rows, _money)
    if name == "reports":
        reports = figures.reports
        rows = [(_("Due later"), reports.upcoming), (_("Overdue"), reports.overdue),
                (_("Submitted, to check"), reports.submitted), (_("Approved"), reports.approved)]
        return charts.bars(_("Reports"), rows, _count)
    reviews = figures.reviews
    rows = [(_("To do, on time"), reviews.on_time), (_("Late"), reviews.late), (_("Submitted"), reviews.submitted)]
    return charts.bars(_("Evaluation"), rows, _count)


def _programme_chart(figures: dashboards.ProgrammeFigures, name: str) -> bytes:
    labels = [row.organiser.name for row in figures.rows]
    if name == "money":
        return charts.grouped_bars(_("Awarded and paid per organiser"), labels, [
            (_("Budget of the calls"), [r.budget for r in figures.rows]),
            (_("Awarded"), [r.awarded for r in figures.rows]), (_("Paid out"), [r.paid for r in figures.rows])], _money)
    return charts.grouped_bars(_("Applications per organiser"), labels, [
        (_("Submitted"), [r.applications for r in figures.rows]), (_("Funded"), [r.funded for r in figures.rows]),
        (_("Reports overdue"), [r.reports_overdue for r in figures.rows])], _count)


def _chart_response(svg: bytes, filename: str, fmt: str):
    data, mimetype = (svg, "image/svg+xml") if fmt == "svg" else (charts.to_png(svg), "image/png")
    disposition = "attachment" if request.args.get("download") else "inline"
    return data, 200, {"Content-Type": mimetype, "Content-Security-Policy": charts.SVG_CSP,
                       "Content-Disposition": f'{disposition}; filename="{filename}.{fmt}"',
                       "Cache-Control": "private, no-store"}


@bp.get("/calls/<int:call_id>/dashboard")
def call_dashboard(call_id):
    call = policies.call_for_admin(call_id, current_user)
    return render_template("admin/dashboard.html", call=call, figures=dashboards.call_figures(call),
                           charts=CALL_CHARTS)


@bp.get("/calls/<int:call_id>/charts/<chart>.<fmt>")
def call_chart(call_id, chart, fmt):
    call = policies.call_for_admin(call_id, current_user)
    if chart not in CALL_CHARTS or fmt not in FORMATS:
        abort(404)
    return _chart_response(_call_chart(dashboards.call_figures(call), chart), f"{call.code}-{chart}", fmt)


def _programme_figures() -> dashboards.ProgrammeFigures:
    if not current_user.programme_level:
        abort(403)
    return dashboards.programme_figures(_organisers())


@bp.get("/programme")
def programme_dashboard():
    return render_template("admin/programme.html", figures=_programme_figures(), charts=PROGRAMME_CHARTS)


@bp.get("/programme/charts/<chart>.<fmt>")
def programme_chart(chart, fmt):
    figures = _programme_figures()
    if chart not in PROGRAMME_CHARTS or fmt not in FORMATS:
        abort(404)
    return _chart_response(_programme_chart(figures, chart), f"programme-{chart}", fmt)
