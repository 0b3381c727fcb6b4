"""What every blueprint's views share: the current language, refusals as flash messages, role gates."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import get_locale
from flask_login import current_user

from app.extensions import db, login_manager
from app.services.workflow import refused_message


def current_lang() -> str:
    return str(get_locale() or "lv")


def flash_refusal(error: Exception) -> None:
    """Undo the whole attempt and tell the user why, in their language."""
    db.session.rollback()
    flash(refused_message(error), "error")


def only_role(role: str):
    """A before_request hook: anonymous users go to the login page, other roles get 403."""
    def gate():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != role:
            abort(403)
        return None
    return gate
