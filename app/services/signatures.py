"""What an uploaded signed agreement is: is its signature intact, and is what was signed the agreement we issued?

Two forms, the ones Latvian e-signature tools (eParaksts) make:
- a signed PDF (PAdES), checked with pyHanko: every embedded signature's digest and signature value (`intact`), the
  part of the file it covers and what was changed after it (pyHanko's coverage and modification level). The signed
  document is the issued one when the file is the issued PDF's bytes, unchanged, followed by incremental updates
  (the way a signature is added), and the first signature covers a whole revision after them.
- an ASiC-E container (`.edoc`, XAdES): the ZIP's structure (`mimetype` first, stored, naming
  application/vnd.etsi.asic-e+zip; a META-INF/signatures*.xml), each signature's references (the files' digests, the
  signed properties) and its signature value checked with signxml against the certificate the signature carries.
  The signed document is the issued one when a signed file's SHA-256 equals the issued PDF's.

Not checked, and said so in every result: the certificate's trust (the EU trust list and the CA's revocation
services are not reachable offline), so a signature made with any certificate, a self-made one included, is
reported intact with an untrusted signer. Nor XAdES's signed-properties content (the signing certificate's digest,
the signing time's policy): only that they are covered by the signature."""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

from flask_babel import lazy_gettext as _l

ASICE_MIMETYPE = "application/vnd.etsi.asic-e+zip"

# What a check found: a code stored with the row, and the message shown for it (translated where it is shown).
FINDINGS = {
    "intact": _l("The signature is intact: the signed content has not changed since it was signed."),
    "broken": _l("The signature is broken: the file was changed after it was signed, or the signature does not "
                 "match its content."),
    "no_signature": _l("The file holds no electronic signature."),
    "unreadable": _l("The file cannot be read as a signed document."),
    "issued": _l("The signed document is the agreement issued to you."),
    "not_issued": _l("The signed document is not the issued agreement."),
    "changed_after": _l("The file was changed after it was signed beyond adding signatures."),
    "container_bad": _l("The container is not a valid ASiC-E (.edoc) container."),
    "trust_not_checked": _l("The trust list is not reachable offline: the certificate's trust was not checked."),
}


@dataclass
class Check:
    """The outcome of one check; `findings` are (code, detail) in the order found."""

    format: str
    intact: bool = False
    issued_document: bool = False
    signer_subject: str | None = None
    signed_at: datetime | None = None
    findings: list = field(default_factory=list)

    def found(self, code: str, detail: str = "") -> None:
        self.findings.append([code, detail])

    @property
    def counts_as_acceptance(self) -> bool:
        return self.intact and self.issued_document


def check(data: bytes, file_format: str, issued_pdf: bytes) -> Check:
    """Check a signed copy (`file_format` as recognised from its content: pdf or edoc) against the issued PDF."""
    result = check_pdf(data, issued_pdf) if file_format == "pdf" else check_asice(data, issued_pdf)
    result.found("trust_not_checked")
    return result


# --- PAdES -------------------------------------------------------------------------------------------------------

def check_pdf(data: bytes, issued_pdf: bytes) -> Check:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    result = Check("pdf")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, OSError) as error:
        result.found("unreadable", str(error)[:200])
        return result
    if not signatures:
        result.found("no_signature")
        return result
    # no trust roots and no fetching: the certificate's trust is not judged here (the module's docstring)
    context = ValidationContext(trust_roots=[], allow_fetching=False)
    statuses = []
    for signature in signatures:
        try:
            statuses.append(validate_pdf_signature(signature, context))
        except Exception as error:  # pyHanko raises several kinds for a mangled signature: each is "broken"
            result.found("broken", str(error)[:200])
            return result
    subjects = [s.signing_cert.subject.human_friendly for s in statuses if s.signing_cert is not None]
    result.signer_subject = "; ".join(subjects)[:500] or None
    result.signed_at = statuses[0].signer_reported_dt
    result.intact = all(s.intact for s in statuses)
    result.found("intact" if result.intact else "broken")
    if not result.intact:
        return result
    first, status = signatures[0], statuses[0]
    covers_revision = status.coverage in (SignatureCoverageLevel.ENTIRE_REVISION, SignatureCoverageLevel.ENTIRE_FILE)
    later = [s.modification_level for s in statuses if s.modification_level is not None]
    if any(level > ModificationLevel.FORM_FILLING for level in later):
        result.found("changed_after", ", ".join(level.name for level in later))
        return result
    _start, len1, start2, len2 = (int(n) for n in first.byte_range)
    prefix = data[:len(issued_pdf)] == issued_pdf  # the issued bytes, unchanged, then incremental updates
    result.issued_document = covers_revision and prefix and start2 + len2 > len(issued_pdf)
    result.found("issued" if result.issued_document else "not_issued")
    return result


