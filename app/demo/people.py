"""The demo's people: staff of Jelgavas novada pašvaldība and IKVD, evaluators, the NGOs and their members."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app import clock
from app.clock import riga_time as riga
from app.extensions import db
from app.models import Organiser, User
from app.services import (
    accounts,
    organisations,
    payment_batches,
)

PASSWORD = "demo-parole-2022"
ORGANISER = "Jelgavas novada pašvaldība"
FUNDER = "Izglītības kvalitātes valsts dienests (IKVD)"
PROGRAMME = "8.3.4.0/16/I/001"
LUMP_SUM = 460_000  # EUR 4,600.00


# --- people -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staff:
    role: str
    email: str
    name: str
    programme_level: bool = False
    organiser: bool = True
    language: str = "lv"


STAFF = (
    Staff("admin", "admin@jelgava.lv", "Ilze Grīnberga"),
    Staff("admin", "admin2@jelgava.lv", "Andris Vanags"),
    Staff("auditor", "auditors@ikvd.gov.lv", "Rūta Zariņa", programme_level=True, organiser=False),
    Staff("evaluator", "vertetajs1@eksperti.lv", "Inese Liepiņa", organiser=False),
    Staff("evaluator", "vertetajs2@eksperti.lv", "Kārlis Jansons", organiser=False),
    Staff("evaluator", "vertetajs3@eksperti.lv", "Marta Sproģe", organiser=False, language="en"),
)


@dataclass(frozen=True)
class Ngo:
    key: str
    name: str
    legal_form: str
    registration_number: str  # 11 digits, checked by stdnum.lv.pvn (weighted sum mod 11 == 3)
    iban: str  # check digits computed with stdnum.iban
    email: str
    address: str
    member: str
    member_email: str
    language: str = "lv"
    municipality: str = "Jelgavas novads"  # a key of app/municipalities.py


NGOS = (
    Ngo("jauniesi", "Biedrība „Jaunieši Jelgavai”", "biedriba", "40008015678", "LV87HABA0551012345678",
        "info@jauniesi-jelgava.lv", "Lielā iela 12, Jelgava, LV-3001", "Anna Kalniņa", "anna@jauniesi-jelgava.lv",
        municipality="Jelgava"),
    Ngo("zemgale", "Biedrība „Zemgales jaunatnes forums”", "biedriba", "40008022345", "LV21UNLA0050014412345",
        "birojs@zemgalesjaunatne.lv", "Akadēmijas iela 25, Jelgava, LV-3001", "Jānis Ozoliņš",
        "janis@zemgalesjaunatne.lv", municipality="Jelgava"),
    Ngo("ozolnieki", "Nodibinājums „Ozolnieku attīstības fonds”", "nodibinajums", "40008030003",
        "LV51PARX0012345670001", "fonds@ozolniekufonds.lv", "Stadiona iela 3, Ozolnieki, Jelgavas nov., LV-3018",
        "Līga Bērziņa", "liga@ozolniekufonds.lv"),
    Ngo("eleja", "Biedrība „Elejas jauniešu klubs”", "biedriba", "40008040001", "LV15RIKO0000083021456",
        "klubs@elejasklubs.lv", "Parka iela 2, Eleja, Elejas pag., Jelgavas nov., LV-3023", "Mārtiņš Liepa",
        "martins@elejasklubs.lv"),
    Ngo("skauti", "Kalnciema skautu un gaidu vienība", "youth_organisation", "40008054567",
        "LV41HABA0551023456789", "vieniba@kalnciemaskauti.lv", "Lielā iela 8, Kalnciems, Jelgavas nov., LV-3016",
        "Ieva Krūmiņa", "ieva@kalnciemaskauti.lv", language="en"),
    Ngo("valgunde", "Biedrība „Valgundes radošā darbnīca”", "biedriba", "40008069011", "LV05UNLA0050021987654",
        "darbnica@valgundesdarbnica.lv", "Skolas iela 1, Valgunde, Jelgavas nov., LV-3017", "Edgars Siliņš",
        "edgars@valgundesdarbnica.lv"),
    Ngo("svete", "Biedrība „Svētes sporta un brīvā laika klubs”", "biedriba", "40008070006",
        "LV36PARX0023456780002", "klubs@svetesklubs.lv", "Ausekļa iela 5, Svēte, Jelgavas nov., LV-3008",
        "Dace Vītola", "dace@svetesklubs.lv"),
)


@dataclass
class People:
    admin: User
    admin2: User
    auditor: User
    evaluators: list[User]
    members: dict[str, User]  # NGO key -> its member


def logins() -> list[tuple[str, str, str]]:
    return [(s.role, s.email, PASSWORD) for s in STAFF] + [("applicant", n.member_email, PASSWORD) for n in NGOS]


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def gather_people() -> People:
    """Find or create every demo person: staff as of February 2022, NGOs registering one by one."""
    for staff in STAFF:
        if user_by_email(staff.email) is None:
            clock.travel_to(riga(2022, 2, 14, 9))
            accounts.create_staff_user(email=staff.email, name=staff.name, role=staff.role, password=PASSWORD,
                                       organisers=(ORGANISER,) if staff.organiser else (),
                                       programme_level=staff.programme_level, language=staff.language)
    organiser = db.session.scalar(select(Organiser).where(Organiser.name == ORGANISER))
    if organiser is not None and not organiser.bank_iban:  # the account its grants are paid from (SEPA files)
        payment_batches.set_bank_details(ORGANISER, iban="LV76TREL2140280001000", bic="TRELLV22",
                                         street="Pasta iela", building="37", postcode="LV-3001", town="Jelgava")
    for day, ngo in enumerate(NGOS, start=14):
        if user_by_email(ngo.member_email) is None:
            clock.travel_to(riga(2022, 2, day, 11, 20))
            organisations.register(organisation_name=ngo.name, registration_number=ngo.registration_number,
                                   legal_form=ngo.legal_form, iban=ngo.iban, organisation_email=ngo.email,
                                   address=ngo.address, user_name=ngo.member, email=ngo.member_email,
                                   password=PASSWORD, language=ngo.language, municipality=ngo.municipality)
    db.session.commit()
    staff = {s.email: user_by_email(s.email) for s in STAFF}
    return People(admin=staff["admin@jelgava.lv"], admin2=staff["admin2@jelgava.lv"],
                  auditor=staff["auditors@ikvd.gov.lv"],
                  evaluators=[staff[f"vertetajs{i}@eksperti.lv"] for i in (1, 2, 3)],
                  members={n.key: user_by_email(n.member_email) for n in NGOS})


# --- the competition's definition ---------------------------------------------------------------------------

# code, title LV, title EN, minimum (half points), what a good score saw, what a weak score missed
