"""Users, the NGOs they belong to, and the organisers that run calls."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

ROLES = ("admin", "evaluator", "applicant", "auditor")
FIRST_SESSION_VERSION = 1
LEGAL_FORMS = ("biedriba", "nodibinajums", "youth_organisation")

user_organisers = Table(
    "user_organisers",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("organiser_id", ForeignKey("organisers.id"), primary_key=True),
)


class Organiser(db.Model):
    """A municipality or an agency that announces calls."""

    __tablename__ = "organisers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    registration_number: Mapped[str | None] = mapped_column(String(11))
    # The debtor of the SEPA credit-transfer files (app/services/sepa.py): the account the grants are paid from and
    # the organiser's structured postal address (pain.001.001.09 asks at least the town and the country).
    bank_iban: Mapped[str | None] = mapped_column(String(34))
    bank_bic: Mapped[str | None] = mapped_column(String(11))
    address_street: Mapped[str | None] = mapped_column(String(70))
    address_building: Mapped[str | None] = mapped_column(String(16))
    address_postcode: Mapped[str | None] = mapped_column(String(16))
    address_town: Mapped[str | None] = mapped_column(String(35))
    address_country: Mapped[str] = mapped_column(String(2), default="LV", server_default="LV")


class Organisation(db.Model):
    """An NGO (biedrība, nodibinājums, youth organisation) that applies."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    registration_number: Mapped[str] = mapped_column(String(11), unique=True)
    legal_form: Mapped[str] = mapped_column(String(30))
    iban: Mapped[str] = mapped_column(String(34))
    email: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    municipality: Mapped[str | None] = mapped_column(String(40), index=True)  # a key of app/municipalities.py
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    members: Mapped[list[User]] = relationship(back_populates="organisation")

    __table_args__ = (CheckConstraint(f"legal_form in {LEGAL_FORMS}", name="legal_form"),)

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="lv")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    programme_level: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's user id (get_id): logout, a new password and deactivation add one, so that every
    # cookie issued before, on any device, no longer names a user (the loader compares it).
    session_version: Mapped[int] = mapped_column(Integer, default=FIRST_SESSION_VERSION,
                                                 server_default=str(FIRST_SESSION_VERSION))
    # Set while a self-registered member has not yet opened the link sent to the e-mail (no login until then);
    # None for everybody else.
    unconfirmed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Do not e-mail me new calls": an announced call is mailed to every confirmed, active member who has not ticked it.
    announcements_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the kinds of message (app/services/notifications.py) the user wants in the system only, not by e-mail, space
    # separated: text, not JSON, because PostgreSQL's json has no equality and users are selected DISTINCT
    email_off_text: Mapped[str | None] = mapped_column("email_off_kinds", Text)
    # Two-factor sign-in (app/services/two_factor.py): the TOTP secret, encrypted (Fernet, a key derived from
    # SECRET_KEY); when it was turned on (None: off); the last time step whose code was accepted (no replay).
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")
    organisers: Mapped[list[Organiser]] = relationship(secondary=user_organisers)

    @property
    def email_off_kinds(self) -> list[str]:
        return sorted((self.email_off_text or "").split())

    @email_off_kinds.setter
    def email_off_kinds(self, kinds) -> None:
        self.email_off_text = " ".join(sorted(set(kinds))) or None

    __table_args__ = (
        CheckConstraint(f"role in {ROLES}", name="role"),
        CheckConstraint("role != 'applicant' or organisation_id is not null", name="applicant_has_organisation"),
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's alternative id: the session names the user and the session version it was issued for."""
        return session_id(self.id, self.session_version)

    @property
    def organiser_ids(self) -> set[int]:
        return {o.id for o in self.organisers}


def session_id(user_id: int, version: int) -> str:
    return f"{user_id}:{version}"


class LoginAttempt(db.Model):
    """Failed logins, a log of who tried which e-mail from where (the throttle counts in LoginThrottle)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


THROTTLE_SCOPES = ("address", "account")


class LoginThrottle(db.Model):
    """The login throttle's count for one client address or one account (the e-mail as typed, whether or not an
    account has it). Its row is locked while an attempt is counted (app/services/accounts.py)."""

    __tablename__ = "login_throttles"
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        CheckConstraint(f"scope in {THROTTLE_SCOPES}", name="scope"),
        CheckConstraint("failures >= 0", name="failures"),
    )


CONFLICT_SOURCES = ("evaluator", "applicant", "admin")


class ConflictOfInterest(db.Model):
    """A recorded conflict between an evaluator and an organisation: declared by the evaluator (a recusal), named by
    the NGO (`named_by`, one of its members) or recorded by an admin (a voided review). `note` is the reason. The
    conflicts the system knows without a row (the same organisation, e-mail domains, affiliations) are derived in
    app/services/conflicts.py."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # evaluator, applicant, admin
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint(f"source in {CONFLICT_SOURCES}", name="source"),
        CheckConstraint("(source = 'applicant') = (named_by_id is not null)", name="named_by_applicant"),
    )


class Invitation(db.Model):
    """A member's invitation of a colleague to join the organisation, by e-mail. Its link is signed (the row's id and
    the address, app/services/invitations.py); it works once, until `expires_at`: `accepted_at` is set with the member
    it made (`accepted_by_id`)."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="lv")
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])

    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("(accepted_at is null) = (accepted_by_id is null)", name="accepted_by_whom"),
    )


class PasswordResetRequest(db.Model):
    """Each time somebody asked for a password reset link, for which e-mail (as typed, whether or not an account has
    it) and from where: a few links an hour per address at most (app/services/password_reset.py)."""

    __tablename__ = "password_reset_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RecoveryCode(db.Model):
    """A one-time code that signs its user in instead of the authenticator's code (two-factor sign-in): only its
    SHA-256 is kept (the codes are random, 50 bits each: no slow hash needed), and a code is deleted when used."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
