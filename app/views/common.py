"""What every blueprint's views share: the current language, refusals as flash messages, role gates."""
from __future__ import annotations

import re

from flask import abort, flash
from flask_babel import get_locale
from flask_login import current_user

from app.extensions import db, login_manager
from app.services.workflow import refused_message


def current_lang() -> str:
    return str(get_locale() or "lv")


# A path on this site: one slash, then no slash or backslash (browsers read "\\" as "/"), and no control
# characters anywhere (browsers drop tabs and newlines, so "/\t/evil.example" is "//evil.example"; a newline
# cannot go into a header at all).
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x1f\x7f]*")


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (a `next` to go back to after login or a language switch), else None."""
    return target if target and _LOCAL_PATH.fullmatch(target) else None


def flash_refusal(error: Exception) -> None:
    """Undo the whole attempt and tell the user why, in their language."""
    db.session.rollback()
    flash(refused_message(error), "error")


def attempt(action, done: str) -> bool:
    """Run one service call and commit; on a refusal roll everything back and say why. True when it was done."""
    from app.errors import NotAllowed, Refused
    from workflows.engine import NotAvailable

    try:
        action()
        db.session.commit()
    except (Refused, NotAvailable, NotAllowed) as error:
        flash_refusal(error)
        return False
    flash(done, "success")
    return True


def only_role(role: str):
    """A before_request hook: anonymous users go to the login page, other roles get 403."""
    def gate():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != role:
            abort(403)
        return None
    return gate