# --- ASiC-E (XAdES) ----------------------------------------------------------------------------------------------

def check_asice(data: bytes, issued_pdf: bytes) -> Check:
    result = Check("edoc")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
        files = {e.filename: archive.read(e) for e in entries if not e.is_dir()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, ValueError, OSError):
        result.found("unreadable")
        return result
    problem = _container_problem(entries, files)
    if problem:
        result.found("container_bad", problem)
        return result
    signature_files = sorted(n for n in files if n.startswith("META-INF/") and "signatures" in n.lower()
                             and n.lower().endswith(".xml"))
    data_files = {n: b for n, b in files.items() if n != "mimetype" and not n.startswith("META-INF/")}
    issued_sha256 = hashlib.sha256(issued_pdf).hexdigest()
    signed_names: set[str] = set()
    subjects = []
    intact = True
    for name in signature_files:
        verified = _verify_xades(files[name], data_files)
        if verified is None:
            intact = False
            continue
        names, subject = verified
        signed_names |= names
        subjects.append(subject)
    result.signer_subject = "; ".join(subjects)[:500] or None
    result.intact = intact and bool(subjects)
    result.found("intact" if result.intact else "broken")
    result.issued_document = any(hashlib.sha256(data_files[n]).hexdigest() == issued_sha256 for n in signed_names)
    result.found("issued" if result.issued_document else "not_issued")
    return result


def _container_problem(entries, files) -> str | None:
    if not entries or entries[0].filename != "mimetype":
        return "the first entry is not 'mimetype'"
    if entries[0].compress_type != zipfile.ZIP_STORED:
        return "'mimetype' is compressed"
    if files["mimetype"].strip() != ASICE_MIMETYPE.encode():
        return "'mimetype' does not name " + ASICE_MIMETYPE
    if not any(n.startswith("META-INF/") and "signatures" in n.lower() and n.lower().endswith(".xml") for n in files):
        return "no META-INF/signatures*.xml"
    if not any(n != "mimetype" and not n.startswith("META-INF/") for n in files):
        return "no signed file"
    return None


def _verify_xades(xml: bytes, data_files: dict[str, bytes]) -> tuple[set[str], str] | None:
    """Verify one signatures*.xml: every reference's digest and the signature value, with the certificate the
    signature carries (not its trust). Returns the names of the container's files it signs and the signer's subject,
    or None when anything does not verify."""
    from cryptography import x509
    from lxml import etree
    from signxml import XMLVerifier
    from signxml.exceptions import InvalidInput, InvalidSignature

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return None
    ns = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
    signatures = root.xpath("//ds:Signature", namespaces=ns) if root.tag != "{%s}Signature" % ns["ds"] else [root]
    if len(signatures) != 1:
        return None
    signature = signatures[0]
    certificates = signature.xpath("ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()", namespaces=ns)
    uris = [unquote(uri) for uri in signature.xpath("ds:SignedInfo/ds:Reference/@URI", namespaces=ns)]
    if not certificates or not uris:
        return None
    pem = "-----BEGIN CERTIFICATE-----\n" + "".join(certificates[0].split()) + "\n-----END CERTIFICATE-----\n"
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
    from signxml.verifier import SignatureConfiguration

    config = SignatureConfiguration(expect_references=len(uris))
    try:
        XMLVerifier().verify(etree.tostring(root), x509_cert=certificate, validate_schema=False,
                             uri_resolver=lambda uri: data_files.get(unquote(uri)), expect_config=config)
    except (InvalidInput, InvalidSignature, ValueError, TypeError):
        return None
    except Exception:  # signxml raises further kinds for a mangled signature (lxml's, cryptography's): not intact
        return None
    return {u for u in uris if u in data_files}, certificate.subject.rfc4514_string()
