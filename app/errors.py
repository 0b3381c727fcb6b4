"""Exceptions that carry a message meant for the user.

Every such error is a `UserError`: it has the `message` to show (in the user's language, or empty for the status's
usual words) and the HTTP `status` to answer with. Views turn them into a flash message (`app.views.common.attempt`)
or, uncaught, the error handlers in `app/__init__.py` answer with the status and the message. Nothing else catches
broadly.
"""
from __future__ import annotations

import functools

from workflows.engine import NotAvailable


class UserError(Exception):
    """A refusal the user should read: `message` says why, `status` is the HTTP answer."""

    status = 400

    def __init__(self, message: str = ""):
        Exception.__init__(self, message)  # not super(): NotPossible's next base is the engine's NotAvailable
        self.message = message


class Refused(UserError):
    """A guard or a rule said no; `message` says why."""

    status = 409


class NotAllowed(UserError):
    """The user may not do this (their role, or the object is outside their reach)."""

    status = 403


class NotFound(UserError):
    status = 404


class NotPossible(Refused, NotAvailable):
    """The engine's NotAvailable, surfaced as a user's error: the trigger does not leave the current state (409).

    `workflows/` imports nothing from the app, so the engine raises its own NotAvailable; `fire` (through
    `surfaced`) turns it into this one, which is still a NotAvailable for code that asks the engine's question."""

    def __init__(self, workflow: str, trigger: str, state: str):
        from flask_babel import gettext as _

        NotAvailable.__init__(self, workflow, trigger, state)
        self.message = _("This step is not possible in the current state.")


def surfaced(function):
    """Decorate `fire`: the engine's NotAvailable leaves it as the user's error NotPossible."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NotPossible:
            raise
        except NotAvailable as error:
            raise NotPossible(error.workflow, error.trigger, error.state) from error
    return wrapper
