"""Accounts: staff users, passwords, sessions, and the login throttle.

The throttle (issue 5, point 6) counts failed logins per client address and per account, and answers a failure past
the free ones with a delay that doubles (2 s, 4 s, … up to 15 minutes) instead of a lock:

- per address, hard: an address past its free failures waits, whatever the account and whatever the password;
- per account, soft: it slows down only the addresses that have failed before. An address with no failure on record
  may always try, so that whoever floods an NGO's account with wrong passwords from their own addresses never locks
  out its member, who logs in from another one (the price: an attacker with many addresses gets one guess per
  fresh address, each of which is then counted against that address).

Every attempt is counted as a failure *before* its password is checked, in one short transaction that locks the two
rows (address, account), and given back when the password was right: so parallel attempts never check more
passwords than the free ones, and no lock is held during the slow hash. The account key is the e-mail as typed,
whether or not an account has it, and an unknown e-mail is hashed against a dummy hash, so that neither the message
nor the time taken tells which e-mails have an account.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import LoginAttempt, LoginThrottle, Organiser, User

log = logging.getLogger("app")

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 10
FIRST_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # a count with no attempt for this long starts again from zero
MIN_PASSWORD_SCORE = 3  # zxcvbn: ~10^8 guesses or more ("safely unguessable" for a throttled, slow-hashed login)
# zxcvbn's time grows steeply with the length (a random 72 characters: ~0.5 s of CPU, for anybody who posts the
# public form; it refuses more than 72): the first 40 characters of a good password are plenty to judge it by.
JUDGED_CHARACTERS = 40


# --- passwords ------------------------------------------------------------------------------------------------------

def password_problem(password: str, *personal: str) -> str | None:
    """Why `password` may not be used (a common password, a word with a few digits, a keyboard row, the user's own
    name or e-mail…), judged by zxcvbn; None when it is good enough. `personal`: the user's name, e-mail,
    organisation, which make a password weaker when it contains them."""
    words = [word for text in personal if text for word in _words(text)]
    if zxcvbn((password or "")[:JUDGED_CHARACTERS], user_inputs=words)["score"] < MIN_PASSWORD_SCORE:
        return _("This password is too easy to guess (a common password, a name or a word with a few digits, a "
                 "simple pattern). Choose a longer one, for example three or four unrelated words.")
    return None


def _words(text: str) -> list[str]:
    text = text.lower()
    return [text, *(part for part in text.replace("@", " ").replace(".", " ").split() if len(part) > 2)]


@cache
def _dummy_hash() -> str:
    """A hash of nothing anybody types, made the way real ones are: checked when the e-mail has no account, so that
    a wrong e-mail costs the same time as a wrong password."""
    return generate_password_hash("no account has this password", method="scrypt")


def password_matches(password_hash: str | None, password: str) -> bool:
    """Always runs one hash check, against the dummy hash when there is no account."""
    matches = check_password_hash(password_hash or _dummy_hash(), password or "")
    return matches and password_hash is not None


def change_password(user: User, password: str) -> None:
    """A new password: checked for strength, hashed, and every session of the user ended."""
    problem = password_problem(password, user.email, user.name)
    if problem:
        raise Refused(problem)
    user.set_password(password)
    end_sessions(user)


# --- sessions -------------------------------------------------------------------------------------------------------

def end_sessions(user: User) -> None:
    """Every session cookie issued to `user` so far, on any device, names nobody any more (User.get_id)."""
    user.session_version = (user.session_version or 0) + 1


def deactivate(user: User) -> None:
    user.active = False
    end_sessions(user)


def session_user(session_id: str) -> User | None:
    """The user a session's id names, if that session has not been ended (Flask-Login's user loader)."""
    user_id, _colon, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()):  # a bare id is a cookie from before session versions
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


# --- staff ----------------------------------------------------------------------------------------------------------

def create_staff_user(*, email: str, name: str, role: str, password: str, organisers=(),
                      programme_level: bool = False, language: str = "lv") -> User:
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Refused(_("An account with this e-mail already exists."))  # an admin's command, not a public form
    problem = password_problem(password, email, name)
    if problem:
        raise Refused(problem)
    user = User(email=email, name=name, role=role, language=language, programme_level=programme_level)
    user.set_password(password)
    for organiser_name in organisers:
        organiser = db.session.scalar(select(Organiser).where(Organiser.name == organiser_name))
        if organiser is None:
            organiser = Organiser(name=organiser_name)
            db.session.add(organiser)
        user.organisers.append(organiser)
    db.session.add(user)
    db.session.flush()
    return user


# --- logging in -----------------------------------------------------------------------------------------------------

def delay_after(failures: int, free: int) -> timedelta | None:
    """How long the next attempt waits after `failures` failures, the first `free` of them without a wait."""
    if failures < free:
        return None
    return min(FIRST_DELAY * 2 ** min(failures - free, 20), MAX_DELAY)


def address_key(remote_addr: str) -> str:
    """The throttle's key for a client: the IPv4 address, or the IPv6 /64 (one subscriber's network: an IPv6 user
    has billions of addresses to rotate through)."""
    try:
        address = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return (remote_addr or "").strip()[:200] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class _Count:
    failures: int
    last_attempt_at: datetime | None  # the last attempt counted (each is a failure until its password was right)

    def current(self, now: datetime) -> int:
        """The failures that still count: all of them, unless no attempt was counted for FORGET_AFTER."""
        if self.last_attempt_at is None or now - self.last_attempt_at >= FORGET_AFTER:
            return 0
        return self.failures

    def wait(self, now: datetime, free: int) -> timedelta | None:
        """How much longer an attempt must wait now, or None."""
        delay = delay_after(self.current(now), free)
        if delay is None or now >= self.last_attempt_at + delay:
            return None
        return self.last_attempt_at + delay - now


def _rows(email: str, address: str) -> tuple[LoginThrottle, LoginThrottle]:
    """The address's and the account's rows, created if new, locked until the transaction ends (SQLite: BEGIN
    IMMEDIATE holds the database's write lock already). Always in this order, so two attempts never deadlock."""
    keys = [("address", address), ("account", email)]
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.session.get_bind().dialect.name]
    db.session.execute(insert(LoginThrottle).values([{"scope": scope, "key": key, "failures": 0}
                                                     for scope, key in keys]).on_conflict_do_nothing())
    rows = {}
    for scope, key in keys:  # one by one: the lock order is the order of this loop
        rows[scope] = db.session.scalars(
            select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
            .with_for_update().execution_options(populate_existing=True)).one()
    return rows["address"], rows["account"]


