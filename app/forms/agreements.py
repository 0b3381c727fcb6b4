"""The agreement's forms: accept online, upload a signed copy (applicant), amend (admin)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FileField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.forms import FlaskForm
from app.services.agreements import MAX_REASON


class AcceptAgreementForm(FlaskForm):
    sha256 = StringField(validators=[Optional(), Regexp(r"^[0-9a-f]{64}$")])  # the version the page showed
    confirm = BooleanField(_l("I have read the agreement and accept it on behalf of the organisation."))


class SignedAgreementForm(FlaskForm):
    file = FileField(_l("The agreement signed with an electronic signature (.pdf or .edoc)"))


class AmendAgreementForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=MAX_REASON)])

    def validate_reason(self, field):
        if len(field.raw_data or ()) > 1:  # our page sends one reason; two are a request no page of ours makes
            raise ValidationError(_l("Give the reason for the amendment."))
