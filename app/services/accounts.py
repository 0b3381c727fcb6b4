"""Staff accounts (admins, evaluators, auditors) and the login rate limit."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import LoginAttempt, Organiser, User

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def create_staff_user(*, email: str, name: str, role: str, password: str, organisers=(),
                      programme_level: bool = False, language: str = "lv") -> User:
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Refused(_("An account with this e-mail already exists."))
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


def authenticate(email: str, password: str, remote_addr: str = "") -> User:
    """The user, or Refused with one message for every failure (never which part was wrong)."""
    email = (email or "").strip().lower()
    since = clock.now() - WINDOW
    failures = db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.email == email, LoginAttempt.at >= since))
    if failures >= MAX_FAILURES:
        raise Refused(_("Too many failed attempts. Try again in 15 minutes."))
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active or not user.check_password(password or ""):
        db.session.add(LoginAttempt(email=email, remote_addr=remote_addr, at=clock.now()))
        db.session.commit()
        raise Refused(_("Wrong e-mail or password."))
    return user
