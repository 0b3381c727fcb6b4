"""The accessibility statement (Cabinet Regulation No. 445 of 2020, which names LVS EN 301 549: WCAG 2.1 AA on the
web): what it says that changes only when someone reviews it. Change `REVIEWED` when the statement is checked
again against the site (and `PREPARED` only for a new statement)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app

PREPARED = date(2026, 12, 1)
REVIEWED = date(2026, 12, 1)


@dataclass(frozen=True)
class Statement:
    prepared: date
    reviewed: date
    contact_email: str
    site: str


def statement() -> Statement:
    config = current_app.config
    return Statement(PREPARED, REVIEWED, config["ACCESSIBILITY_CONTACT_EMAIL"], config["PUBLIC_BASE_URL"])
