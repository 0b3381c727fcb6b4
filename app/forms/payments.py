"""The forms of the payments due and their bank batches (app/views/admin/payments.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import FlaskForm
from app.forms.calls import LocalDateField


class BankFileForm(FlaskForm):
    # which payments may go into a file is the service's to say (404 outside the admin's reach), not a choice list's
    payment_ids = SelectMultipleField(_l("Payments"), coerce=int, validate_choice=False)
    execution_date = LocalDateField(_l("Execution date"), validators=[Optional()])


class BatchPaidForm(FlaskForm):
    paid_on = LocalDateField(_l("Paid on"), validators=[Optional()])
    bank_reference = StringField(_l("Bank reference"), validators=[
        DataRequired(_l("Enter the bank reference of the transfer.")), Length(max=60)])


class DiscardBatchForm(FlaskForm):
    """A bank file the bank rejected: discarded with what the bank answered (app/services/payment_batches.py)."""

    reason = TextAreaField(_l("What the bank answered"), validators=[
        DataRequired(_l("Give the reason: what the bank answered.")), Length(max=2000)])
    confirm = BooleanField(_l("The bank rejected this file and paid nothing of it"), validators=[
        DataRequired(_l("Confirm that the bank rejected the file."))])

    def validate_confirm(self, field):
        if field.raw_data != ["y"]:  # the tick box sends "y", once; anything else is not a confirmation
            raise ValidationError(_l("Confirm that the bank rejected the file."))


class BankAccountForm(FlaskForm):
    """The account an organiser's grants are paid from and its address, as the SEPA file names the debtor."""

    iban = StringField(_l("Bank account (IBAN)"), validators=[DataRequired(), Length(max=40)])
    bic = StringField(_l("BIC (optional)"), validators=[Optional(), Length(max=11)])
    street = StringField(_l("Street"), validators=[Optional(), Length(max=70)])
    building = StringField(_l("Building"), validators=[Optional(), Length(max=16)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=16)])
    town = StringField(_l("Town"), validators=[DataRequired(), Length(max=35)])
    country = StringField(_l("Country (two letters)"), default="LV", validators=[DataRequired(), Length(max=2)])
