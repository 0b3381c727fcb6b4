"""A call's exports: its applications with every evaluator's scores and comments, its ranking with the reasons
(CSV or XLSX), and the 360Giving JSON of its grants. The same bytes for the download and for
`flask --app wsgi export`, whoever asks at the same moment.

Layout of the applications export: one row per application × evaluator (an application without a submitted review
gets one row with the evaluator's cells empty), the criteria as columns (points, then the comment). A clerk filters
it in Excel by evaluator, by application or by state with the header's filter buttons, and the number of columns
does not depend on how many evaluators an application had.

CSV: UTF-8 with a BOM (Excel then reads Latvian letters), `;` between fields, as the applications list's CSV
(app/views/admin/applications.py): values as a program reads them (decimal point, ISO 8601 times in Riga with their
offset). XLSX: real numbers and dates in the cells, with number formats, a bold header row with filters, the panes
frozen below it.

360Giving (schema 1.4.3, app/data/360giving/): the grants whose agreement is signed (a `Grant` row: contracted,
closed or terminated after signing), not offers merely accepted or funded, which may still be declined. Organisations
are named by `LV-RE-<registration number>`, grants by `<GRANT_ID_PREFIX>-<application number>`; nothing of any
person (names, e-mails) is written, and no applicant's free text but the project title.

Who gets what is `policies.may_export`. Whatever the caller, nothing of an application the viewer is conflicted
with is written: no row, no score, no comment (`policies.conflicted_application_ids`).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, formatting, policies
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import Application, Assignment, Call, Decision, Grant, Score, User
from app.services import pages, protocols
from workflows.engine import WORKFLOWS

FORMATS = ("csv", "xlsx", "360giving")
WHATS = ("applications", "ranking")
REVIEW_STATES = ("submitted", "voided")  # reviews with scores that were handed in (a voided one no longer counts)
SCHEMA_VERSION = "1.4"
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "360giving": "application/json"}

# a column's kind: how its values are written (see _csv_value and _XLSX_FORMATS)
TEXT, INTEGER, POINTS, EUROS, MOMENT = "text", "integer", "points", "euros", "moment"
_XLSX_FORMATS = {INTEGER: "0", POINTS: "0.0#", EUROS: "#,##0.00", MOMENT: "dd.mm.yyyy hh:mm"}
_WIDEST = 60


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = TEXT


@dataclass(frozen=True)
class Table:
    """One sheet: its columns and rows of plain values (text, int, half points as int or Fraction, cents as int,
    aware UTC datetimes), written by `to_csv` and `to_xlsx`."""

    title: str
    columns: list[Column]
    rows: list[list]


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    content: bytes


def export(call: Call, viewer: User | None, fmt: str, what: str = "applications", lang: str = "lv") -> Export:
    """The export `fmt` (csv, xlsx, 360giving) of `what` (applications, ranking; ignored for 360giving) of `call`,
    for `viewer` (None: the operator at the command line, who holds the database anyway). Raises NotAllowed when
    `policies.may_export` says no, Refused when there is nothing to write (no signed grant for 360Giving)."""
    if fmt not in FORMATS or (fmt != "360giving" and what not in WHATS):
        raise ValueError(f"unknown export {fmt}/{what}")
    kind = "360giving" if fmt == "360giving" else what
    if viewer is not None and not policies.may_export(viewer, call, kind):
        raise NotAllowed()
    with force_locale(lang):
        if fmt == "360giving":
            return Export(f"{call.code}-360giving.json", MIMETYPES[fmt], grants_json(call, viewer, lang))
        table = applications_table(call, viewer, lang) if what == "applications" else ranking_table(call, viewer, lang)
        content = to_csv(table) if fmt == "csv" else to_xlsx(table, clock.now())
        return Export(f"{call.code}-{what}.{fmt}", MIMETYPES[fmt], content)


def _hidden_from(viewer: User | None, applications) -> set[int]:
    return set() if viewer is None else policies.conflicted_application_ids(viewer, applications)


# --- (a) the applications with every score of every evaluator -----------------------------------------------------

def applications_table(call: Call, viewer: User | None, lang: str) -> Table:
    applications = [a for a in db.session.scalars(
        select(Application).where(Application.call_id == call.id, Application.status != "draft")
        .options(joinedload(Application.organisation)).order_by(Application.submitted_at, Application.id))]
    hidden = _hidden_from(viewer, applications)
    applications = [a for a in applications if a.id not in hidden]
    reviews: dict[int, list[Assignment]] = {}
    for assignment in db.session.scalars(
            select(Assignment).where(Assignment.application_id.in_([a.id for a in applications] or [-1]),
                                     Assignment.status.in_(REVIEW_STATES))
            .options(joinedload(Assignment.evaluator)).order_by(Assignment.submitted_at, Assignment.id)):
        reviews.setdefault(assignment.application_id, []).append(assignment)
    scores = {(s.assignment_id, s.criterion_id): s for s in db.session.scalars(select(Score).where(
        Score.assignment_id.in_([r.id for found in reviews.values() for r in found] or [-1])))}
    criteria = call.criteria
    application_states, review_states = WORKFLOWS["application"], WORKFLOWS["review"]
    columns = [Column(_("Number")), Column(_("Organisation")), Column(_("Registration number")),
               Column(_("Title")), Column(_("State")), Column(_("Submitted"), MOMENT), Column(_("Evaluator")),
               Column(_("Review state")), Column(_("Review submitted"), MOMENT)]
    for criterion in criteria:
        columns += [Column(_("%(code)s points", code=criterion.code), POINTS),
                    Column(_("%(code)s comment", code=criterion.code))]
    columns.append(Column(_("Review total"), POINTS))
    rows = []
    for application in applications:
        first = [application.number, application.organisation.name, application.organisation.registration_number,
                 application.title, application_states.label(application.status, lang), application.submitted_at]
        for review in reviews.get(application.id) or [None]:
            if review is None:
                rows.append(first + [None] * (len(columns) - len(first)))
                continue
            given = [scores.get((review.id, c.id)) for c in criteria]
            cells = []
            for score in given:
                cells += [score.half_points if score else None, score.comment if score else None]
            counted = [s.half_points for s in given if s is not None and s.half_points is not None]
            rows.append(first + [review.evaluator.name, review_states.label(review.status, lang),
                                 review.submitted_at, *cells, sum(counted)])
    return Table(_("Applications"), columns, rows)


# --- (b) the ranking with the reasons -----------------------------------------------------------------------------

def ranking_rows(call: Call) -> list[protocols.RankingRow]:
    """The ranking as the ranking page shows it, read from the page itself (`pages.ranking_page`: computed from the
    stored reviews while provisional, the confirmed protocol afterwards, nothing before evaluation). Its rows do
    not depend on who reads them: the page is asked for nobody, so no button is dry-run."""
    page = pages.ranking_page(call, AnonymousUserMixin())
    if page.error:
        raise Refused(_("The ranking cannot be computed: %(problem)s", problem=page.error))
    return page.rows


def ranking_table(call: Call, viewer: User | None, lang: str) -> Table:
    rows = ranking_rows(call)
    hidden = _hidden_from(viewer, [r.application for r in rows])
    states = WORKFLOWS["application"]
    justifications = dict(db.session.execute(select(Decision.application_id, Decision.override_justification).where(
        Decision.application_id.in_([r.application.id for r in rows] or [-1]), Decision.current,
        Decision.override_justification.is_not(None))).all())
    columns = [Column(_("Rank"), INTEGER), Column(_("Number")), Column(_("Organisation")),
               Column(_("Registration number")), Column(_("Title")), Column(_("Total"), POINTS),
               Column(_("Weighted total"), POINTS), Column(_("Pass")), Column(_("Reasons")),
               Column(_("Tie broken by")), Column(_("Placement")), Column(_("Amount (EUR)"), EUROS),
               Column(_("State now")), Column(_("Override justification"))]
    table_rows = []
    for row in rows:
        if row.application.id in hidden:
            continue
        application = row.application
        table_rows.append([
            row.rank, application.number, application.organisation.name,
            application.organisation.registration_number, application.title, row.total, row.weighted_total,
            _("passes") if row.passed else _("fails"), "; ".join(row.failure_words), row.tie_words or None,
            states.label(row.decision, lang), row.amount_cents, states.label(application.status, lang),
            justifications.get(application.id)])
    return Table(_("Ranking"), columns, table_rows)


# --- writing a table ----------------------------------------------------------------------------------------------

def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _points(half_points: int | Fraction) -> float | int:
    value = Fraction(half_points) / 2
    return value.numerator if value.denominator == 1 else float(value)


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == POINTS:  # a decimal point, at most two decimals: 8, 8.5, 10.17
        return formatting.points(value, "en")
    if kind == EUROS:
        return f"{value // 100}.{value % 100:02d}"
    if kind == MOMENT:
        return clock.to_riga(value).isoformat(timespec="seconds")
    return str(value)


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(v, c.kind) for v, c in zip(row, table.columns)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_value(value, kind: str):
    if value is None:
        return None
    if kind == POINTS:
        return _points(value)
    if kind == EUROS:
        return _euros(value)
    if kind == MOMENT:  # Excel has no time zones: the wall clock in Riga, as every page shows it
        return clock.to_riga(value).replace(tzinfo=None)
    return value


def to_xlsx(table: Table, moment: datetime) -> bytes:
    """The workbook, dated `moment` (its properties and its zip entries), so that the same data at the same moment
    gives the same bytes (openpyxl would stamp the time of writing, to the second)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.title[:31]
    sheet.append([c.label for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(c.label) for c in table.columns]
    for row in table.rows:
        sheet.append([_xlsx_value(v, c.kind) for v, c in zip(row, table.columns)])
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(_csv_value(value, table.columns[index].kind)))
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        if column.kind in _XLSX_FORMATS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = _XLSX_FORMATS[column.kind]
        sheet.column_dimensions[letter].width = min(_WIDEST, widths[index - 1] + 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    stamp = moment.astimezone(clock.RIGA).replace(tzinfo=None, microsecond=0)
    workbook.properties.creator = "Pumpurs Grants"
    workbook.properties.created = workbook.properties.modified = moment.replace(tzinfo=None, microsecond=0)
    written = io.BytesIO()
    with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()  # not workbook.save(): it would set `modified` to now
    dated = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(written.getvalue())) as source, \
            zipfile.ZipFile(dated, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=stamp.timetuple()[:6]),
                            source.read(entry.filename), compress_type=zipfile.ZIP_DEFLATED)
    return dated.getvalue()


