from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from app.forms import FlaskForm
from app.services.public import normalised_sha256


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _normal_sha256(value):
    return normalised_sha256(value) if isinstance(value, str) else value


class ReceiptCheckForm(FlaskForm):
    """Sent by GET (a check can be linked, bookmarked, pasted into a letter), so without a CSRF token: it changes
    nothing."""

    class Meta:
        csrf = False

    number = StringField(_l("Application number"), filters=[_strip], validators=[DataRequired(), Length(max=30)])
    sha256 = StringField(_l("SHA-256 checksum of the submitted content"), filters=[_normal_sha256],
                         validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$", message=_l(
                             "A SHA-256 checksum has 64 characters: the digits 0–9 and the letters a–f."))])
