"""Two-factor sign-in (issue 9, "Security suite"): a time-based one-time code (TOTP, RFC 6238, through pyotp) from
an authenticator app, or one of ten one-time recovery codes, after the password.

- REQUIRED for admins and auditors (they decide over public money): signed in with the password only, they are
  taken to the enrolment and can reach nothing else until it is done (app/views/two_factor.py's gate). OFFERED to
  everyone else (NGO members, evaluators), who may also turn it off again with their password.
- The secret is stored encrypted (Fernet, with a key derived by HKDF from SECRET_KEY: a database dump alone does
  not give the codes away; a new SECRET_KEY makes the stored secrets unreadable, and their owners enrol again).
- A code is accepted for its 30-second step and the one on either side (a phone's clock drifts), and never twice:
  the last accepted step is kept, and a conditional UPDATE accepts only a later one (two requests at once with the
  same code: one passes).
- Recovery codes: 10 random codes of 10 letters and digits (~49 bits each), shown once, kept as SHA-256 hashes,
  each deleted when used (a DELETE whose row count says whether this request was the one that used it).
- Each sign-in step is counted by the login throttle like a password (app/services/accounts.py).
- Turning it on or off, new recovery codes and a recovery code used are audit events of the user
  ("user", id) and a notice to the user (always e-mailed: an account's security).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import RecoveryCode, User
from app.services import audit, jobs

REQUIRED_ROLES = ("admin", "auditor")
ISSUER = "Pumpurs Grants"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # the step before and after the current one are accepted too
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
RECOVERY_LENGTH = 10
PENDING_FOR = timedelta(minutes=5)  # between the password and the code

SUBJECT_ON = _l("Pumpurs Grants: two-factor sign-in is on")
SUBJECT_OFF = _l("Pumpurs Grants: two-factor sign-in is off")
SUBJECT_CODES = _l("Pumpurs Grants: new recovery codes")
SUBJECT_RECOVERY_USED = _l("Pumpurs Grants: a recovery code was used to sign in")


# --- who -----------------------------------------------------------------------------------------------------------

def required_for(user) -> bool:
    return user.role in REQUIRED_ROLES


def enabled(user) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


# --- the secret ----------------------------------------------------------------------------------------------------

def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"pumpurs-grants two-factor secrets").derive(str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret_token() -> str:
    """A fresh random secret (160 bits, base32), encrypted: what the enrolment keeps until it is confirmed."""
    return _fernet().encrypt(pyotp.random_base32().encode()).decode()


def reveal(token: str | None) -> str | None:
    """The base32 secret of an encrypted token; None when it cannot be read (forged, or another SECRET_KEY)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def secret_of(user: User) -> str | None:
    return reveal(user.totp_secret)


def provisioning_uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code of `uri` as inline SVG (paths and attributes only: no script, no style, as the CSP wants)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, title=title, svgclass="totp-qr",
                                                 lineclass=None)


def grouped(secret: str) -> str:
    """The secret as people type it from the screen: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# --- codes ---------------------------------------------------------------------------------------------------------

def _digits(code: str) -> str:
    return "".join((code or "").split()).replace("-", "")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (of the current one and its neighbours) whose code `code` is, or None."""
    code = _digits(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(clock.now().timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _use_step(user_id: int, step: int) -> bool:
    """Mark `step` used, if no later or equal step was: False when this code (or a later one) was used already."""
    result = db.session.execute(
        update(User).where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _normal_recovery(code: str) -> str:
    return _digits(code).lower()


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(("recovery-code:" + _normal_recovery(code)).encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the codes as shown (xxxxx-xxxxx), once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_LENGTH))
             for _n in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code), created_at=clock.now())
                       for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id)) or 0


def check_code(user: User, code: str) -> str | None:
    """The sign-in's second step: "totp" for a valid, unused authenticator code, "recovery" for an unused recovery
    code (now used up), None otherwise. Writes the used step or deletes the code; the caller commits."""
    secret = secret_of(user)
    if not enabled(user) or secret is None:
        return None
    step = _matching_step(secret, code)
    if step is not None:
        return "totp" if _use_step(user.id, step) else None
    if len(_normal_recovery(code)) != RECOVERY_LENGTH:
        return None
    used = db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                         RecoveryCode.code_hash == _recovery_hash(code)))
    if used.rowcount != 1:
        return None
    _locked(user)
    left = recovery_codes_left(user)
    audit.record("user", user.id, "recovery_code_used", "two_factor_on", "two_factor_on", user.id,
                 data={"recovery_codes_left": left})
    jobs.notify(user, "recovery_code_used", SUBJECT_RECOVERY_USED, left=left)
    return "recovery"


# --- enrolment -----------------------------------------------------------------------------------------------------

def _locked(user: User) -> User:
    """The user's row, locked (the audit chain of ("user", id) is appended under it)."""
    return db.session.scalars(select(User).where(User.id == user.id).with_for_update()).one()


def enable(user: User, secret_token: str, code: str) -> list[str]:
    """Turn two-factor sign-in on with the secret the enrolment page showed, once `code` shows the authenticator
    has it. Returns the ten recovery codes (shown once). Refused when the code is not right."""
    secret = reveal(secret_token)
    if secret is None:
        raise Refused(_("The set-up has expired. Scan the new code below."))
    step = _matching_step(secret, code)
    if step is None:
        raise Refused(_("That code is not right. Enter the 6-digit code the app shows now."))
    user = _locked(user)
    was_on = enabled(user)
    user.totp_secret = secret_token
    user.totp_enabled_at = clock.now()
    user.totp_last_step = step  # the code just typed signs nobody in again
    codes = _new_recovery_codes(user)
    audit.record("user", user.id, "two_factor_on", "two_factor_on" if was_on else "two_factor_off",
                 "two_factor_on", user.id)
    jobs.notify(user, "two_factor_on", SUBJECT_ON)
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    user = _locked(user)
    if not enabled(user):
        raise Refused(_("Two-factor sign-in is not on."))
    codes = _new_recovery_codes(user)
    audit.record("user", user.id, "recovery_codes_renewed", "two_factor_on", "two_factor_on", user.id)
    jobs.notify(user, "recovery_codes_renewed", SUBJECT_CODES)
    return codes


def disable(user: User) -> None:
    """Turn it off (the caller checked the policy and the password): the secret and the codes are deleted."""
    if required_for(user):
        raise Refused(_("Two-factor sign-in is required for your role: it cannot be turned off."))
    user = _locked(user)
    if not enabled(user):
        raise Refused(_("Two-factor sign-in is not on."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("user", user.id, "two_factor_off", "two_factor_on", "two_factor_off", user.id)
    jobs.notify(user, "two_factor_off", SUBJECT_OFF)
