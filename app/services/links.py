"""Links sent by e-mail: signed with the app's secret (itsdangerous), aged by the app's clock, on the public address.

Each kind of link has a salt of its own ("confirm-registration", "password-reset", "invitation"), so that a link made
for one purpose never opens another, whatever it carries.
"""
from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app import clock


class ClockSigner(TimestampSigner):
    """Links age by the app's clock (tests move it), not by time.time()."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt, signer=ClockSigner)


def public_link(endpoint: str, **values) -> str:
    """An address for an e-mail: on PUBLIC_BASE_URL, never on the Host a request happened to name."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)
