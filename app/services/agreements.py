"""Grant agreements: issued with the offer, amended with a reason, accepted online or by a signed copy (issue 8).

Each version is a Document queued in the transaction that issues it and rendered once by the worker (or at the
first download), never inside an acceptance: an NGO accepts a fixed PDF, and the acceptance records who, when and
the SHA-256 of that PDF. The old versions are kept; the application's `agreement_document_id` names the current
one."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock, formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Document, User
from app.models.agreements import AgreementSignature, AgreementVersion
from app.services import audit, jobs, signatures
from app.services.registry import guard
from app.services.workflow import fire, lock

AMENDABLE = ("funded", "accepted", "contracted")  # an offer made, not yet ended
SIGNED_FORMATS = ("pdf", "edoc")
MAX_REASON = 2000


def context(application: Application, *, version: int = 1, reason: str | None = None,
            now: datetime | None = None) -> dict:
    """What the agreement says, frozen when it is issued: the parties with their registration numbers and IBAN,
    the amount, the dates, the tranches in words and the reports due (templates/pdf/agreement.html)."""
    from app.services.decisions import current_decision

    call, organisation = application.call, application.organisation
    decision = current_decision(application)
    amount = decision.amount_cents if decision is not None else application.amount_cents
    tranches = list(call.payment_tranches or [])  # in words by templates/pdf/_macros.html `tranche_on`
    return {"number": application.number, "title": application.title, "organisation": organisation.name,
            "registration_number": organisation.registration_number, "iban": organisation.iban,
            "organiser": call.organiser.name, "amount": formatting.money(amount, "lv"),
            "implementation": f"{formatting.day(call.implementation_start, 'lv')}–"
                              f"{formatting.day(call.implementation_end, 'lv')}",
            "tranches": tranches, "reports": call.report_schedule, "call_title": call.title_lv,
            "issued_on": formatting.day(now or clock.now(), "lv"),
            "offer_deadline": formatting.day(application.offer_deadline, "lv") if application.offer_deadline else "",
            "version": version, "reason": reason or ""}


def _queue(application: Application, version: int, reason: str | None, actor: User | None) -> AgreementVersion:
    suffix = "" if version == 1 else f"-v{version}"
    document = jobs.queue_document("agreement", "application", application.id, "lv",
                                   context(application, version=version, reason=reason),
                                   f"{application.number}-ligums{suffix}.pdf")
    application.agreement_document_id = document.id
    row = AgreementVersion(application_id=application.id, version=version, document_id=document.id, reason=reason,
                           issued_by=actor.id if actor else None, issued_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def issue_with_offer(application: Application) -> AgreementVersion:
    """The first version, queued with the offer (the `open_offer` effect); the worker renders it."""
    return _queue(application, 1, None, None)


def versions(application: Application) -> list[AgreementVersion]:
    return db.session.scalars(select(AgreementVersion).where(AgreementVersion.application_id == application.id)
                              .order_by(AgreementVersion.version)).all()


def current_version(application: Application) -> AgreementVersion | None:
    return db.session.scalars(select(AgreementVersion).where(AgreementVersion.application_id == application.id)
                              .order_by(AgreementVersion.version.desc()).limit(1)).first()


def signatures_of(application: Application) -> list[AgreementSignature]:
    return db.session.scalars(select(AgreementSignature).where(AgreementSignature.application_id == application.id)
                              .order_by(AgreementSignature.id)).all()


def issued_document(version: AgreementVersion) -> Document:
    return db.session.get(Document, version.document_id)


def awaiting_acceptance(application: Application) -> AgreementVersion | None:
    """The version the NGO still has to accept (the offer's, or an amendment's), if any."""
    version = current_version(application)
    if version is None or version.accepted_at is not None or application.status not in AMENDABLE:
        return None
    return version


def _fixed(application: Application, shown_sha256: str | None) -> tuple[AgreementVersion, Document] | str:
    """The version to accept and its rendered document, or why it cannot be accepted now."""
    version = current_version(application)
    if version is None:
        return _("There is no agreement to accept.")
    document = issued_document(version)
    if document.sha256 is None:
        return _("The agreement is still being prepared. Try again in a minute.")
    if shown_sha256 and shown_sha256 != document.sha256:
        return _("The agreement has changed since you opened the page. Read the current version and accept it.")
    return version, document


@guard("agreement_issued")
def _agreement_issued(ctx):
    found = _fixed(ctx.entity, ctx.data.get("sha256"))
    return found if isinstance(found, str) else None


@guard("current_agreement_accepted")
def _current_agreement_accepted(ctx):
    version = current_version(ctx.entity)
    if version is not None and version.accepted_at is None:
        return _("The organisation has not accepted version %(version)s of the agreement yet.",
                 version=version.version)
    return None


def record_acceptance(application: Application, actor: User, now: datetime, via: str) -> AgreementVersion:
    """Stamp the current version accepted: who, when, how and the SHA-256 of the rendered PDF (never rendered
    here: `agreement_issued` refused the move if it was not yet)."""
    found = _fixed(application, None)
    if isinstance(found, str):
        raise Refused(found)
    version, document = found
    version.accepted_by, version.accepted_at = actor.id, now
    version.accepted_sha256, version.accepted_via = document.sha256, via
    if application.accepted_at is None:  # the offer's acceptance (accept_offer); an amendment's is on its version
        application.accepted_by, application.accepted_at = actor.id, now
    application.agreement_sha256 = document.sha256
    return version


def accept(application: Application, actor: User, shown_sha256: str | None, *, via: str = "online",
           signature: AgreementSignature | None = None) -> AgreementVersion:
    """Accept the agreement awaiting acceptance: the offer (through `accept_offer`, with its deadline) or an
    amendment (audited as `accept_amendment`)."""
    lock(application)
    if application.status == "funded":
        extra = {"signature": signature.id} if signature is not None else {}
        fire(application, "accept_offer", actor, sha256=shown_sha256 or "", via=via, **extra)
        return current_version(application)
    version = awaiting_acceptance(application)
    if version is None:
        raise Refused(_("There is no agreement awaiting your acceptance."))
    found = _fixed(application, shown_sha256)
    if isinstance(found, str):
        raise Refused(found)
    record_acceptance(application, actor, clock.now(), via)
    audit.record("application", application.id, "accept_amendment", application.status, application.status,
                 actor.id, data={"version": version.version, "sha256": version.accepted_sha256, "via": via,
                                 "signature": signature.id if signature else None})
    return version


def amend(application: Application, actor: User, reason: str) -> AgreementVersion:
    """Issue a new version of the agreement with a reason; the NGO accepts it again. The old versions are kept."""
    lock(application)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason for the amendment."))
    if len(reason) > MAX_REASON:
        raise Refused(_("The reason may be at most %(n)s characters.", n=MAX_REASON))
    if application.status not in AMENDABLE:
        raise Refused(_("The agreement of this application cannot be amended now."))
    number = (db.session.scalar(select(func.max(AgreementVersion.version))
                                .where(AgreementVersion.application_id == application.id)) or 0) + 1
    version = _queue(application, number, reason, actor)
    audit.record("application", application.id, "amend_agreement", application.status, application.status,
                 actor.id, note=reason, data={"version": number, "document": version.document_id})
    for member in application.organisation.members:
        jobs.notify(member, "agreement_amended", _l("Agreement amended: %(number)s"), entity_type="application",
                    entity_id=application.id, number=application.number, title=application.title, note=reason,
                    version=number)
    return version


def upload_signed(application: Application, actor: User, original_name: str, data: bytes) -> AgreementSignature:
    """Keep a signed copy of the agreement awaiting acceptance and what its check found; when the signature is
    intact and the signed document is the issued one, it counts as the acceptance."""
    from app.services.attachments import prepare

    lock(application)
    version = awaiting_acceptance(application)
    if version is None:
        raise Refused(_("There is no agreement awaiting your acceptance."))
    if application.status == "funded" and (application.offer_deadline is None
                                            or clock.now() >= application.offer_deadline):
        raise Refused(_("The offer's acceptance deadline has passed."))
    found = _fixed(application, None)
    if isinstance(found, str):
        raise Refused(found)
    _version, document = found
    prepared = prepare(original_name, data, SIGNED_FORMATS)
    result = signatures.check(data, prepared.format, document.content)
    row = AgreementSignature(application_id=application.id, version_id=version.id, uploaded_by=actor.id,
                             uploaded_at=clock.now(), original_name=prepared.name[:200], format=prepared.format,
                             size=len(data), sha256=prepared.sha256, content=data, intact=result.intact,
                             issued_document=result.issued_document, signer_subject=result.signer_subject,
                             signed_at=result.signed_at, trust_checked=False, findings=result.findings,
                             accepted=False)
    db.session.add(row)
    db.session.flush()
    audit.record("application", application.id, "upload_signed_agreement", application.status, application.status,
                 actor.id, data={"version": version.version, "sha256": row.sha256, "format": row.format,
                                 "intact": row.intact, "issued_document": row.issued_document,
                                 "signer": row.signer_subject or ""})
    if result.counts_as_acceptance:
        row.accepted = True
        accept(application, actor, document.sha256, via="signed", signature=row)
    return row


def summary(application: Application) -> dict | None:
    """What the application pages show of the agreement: every version (the current last), every signed copy
    uploaded with what its check found, and the version awaiting acceptance."""
    rows = versions(application)
    if not rows:
        return None
    documents = {d.id: d for d in db.session.scalars(select(Document).where(
        Document.id.in_([v.document_id for v in rows])))}
    uploaded = signatures_of(application)
    by_version = {v.id: v.version for v in rows}
    return {"versions": [{"row": v, "document": documents[v.document_id]} for v in rows],
            "current": rows[-1], "current_document": documents[rows[-1].document_id],
            "awaiting": awaiting_acceptance(application),
            "signatures": [{"row": s, "version": by_version.get(s.version_id), "messages": finding_messages(s)}
                           for s in uploaded]}


def finding_messages(row: AgreementSignature) -> list[str]:
    """What the check found, in the reader's language."""
    return [str(signatures.FINDINGS[code]) for code, _detail in row.findings if code in signatures.FINDINGS]
