"""The forms of two-factor sign-in (app/views/two_factor.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.forms import FlaskForm


class CodeForm(FlaskForm):
    """The 6-digit code of the authenticator app (or, at sign-in, a recovery code)."""
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True})


class PasswordAgainForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