# --- (c) 360Giving ------------------------------------------------------------------------------------------------

def organisation_id(registration_number: str) -> str:
    return f"LV-RE-{registration_number}"


def _identifier(text: str) -> str:
    """360Giving identifiers may not hold `/` (programme 8.3.4.0/16/I/001 becomes 8.3.4.0-16-I-001)."""
    return text.replace("/", "-")


def grants_json(call: Call, viewer: User | None, lang: str) -> bytes:
    found = db.session.execute(
        select(Grant, Application).join(Application, Application.id == Grant.application_id)
        .where(Application.call_id == call.id).options(joinedload(Application.organisation))
        .order_by(Application.number)).all()
    hidden = _hidden_from(viewer, [a for _g, a in found])
    found = [(g, a) for g, a in found if a.id not in hidden]
    if not found:
        raise Refused(_("Nothing to publish yet: no agreement of this call has been signed."))
    awarded = {}
    for application_id, decided_at in db.session.execute(
            select(Decision.application_id, Decision.decided_at)
            .where(Decision.application_id.in_([a.id for _g, a in found]), Decision.outcome == "funded")
            .order_by(Decision.id)):
        awarded[application_id] = decided_at  # the latest decision to fund (a promotion comes after the reserve)
    prefix = current_app.config["GRANT_ID_PREFIX"]
    organiser = call.organiser
    funder = {"id": (organisation_id(organiser.registration_number) if organiser.registration_number
                     else f"{prefix}-ORG-{organiser.id}"), "name": organiser.name}
    programme = {"code": _identifier(call.code), "title": call.title(lang)}
    grants = []
    for grant, application in found:
        grants.append({
            "id": _identifier(f"{prefix}-{application.number}"),
            "title": application.title,
            "description": _("Project of the call “%(call)s”", call=call.title(lang)),
            "currency": "EUR",
            "amountAwarded": _euro_number(grant.amount_cents),
            "awardDate": clock.to_riga(awarded.get(application.id, grant.signed_at)).date().isoformat(),
            "plannedDates": [{"startDate": grant.starts_on.isoformat(), "endDate": grant.ends_on.isoformat()}],
            "recipientOrganization": [{"id": organisation_id(application.organisation.registration_number),
                                       "name": application.organisation.name}],
            "fundingOrganization": [funder],
            "grantProgramme": [programme],
            "fromOpenCall": "Yes",
        })
    package = {"grants": grants, "version": SCHEMA_VERSION,
               "title": f"{call.code}: {call.title(lang)}",
               "publisher": {"name": organiser.name, "identifier": funder["id"]}}
    return (json.dumps(package, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _euro_number(cents: int) -> int | float:
    """Euros as a JSON number: 4600 for 460 000 cents, 1234.5 for 123 450."""
    return cents // 100 if cents % 100 == 0 else cents / 100
