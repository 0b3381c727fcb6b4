"""The SEPA credit-transfer file a municipality uploads to its bank: ISO 20022 pain.001.001.09, the version the
Baltic banks require from November 2026, with structured postal addresses (at least the town and the country).

Written by sepaxml (its `SepaTransfer` supports pain.001.001.09 and validates every file it writes against the
message's XSD, which it ships: `XSD_PATH`). We set only what the library would otherwise take from the machine: the
message id (ours, recorded with the batch) and the creation time (from `app.clock`, in Riga time with its offset).
Names, remittance texts and addresses are transliterated to the SEPA basic Latin character set (ā → a), which
every bank accepts; the library does the names and the texts itself.

No Flask, no database: the caller (app/services/payment_batches.py) hands plain values in and stores the bytes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources

from sepaxml import SepaTransfer
from text_unidecode import unidecode

from app import clock

SCHEMA = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
XSD_PATH = resources.files("sepaxml") / "schemas" / f"{SCHEMA}.xsd"


@dataclass(frozen=True)
class Address:
    """A structured postal address (PostalAddress24): the town and the country are required by the banks."""

    town: str
    country: str = "LV"
    street: str | None = None
    building: str | None = None
    postcode: str | None = None
    lines: tuple[str, ...] = ()  # a free-text part the structured fields do not hold (a "hybrid" address)

    def as_sepaxml(self) -> dict:
        values = {"street_name": (self.street, 70), "building_number": (self.building, 16),
                  "postcode": (self.postcode, 16), "town": (self.town, 35), "country": (self.country, 2)}
        address = {key: _latin(value)[:limit] for key, (value, limit) in values.items() if value}
        address["lines"] = [_latin(line)[:70] for line in self.lines[:2] if line]
        return address


@dataclass(frozen=True)
class Party:
    name: str
    iban: str
    address: Address
    bic: str | None = None


@dataclass(frozen=True)
class Transfer:
    creditor: Party
    amount_cents: int
    end_to_end_id: str  # max 35 characters, unique within the file
    remittance: str  # unstructured remittance information, max 140 characters


@dataclass
class CreditTransferFile:
    message_id: str
    created_at: dt.datetime
    execution_date: dt.date
    debtor: Party
    transfers: list[Transfer] = field(default_factory=list)


def _latin(text: str) -> str:
    return unidecode(" ".join(str(text).split()))


class _Transfer(SepaTransfer):
    """sepaxml's writer with our message id and creation time in the group header."""

    def __init__(self, config, *, message_id: str, created_at: dt.datetime):
        self._our_message_id, self._created_at = message_id, created_at
        super().__init__(config, schema=SCHEMA)

    def _create_header(self):
        self.msg_id = self._our_message_id
        super()._create_header()
        header = self._xml.find("CstmrCdtTrfInitn/GrpHdr")
        header.find("CreDtTm").text = clock.to_riga(self._created_at).isoformat(timespec="seconds")


def render(document: CreditTransferFile) -> bytes:
    """The file's bytes (UTF-8 XML), validated against the pain.001.001.09 XSD by the library: an invalid value
    raises sepaxml.validation.ValidationError rather than reach the bank."""
    debtor = document.debtor
    config = {"name": debtor.name, "IBAN": debtor.iban.replace(" ", ""), "batch": True, "currency": "EUR",
              "address": debtor.address.as_sepaxml()}
    if debtor.bic:
        config["BIC"] = debtor.bic
    writer = _Transfer(config, message_id=document.message_id, created_at=document.created_at)
    for transfer in document.transfers:
        creditor = transfer.creditor
        payment = {"name": creditor.name, "IBAN": creditor.iban.replace(" ", ""), "amount": transfer.amount_cents,
                   "execution_date": document.execution_date, "endtoend_id": transfer.end_to_end_id,
                   "description": transfer.remittance, "address": creditor.address.as_sepaxml()}
        if creditor.bic:
            payment["BIC"] = creditor.bic
        writer.add_payment(payment)
    return writer.export(validate=True)

