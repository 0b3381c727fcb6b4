"""The NGO's forms: the application draft, clarification answers, appeals, offer decisions and reports."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, HiddenField, MultipleFileField, SelectChoice, SelectField, StringField,
                     TextAreaField)
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
    files = MultipleFileField(_l("Files with the answer (optional)"))  # kept as an addendum, with their hashes


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
    declaration = BooleanField(_l("I declare that the report is true and complete, that the participant lists are "
                                  "kept as the agreement requires and that the spending is supported by documents."))

    def validate_participants_at_risk(self, field):
        if field.data is not None and self.participants.data is not None and field.data > self.participants.data:
            raise ValidationError(_l("This cannot be more than the participants reached."))

    def content(self) -> dict:
        return {"activities": (self.activities.data or "").strip(), "participants": self.participants.data,
                "participants_at_risk": self.participants_at_risk.data, "results": (self.results.data or "").strip(),
                "declaration": bool(self.declaration.data)}

    def fill(self, report) -> None:
        c = report.content or {}
        self.activities.data = c.get("activities") or ""
        self.participants.data = c.get("participants")
        self.participants_at_risk.data = c.get("participants_at_risk")
        self.results.data = c.get("results") or ""
        self.declaration.data = bool(c.get("declaration"))
        self.version.data = str(report.version)


# --- the guided form: one form per step (app/services/steps.py lists the steps) --------------------------------

INDICATOR_ROWS = 5
MAX_INDICATOR_TARGET = 10_000_000


class StepForm(VersionedForm):
    """A step of the guided form: the version and the step's fingerprint as loaded, the signature that lets a post
    after the session expired be kept, and the token of a kept draft being shown again."""

    fingerprint = HiddenField()
    keep = HiddenField()
    kept = HiddenField()
    stored_fields: tuple[str, ...] = ()

    def values(self) -> dict:
        """The step's fields in the shape the application stores (steps.save)."""
        text = (lambda f: (f.data or "").strip())
        return {name: text(getattr(self, name)) for name in self.stored_fields}

    def fill(self, application) -> None:
        c = application.content or {}
        for name in self.stored_fields:
            getattr(self, name).data = c.get(name) or ""
        self.version.data = str(application.version)


class ProjectStepForm(StepForm):
    title = StringField(_l("Project title"), validators=[Optional(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=3000)], render_kw={"rows": 4})
    objectives = TextAreaField(_l("Objectives"), validators=[Optional(), Length(max=3000)], render_kw={"rows": 4})
    start_on = DateField(_l("Project start"), validators=[Optional()])
    end_on = DateField(_l("Project end"), validators=[Optional()])
    amount = StringField(_l("Amount requested (EUR)"), validators=[Optional(), Length(max=20), _money])

    def validate_end_on(self, field):
        if field.data and self.start_on.data and field.data < self.start_on.data:
            raise ValidationError(_l("The end cannot be before the start."))

    def values(self) -> dict:
        day = (lambda f: f.data.isoformat() if f.data else None)
        return {"title": (self.title.data or "").strip(), "summary": (self.summary.data or "").strip(),
                "objectives": (self.objectives.data or "").strip(), "start_on": day(self.start_on),
                "end_on": day(self.end_on), "amount_cents": getattr(self.amount, "cents", None)}

    def fill(self, application) -> None:
        from app.formatting import money

        c = application.content or {}
        self.title.data = application.title
        self.summary.data, self.objectives.data = c.get("summary") or "", c.get("objectives") or ""
        self.start_on.data, self.end_on.data = application.project_period.start, application.project_period.end
        self.amount.data = money(application.amount_cents).replace("\u00a0€", "") if application.amount_cents else ""
        self.version.data = str(application.version)


class ActivitiesStepForm(StepForm):
    activities = TextAreaField(_l("Activities"), validators=[Optional(), Length(max=6000)], render_kw={"rows": 8})
    stored_fields = ("activities",)


