"""NGO registration and the checks on their identifiers (python-stdnum, never by hand)."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select
from stdnum import iban as iban_number
from stdnum.exceptions import ValidationError
from stdnum.lv import pvn

from app import clock, municipalities
from app.errors import Refused
from app.extensions import db
from app.models import Organisation, User
from app.models.accounts import LEGAL_FORMS
from app.services import accounts, audit
from app.services.conflicts import PUBLIC_MAIL_DOMAINS  # noqa: F401  (the one list)



def clean_registration_number(value: str) -> str:
    """The number as stored and compared: without spaces, dashes and an "LV" in front ("LV 4000 8152 656" and
    "4000815265 6" are 40008152656)."""
    return pvn.compact(value or "")


def registration_number_problem(value: str) -> str | None:
    compact = clean_registration_number(value)
    # 11 digits starting 0-3 are a person's code (stdnum.lv.pvn: a legal entity's first digit is above 3), whether
    # or not its check digit is right: say that, before a checksum message would send them to retype it
    if re.fullmatch(r"[0-3][0-9]{10}", compact):
        return _("Personal codes are not accepted: enter the organisation's registration number (11 digits, "
                 "starting with 4, 5, 6, 7, 8 or 9).")
    try:
        pvn.validate(compact)
    except ValidationError:
        return _("The registration number is not valid: it must have 11 digits and a correct check digit.")
    return None


def iban_problem(value: str) -> str | None:
    try:
        compact = iban_number.validate(value or "")
    except ValidationError:
        return _("The IBAN is not valid. Check the account number.")
    if not compact.startswith("LV"):
        return _("The account must be in a Latvian bank (IBAN starting with LV).")
    return None


def municipality_problems(municipality: str | None) -> list[str]:
    """Empty or one of Latvia's municipalities (the form offers only those; a forged value is refused here)."""
    if municipality and municipality not in municipalities.KEYS:
        return [_("Choose the municipality from the list.")]
    return []


def profile_problems(organisation: Organisation) -> list[str]:
    return [p for p in (registration_number_problem(organisation.registration_number),
                        iban_problem(organisation.iban)) if p]


def registration_problems(*, organisation_name: str, registration_number: str, iban: str, user_name: str,
                          email: str, password: str) -> list[str]:
    """What is wrong with a registration, apart from its e-mail (which the public form never tells about)."""
    problems = [p for p in (registration_number_problem(registration_number), iban_problem(iban),
                            accounts.password_problem(password, email, user_name, organisation_name)) if p]
    if db.session.scalar(select(Organisation.id).where(Organisation.registration_number
                                                       == clean_registration_number(registration_number))):
        problems.append(_("This organisation is already registered. Ask its members to add you."))
    return problems


def register(*, organisation_name: str, registration_number: str, legal_form: str, iban: str,
             organisation_email: str, address: str, user_name: str, email: str, password: str,
             language: str = "lv", confirmed: bool = True, municipality: str = "") -> User:
    """Create an NGO and its first member. Raises Refused with every problem; writes nothing then. Unconfirmed
    (the public form, app/services/registration.py): the member logs in only after opening the link sent to the
    e-mail, and the audit trail records the registration then."""
    problems = registration_problems(organisation_name=organisation_name, registration_number=registration_number,
                                     iban=iban, user_name=user_name, email=email, password=password)
    problems += municipality_problems(municipality)
    registration_number = clean_registration_number(registration_number)
    if db.session.scalar(select(User.id).where(User.email == email.strip().lower())):
        problems.append(_("An account with this e-mail already exists."))
    if problems:
        raise Refused(" ".join(problems))
    organisation = Organisation(name=organisation_name.strip(), registration_number=registration_number,
                                legal_form=legal_form, iban=iban_number.compact(iban),
                                email=organisation_email.strip().lower(), address=address.strip(),
                                municipality=municipality or None)
    db.session.add(organisation)
    db.session.flush()
    user = User(email=email.strip().lower(), name=user_name.strip(), role="applicant",
                organisation_id=organisation.id, language=language,
                unconfirmed_since=None if confirmed else clock.now())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if confirmed:
        record_registration(user)
    return user


def update_profile(organisation: Organisation, actor: User, *, name: str, legal_form: str, iban: str, email: str,
                   address: str, municipality: str | None = None) -> dict[str, list[str]]:
    """Change the organisation's profile, checked as at registration; the registration number never changes (it is
    who the organisation is: conflicts, exports and the audit trail name it). Every change goes into the audit
    trail with its old and new value. Returns {field: [old, new]}; Refused with every problem, nothing changed."""
    problems = [p for p in (iban_problem(iban),) if p]
    if not (name or "").strip():
        problems.append(_("Enter the organisation's name."))
    if legal_form not in LEGAL_FORMS:
        problems.append(_("Choose the legal form."))
    problems += municipality_problems(municipality)
    if problems:
        raise Refused(" ".join(problems))
    # the audit chain's rule (the caller holds the entity's lock): a second member saving at once waits here, then
    # compares with what the first one stored
    db.session.execute(select(Organisation).where(Organisation.id == organisation.id).with_for_update()
                       .execution_options(populate_existing=True)).all()
    wanted = {"name": name.strip(), "legal_form": legal_form, "iban": iban_number.compact(iban),
              "email": email.strip().lower(), "address": (address or "").strip()}
    if municipality is not None:  # None: a caller that does not edit it
        wanted["municipality"] = municipality or None
    changed = {field: [getattr(organisation, field), value] for field, value in wanted.items()
               if getattr(organisation, field) != value}
    for field, (_old, value) in changed.items():
        setattr(organisation, field, value)
    if changed:
        audit.record("organisation", organisation.id, "edit_profile", "registered", "registered", actor.id,
                     data={"changed": changed})
    return changed


def record_registration(user: User) -> None:
    audit.record("organisation", user.organisation_id, "register", None, "registered", user.id,
                 data={"registration_number": user.organisation.registration_number})


def conflict_by_domain(evaluator: User, organisation: Organisation) -> bool:
    """Does an e-mail domain tie the evaluator to the organisation (its own address or any member's)? The rule lives
    in app/services/conflicts.py."""
    from app.services import conflicts

    return any(c.source == "domain" for c in conflicts.known([evaluator], [organisation]).get(
        (evaluator.id, organisation.id), []))
