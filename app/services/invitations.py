"""A member invites a colleague by e-mail to join the organisation and work on its drafts.

The invitation is a row (who invited whom, to which organisation, until when) and a link signed over its id and
address (itsdangerous, salt "invitation"). The link works once, for INVITATION_VALID: whoever opens it chooses a
name and password and becomes a member, logged in. A user belongs to one organisation, so an address that has an
account already is refused at once, with a message that does not say where the account is; a visitor logged in as
somebody else is told whose invitation it is and who they are.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired
from sqlalchemy import select

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import Invitation, Organisation, User
from app.services import accounts, audit, jobs
from app.services.links import public_link, serializer

log = logging.getLogger("app")

INVITATION_VALID = timedelta(days=7)
SALT = "invitation"


@dataclass
class Invitee:
    """The recipient of a message to an address that has no account yet (its message belongs to no user)."""

    email: str
    name: str
    language: str
    id: None = None


def _lock_organisation(organisation_id: int) -> Organisation:
    """The organisation's row, locked: its audit chain grows under its lock."""
    return db.session.scalars(select(Organisation).where(Organisation.id == organisation_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def invite(member: User, *, email: str, name: str, language: str = "lv") -> Invitation:
    """Invite `email` to `member`'s organisation and send the link. Refused (nothing written) when the address has
    an account already."""
    email, name = (email or "").strip().lower(), (name or "").strip()
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and existing.organisation_id == member.organisation_id:
        raise Refused(_("%(email)s is a member of your organisation already.", email=email))
    if existing is not None:
        raise Refused(_("This address cannot be invited. Ask your colleague for another e-mail address."))
    organisation = _lock_organisation(member.organisation_id)
    now = clock.now()
    invitation = Invitation(organisation_id=organisation.id, email=email, name=name, language=language,
                            invited_by_id=member.id, created_at=now, expires_at=now + INVITATION_VALID)
    db.session.add(invitation)
    db.session.flush()
    link = public_link("auth.invitation", token=serializer(SALT).dumps({"invitation": invitation.id,
                                                                        "email": email}))
    jobs.notify(Invitee(email=email, name=name, language=language), "invitation",
                _l("%(member)s invites you to %(organisation)s in Pumpurs Grants"), member=member.name,
                organisation=organisation.name, link=link, days=INVITATION_VALID.days)
    audit.record("organisation", organisation.id, "invite", "registered", "registered", member.id,
                 data={"invitation": invitation.id})
    if not current_app.config.get("MAIL_SERVER"):
        log.warning("e-mail is off: the invitation of %s is accepted at %s", email, link)
    return invitation


def pending(organisation: Organisation) -> list[Invitation]:
    """The organisation's invitations that can still be accepted, the newest first."""
    return list(db.session.scalars(select(Invitation).where(
        Invitation.organisation_id == organisation.id, Invitation.accepted_at.is_(None),
        Invitation.expires_at > clock.now()).order_by(Invitation.id.desc())))


def _load(token: str, *, lock: bool) -> Invitation:
    expired = _("This invitation has expired. Ask your colleague to invite you again.")
    try:
        data = serializer(SALT).loads(token, max_age=int(INVITATION_VALID.total_seconds()))
    except SignatureExpired:
        raise Refused(expired) from None
    except BadData:
        raise Refused(_("This invitation link is not valid. Check that the whole link was copied.")) from None
    invitation_id = data.get("invitation") if isinstance(data, dict) else None
    query = select(Invitation).where(Invitation.id == invitation_id)
    if lock:  # two posts of one link at once: the second waits, then finds it accepted
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.session.scalars(query).first() if invitation_id else None
    if invitation is None or invitation.email != data.get("email"):
        raise Refused(_("This invitation link is not valid. Check that the whole link was copied."))
    if invitation.accepted_at is not None:
        raise Refused(_("This invitation has been used already. Log in with the account it made."))
    if clock.now() >= invitation.expires_at:
        raise Refused(expired)
    return invitation


def _refuse_visitor(invitation: Invitation, visitor) -> None:
    if getattr(visitor, "is_authenticated", False) and visitor.email != invitation.email:
        raise Refused(_("This invitation is for %(invited)s, but you are logged in as %(you)s. Log out, then open "
                        "the link again.", invited=invitation.email, you=visitor.email))
    existing = db.session.scalar(select(User).where(User.email == invitation.email))
    if existing is not None and existing.organisation_id == invitation.organisation_id:
        raise Refused(_("You are a member of this organisation already. Log in."))
    if existing is not None:
        raise Refused(_("This invitation cannot be used: its address has an account already. Ask your colleague to "
                        "invite another address."))


def opened(token: str, visitor) -> Invitation:
    """The invitation a link names, while `visitor` may accept it; Refused with the reason otherwise."""
    invitation = _load(token, lock=False)
    _refuse_visitor(invitation, visitor)
    return invitation


def accept(token: str, visitor, *, name: str, password: str) -> User:
    """The new member the invitation makes, with the name and password the invitee chose (the caller logs them
    in). Refused, nothing written, when the link does not work, the visitor may not use it, or the password is
    weak."""
    invitation = _load(token, lock=True)
    _refuse_visitor(invitation, visitor)
    organisation = _lock_organisation(invitation.organisation_id)
    name = (name or "").strip() or invitation.name
    problem = accounts.password_problem(password, invitation.email, name, organisation.name)
    if problem:
        raise Refused(problem)
    user = User(email=invitation.email, name=name, role="applicant", organisation_id=organisation.id,
                language=invitation.language)  # the link came to this address: it is confirmed
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    invitation.accepted_at, invitation.accepted_by_id = clock.now(), user.id
    audit.record("organisation", organisation.id, "add_member", "registered", "registered", user.id,
                 data={"invitation": invitation.id, "user": user.id, "invited_by": invitation.invited_by_id})
    return user
