"""The NGO's forms: the application draft, clarification answers, appeals, offer decisions and reports."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.formatting import parse_money
from app.forms import FlaskForm, IntegerField
from app.forms.calls import MAX_CENTS

MAX_PARTICIPANTS = 100_000

APPEAL_GROUNDS = (
    SelectChoice("procedural", _l("Procedure: the rules of the call were not followed")),
    SelectChoice("eligibility", _l("Eligibility: the application was wrongly found ineligible")),
    SelectChoice("factual_error", _l("Factual error: the decision rests on a wrong fact or score")),
)


def _money(form, field):
    """Euros as people type them ('4 600,00', '4600.00', '4600') → cents in `field.cents`."""
    field.cents = None
    if not (field.data or "").strip():
        return
    try:
        cents = parse_money(field.data)
    except (ValueError, ArithmeticError):
        raise ValidationError(_l("Enter the amount in euros, e.g. 4 600,00."))
    if cents > MAX_CENTS:  # the column is a 32-bit integer
        raise ValidationError(_l("The amount is too large."))
    field.cents = cents


class VersionedForm(FlaskForm):
    """The version the user loaded: a save on top of someone else's newer save is refused, not merged."""

    version = HiddenField()  # missing or not a number: validate_version says the form is out of date

    def validate_version(self, field):
        if not re.fullmatch(r"[0-9]{1,9}", field.data or ""):  # not str.isdigit: that takes "²", int() does not
            raise ValidationError(_l("The form is out of date. Reload the page."))

    @property
    def loaded_version(self) -> int:
        return int(self.version.data)


class ApplicationForm(VersionedForm):
    """Every field may stay empty in a draft; the checklist next to the form says what submission needs."""

    title = StringField(_l("Project title"), validators=[Optional(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=3000)], render_kw={"rows": 4})
    objectives = TextAreaField(_l("Objectives"), validators=[Optional(), Length(max=3000)], render_kw={"rows": 4})
    activities = TextAreaField(_l("Activities"), validators=[Optional(), Length(max=6000)], render_kw={"rows": 8})
    target_group = TextAreaField(_l("Target group"), validators=[Optional(), Length(max=3000)],
                                 render_kw={"rows": 4})
    participants = IntegerField(_l("Planned participants"),
                                validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    participants_at_risk = IntegerField(_l("Of whom at risk of early school leaving"),
                                        validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    start_on = DateField(_l("Project start"), validators=[Optional()])
    end_on = DateField(_l("Project end"), validators=[Optional()])
    declared_conflicts = TextAreaField(_l("Conflicts of interest to declare"),
                                       validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    amount = StringField(_l("Amount requested (EUR)"), validators=[Optional(), Length(max=20), _money])
    declarations = BooleanField(_l("We confirm the declarations above."))

    @property
    def amount_cents(self) -> int | None:
        """The amount typed, in cents; None when left empty (Optional() then skips the `_money` validator)."""
        return getattr(self.amount, "cents", None)

    def validate_end_on(self, field):
        if field.data and self.start_on.data and field.data < self.start_on.data:
            raise ValidationError(_l("The end cannot be before the start."))

    def validate_participants_at_risk(self, field):
        if field.data is not None and self.participants.data is not None and field.data > self.participants.data:
            raise ValidationError(_l("This cannot be more than the planned participants."))

    def content(self) -> dict:
        """The draft's content in the shape `applications.save_draft` stores."""
        text = (lambda f: (f.data or "").strip())
        day = (lambda f: f.data.isoformat() if f.data else None)
        return {"summary": text(self.summary), "objectives": text(self.objectives), "activities": text(self.activities),
                "target_group": text(self.target_group), "participants": self.participants.data,
                "participants_at_risk": self.participants_at_risk.data, "start_on": day(self.start_on),
                "end_on": day(self.end_on), "declared_conflicts": text(self.declared_conflicts)}

    def fill(self, application) -> None:
        """Load a stored draft into the form (GET)."""
        from app.formatting import money

        c = application.content or {}
        self.title.data = application.title
        for name in ("summary", "objectives", "activities", "target_group", "declared_conflicts"):
            getattr(self, name).data = c.get(name) or ""
        self.participants.data = c.get("participants")
        self.participants_at_risk.data = c.get("participants_at_risk")
        self.start_on.data, self.end_on.data = application.project_period.start, application.project_period.end
        self.amount.data = money(application.amount_cents).replace("\u00a0€", "") if application.amount_cents else ""
        self.declarations.data = application.declarations_accepted
        self.version.data = str(application.version)


class ClarificationForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"), validators=[DataRequired(message=_l("Write your answer.")),
                                                          Length(max=6000)], render_kw={"rows": 5})


class AppealForm(FlaskForm):
    grounds = SelectField(_l("Grounds"), choices=list(APPEAL_GROUNDS), validators=[DataRequired()])
    text = TextAreaField(_l("What is wrong, and why"), validators=[DataRequired(), Length(max=6000)],
                         render_kw={"rows": 5})
    confirm = BooleanField(_l("We appeal this decision."), validators=[DataRequired()])


class ActionForm(FlaskForm):
    """One workflow button: the trigger, a reason where it needs one, and the confirmation tick."""

    trigger = HiddenField(validators=[DataRequired()])
    note = TextAreaField(validators=[Optional(), Length(max=3000)])
    confirm = BooleanField()


class ReportForm(VersionedForm):
    activities = TextAreaField(_l("Activities held"), validators=[Optional(), Length(max=6000)],
                               render_kw={"rows": 6})
    participants = IntegerField(_l("Participants reached"),
                                validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    participants_at_risk = IntegerField(_l("Of whom at risk of early school leaving"),
                                        validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    results = TextAreaField(_l("Results against the plan"), validators=[Optional(), Length(max=6000)],
                            render_kw={"rows": 6})

    def validate_participants_at_risk(self, field):
        if field.data is not None and self.participants.data is not None and field.data > self.participants.data:
            raise ValidationError(_l("This cannot be more than the participants reached."))

    def content(self) -> dict:
        return {"activities": (self.activities.data or "").strip(), "participants": self.participants.data,
                "participants_at_risk": self.participants_at_risk.data, "results": (self.results.data or "").strip()}

    def fill(self, report) -> None:
        c = report.content or {}
        self.activities.data = c.get("activities") or ""
        self.participants.data = c.get("participants")
        self.participants_at_risk.data = c.get("participants_at_risk")
        self.results.data = c.get("results") or ""
        self.version.data = str(report.version)
