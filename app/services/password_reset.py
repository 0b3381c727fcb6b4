"""A forgotten password: a link by e-mail that sets a new one, once, within an hour.

The request's answer is the same whether or not the e-mail has an account, and so is the work behind it: every
request is logged (for the limit of links an hour), and for an address without an account (or with one that may not
log in, or past the limit) a link is signed and the message rendered and stored all the same, in a savepoint that is
then rolled back. The link is signed (itsdangerous, salt "password-reset") over the user's id and a
fingerprint of the current password hash: setting a password, by this link or any other way, changes the hash, so
the link works once and dies with the password it was sent for. (Not over the session version as well: that changes
at every logout, and a link must not die because its owner logged out on another device.) A new password ends
every session of the user (accounts.change_password).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired
from sqlalchemy import delete, func, select

from app import clock

from app.errors import Refused
from app.extensions import db
from app.models import PasswordResetRequest, User
from app.services import accounts, jobs
from app.services.links import public_link, serializer

log = logging.getLogger("app")

RESET_WITHIN = timedelta(hours=1)
LINKS_AN_HOUR = 3  # per e-mail address: enough for a lost message or two, too few to flood a mailbox
FORGET_REQUESTS_AFTER = timedelta(days=1)
SALT = "password-reset"
TEMPLATE = "password_reset"
SUBJECT = _l("Pumpurs Grants: set a new password")


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(("password-reset:" + (password_hash or "")).encode()).hexdigest()[:32]


def _token(user_id: int, password_hash: str) -> str:
    return serializer(SALT).dumps({"user": user_id, "password": _fingerprint(password_hash)})


def _may_reset(user: User | None) -> bool:
    return user is not None and user.active and user.unconfirmed_since is None and user.pseudonymised_at is None


def request_reset(email: str, language: str = "lv", remote_addr: str = "") -> None:
    """Send a reset link to `email` if an account that may log in has it, and fewer than LINKS_AN_HOUR were asked
    for it in the last hour (so that nobody floods a mailbox); otherwise do the same work and send nothing. The
    caller answers the same either way."""
    email = (email or "").strip().lower()
    now = clock.now()
    db.session.execute(delete(PasswordResetRequest).where(PasswordResetRequest.email == email,
                                                          PasswordResetRequest.at < now - FORGET_REQUESTS_AFTER))
    asked = db.session.scalar(select(func.count(PasswordResetRequest.id)).where(
        PasswordResetRequest.email == email, PasswordResetRequest.at > now - RESET_WITHIN))
    db.session.add(PasswordResetRequest(email=email, remote_addr=(remote_addr or "")[:64], at=now))
    user = db.session.scalar(select(User).where(User.email == email))
    if not _may_reset(user) or asked >= LINKS_AN_HOUR:
        _rehearse(email, language)
        return
    link = public_link("auth.reset_password", token=_token(user.id, user.password_hash))
    jobs.notify(user, TEMPLATE, SUBJECT, link=link, minutes=_minutes())
    if not current_app.config.get("MAIL_SERVER"):
        log.warning("e-mail is off: the password of %s is reset at %s", email, link)


def _minutes() -> int:
    return int(RESET_WITHIN.total_seconds() // 60)


def _rehearse(email: str, language: str) -> None:
    """What sending costs (a link signed, the message rendered and stored), then undone: the same time, nothing
    kept."""
    link = public_link("auth.reset_password", token=_token(0, "no account"))
    nested = db.session.begin_nested()
    try:
        jobs.notify(SimpleNamespace(id=None, name="", email=email, language=language), TEMPLATE, SUBJECT,
                    link=link, minutes=_minutes())
        db.session.flush()  # the e-mail's job too, as the commit writes it for a real link
    finally:
        nested.rollback()


def check(token: str, *, lock: bool = False) -> User:
    """The user whose link this is, while it still works; Refused with what is wrong with it. `lock`: the user's
    row, locked (a link posted twice at once sets one password: the second sees the new hash)."""
    try:
        data = serializer(SALT).loads(token, max_age=int(RESET_WITHIN.total_seconds()))
    except SignatureExpired:
        raise Refused(_("This link has expired: it works for one hour. Ask for a new one below.")) from None
    except BadData:
        raise Refused(_("This link is not valid. Ask for a new one below.")) from None
    user_id = data.get("user") if isinstance(data, dict) else None
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    user = db.session.scalars(query).first() if user_id else None
    if not _may_reset(user) or data.get("password") != _fingerprint(user.password_hash):
        raise Refused(_("This link has been used already, or the password was changed after it was sent. Ask for "
                        "a new one below."))
    return user


def reset(token: str, password: str) -> User:
    """Set the new password the link's owner chose; every session of theirs ends. Refused (nothing changed) when
    the link does not work or the password is too weak."""
    user = check(token, lock=True)
    accounts.change_password(user, password)
    log.info("password reset by e-mail link for user %s", user.id)
    return user