class ParticipantsStepForm(StepForm):
    target_group = TextAreaField(_l("Target group"), validators=[Optional(), Length(max=3000)],
                                 render_kw={"rows": 4})
    participants = IntegerField(_l("Planned participants"),
                                validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    participants_at_risk = IntegerField(_l("Of whom at risk of early school leaving"),
                                        validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])

    def validate_participants_at_risk(self, field):
        if field.data is not None and self.participants.data is not None and field.data > self.participants.data:
            raise ValidationError(_l("This cannot be more than the planned participants."))

    def values(self) -> dict:
        return {"target_group": (self.target_group.data or "").strip(), "participants": self.participants.data,
                "participants_at_risk": self.participants_at_risk.data}

    def fill(self, application) -> None:
        c = application.content or {}
        self.target_group.data = c.get("target_group") or ""
        self.participants.data, self.participants_at_risk.data = c.get("participants"), c.get("participants_at_risk")
        self.version.data = str(application.version)


class ResultsStepForm(StepForm):
    """The expected results in words, and up to INDICATOR_ROWS indicators: a name and a target number each."""

    results = TextAreaField(_l("Expected results"), validators=[Optional(), Length(max=6000)], render_kw={"rows": 6})

    def indicator_rows(self) -> list[tuple]:
        return [(getattr(self, f"indicator_{i}_name"), getattr(self, f"indicator_{i}_target"))
                for i in range(1, INDICATOR_ROWS + 1)]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name, target in self.indicator_rows():
            named = bool((name.data or "").strip())
            if named and target.data is None and not target.errors:
                target.errors = [*target.errors, _l("Give the indicator a target number.")]
                valid = False
            if not named and target.data is not None:
                name.errors = [*name.errors, _l("Name the indicator this target is for.")]
                valid = False
        return valid

    def values(self) -> dict:
        return {"results": (self.results.data or "").strip(),
                "indicators": [{"name": name.data.strip(), "target": target.data}
                               for name, target in self.indicator_rows() if (name.data or "").strip()]}

    def fill(self, application) -> None:
        c = application.content or {}
        self.results.data = c.get("results") or ""
        indicators = [i for i in (c.get("indicators") or []) if isinstance(i, dict)]
        for (name, target), indicator in zip(self.indicator_rows(), indicators):
            name.data, target.data = indicator.get("name") or "", indicator.get("target")
        self.version.data = str(application.version)


for _i in range(1, INDICATOR_ROWS + 1):
    setattr(ResultsStepForm, f"indicator_{_i}_name",
            StringField(_l("Indicator"), validators=[Optional(), Length(max=200)]))
    setattr(ResultsStepForm, f"indicator_{_i}_target",
            IntegerField(_l("Target"), validators=[Optional(), NumberRange(min=0, max=MAX_INDICATOR_TARGET)]))


class QuestionsStepForm(StepForm):
    """The step of the call's own questions: its fields are the questions' (app/services/questions.py)."""


class DeclarationsStepForm(StepForm):
    declared_conflicts = TextAreaField(_l("Conflicts of interest to declare"),
                                       validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    declarations = BooleanField(_l("We confirm the declarations above."))

    def values(self) -> dict:
        return {"declared_conflicts": (self.declared_conflicts.data or "").strip(),
                "declarations_accepted": bool(self.declarations.data)}

    def fill(self, application) -> None:
        self.declared_conflicts.data = (application.content or {}).get("declared_conflicts") or ""
        self.declarations.data = application.declarations_accepted
        self.version.data = str(application.version)


STEP_FORMS = {"project": ProjectStepForm, "activities": ActivitiesStepForm, "participants": ParticipantsStepForm,
              "results": ResultsStepForm, "questions": QuestionsStepForm, "declarations": DeclarationsStepForm}


class BudgetForm(VersionedForm):
    """The budget table: the version loaded, and the rows as parallel lists (category, description, quantity,
    unit_cost), so that a row added in the browser is four more inputs of the same names. app/services/budget.py
    reads and checks the rows."""

    ROW_FIELDS = ("category", "description", "quantity", "unit_cost")
    MAX_ROWS = 200

    def rows(self):
        """The rows as typed; 400 for what no page of ours sends (files, lists of different lengths, too many)."""
        from flask import abort, request

        from app.services.budget import LineInput

        columns = [request.form.getlist(name) for name in self.ROW_FIELDS]
        if (len({len(c) for c in columns}) > 1 or len(columns[0]) > self.MAX_ROWS
                or not all(isinstance(v, str) for c in columns for v in c)):
            abort(400)
        return [LineInput(*values) for values in zip(*columns)]
