"""An NGO registering itself on the public form, without the form telling anybody which e-mails have an account.

The form's answer is the same whether or not the e-mail has an account ("if this address can be used, we have sent
a link to it"), and so is the time it takes (a password is hashed either way). A new e-mail gets the NGO and its
member, unconfirmed, and a link that confirms them and logs the member in; an e-mail that has an account already
gets a note saying so, and nothing is created. What is wrong with the form itself (the registration number, the
IBAN, a weak password, an organisation registered already) is said at once: none of it is about the e-mail.

A registration not confirmed within CONFIRM_WITHIN gives up its e-mail and registration number to the next one that
asks for them, so that nobody can hold an address or an NGO's number by registering it and never confirming.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData
from sqlalchemy import delete, or_, select
from werkzeug.security import generate_password_hash

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import Job, Message, Organisation, User
from app.services import jobs, organisations
from app.services.links import public_link as _link
from app.services.links import serializer

log = logging.getLogger("app")

CONFIRM_WITHIN = timedelta(hours=48)


def _serializer():
    return serializer("confirm-registration")


def request_registration(*, organisation_name: str, registration_number: str, legal_form: str, iban: str,
                         organisation_email: str, address: str, user_name: str, email: str, password: str,
                         language: str = "lv", municipality: str = "") -> None:
    """Register an NGO from the public form, or tell the e-mail's owner that they have an account already; the
    caller answers the same either way. Raises Refused (nothing written) when the form itself is wrong."""
    email = email.strip().lower()
    _forget_unconfirmed(email, organisations.clean_registration_number(registration_number))
    problems = organisations.registration_problems(
        organisation_name=organisation_name, registration_number=registration_number, iban=iban,
        user_name=user_name, email=email, password=password) + organisations.municipality_problems(municipality)
    if problems:
        raise Refused(" ".join(problems))
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        generate_password_hash(password, method="scrypt")  # the time a new member's password takes
        jobs.notify(existing, "registration_exists", _l("Pumpurs Grants: you have an account already"),
                    login=_link("auth.login"))
        return
    user = organisations.register(
        organisation_name=organisation_name, registration_number=registration_number, legal_form=legal_form,
        iban=iban, organisation_email=organisation_email, address=address, user_name=user_name, email=email,
        password=password, language=language, confirmed=False, municipality=municipality)
    link = _link("auth.confirm", token=_serializer().dumps({"user": user.id, "email": user.email}))
    jobs.notify(user, "registration_confirm", _l("Confirm the registration of %(organisation)s"),
                organisation=user.organisation.name, link=link, hours=int(CONFIRM_WITHIN.total_seconds() // 3600))
    if not current_app.config.get("MAIL_SERVER"):
        # e-mail is off (make run): whoever runs the server finishes the registration with the link from its log
        log.warning("e-mail is off: the registration of %s is confirmed at %s", email, link)


def confirm(token: str) -> User:
    """The member of the registration the link names, now confirmed (the caller logs them in). Refused when the
    link is forged, expired or used already."""
    try:
        data = _serializer().loads(token, max_age=int(CONFIRM_WITHIN.total_seconds()))
    except BadData:
        raise Refused(_("This link is not valid or has expired. Register again.")) from None
    user = db.session.scalars(select(User).where(User.id == data.get("user")).with_for_update()
                              .execution_options(populate_existing=True)).first()
    if user is None or user.email != data.get("email"):
        raise Refused(_("This link is not valid or has expired. Register again."))
    if user.unconfirmed_since is None:
        raise Refused(_("This registration is confirmed already. Log in."))
    user.unconfirmed_since = None
    organisations.record_registration(user)
    return user


def _forget_unconfirmed(email: str, registration_number: str) -> None:
    """Delete the registrations with this e-mail or registration number that nobody confirmed in time (they have no
    audit events, applications or sessions: only their messages)."""
    stale = db.session.scalars(
        select(User).join(Organisation, User.organisation_id == Organisation.id)
        .where(User.unconfirmed_since < clock.now() - CONFIRM_WITHIN,
               or_(User.email == email, Organisation.registration_number == registration_number))).all()
    for user in stale:
        organisation = user.organisation
        messages = select(Message.id).where(Message.user_id == user.id)
        db.session.execute(delete(Job).where(Job.kind == "email", Job.target_id.in_(messages)))
        db.session.execute(delete(Message).where(Message.user_id == user.id))
        db.session.delete(user)
        db.session.flush()
        if not db.session.scalar(select(User.id).where(User.organisation_id == organisation.id).limit(1)):
            db.session.delete(organisation)
    db.session.flush()
