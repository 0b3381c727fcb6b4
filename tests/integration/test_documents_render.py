"""Every PDF template renders through app.documents with realistic Latvian data, and every e-mail template renders.

The PDFs are read back with pypdf: the key facts are in the text, the Latvian letters survive, and every font is
the DejaVu family named in templates/pdf/base.html (never a silent fallback).
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask, render_template
from flask_babel import Babel, force_locale, gettext
from markupsafe import escape

ROOT = Path(__file__).resolve().parents[2]
LATVIAN_LETTERS = "āčēģīķļņšūž"
SHA = "9f2c1e7a4b3d5c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6"
DEF_SHA = "0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091"
INPUTS_SHA = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"
AMOUNT = "4\u00a0600,00\u00a0€"
BUDGET = "27\u00a0600,00\u00a0€"

CRITERIA = [
    {"code": "2.1", "title": "Projekta atbilstība konkursa mērķim un jauniešu vajadzībām", "max": "5", "min": ""},
    {"code": "2.2", "title": "Mērķa grupas (priekšlaicīgas mācību pārtraukšanas riskam pakļauti jaunieši) "
                             "iesaistes pamatojums", "max": "5", "min": "3"},
    {"code": "2.3", "title": "Aktivitāšu plāna skaidrība un īstenojamība", "max": "5", "min": ""},
    {"code": "2.4.1", "title": "Jauniešu līdzdalība projekta plānošanā un īstenošanā", "max": "5", "min": "3"},
    {"code": "2.4.2", "title": "Sadarbība ar izglītības iestādēm un pašvaldību", "max": "5", "min": ""},
    {"code": "2.4.3", "title": "Rezultātu ilgtspēja pēc projekta beigām", "max": "5", "min": "3"},
    {"code": "2.5", "title": "Publicitātes pasākumu atbilstība", "max": "5", "min": ""},
    {"code": "2.6", "title": "Organizācijas pieredze darbā ar jauniešiem", "max": "5", "min": ""},
    {"code": "2.7", "title": "Riski un to novēršanas pasākumi", "max": "5", "min": ""},
    {"code": "2.8", "title": "Izmaksu pamatotība (ģeogrāfiskā pieejamība, ķēdes efekts)", "max": "5", "min": ""},
]

CONTEXTS = {
    "regulations": {
        "call": {
            "code": "PUMPURS-2022-JELG",
            "title_lv": "Jaunatnes organizāciju iniciatīvu projektu konkurss priekšlaicīgas mācību pārtraukšanas "
                        "samazināšanai",
            "title_en": "Competition of youth organisation initiative projects for reducing early school leaving",
            "description_lv": "Konkursa mērķis ir atbalstīt jaunatnes organizāciju iniciatīvas, kas mazina "
                              "priekšlaicīgas mācību pārtraukšanas risku.\nAtbalsta ārpusklases aktivitātes, "
                              "mentoringu un neformālo izglītību ģimnāzijās, tehnikumos un pamatskolās.",
            "description_en": "Supports youth organisation initiatives.",
            "funder": "Eiropas Sociālais fonds; Izglītības kvalitātes valsts dienests",
            "programme": "ESF projekts Nr. 8.3.4.0/16/I/001 „Atbalsts priekšlaicīgas mācību pārtraukšanas "
                         "samazināšanai” (PuMPuRS)",
            "organiser": "Jelgavas valstspilsētas pašvaldība",
            "funding_mode": "lump_sum", "amount": AMOUNT, "budget": BUDGET,
            "opens": "07.03.2022.", "deadline": "04.04.2022. 23:59", "decision": "06.05.2022.",
            "implementation": "16.05.2022.–14.12.2022.", "pass_mark": "30",
            "definition_sha256": DEF_SHA,
        },
        "criteria": CRITERIA,
        "checks": [
            {"code": "A1", "title": "Projekta iesniegums iesniegts noteiktajā termiņā"},
            {"code": "A2", "title": "Iesniegums aizpildīts latviešu valodā un ir pilnīgs"},
            {"code": "A3", "title": "Iesniedzējs ir biedrība, nodibinājums vai jaunatnes organizācija"},
            {"code": "E4", "title": "Projektā iesaistīti vismaz 12 dalībnieki, no kuriem ne mazāk kā puse — "
                                    "riska grupas jaunieši"},
        ],
        "reports": [{"kind": "interim", "due": "15.08.2022."}, {"kind": "final", "due": "14.12.2022."}],
        "tranches": [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}],
    },
    "receipt": {
        "application": {
            "number": "PUMPURS-2022-JELG-007",
            "title": "Ķekavas jauniešu līdzdalības darbnīcas „Mēs esam šeit”",
            "submitted": "04.04.2022. 21:17:05",
            "sha256": SHA,
            "amount": AMOUNT,
            "content": {
                "summary": "Projekts piedāvā jauniešiem iesaistīties radošās darbnīcās, kuras vada brīvprātīgie "
                           "un jaunatnes darbinieki. Īpaša uzmanība — ģimnāzistiem ar mācību grūtībām.",
                "objectives": "1) Mazināt kavējumus;\n2) Stiprināt piederību skolai;\n3) Attīstīt ģimeņu "
                              "iesaisti.",
                "activities": "Nedēļas darbnīcas (30 reizes), divas izbraukuma nometnes Ķemeros, "
                              "noslēguma pasākums ar vecākiem un skolotājiem.",
                "target_group": "13–18 gadus veci jaunieši, kuriem ir priekšlaicīgas mācību pārtraukšanas risks.",
                "participants": 24, "participants_at_risk": 15,
                "start_on": "2022-05-16", "end_on": "2022-12-14",
            },
        },
        "organisation": {"name": "Biedrība „Jauniešu ceļš”", "registration_number": "40008000121"},
        "call": {"code": "PUMPURS-2022-JELG",
                 "title": "Jaunatnes organizāciju iniciatīvu projektu konkurss priekšlaicīgas mācību "
                          "pārtraukšanas samazināšanai"},
    },
    "letter_ineligible": {
        "outcome": "ineligible", "number": "PUMPURS-2022-JELG-011",
        "title": "Ziemeļkurzemes jauniešu sporta spēles", "organisation": "Nodibinājums „Ūdensrozes”",
        "call_title": "Jaunatnes organizāciju iniciatīvu projektu konkurss", "call_code": "PUMPURS-2022-JELG",
        "date": "22.04.2022.", "amount": "0,00\u00a0€", "rank": None, "total": "", "appeal_days": 30,
        "reasons": [
            {"code": "A1", "title": "Projekta iesniegums iesniegts noteiktajā termiņā",
             "reason": "Iesniegums saņemts 05.04.2022. plkst. 00:12, pēc termiņa beigām."},
            {"code": "E4", "title": "Projektā iesaistīti vismaz 12 dalībnieki",
             "reason": "Plānoti tikai 8 dalībnieki; nolikums prasa vismaz 12 (ņemot vērā ģimeņu iesaisti)."},
        ],
    },
    "letter_funded": {
        "outcome": "funded", "number": "PUMPURS-2022-JELG-007",
        "title": "Ķekavas jauniešu līdzdalības darbnīcas „Mēs esam šeit”", "organisation": "Biedrība „Jauniešu ceļš”",
        "call_title": "Jaunatnes organizāciju iniciatīvu projektu konkurss", "call_code": "PUMPURS-2022-JELG",
        "date": "06.05.2022.", "amount": AMOUNT, "rank": 2, "total": "41,5", "appeal_days": 30,
    },
    "letter_reserve": {
        "outcome": "reserve", "number": "PUMPURS-2022-JELG-003", "title": "Mežaparka ģimeņu vakari",
        "organisation": "Biedrība „Šūpoles”", "call_title": "Jaunatnes organizāciju iniciatīvu projektu konkurss",
        "call_code": "PUMPURS-2022-JELG", "date": "06.05.2022.", "amount": "0,00\u00a0€", "rank": 7,
        "total": "33", "appeal_days": 30,
    },
    "letter_rejected": {
        "outcome": "rejected", "number": "PUMPURS-2022-JELG-004", "title": "Skolēnu ķēdes lasījumi",
        "organisation": "Biedrība „Čaklie”", "call_title": "Jaunatnes organizāciju iniciatīvu projektu konkurss",
        "call_code": "PUMPURS-2022-JELG", "date": "06.05.2022.", "amount": "0,00\u00a0€", "rank": None,
        "total": "27,5", "appeal_days": 14,
    },
    # the frozen form of app/services/protocols.py protocol_context: the same facts written in each language
    "protocol": {
        "number": 1, "call_code": "PUMPURS-2022-JELG", "inputs_sha256": INPUTS_SHA, "confirmed_by": "Gunta Šmite",
        "content": {"lv": {
            "call": {"title": "Jaunatnes organizāciju iniciatīvu projektu konkurss",
                     "organiser": "Jelgavas valstspilsētas pašvaldība", "budget": BUDGET, "pass_mark": "30",
                     "minimums": ["kritērijā 2.2 vismaz 3 punkti"],
                     "allocation_policy": "finansēšana tiek pārtraukta pie pirmā atbilstošā projekta iesnieguma",
                     "tie_break_keys": ["augstāks vērtējums kritērijā 2.2", "augstāks vērtējums kritērijā 2.4.3",
                                        "agrāk iesniegts"]},
            "rows": [
                {"rank": 1, "number": "PUMPURS-2022-JELG-002", "title": "Jauniešu radio „Ēters”",
                 "organisation": "Biedrība „Zaļā ķiploka”", "total": "44,5", "weighted_total": "44,5",
                 "decision": "funded", "decision_words": "Finansēts", "amount": AMOUNT,
                 "placement": "atbilst: 44,5 punkti", "tie": "", "tie_words": "",
                 "allocation": "atbalstīts: 4 600,00 € budžeta ietvaros", "line_before": False,
                 "evaluators": ["Ilze Bērziņa", "Māris Ozoliņš"]},
                {"rank": 2, "number": "PUMPURS-2022-JELG-007",
                 "title": "Ķekavas jauniešu līdzdalības darbnīcas „Mēs esam šeit”",
                 "organisation": "Biedrība „Jauniešu ceļš”", "total": "41,5", "weighted_total": "41,5",
                 "decision": "funded", "decision_words": "Finansēts", "amount": AMOUNT,
                 "placement": "atbilst: 41,5 punkti", "tie": "", "tie_words": "",
                 "allocation": "atbalstīts: 4 600,00 € budžeta ietvaros", "line_before": False,
                 "evaluators": ["Ilze Bērziņa", "Jānis Kļaviņš"]},
                {"rank": 3, "number": "PUMPURS-2022-JELG-009", "title": "Ģitāras pulciņš Līvānos",
                 "organisation": "Biedrība „Ņiprie”", "total": "41,5", "weighted_total": "41,5",
                 "decision": "reserve", "decision_words": "Rezerves saraksts", "amount": AMOUNT,
                 "placement": "atbilst: 41,5 punkti",
                 "tie": "Vienāds svērtais vērtējums ar PUMPURS-2022-JELG-007; izšķīra augstāks vērtējums kritērijā "
                        "2.4.3.", "tie_words": "augstāks vērtējums kritērijā 2.4.3",
                 "allocation": "rezervē: atlikums nesedz 4 600,00 €", "line_before": True,
                 "evaluators": ["Māris Ozoliņš", "Jānis Kļaviņš", "Žanis Ūdris"]},
                {"rank": None, "number": "PUMPURS-2022-JELG-004", "title": "Skolēnu ķēdes lasījumi",
                 "organisation": "Biedrība „Čaklie”", "total": "27,5", "weighted_total": "27,5",
                 "decision": "rejected", "decision_words": "Nav finansēts", "amount": AMOUNT,
                 "placement": "neatbilst: kopā 27,5 punkti, mazāk par minimālo punktu skaitu 30; kritērijā 2.2 "
                              "2,5 punkti, mazāk par minimālajiem 3 punktiem", "tie": "", "tie_words": "",
                 "allocation": "nav rangā: neatbilst prasībām", "line_before": False,
                 "evaluators": ["Ilze Bērziņa", "Māris Ozoliņš"]},
            ],
            "funded_total": "9\u00a0200,00\u00a0€", "remaining": "18\u00a0400,00\u00a0€",
            "allocation_line": "Budžets beidzas pie 3. vietas (PUMPURS-2022-JELG-009).",
            "reserve": [{"position": 1, "rank": 3, "number": "PUMPURS-2022-JELG-009", "organisation": "Biedrība „Ņiprie”",
                         "amount": AMOUNT}],
            "overrides": [], "confirmed_at": "05.05.2022. 14:03:11", "confirmed_on": "05.05.2022.",
        }},
    },
    "agreement": {
        "number": "PUMPURS-2022-JELG-007", "title": "Ķekavas jauniešu līdzdalības darbnīcas „Mēs esam šeit”",
        "organisation": "Biedrība „Jauniešu ceļš”", "registration_number": "40008000121",
        "iban": "LV80BANK0000435195001", "organiser": "Jelgavas valstspilsētas pašvaldība", "amount": AMOUNT,
        "implementation": "16.05.2022.–14.12.2022.",
        "tranches": [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}],
        "reports": [{"kind": "interim", "due_on": "2022-08-15"}, {"kind": "final", "due_on": "2022-12-14"}],
        "call_title": "Jaunatnes organizāciju iniciatīvu projektu konkurss",
    },
    "report": {
        "report": {"kind": "final", "due": "14.12.2022.", "submitted": "12.12.2022. 16:40:00",
                   "content": {"activities": "Notika 28 darbnīcas un divas nometnes Ķemeros; "
                                             "noslēguma pasākumā piedalījās 61 viesis.",
                               "participants": 26, "participants_at_risk": 17,
                               "results": "Kavējumu skaits mērķa grupā samazinājās par ceturtdaļu; "
                                          "visi dalībnieki turpina mācības. Ģimeņu iesaiste — 14 ģimenes."}},
        "number": "PUMPURS-2022-JELG-007", "title": "Ķekavas jauniešu līdzdalības darbnīcas „Mēs esam šeit”",
        "organisation": "Biedrība „Jauniešu ceļš”",
    },
}


def kind_of(name: str) -> str:
    return name.split("_")[0]


def squash(text: str) -> str:
    """Whitespace (line breaks, no-break spaces) is layout, not content."""
    return re.sub(r"\s+", "", text.replace("\u00a0", " "))


@pytest.fixture(scope="module")
def flask_app():
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "app" / "static"))
    Babel(app)
    return app


@pytest.fixture(scope="module")
def documents():
    # Imported lazily: app/__init__.py may be mid-edit elsewhere; only app.documents is needed here.
    from app import documents

    return documents


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def rendering(flask_app, documents):
    """Every document rendered once, with what WeasyPrint complained about while doing it."""
    collect, logger = Collect(), logging.getLogger("weasyprint")
    disabled, level = logger.disabled, logger.level
    logger.disabled = False  # a logging.fileConfig elsewhere (Alembic) may have disabled it
    logger.setLevel(logging.WARNING)
    logger.addHandler(collect)
    try:
        rendered = {}
        with flask_app.app_context(), flask_app.test_request_context():
            for name, context in CONTEXTS.items():
                rendered[name] = documents.render(kind_of(name), context, "lv")
    finally:
        logger.removeHandler(collect)
        logger.disabled, logger.level = disabled, level
    return rendered, collect.messages


@pytest.fixture(scope="module")
def pdfs(rendering):
    return rendering[0]


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_fonts(data: bytes) -> set[str]:
    from pypdf import PdfReader

    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def lv(msgid: str, **variables) -> str:
    with force_locale("lv"):
        return gettext(msgid, **variables)


@pytest.mark.parametrize("name", list(CONTEXTS))
def test_pdf_is_a4_dejavu_and_keeps_latvian_letters(pdfs, name):
    from pypdf import PdfReader

    data = pdfs[name]
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    width, height = sorted((float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)))
    assert (round(width), round(height)) == (595, 842)  # A4 in points, either orientation
    fonts = pdf_fonts(data)
    assert fonts and all("DejaVu" in font for font in fonts), fonts
    text = pdf_text(data)
    assert "lpp." in text or "page" in text  # the footer numbering
    context_letters = {c for c in repr(CONTEXTS[name]) if c in LATVIAN_LETTERS}
    missing = {c for c in context_letters if c not in text}
    assert not missing, f"letters lost in {name}: {missing}"


def test_regulations(pdfs):
    text = squash(pdf_text(pdfs["regulations"]))
    call = CONTEXTS["regulations"]["call"]
    for value in (call["code"], call["organiser"], call["deadline"], call["opens"], AMOUNT, BUDGET, DEF_SHA,
                  "Konkursa mērķis ir atbalstīt jaunatnes organizāciju iniciatīvas"):
        assert squash(value) in text, value
    assert squash(lv("until %(deadline)s", deadline=call["deadline"])) in text
    for criterion in CRITERIA:
        assert squash(criterion["code"]) in text, criterion["code"]
        assert squash(criterion["title"]) in text, criterion["title"]
    for check in CONTEXTS["regulations"]["checks"]:
        assert check["code"] in text and squash(check["title"]) in text
    assert "80%" in text and "20%" in text


def test_receipt(pdfs):
    raw = pdf_text(pdfs["receipt"])
    assert SHA in raw  # the checksum on one line, unbroken
    text = squash(raw)
    application = CONTEXTS["receipt"]["application"]
    for value in (application["number"], application["submitted"], application["title"], AMOUNT,
                  "40008000121", "Biedrība„Jauniešuceļš”", "16.05.2022.", "14.12.2022.",
                  application["content"]["activities"], application["content"]["target_group"]):
        assert squash(value) in text, value
    assert squash(lv("Application receipt")).upper() in text.upper()


@pytest.mark.parametrize("name", ["letter_ineligible", "letter_funded", "letter_reserve", "letter_rejected"])
def test_letters(pdfs, name):
    context = CONTEXTS[name]
    text = squash(pdf_text(pdfs[name]))
    for value in (context["number"], context["title"], context["organisation"], context["date"]):
        assert squash(value) in text, value
    appeal = lv("This decision may be appealed within %(days)s days of its notification. Submit the appeal in the "
                "Pumpurs Grants system, stating its grounds: a procedural error, the eligibility assessment or a "
                "factual error. The appeal is decided by an administrator who did not evaluate the application.",
                days=context["appeal_days"])
    assert squash(appeal) in text
    if name == "letter_ineligible":
        for reason in context["reasons"]:
            assert reason["code"] in text and squash(reason["reason"]) in text, reason
    if name == "letter_funded":
        assert squash(AMOUNT) in text and "41,5" in text
    if name == "letter_reserve":
        assert squash(lv("To include the application in the reserve list.")) in text
    if name == "letter_rejected":
        assert squash(AMOUNT) not in text and "27,5" in text


def test_letter_wording_depends_on_outcome(pdfs):
    texts = {name: squash(pdf_text(pdfs[name])) for name in CONTEXTS if name.startswith("letter_")}
    funded = squash(lv("To fund the project and to award a grant of %(amount)s.", amount=AMOUNT))
    assert funded in texts["letter_funded"]
    assert all(funded not in text for name, text in texts.items() if name != "letter_funded")


def test_protocol(pdfs):
    text = squash(pdf_text(pdfs["protocol"])).replace("\u2010", "")  # WeasyPrint's hyphenation, U+2010
    protocol = CONTEXTS["protocol"]["content"]["lv"]
    for row in protocol["rows"]:
        assert row["number"] in text and squash(row["title"]) in text and squash(row["placement"]) in text
        for evaluator in row["evaluators"]:
            assert squash(evaluator) in text
    for value in ("Gunta Šmite", INPUTS_SHA, "9 200,00 €", BUDGET, protocol["allocation_line"],
                  protocol["rows"][2]["tie"]):
        assert squash(value) in text, value
    assert squash(lv("Evaluation commission protocol No. %(number)s", number=1)).upper() in text.upper()
    assert squash(lv("Chair of the commission")) in text


def test_agreement(pdfs):
    text = squash(pdf_text(pdfs["agreement"]))
    context = CONTEXTS["agreement"]
    for value in (context["number"], context["organisation"], context["organiser"], context["iban"],
                  context["registration_number"], AMOUNT, "15.08.2022.", "14.12.2022.", "80%", "20%"):
        assert squash(value) in text, value


def test_report(pdfs):
    text = squash(pdf_text(pdfs["report"]))
    report = CONTEXTS["report"]["report"]
    for value in (CONTEXTS["report"]["number"], report["submitted"], report["content"]["activities"],
                  report["content"]["results"], "26", "17"):
        assert squash(value) in text, value


def test_english_and_sparse_documents_render(flask_app, documents):
    """English dates carry no trailing dot; a budgeted call without a lump sum, checks, reports or tranches renders."""
    sparse = {**CONTEXTS["regulations"], "checks": [], "reports": [], "tranches": [],
              "call": {**CONTEXTS["regulations"]["call"], "funding_mode": "budgeted", "amount": "",
                       "definition_sha256": None, "description_lv": ""}}
    with flask_app.app_context(), flask_app.test_request_context():
        receipt = pdf_text(documents.render("receipt", CONTEXTS["receipt"], "en"))
        regulations = squash(pdf_text(documents.render("regulations", sparse, "en")))
    assert "16.05.2022 – 14.12.2022" in receipt and "16.05.2022." not in receipt
    assert "Competitionofyouthorganisationinitiativeprojects" in regulations  # the English title leads
    assert squash(BUDGET) in regulations and squash(AMOUNT) not in regulations


def test_fonts_come_from_font_face_not_a_fallback(rendering):
    """The DejaVu fonts are loaded from the @font-face URLs through the local-only fetcher. If that fails, WeasyPrint
    warns and silently falls back to whatever fontconfig finds, which is exactly what the design forbids."""
    _, warnings = rendering
    assert not warnings, warnings[:5]


PROBE = """{% extends "pdf/base.html" %}{% block title %}probe{% endblock %}{% block body %}
<p>Ārējie resursi</p>
<img src="https://example.invalid/logo.png" alt="">
<img src="file://{{ outside }}" alt="">
<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
{% endblock %}"""

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d9b6bb0000000049454e44ae426082")


def test_documents_fetch_nothing_remote_or_outside_static(documents, tmp_path, monkeypatch):
    import socket

    from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader
    from pypdf import PdfReader

    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG_1X1)
    connections = []

    def no_network(self, address, *args, **kwargs):
        connections.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "app" / "static"))
    app.jinja_loader = ChoiceLoader([DictLoader({"pdf/probe.html": PROBE}), FileSystemLoader(ROOT / "templates")])
    Babel(app)
    with app.app_context(), app.test_request_context():
        data = documents.render("probe", {"outside": str(outside)}, "lv")
    assert connections == []
    for page in PdfReader(io.BytesIO(data)).pages:
        xobjects = page["/Resources"].get_object().get("/XObject", {})
        assert not any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())


def test_templates_name_no_remote_resource():
    for template in (ROOT / "templates" / "pdf").glob("*.html"):
        source = template.read_text()
        assert "http://" not in source and "https://" not in source, template.name


# --- e-mails ------------------------------------------------------------------------------------------------------

USER = SimpleNamespace(name="Līga Ērgle", language="lv", email="liga@example.lv")

EMAILS = {
    "submitted": ({"number": "PUMPURS-2022-JELG-007", "time": "04.04.2022. 21:17:05", "sha256": SHA,
                   "title": "Ķekavas jauniešu darbnīcas"}, ["PUMPURS-2022-JELG-007", "21:17:05", SHA]),
    "withdrawn": ({"number": "PUMPURS-2022-JELG-008"}, ["PUMPURS-2022-JELG-008"]),
    "clarification": ({"number": "PUMPURS-2022-JELG-009", "question": "Lūdzu, precizējiet dalībnieku skaitu.",
                       "due": "20.04.2022. 17:00:00"},
                      ["PUMPURS-2022-JELG-009", "Lūdzu, precizējiet dalībnieku skaitu.", "20.04.2022. 17:00:00"]),
    "deadline_extended": ({"code": "PUMPURS-2022-JELG", "deadline": "11.04.2022. 23:59",
                           "reason": "Sistēmas pārtraukums 04.04."},
                          ["PUMPURS-2022-JELG", "11.04.2022. 23:59", "Sistēmas pārtraukums 04.04."]),
    "call_reopened": ({"code": "PUMPURS-2022-JELG", "deadline": "30.05.2022. 23:59",
                       "reason": "Pieejams papildu finansējums."},
                      ["PUMPURS-2022-JELG", "30.05.2022. 23:59", "Pieejams papildu finansējums."]),
    "call_cancelled": ({"code": "PUMPURS-2022-JELG", "reason": "Finansējums netika piešķirts."},
                       ["PUMPURS-2022-JELG", "Finansējums netika piešķirts."]),
    "assigned": ({"number": "PUMPURS-2022-JELG-010", "due": "25.04.2022. 23:59:00"},
                 ["PUMPURS-2022-JELG-010", "25.04.2022. 23:59:00"]),
    "decision": ({"number": "PUMPURS-2022-JELG-007", "outcome": "funded", "title": "Ķekavas jauniešu darbnīcas"},
                 ["PUMPURS-2022-JELG-007", "Ķekavas jauniešu darbnīcas"]),
    "declined": ({"number": "PUMPURS-2022-JELG-002"}, ["PUMPURS-2022-JELG-002"]),
    "appeal_decided": ({"number": "PUMPURS-2022-JELG-004", "outcome": "upheld",
                        "reasons": "Vērtējumā kļūdaini ņemts vērā 2.2. kritērijs."},
                       ["PUMPURS-2022-JELG-004", "Vērtējumā kļūdaini ņemts vērā 2.2. kritērijs."]),
    "signed": ({"number": "PUMPURS-2022-JELG-007", "amount": AMOUNT}, ["PUMPURS-2022-JELG-007", AMOUNT]),
    "report_changes": ({"number": "PUMPURS-2022-JELG-007", "note": "Pievienojiet publicitātes pierādījumus."},
                       ["PUMPURS-2022-JELG-007", "Pievienojiet publicitātes pierādījumus."]),
}


@pytest.mark.parametrize("name", list(EMAILS))
@pytest.mark.parametrize("language", ["lv", "en"])
def test_email_templates(flask_app, name, language):
    context, expected = EMAILS[name]
    user = SimpleNamespace(**{**vars(USER), "language": language})
    with flask_app.app_context(), flask_app.test_request_context(), force_locale(language):
        text = render_template(f"email/{name}.txt", user=user, **context)
        html = render_template(f"email/{name}.html", user=user, **context)
    assert user.name in text and user.name in html
    for value in expected:
        assert value in text, (name, value)
        assert str(escape(value)) in html, (name, value)
    assert "<" not in text, "the plain-text part has no markup"
    assert "{{" not in text and "{%" not in text and "{{" not in html
    assert "style=" not in html and "<script" not in html
    assert "\n\n\n" not in text, "no runs of blank lines"


def test_email_html_escapes_user_text(flask_app):
    with flask_app.app_context(), flask_app.test_request_context():
        html = render_template("email/report_changes.html", user=USER, number="N-1", note="<b>bold</b> & more")
        text = render_template("email/report_changes.txt", user=USER, number="N-1", note="<b>bold</b> & more")
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "<b>bold</b> & more" in text


def test_decision_email_wording_depends_on_outcome(flask_app):
    outcomes = ("funded", "reserve", "rejected", "ineligible")
    with flask_app.app_context(), flask_app.test_request_context(), force_locale("en"):
        texts = {o: render_template("email/decision.txt", user=USER, number="N-1", outcome=o, title="T")
                 for o in outcomes}
    assert all("N-1" in text for text in texts.values())
    assert len(set(texts.values())) == len(outcomes)
