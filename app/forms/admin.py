"""The administrator's action forms: workflow triggers with their extra fields, checks, clarifications,
assignments, payments."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.forms import FlaskForm
from app.forms.calls import Given, LocalDateField, MoneyField, RigaDateTimeField


class TriggerForm(FlaskForm):
    """A button press: the trigger and, where the step needs one, the reason."""

    trigger = StringField(validators=[DataRequired(), Length(max=40)])
    note = TextAreaField(_l("Reason"), validators=[Length(max=5000)])


class CallTriggerForm(TriggerForm):
    confirm_short_period = BooleanField(_l("Announce although applications are open for fewer than 30 days"))
    closes_at = RigaDateTimeField(_l("New deadline (Riga time, exclusive)"), validators=[Optional()])


class ApplicationTriggerForm(TriggerForm):
    recovery = MoneyField(_l("Amount to recover, EUR (blank: everything paid)"))


class PaymentTriggerForm(TriggerForm):
    bank_reference = StringField(_l("Bank reference"), validators=[Length(max=60)])
    paid_on = LocalDateField(_l("Paid on"), validators=[Optional()])


class ShortfallForm(FlaskForm):
    """A shortfall in a report's results, recorded as a demand to repay (app/services/reporting.py)."""

    how = RadioField(_l("How"), choices=[SelectChoice("reduction", _l("Reduce the tranches still to pay")),
                                         SelectChoice("recovery", _l("Demand repayment of what was paid"))],
                     validators=[DataRequired(_l("Choose how the shortfall is recorded: a reduction or a recovery."))])
    amount = MoneyField(_l("Amount (EUR)"), validators=[Given(_l("Enter the amount."))])
    reason = TextAreaField(_l("Reason: which results fell short"),
                           validators=[DataRequired(_l("Give the reason for the shortfall.")), Length(max=5000)])

    @property
    def cents(self) -> int:
        return self.amount.data


class ClarificationForm(FlaskForm):
    question = TextAreaField(_l("Question to the applicant"), validators=[DataRequired(), Length(max=5000)])
    answer_due_at = RigaDateTimeField(_l("Answer by (Riga time)"), validators=[Given(_l("Enter the answer deadline."))])


class AssignForm(FlaskForm):
    evaluator_id = SelectField(_l("Evaluator"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args, evaluators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluator_id.choices = [SelectChoice(str(e.id), f"{e.name} ({e.email})") for e in evaluators]


class ChecksForm(FlaskForm):
    """One yes/no and a reason per check of the call; build it with `checks_form`."""

    def results(self, checks) -> dict[int, tuple[bool, str]]:
        return {check.id: (self[f"passed_{check.id}"].data == "yes", self[f"reason_{check.id}"].data or "")
                for check in checks}


def checks_form(checks, **kwargs) -> ChecksForm:
    class Form(ChecksForm):
        pass

    for check in checks:
        setattr(Form, f"passed_{check.id}", RadioField(
            check.code, choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
            validators=[InputRequired(message=_l("Answer yes or no."))]))
        setattr(Form, f"reason_{check.id}", TextAreaField(_l("Reason"), validators=[Length(max=2000)]))
    return Form(**kwargs)