def _too_many(wait: timedelta) -> Refused:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return Refused(_("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes))


def _count_attempt(email: str, address: str, now: datetime) -> None:
    """Count this attempt as a failure before its password is checked, or refuse it (Refused, nothing written)."""
    address_row, account_row = _rows(email, address)
    by_address = _Count(address_row.failures, address_row.last_attempt_at)
    by_account = _Count(account_row.failures, account_row.last_attempt_at)
    waits = [by_address.wait(now, ADDRESS_FREE_FAILURES)]
    if by_address.current(now) > 0:  # an address with no failure on record passes the account's limit
        waits.append(by_account.wait(now, ACCOUNT_FREE_FAILURES))
    waits = [wait for wait in waits if wait is not None]
    if waits:
        db.session.commit()  # the rows may be new: keep them, and let go of the locks
        raise _too_many(max(waits))
    for row, count in ((address_row, by_address), (account_row, by_account)):
        row.failures = count.current(now) + 1
        row.last_attempt_at = now
    db.session.commit()


def _give_back(email: str, address: str) -> None:
    """The password was right: the attempt was not a failure after all."""
    for row in _rows(email, address):
        row.failures = max(0, row.failures - 1)


def authenticate(email: str, password: str, remote_addr: str = "") -> User:
    """The user, or Refused with one message for every failure (never which part was wrong). Commits."""
    user = _password_checked(email, password, remote_addr)
    if user is None:
        raise Refused(_("Wrong e-mail or password."))
    return user


def change_own_password(user: User, current: str, new: str, remote_addr: str = "") -> User:
    """A logged-in user's new password, given the current one (counted by the login throttle like a login, so that
    a session left open is no way to guess the password). Every session of the user ends; the caller logs the
    current one in again. Returns the user; Refused when the new password is weak (nothing counted) or the current
    one is wrong. Commits the throttle's count."""
    problem = password_problem(new, user.email, user.name)
    if problem:
        raise Refused(problem)
    user_id = user.id
    if _password_checked(user.email, current, remote_addr) is None:
        raise Refused(_("The current password is not right."))
    user = db.session.get(User, user_id)
    change_password(user, new)
    return user


def _password_checked(email: str, password: str, remote_addr: str) -> User | None:
    """The user whose e-mail and password these are (active, confirmed), else None; Refused when the throttle makes
    the attempt wait. Commits: the attempt is counted before the slow hash, and given back when it was right."""
    email = (email or "").strip().lower()
    address = address_key(remote_addr)
    if db.session().in_transaction():
        db.session.commit()
    _count_attempt(email, address, clock.now())
    # read into plain values and end the transaction, so that no lock is held during the slow hash
    found = db.session.execute(select(User.id, User.password_hash, User.active, User.unconfirmed_since)
                               .where(User.email == email)).first()
    db.session.commit()
    user_id, password_hash, active, unconfirmed_since = found or (None, None, False, None)
    if password_matches(password_hash, password) and active and unconfirmed_since is None:
        _give_back(email, address)
        user = db.session.get(User, user_id)
        db.session.commit()
        return user
    db.session.add(LoginAttempt(email=email, remote_addr=(remote_addr or "")[:64], at=clock.now()))
    db.session.commit()
    return None


def password_confirmed(user: User, password: str, remote_addr: str = "") -> bool:
    """A logged-in user's password, asked again before a change to their sign-in (two-factor sign-in off, new
    recovery codes): counted by the throttle like a login. Refused when the throttle makes it wait. Commits."""
    return _password_checked(user.email, password, remote_addr) is not None


def second_step_checked(user_id: int, check, remote_addr: str = ""):
    """The sign-in's second step (app/services/two_factor.py), counted by the throttle under the account's e-mail
    like a password: `check(user)` answers a true value when the code was right (and writes what it used up).
    Refused when the throttle makes it wait. Commits; returns what `check` answered."""
    user = db.session.get(User, user_id)
    email, address = user.email, address_key(remote_addr)
    if db.session().in_transaction():
        db.session.commit()
    _count_attempt(email, address, clock.now())
    user = db.session.get(User, user_id)
    answer = check(user)
    if answer:
        _give_back(email, address)
    else:
        db.session.add(LoginAttempt(email=email, remote_addr=(remote_addr or "")[:64], at=clock.now()))
    db.session.commit()
    return answer


def forget_old_counts(now: datetime | None = None) -> int:
    """Delete throttle rows with no attempt for FORGET_AFTER (they count as zero anyway). Returns how many."""
    now = now or clock.now()
    result = db.session.execute(delete(LoginThrottle).where(or_(
        LoginThrottle.last_attempt_at.is_(None), LoginThrottle.last_attempt_at < now - FORGET_AFTER)))
    return result.rowcount
