"""A signed agreement uploaded by the NGO (issue 8): a signed PDF (PAdES, signed here with pyHanko) or an ASiC-E
container (XAdES, built here by hand with lxml and cryptography, independently of the code under test). The check
says whether the signature is intact and whether what was signed is the issued agreement; trust is reported as not
checked; only an intact signature of the issued PDF counts as the acceptance."""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, Document
from app.models.agreements import AgreementSignature
from app.services import agreements
from tests import factories
from tests.factories import admin_of, make_application, make_user, member_of, render_agreement

SIGNER_NAME = "Jānis Bērziņš"
TRUST = "The trust list is not reachable offline: the certificate's trust was not checked."


def login_as(client, user, lang="en"):
    factories.login_as(client, user)
    with client.session_transaction() as session:
        session["lang"] = lang


# --- a self-signed signer ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def signer_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
                      x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_NAME)])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                                crl_sign=False, encipher_only=False, decipher_only=False),
                                   critical=True)
                   .sign(key, hashes.SHA256()))
    return key, certificate


def pades(pdf: bytes, signer_keys) -> bytes:
    """`pdf` signed as a signing tool does: an incremental update holding the signature."""
    from asn1crypto import keys as asn1_keys, x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key, certificate = signer_keys
    asn1_cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    asn1_key = asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    signer = signers.SimpleSigner(signing_cert=asn1_cert, signing_key=asn1_key,
                                  cert_registry=SimpleCertificateStore.from_certs([asn1_cert]))
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)),
                           signers.PdfSignatureMetadata(field_name="Paraksts"), signer=signer)
    return out.getvalue()


DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def xades(files: dict[str, bytes], signer_keys, *, digest_of: dict[str, bytes] | None = None) -> bytes:
    """A signatures0.xml over `files` (their digests as of `digest_of`, if given): SignedInfo with one reference a
    file, canonicalised and signed with RSA-SHA256, the certificate in KeyInfo."""
    key, certificate = signer_keys
    digest_of = digest_of or files
    root = etree.Element("{http://uri.etsi.org/02918/v1.2.1#}XAdESSignatures",
                         nsmap={"asic": "http://uri.etsi.org/02918/v1.2.1#", "ds": DS})
    signature = etree.SubElement(root, f"{{{DS}}}Signature", Id="S0")
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod",
                     Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    for name in files:
        reference = etree.SubElement(signed_info, f"{{{DS}}}Reference", URI=name)
        etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
        etree.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(
            hashlib.sha256(digest_of[name]).digest()).decode()
    value = etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    key_info = etree.SubElement(signature, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(
        certificate.public_bytes(serialization.Encoding.DER)).decode()
    canonical = etree.tostring(signed_info, method="c14n")
    value.text = base64.b64encode(key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def asice(files: dict[str, bytes], signatures_xml: bytes | None, *, mimetype=b"application/vnd.etsi.asic-e+zip"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        for name, content in files.items():
            archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
        if signatures_xml is not None:
            archive.writestr("META-INF/signatures0.xml", signatures_xml, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --- the offer ---------------------------------------------------------------------------------------------------

@pytest.fixture
def offer(app):
    """A funded application whose agreement the worker rendered (a real WeasyPrint PDF): (application, PDF)."""
    funded = make_application(state="funded")
    issued = render_agreement(funded)
    db.session.commit()
    return funded, issued.content


def _other_pdf(funded) -> bytes:
    from app import documents

    context = dict(db.session.get(Document, funded.agreement_document_id).context, amount="99 999,00 €")
    return documents.render("agreement", context, "lv")


# --- PAdES -------------------------------------------------------------------------------------------------------

def test_the_issued_agreement_signed_is_intact_the_issued_one_and_counts_as_acceptance(offer, signer_keys):
    funded, issued = offer
    member = member_of(funded)
    row = agreements.upload_signed(funded, member, "ligums.pdf", pades(issued, signer_keys))
    db.session.commit()
    db.session.expire_all()
    assert (row.format, row.intact, row.issued_document, row.accepted, row.trust_checked) == (
        "pdf", True, True, True, False)
    assert SIGNER_NAME in row.signer_subject
    assert [code for code, _ in row.findings] == ["intact", "issued", "trust_not_checked"]
    assert funded.status == "accepted" and funded.accepted_by == member.id
    version = agreements.current_version(funded)
    assert (version.accepted_via, version.accepted_sha256) == ("signed", hashlib.sha256(issued).hexdigest())
    triggers = db.session.scalars(select(AuditEvent.trigger).where(AuditEvent.entity_type == "application",
                                                                   AuditEvent.entity_id == funded.id)
                                  .order_by(AuditEvent.id)).all()
    assert triggers[-2:] == ["upload_signed_agreement", "accept_offer"]


def test_a_signed_pdf_of_another_document_is_not_the_issued_agreement(offer, signer_keys):
    funded, _issued = offer
    row = agreements.upload_signed(funded, member_of(funded), "ligums.pdf", pades(_other_pdf(funded), signer_keys))
    db.session.commit()
    db.session.expire_all()
    assert (row.intact, row.issued_document, row.accepted) == (True, False, False)
    assert "not_issued" in [code for code, _ in row.findings]
    assert agreements.finding_messages(row)[1] == "Parakstītais dokuments nav izsniegtais līgums."
    assert funded.status == "funded" and funded.accepted_at is None


def test_a_signed_pdf_edited_after_signing_has_a_broken_signature(offer, signer_keys):
    funded, issued = offer
    signed = bytearray(pades(issued, signer_keys))
    at = signed.index(b"/Producer")  # inside the signed bytes (the issued PDF's information dictionary)
    signed[at + 1:at + 2] = b"Q"  # one letter changed, the length kept
    row = agreements.upload_signed(funded, member_of(funded), "ligums.pdf", bytes(signed))
    db.session.commit()
    db.session.expire_all()
    assert (row.intact, row.accepted) == (False, False)
    assert row.findings[0][0] == "broken"
    assert funded.status == "funded"


def test_an_unsigned_pdf_is_refused_as_acceptance(offer):
    funded, issued = offer
    row = agreements.upload_signed(funded, member_of(funded), "ligums.pdf", issued)
    db.session.commit()
    assert [code for code, _ in row.findings] == ["no_signature", "trust_not_checked"]
    assert not row.accepted and funded.status == "funded"


def test_a_file_that_is_neither_pdf_nor_edoc_is_refused_by_its_content(offer):
    funded, _issued = offer
    with pytest.raises(Refused, match="atļauta formāta"):
        agreements.upload_signed(funded, member_of(funded), "ligums.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    db.session.rollback()
    with pytest.raises(Refused, match="10 MB"):
        agreements.upload_signed(funded, member_of(funded), "ligums.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024))
    db.session.rollback()
    assert db.session.scalars(select(AgreementSignature)).all() == []


# --- ASiC-E ------------------------------------------------------------------------------------------------------

def test_an_edoc_of_the_issued_agreement_with_a_valid_xml_signature_counts(offer, signer_keys):
    funded, issued = offer
    files = {"ligums.pdf": issued}
    row = agreements.upload_signed(funded, member_of(funded), "ligums.edoc", asice(files, xades(files, signer_keys)))
    db.session.commit()
    db.session.expire_all()
    assert (row.format, row.intact, row.issued_document, row.accepted) == ("edoc", True, True, True)
    assert SIGNER_NAME in row.signer_subject
    assert funded.status == "accepted"


def test_an_edoc_whose_file_does_not_match_its_signed_digest_is_broken(offer, signer_keys):
    funded, issued = offer
    files = {"ligums.pdf": issued}
    tampered = xades(files, signer_keys, digest_of={"ligums.pdf": issued + b"\n"})  # signed some other bytes
    row = agreements.upload_signed(funded, member_of(funded), "ligums.edoc", asice(files, tampered))
    db.session.commit()
    assert (row.intact, row.accepted) == (False, False) and row.findings[0][0] == "broken"
    assert funded.status == "funded"


def test_an_edoc_of_another_document_is_not_the_issued_agreement(offer, signer_keys):
    funded, _issued = offer
    files = {"ligums.pdf": b"%PDF-1.7\n% a different agreement\n%%EOF\n"}
    row = agreements.upload_signed(funded, member_of(funded), "ligums.edoc", asice(files, xades(files, signer_keys)))
    db.session.commit()
    assert (row.intact, row.issued_document, row.accepted) == (True, False, False)
    assert funded.status == "funded"


def test_an_edoc_without_signatures_is_not_a_valid_container(offer):
    funded, issued = offer
    row = agreements.upload_signed(funded, member_of(funded), "ligums.edoc", asice({"ligums.pdf": issued}, None))
    db.session.commit()
    assert row.findings[0] == ["container_bad", "no META-INF/signatures*.xml"]
    assert not row.accepted and funded.status == "funded"


# --- the pages and who may use them ------------------------------------------------------------------------------

def test_the_pages_explain_the_check_and_the_admin_sees_it(app, client, offer, signer_keys):
    funded, issued = offer
    member, admin = member_of(funded), admin_of(funded.call)
    login_as(client, member)
    response = client.post(f"/apply/applications/{funded.id}/agreement/signed",
                           data={"file": (io.BytesIO(pades(_other_pdf(funded), signer_keys)), "ligums.pdf")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = " ".join(response.get_data(as_text=True).split())
    assert "The signed copy does not count as acceptance." in page
    assert "The signed document is not the issued agreement." in page and TRUST.replace("'", "&#39;") in page
    login_as(client, member, "lv")
    page = " ".join(client.get(f"/apply/applications/{funded.id}/view").get_data(as_text=True).split())
    assert "Parakstītais dokuments nav izsniegtais līgums." in page and "nav uzskatīts par pieņemšanu" in page

    login_as(client, admin)
    page = " ".join(client.get(f"/admin/applications/{funded.id}").get_data(as_text=True).split())
    (row,) = db.session.scalars(select(AgreementSignature)).all()
    assert "agreement-signatures" in page and SIGNER_NAME in page
    download = client.get(f"/admin/agreement-signatures/{row.id}")
    assert download.status_code == 200 and download.data == row.content


def test_a_member_of_another_organisation_cannot_upload_or_download(app, client, offer, signer_keys):
    funded, issued = offer
    row = agreements.upload_signed(funded, member_of(funded), "ligums.pdf", issued)
    db.session.commit()
    stranger = make_user("applicant")
    db.session.commit()
    login_as(client, stranger)
    response = client.post(f"/apply/applications/{funded.id}/agreement/signed",
                           data={"file": (io.BytesIO(pades(issued, signer_keys)), "ligums.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 404
    assert client.get(f"/admin/agreement-signatures/{row.id}").status_code in (403, 404)
    assert len(db.session.scalars(select(AgreementSignature)).all()) == 1
    db.session.expire_all()
    assert funded.status == "funded"
