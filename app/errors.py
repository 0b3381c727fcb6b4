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


# --- the database out of reach ------------------------------------------------------------------------------------

RETRY_AFTER_SECONDS = 15


def database_unavailable(error):
    """The error handler for a database that cannot be reached (a restart, a failover, a dropped connection):
    503 with Retry-After and a page in Latvian and English, never a traceback. The session is rolled back first,
    so nothing the request had begun is committed; the next request gets a fresh connection (the engine's
    pool_pre_ping, config.py). Any other database error is not ours: it goes on to the 500 page.

    The page is rendered without the database: no base.html (its menu asks who is logged in, which needs the
    users table), without the context processors (Flask-Login's would load the user), and in both languages,
    since the user's choice may be stored in the database too."""
    import logging

    from flask import current_app, g
    from flask_babel import force_locale
    from flask_babel import gettext as _
    from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

    from app.extensions import db

    if not (isinstance(error, (OperationalError, InterfaceError)) or getattr(error, "connection_invalidated", False)):
        raise error
    logging.getLogger("app").warning("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
    user = g.get("_login_user")  # loaded by Flask-Login: kept as it is (a rollback would expire it), so that the
    if user is not None and user in db.session:  # request's log lines still say whose it was, without the database
        db.session.expunge(user)
    for undo in (db.session.rollback, db.session.remove):  # remove: the next request starts from the pool
        try:
            undo()
        except SQLAlchemyError:  # the server is gone, so is the transaction: nothing of it was committed
            pass
    texts = {}
    for language in ("lv", "en"):
        with force_locale(language):
            texts[language] = (_("The service is briefly unavailable"),
                               _("Your last action may not have been completed. Please wait a moment and try again."))
    page = current_app.jinja_env.get_template("errors/503.html").render(texts=texts)
    return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
