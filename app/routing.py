"""What a request may carry before a view reads it: the limits the database sets and no page of ours passes.

An id past the database's integer range, a NUL in an address or a JSON body is not an error of ours, only a request
no page sends; without these checks each of them reached the database or WTForms and came back as a 500. They get
the answer a page would give instead: 404 for an address that names nothing, 400 for a body no form sends.
"""
from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

# Every id column is an `integer`: PostgreSQL's ends at 2**31 - 1 (an id past it is an error there, not a miss),
# and SQLite's at 2**63 - 1, so the smaller bound serves both.
MAX_ID = 2**31 - 1
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
READING = frozenset({"GET", "HEAD", "OPTIONS"})


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits up to MAX_ID, or the rule does not match (404). Werkzeug's own takes
    any size, and any Unicode digit ("٣" for 3)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002  werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def refuse_what_no_page_sends():
    """A before_request hook, ahead of every view."""
    if "\x00" in request.path:  # PostgreSQL refuses NUL in text, even to compare; no address of ours has one
        abort(404)
    # Every route that takes a body takes a form. Flask-WTF would also read a JSON body into a form, whose values
    # (numbers, lists, objects) the fields cannot take; an empty type is a body nothing reads.
    if request.method not in READING and request.mimetype and request.mimetype not in FORM_TYPES:
        abort(400)


def register(app: Flask) -> None:
    """Before the blueprints: a URL rule takes its converter when it is added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_what_no_page_sends)
