"""A call's exports (app/services/exports.py): the applications with every evaluator's scores, the ranking with the
reasons, the 360Giving JSON of the signed grants; read back as a clerk's Excel, Python's csv module and a 360Giving
validator would read them.

Most tests read the demo's published 2022 call (loaded once for the module, as in tests/integration/test_demo.py);
the conflict and refusal tests build their own calls with the factories (on PostgreSQL too when TEST_DATABASE_URL is
set).
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from app import clock, create_app
from app.demo import load_demo
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import Call, ConflictOfInterest, Organisation, User
from app.services import exports
from tests import factories
from tests.conftest import IsolatedCliRunner, IsolatedClient

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "app" / "data" / "360giving"
# The package schema refers to the grant schema by the address of release 1.4.2; the file is release 1.4.3's.
RELEASES = "https://raw.githubusercontent.com/ThreeSixtyGiving/standard"
GRANT_SCHEMA_ADDRESSES = tuple(f"{RELEASES}/{release}/schema/360-giving-schema.json" for release in ("1.4.3", "1.4.2"))
APPLICATION_HEADER = ["Numurs", "Organizācija", "Reģistrācijas numurs", "Nosaukums", "Statuss", "Iesniegts",
                      "Vērtētājs", "Vērtējuma statuss", "Vērtējums iesniegts", "1.1 punkti", "1.1 komentārs"]
RANKING_HEADER = ["Vieta", "Numurs", "Organizācija", "Reģistrācijas numurs", "Nosaukums", "Kopā",
                  "Svērtais kopvērtējums", "Atbilstība", "Pamatojums", "Vienāda vērtējuma gadījumā izšķīra",
                  "Rezultāts", "Summa (EUR)", "Statuss tagad", "Manuāli noteikta rezultāta pamatojums"]
MOMENT = datetime(2026, 11, 27, 10, 30, tzinfo=clock.RIGA)


def validator() -> Draft202012Validator:
    grant = json.loads((SCHEMA_DIR / "360-giving-schema.json").read_text(encoding="utf-8"))
    package = json.loads((SCHEMA_DIR / "360-giving-package-schema.json").read_text(encoding="utf-8"))
    # the files name their dialect "http://json-schema.org/draft/2020-12/schema", an address `referencing` does not
    # recognise: say which it is
    resource = DRAFT202012.create_resource(grant)
    registry = Registry().with_resources([(address, resource) for address in GRANT_SCHEMA_ADDRESSES])
    # the dates are written YYYY-MM-DD: a "oneOf" of date-time and that pattern holds only when formats are checked
    return Draft202012Validator(package, registry=registry, format_checker=FormatChecker())


def problems(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]


def sheet_of(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    return workbook.active


def rows_of(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


# --- the demo's published 2022 call ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory, _sqlite_template):
    folder = tmp_path_factory.mktemp("exports-demo")
    shutil.copyfile(_sqlite_template, folder / "grants.sqlite")
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'grants.sqlite'}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="")
    flask_app.test_client_class = IsolatedClient
    flask_app.test_cli_runner_class = IsolatedCliRunner
    context = flask_app.app_context()
    context.push()
    try:
        load_demo()
        db.session.commit()
        yield flask_app
    finally:
        db.session.remove()
        context.pop()
        with flask_app.app_context():
            db.engine.dispose()


@pytest.fixture
def call_2022(demo) -> Call:
    return db.session.scalar(select(Call).where(Call.code == "PMP-2022"))


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_applications_xlsx_has_a_header_real_numbers_and_dates_and_frozen_panes(call_2022):
    sheet = sheet_of(exports.export(call_2022, None, "xlsx", "applications").content)
    header = [c.value for c in sheet[1]]
    assert header[:len(APPLICATION_HEADER)] == APPLICATION_HEADER
    assert header[-1] == "Vērtējuma kopsumma"
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{sheet.max_row}"
    assert sheet.column_dimensions["B"].width > 30  # the organisations' names are wide
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 13  # six applications with two reviews each, the ineligible one without any
    mentors = [r for r in rows if r[0] == "PMP-2022-002"]
    assert {r[6] for r in mentors} == {"Inese Liepiņa", "Kārlis Jansons"}
    first = next(r for r in mentors if r[6] == "Inese Liepiņa")
    assert first[1] == "Biedrība „Jaunieši Jelgavai”"  # Latvian letters and the quotation marks intact
    assert first[5] == datetime(2022, 3, 24, 16, 5)  # submitted at 16:05 Riga time, a date cell
    assert first[8] == datetime(2022, 4, 19, 11, 0)
    assert first[9] == 4.5 and isinstance(first[9], float)  # criterion 1.1: a number, not text
    assert first[10] == "Labi: vajadzības pamatotas ar skolas datiem par kavējumiem."
    assert first[-1] == 45
    cells = {c.column_letter: c for c in sheet[3]}
    assert cells["F"].is_date and "yy" in cells["F"].number_format
    assert cells["J"].number_format == "0.0#"
    ineligible = next(r for r in rows if r[0] == "PMP-2022-001")
    assert ineligible[4] == "Neatbilst" and ineligible[6:] == [None] * (len(header) - 6)


def test_ranking_xlsx_gives_the_reasons_and_euros_as_numbers(call_2022):
    sheet = sheet_of(exports.export(call_2022, None, "xlsx", "ranking").content)
    assert [c.value for c in sheet[1]] == RANKING_HEADER
    assert sheet.freeze_panes == "A2"
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [
        "PMP-2022-002", "PMP-2022-005", "PMP-2022-004", "PMP-2022-006", "PMP-2022-007", "PMP-2022-003"]
    top = rows["PMP-2022-002"]
    assert top[0].value == 1 and top[5].value == 44.5  # the mean of 45 and 44
    assert top[7].value == "atbilst" and top[10].value == "Atbalstīts"
    assert top[11].value == 4600 and top[11].number_format == "#,##0.00"
    tied = rows["PMP-2022-006"]  # tied with 004 on 40 points, below it on criterion 2.2: the reserve list
    assert tied[5].value == 40 and tied[10].value == "Rezerves sarakstā" and "2.2" in tied[9].value
    assert tied[12].value == "Projekts noslēgts"  # promoted after 005 declined, and since closed
    assert tied[13].value  # the promotion's justification
    rejected = rows["PMP-2022-003"]
    assert rejected[0].value is None and rejected[7].value == "neatbilst" and "2.4.1" in rejected[8].value
    assert rejected[10].value == "Noraidīts"


def test_csv_is_utf8_with_a_bom_and_semicolons(call_2022):
    applications = rows_of(exports.export(call_2022, None, "csv", "applications").content)
    assert applications[0][:len(APPLICATION_HEADER)] == APPLICATION_HEADER
    assert len(applications) == 14
    row = next(r for r in applications if r[0] == "PMP-2022-003" and r[6] == "Marta Sproģe")
    assert row[1] == "Biedrība „Valgundes radošā darbnīca”"
    assert row[5] == "2022-03-29T10:40:00+03:00"
    assert row[9] == "5" and row[19] == "2.5"  # 1.1 and 2.4.1 (the criterion below its minimum)
    assert row[-1] == "42"
    ranking = rows_of(exports.export(call_2022, None, "csv", "ranking").content)
    assert ranking[0] == RANKING_HEADER
    assert ranking[2][:2] == ["2", "PMP-2022-005"] and ranking[2][5] == "41.25" and ranking[2][11] == "4600.00"


def test_headers_follow_the_language_asked(call_2022):
    sheet = sheet_of(exports.export(call_2022, None, "xlsx", "ranking", lang="en").content)
    assert [c.value for c in sheet[1]][:3] == ["Rank", "Number", "Organisation"]
    assert sheet["K2"].value == "Funded"


def test_360giving_is_valid_and_holds_the_signed_grants(call_2022):
    document = json.loads(exports.export(call_2022, None, "360giving").content)
    assert problems(document) == []
    grants = document["grants"]
    assert [g["id"] for g in grants] == ["360G-pumpurs-PMP-2022-002", "360G-pumpurs-PMP-2022-004",
                                         "360G-pumpurs-PMP-2022-006"]  # 005 declined: never signed
    assert [g["recipientOrganization"][0]["id"] for g in grants] == [
        "LV-RE-40008015678", "LV-RE-40008030003", "LV-RE-40008040001"]
    assert grants[0]["recipientOrganization"][0]["name"] == "Biedrība „Jaunieši Jelgavai”"
    assert {(g["currency"], g["amountAwarded"]) for g in grants} == {("EUR", 4600)}
    assert [g["awardDate"] for g in grants] == ["2022-05-06", "2022-05-06", "2022-05-12"]  # 006 promoted later
    assert {json.dumps(g["plannedDates"]) for g in grants} == {
        json.dumps([{"startDate": "2022-06-01", "endDate": "2022-11-30"}])}
    assert {g["fundingOrganization"][0]["name"] for g in grants} == {"Jelgavas novada pašvaldība"}


def test_the_validator_is_not_a_rubber_stamp(call_2022):
    document = json.loads(exports.export(call_2022, None, "360giving").content)
    del document["grants"][0]["currency"]
    document["grants"][1]["awardDate"] = "06.05.2022"
    found = problems(document)
    assert len(found) == 2 and any(p.startswith("grants/1/awardDate") for p in found)


def test_360giving_names_no_person(call_2022):
    text = exports.export(call_2022, None, "360giving").content.decode("utf-8")
    people = db.session.execute(select(User.name, User.email)).all()
    assert len(people) > 10
    for name, email in people:
        assert name not in text and email not in text
    for (address,) in db.session.execute(select(Organisation.email)):
        assert address not in text


@pytest.mark.parametrize("fmt, what", [("xlsx", "applications"), ("csv", "applications"), ("xlsx", "ranking"),
                                       ("csv", "ranking"), ("360giving", "applications")])
def test_the_command_writes_the_bytes_of_the_download(demo, call_2022, tmp_path, fmt, what):
    clock.travel_to(MOMENT)  # an XLSX is dated: the same moment gives the same bytes
    client = demo.test_client()
    factories.login_as(client, _user("admin@jelgava.lv"))
    response = client.get(f"/admin/calls/{call_2022.id}/export?format={fmt}&what={what}")
    assert response.status_code == 200
    output = tmp_path / f"export.{fmt}"
    result = demo.test_cli_runner().invoke(args=["export", "PMP-2022", "--format", fmt, "--what", what,
                                                 "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == response.data
    if fmt == "xlsx":  # dated by the app's clock, not by the second it was written in (which would differ)
        assert load_workbook(output).properties.modified == datetime(2026, 11, 27, 8, 30)  # UTC
        with zipfile.ZipFile(output) as archive:
            assert {entry.date_time for entry in archive.infolist()} == {(2026, 11, 27, 10, 30, 0)}  # Riga
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="PMP-2022-{"360giving.json" if fmt == "360giving" else f"{what}.{fmt}"}"')


def test_the_auditor_finds_the_buttons_and_downloads(demo, call_2022):
    client = demo.test_client()
    factories.login_as(client, _user("auditors@ikvd.gov.lv"))
    page = client.get(f"/admin/calls/{call_2022.id}").get_data(as_text=True)
    for query in ("format=xlsx&amp;what=applications", "format=csv&amp;what=ranking", "format=360giving"):
        assert f"/admin/calls/{call_2022.id}/export?{query}" in page
    ranking_page = client.get(f"/admin/calls/{call_2022.id}/ranking").get_data(as_text=True)
    assert f"/admin/calls/{call_2022.id}/export?format=xlsx&amp;what=ranking" in ranking_page
    response = client.get(f"/admin/calls/{call_2022.id}/export?format=xlsx&what=ranking")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert sheet_of(response.data)["B2"].value == "PMP-2022-002"
    assert client.get(f"/admin/calls/{call_2022.id}/export?format=pdf").status_code == 404


def test_an_evaluator_of_the_call_gets_no_score_export(call_2022):
    evaluator = _user("vertetajs1@eksperti.lv")
    for fmt, what in (("csv", "applications"), ("xlsx", "ranking")):
        with pytest.raises(NotAllowed):
            exports.export(call_2022, evaluator, fmt, what)


# --- conflicts and refusals, on calls of their own ------------------------------------------------------------------

@pytest.mark.postgres
def test_a_conflicted_evaluator_gets_nothing_of_the_conflicted_application(app, stub_pdfs):
    conflicted_one, other = factories.make_applications(None, ["contracted", "contracted"])
    call = conflicted_one.call
    evaluator = factories.evaluators_of(other)[0]  # reviewed both; declares a conflict with the first's NGO later
    db.session.add(ConflictOfInterest(evaluator_id=evaluator.id, organisation_id=conflicted_one.organisation_id,
                                      source="evaluator", note="Valdes loceklis ir mans radinieks."))
    db.session.commit()
    prefix = app.config["GRANT_ID_PREFIX"]

    grants = json.loads(exports.export(call, evaluator, "360giving").content)["grants"]
    assert [g["id"] for g in grants] == [f"{prefix}-{other.number}"]
    admin_grants = json.loads(exports.export(call, factories.admin_of(call), "360giving").content)["grants"]
    assert sorted(g["id"] for g in admin_grants) == sorted(f"{prefix}-{a.number}" for a in (conflicted_one, other))
    for fmt in ("csv", "xlsx"):
        for what in ("applications", "ranking"):
            with pytest.raises(NotAllowed):
                exports.export(call, evaluator, fmt, what)
    # below the policy too: the tables themselves leave out the conflicted application, row, scores and comments
    for table in (exports.applications_table(call, evaluator, "lv"), exports.ranking_table(call, evaluator, "lv")):
        numbers = {row[table.columns.index(next(c for c in table.columns if c.label == "Numurs"))]
                   for row in table.rows}
        assert numbers == {other.number}
    admin_table = exports.applications_table(call, factories.admin_of(call), "lv")
    assert {row[0] for row in admin_table.rows} == {conflicted_one.number, other.number}
    assert len(admin_table.rows) == 4  # two reviews each


@pytest.mark.postgres
def test_360giving_without_a_signed_agreement_says_so(app, client, runner, stub_pdfs):
    application = factories.make_application(None, "funded")  # offered, not yet accepted or signed
    call = application.call
    with pytest.raises(Refused):
        exports.export(call, None, "360giving")
    result = runner.invoke(args=["export", call.code, "--format", "360giving"])
    assert result.exit_code == 1
    assert "neviens šī konkursa līgums nav parakstīts" in result.output
    factories.login_as(client, factories.admin_of(call))
    response = client.get(f"/admin/calls/{call.id}/export?format=360giving", follow_redirects=True)
    assert "neviens šī konkursa līgums nav parakstīts" in response.get_data(as_text=True)
    assert response.request.path == f"/admin/calls/{call.id}"


@pytest.mark.postgres
def test_the_other_organisers_admin_and_an_applicant_get_nothing(app, client, stub_pdfs):
    application = factories.make_application(None, "contracted")
    call = application.call
    stranger = factories.make_user("admin")
    for user, status in ((stranger, 404), (factories.member_of(application), 403),
                         (factories.evaluators_of(application)[0], 403)):
        factories.login_as(client, user)
        response = client.get(f"/admin/calls/{call.id}/export?format=360giving")
        assert response.status_code == status
        assert application.title.encode() not in response.data
    with pytest.raises(NotAllowed):
        exports.export(call, stranger, "360giving")
    factories.login_as(client, factories.admin_of(call))
    assert client.get(f"/admin/calls/{2**63}/export").status_code == 404
    assert client.get(f"/admin/calls/{call.id}/export?format=csv&what=a%00b").status_code == 404
