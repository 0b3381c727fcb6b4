"""The call's settings, its criteria and its checks, as the programme administrator types them.

Fields here turn what people type into what the models store: euros into cents, points into half points, a Riga
wall-clock time into UTC, "80 sign, 20 final_report_approved" into tranches. Each says clearly what was wrong.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)

from app.clock import RIGA, to_riga
from app.extensions import db
from app.formatting import current_lang, parse_money
from app.forms import FlaskForm, IntegerField
from app.models import Call

MAX_CENTS = 2_000_000_000  # 20 million euros: far above any call, well inside a 32-bit integer column
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%Y."]
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y. %H:%M")
TRANCHE_EVENTS = {"sign": _l("on signing"), "final_report_approved": _l("after the final report is approved")}
AUTOMATIC_CHECKS = {"on_time": _l("Submitted on time"), "registration_number": _l("Valid registration number"),
                    "amount": _l("Amount within the call's rules"), "dates": _l("Form complete, dates within the call")}


class MoneyField(StringField):
    """Euros as typed ("4 600,00", "4600.00", "4600") → integer cents in `data`; blank → None."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            cents = parse_money(text)
        except (ValueError, InvalidOperation):
            raise ValueError(_l("Enter an amount in euros, for example 4600,00.")) from None
        if cents > MAX_CENTS:
            raise ValueError(_l("The amount is too large."))
        self.data = cents

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        euros, cents = divmod(self.data, 100)
        return f"{euros}{',' if current_lang() == 'lv' else '.'}{cents:02d}"


def parse_points(text: str) -> int | None:
    """Points as typed ("30", "3,5") → integer half points (3,5 → 7); blank → None. ValueError says why."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        doubled = Decimal(text) * 2
    except InvalidOperation:
        raise ValueError(_l("Enter points as a number, for example 30 or 3,5.")) from None
    if not doubled.is_finite() or doubled != doubled.to_integral_value() or doubled < 0:
        raise ValueError(_l("Points go in steps of 0,5 and are not negative."))
    if doubled > 10_000:
        raise ValueError(_l("That is too many points."))
    return int(doubled)


class PointsField(StringField):
    """Points as typed → integer half points in `data`; blank → None."""

    def process_formdata(self, valuelist):
        self.data = None
        self.data = parse_points(valuelist[0] if valuelist else "")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        whole, half = divmod(self.data, 2)
        return f"{whole}{',' if current_lang() == 'lv' else '.'}5" if half else str(whole)


class RigaDateTimeField(StringField):
    """A wall-clock date and time in Europe/Riga → an aware UTC datetime in `data`; blank → None.

    Rendered as `datetime-local`; also accepts 05.04.2022 00:00 typed by hand."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {})["type"] = "datetime-local"
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        text = " ".join((valuelist[0] if valuelist else "").split())
        self.data = None
        if not text:
            return
        for pattern in DATETIME_FORMATS:
            try:
                local = datetime.strptime(text, pattern)
            except ValueError:
                continue
            if not 1990 <= local.year <= 2200:
                raise ValueError(_l("Enter a date between 1990 and 2200."))
            self.data = local.replace(tzinfo=RIGA).astimezone(timezone.utc)
            return
        raise ValueError(_l("Enter a date and time, for example 05.04.2022 00:00."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return to_riga(self.data).strftime("%Y-%m-%dT%H:%M") if self.data else ""


class LocalDateField(DateField):
    """A calendar date: the browser's date picker, or 27.11.2026. typed by hand."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=DATE_FORMATS, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata([" ".join((valuelist[0] if valuelist else "").split())] if valuelist else valuelist)
        if self.data is not None and not 1990 <= self.data.year <= 2200:
            self.data = None
            raise ValueError(_l("Enter a date between 1990 and 2200."))


class TieBreakField(StringField):
    """"2.2, 2.4.3, submitted_at" → ["2.2", "2.4.3", "submitted_at"]; blank → ["submitted_at"]."""

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        keys = [k for k in re.split(r"[,;\s]+", text.strip()) if k]
        self.data = keys or ["submitted_at"]
        bad = [k for k in keys if not re.fullmatch(r"[\w.]{1,20}", k)]
        if bad:
            raise ValueError(_l("Tie-break keys are criterion codes or submitted_at, separated by commas."))
        if len(set(keys)) != len(keys):
            raise ValueError(_l("A tie-break key is listed twice."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(self.data or [])


class TranchesField(StringField):
    """"80 sign, 20 final_report_approved" → [{"percent": 80, "on": "sign"}, ...]; blank → []."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = []
        if not text:
            return
        tranches = []
        for part in (p.strip() for p in re.split(r"[,;\n]+", text)):
            if not part:
                continue
            found = re.fullmatch(r"(\d{1,3})\s*%?\s+([a-z_]+)", part)
            if not found or found.group(2) not in TRANCHE_EVENTS or int(found.group(1)) <= 0:
                raise ValueError(_l("Write each tranche as a percentage and an event (sign or "
                                    "final_report_approved), for example: 80 sign, 20 final_report_approved."))
            tranches.append({"percent": int(found.group(1)), "on": found.group(2)})
        if sum(t["percent"] for t in tranches) != 100:
            raise ValueError(_l("The tranches must add up to 100 %."))
        self.data = tranches

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(f"{t['percent']} {t['on']}" for t in self.data or [])


class Given:
    """Required, for fields that parse what was typed: `data` must have come out of it (blank or only spaces
    does not count); a parse error already says what is wrong, so nothing is added to it."""

    def __init__(self, message):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field):
        if field.data is None:
            raise StopValidation("" if field.process_errors else self.message)


CODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", message=_l("Use letters, digits, dots, dashes and underscores only."))


class CallForm(FlaskForm):
    code = StringField(_l("Code (in the public address)"), validators=[DataRequired(), Length(max=40), CODE])
    number_prefix = StringField(_l("Application number prefix"), validators=[
        DataRequired(), Length(max=20),
        Regexp(r"^[A-Z0-9][A-Z0-9-]*$", message=_l("Use capital letters, digits and dashes, e.g. PMP-2022."))])
    organiser_id = SelectField(_l("Organiser"), coerce=int, validators=[InputRequired()])
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(), Length(max=300)])
    description_lv = TextAreaField(_l("Description in Latvian"), validators=[Length(max=20000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=20000)])
    funder = StringField(_l("Funder"), validators=[Length(max=200)])
    programme = StringField(_l("Programme or project number"), validators=[Length(max=60)])

    funding_mode = SelectField(_l("Funding mode"), choices=[
        SelectChoice("lump_sum", _l("Lump sum: the same amount for every project")),
        SelectChoice("budgeted", _l("Budgeted: an amount between a minimum and a maximum"))])
    amount = MoneyField(_l("Lump sum per project, EUR"))
    min_amount = MoneyField(_l("Minimum per project, EUR"))
    max_amount = MoneyField(_l("Maximum per project, EUR"))
    budget = MoneyField(_l("Total budget, EUR"), validators=[Given(_l("Enter the total budget."))])
    max_applications_per_organisation = IntegerField(_l("Applications per organisation, at most"), default=1,
                                                     validators=[InputRequired(), NumberRange(1, 100)])

    opens_at = RigaDateTimeField(_l("Applications open (Riga time)"), validators=[Optional()])
    closes_at = RigaDateTimeField(_l("Deadline (Riga time, exclusive)"), validators=[Optional()])
    decision_on = LocalDateField(_l("Decision by"), validators=[Optional()])
    implementation_start = LocalDateField(_l("Implementation starts"), validators=[Optional()])
    implementation_end = LocalDateField(_l("Implementation ends"), validators=[Optional()])
    reserve_expires_at = RigaDateTimeField(_l("Reserve list expires (Riga time)"), validators=[Optional()])
    retention_until = LocalDateField(_l("Keep records until"), validators=[Optional()])

    pass_mark = PointsField(_l("Pass mark, points"), default=60,
                            validators=[Given(_l("Enter the pass mark."))])
    evaluators_per_application = IntegerField(_l("Evaluators per application"), default=2,
                                              validators=[InputRequired(), NumberRange(1, 10)])
    divergence_threshold_percent = IntegerField(_l("Divergence threshold, percent of the higher total"), default=30,
                                                validators=[InputRequired(), NumberRange(0, 100)])
    divergence_policy = SelectField(_l("Score of a divergent application"), choices=[
        SelectChoice("mean_all", _l("Mean of all counted reviews")),
        SelectChoice("closest_two", _l("Mean of the two closest reviews"))])
    allocation_policy = SelectField(_l("When the next project does not fit the budget"), choices=[
        SelectChoice("strict", _l("Stop: the rest go to the reserve list")),
        SelectChoice("skip", _l("Skip it: fund later ones that fit"))])
    tie_break_keys = TieBreakField(_l("Tie-break keys, in order"), default=["submitted_at"])
    review_days = IntegerField(_l("Days for a review"), default=14, validators=[InputRequired(), NumberRange(1, 365)])
    acceptance_days = IntegerField(_l("Days to accept an offer"), default=10,
                                   validators=[InputRequired(), NumberRange(1, 365)])
    appeal_days = IntegerField(_l("Days to appeal"), default=30, validators=[InputRequired(), NumberRange(1, 365)])
    delivery_allowance_working_days = IntegerField(_l("Delivery allowance for letters, working days"), default=2,
                                                   validators=[InputRequired(), NumberRange(0, 30)])

    interim_report_due = LocalDateField(_l("Interim report due"), validators=[Optional()])
    final_report_due = LocalDateField(_l("Final report due"), validators=[Optional()])
    payment_tranches = TranchesField(_l("Payment tranches"))

    def __init__(self, *args, call_id: int | None = None, organisers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._call_id = call_id
        self.organiser_id.choices = [SelectChoice(str(o.id), o.name) for o in organisers]

    def validate_code(self, field):
        self._unique(Call.code, field, _l("Another call already has this code."))

    def validate_number_prefix(self, field):
        self._unique(Call.number_prefix, field, _l("Another call already uses this prefix: numbers would clash."))

    def _unique(self, column, field, message):
        query = select(Call.id).where(column == field.data.strip())
        if self._call_id is not None:
            query = query.where(Call.id != self._call_id)
        if db.session.scalar(query) is not None:
            raise ValidationError(message)

    def validate_amount(self, field):
        if self.funding_mode.data == "lump_sum" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the lump sum per project."))

    def validate_max_amount(self, field):
        if self.funding_mode.data != "budgeted" or field.errors or self.min_amount.errors:
            return
        if self.min_amount.data is None or field.data is None:
            raise ValidationError(_l("Enter the minimum and the maximum per project."))
        if self.min_amount.data > field.data:
            raise ValidationError(_l("The maximum must not be below the minimum."))

    def validate_final_report_due(self, field):
        interim = self.interim_report_due.data
        if interim and field.data and interim >= field.data:
            raise ValidationError(_l("The final report is due after the interim report."))

    def call_fields(self) -> dict:
        """The validated form as `Call` column values."""
        lump = self.funding_mode.data == "lump_sum"
        schedule = [{"kind": kind, "due_on": day.isoformat()} for kind, day in
                    (("interim", self.interim_report_due.data), ("final", self.final_report_due.data)) if day]
        return {
            "code": self.code.data.strip(), "number_prefix": self.number_prefix.data.strip(),
            "organiser_id": self.organiser_id.data,
            "title_lv": self.title_lv.data.strip(), "title_en": self.title_en.data.strip(),
            "description_lv": (self.description_lv.data or "").strip(),
            "description_en": (self.description_en.data or "").strip(),
            "funder": (self.funder.data or "").strip(), "programme": (self.programme.data or "").strip(),
            "funding_mode": self.funding_mode.data,
            "amount_cents": self.amount.data if lump else None,
            "min_amount_cents": None if lump else self.min_amount.data,
            "max_amount_cents": None if lump else self.max_amount.data,
            "budget_cents": self.budget.data,
            "max_applications_per_organisation": self.max_applications_per_organisation.data,
            "opens_at": self.opens_at.data, "closes_at": self.closes_at.data,
            "decision_on": self.decision_on.data, "implementation_start": self.implementation_start.data,
            "implementation_end": self.implementation_end.data, "reserve_expires_at": self.reserve_expires_at.data,
            "retention_until": self.retention_until.data,
            "pass_mark_half_points": self.pass_mark.data,
            "evaluators_per_application": self.evaluators_per_application.data,
            "divergence_threshold_percent": self.divergence_threshold_percent.data,
            "divergence_policy": self.divergence_policy.data, "allocation_policy": self.allocation_policy.data,
            "tie_break_keys": self.tie_break_keys.data, "review_days": self.review_days.data,
            "acceptance_days": self.acceptance_days.data, "appeal_days": self.appeal_days.data,
            "delivery_allowance_working_days": self.delivery_allowance_working_days.data,
            "report_schedule": schedule, "payment_tranches": self.payment_tranches.data,
        }

    @staticmethod
    def data_of(call: Call) -> dict:
        """A stored call as the form's initial data (for editing)."""
        due = {item["kind"]: date.fromisoformat(item["due_on"]) for item in call.report_schedule or []}
        return {
            "code": call.code, "number_prefix": call.number_prefix, "organiser_id": call.organiser_id,
            "title_lv": call.title_lv, "title_en": call.title_en, "description_lv": call.description_lv,
            "description_en": call.description_en, "funder": call.funder, "programme": call.programme,
            "funding_mode": call.funding_mode, "amount": call.amount_cents, "min_amount": call.min_amount_cents,
            "max_amount": call.max_amount_cents, "budget": call.budget_cents,
            "max_applications_per_organisation": call.max_applications_per_organisation,
            "opens_at": call.opens_at, "closes_at": call.closes_at, "decision_on": call.decision_on,
            "implementation_start": call.implementation_start, "implementation_end": call.implementation_end,
            "reserve_expires_at": call.reserve_expires_at, "retention_until": call.retention_until,
            "pass_mark": call.pass_mark_half_points, "evaluators_per_application": call.evaluators_per_application,
            "divergence_threshold_percent": call.divergence_threshold_percent,
            "divergence_policy": call.divergence_policy, "allocation_policy": call.allocation_policy,
            "tie_break_keys": call.tie_break_keys, "review_days": call.review_days,
            "acceptance_days": call.acceptance_days, "appeal_days": call.appeal_days,
            "delivery_allowance_working_days": call.delivery_allowance_working_days,
            "interim_report_due": due.get("interim"), "final_report_due": due.get("final"),
            "payment_tranches": call.payment_tranches,
        }


class CriterionForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20), CODE])
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(), Length(max=300)])
    description_lv = TextAreaField(_l("Description in Latvian"), validators=[Length(max=5000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=5000)])
    max_points = PointsField(_l("Maximum, points"), validators=[Given(_l("Enter the maximum."))])
    step = SelectField(_l("Step"), choices=[SelectChoice("1", "0,5"), SelectChoice("2", "1")], default="1")
    min_points = PointsField(_l("Minimum to pass, points (optional)"))
    weight_percent = IntegerField(_l("Ranking weight, %"), default=100, validators=[InputRequired(),
                                                                                  NumberRange(0, 1000)])
    comment_required = BooleanField(_l("The evaluator must comment"), default=True)
    anchors = TextAreaField(_l("Scale anchors, one per line: points = meaning"), validators=[Length(max=5000)])

    def __init__(self, *args, taken_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._taken = set(taken_codes)

    def validate_code(self, field):
        if field.data.strip() in self._taken:
            raise ValidationError(_l("This call already has a criterion with this code."))

    def validate_max_points(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("The maximum must be more than zero."))
        step = {"1": 1, "2": 2}.get(self.step.data)  # the step field is validated after this one
        if field.data is not None and step and field.data % step:
            raise ValidationError(_l("The maximum must be a whole number of steps."))

    def validate_min_points(self, field):
        if field.data is not None and self.max_points.data is not None and field.data > self.max_points.data:
            raise ValidationError(_l("The minimum must not be above the maximum."))

    def validate_anchors(self, field):
        self._anchors = {}
        for line in (field.data or "").splitlines():
            if not line.strip():
                continue
            points, sep, meaning = line.partition("=")
            try:
                half = parse_points(points)
            except ValueError:
                half = None
            if not sep or half is None or not meaning.strip():
                raise ValidationError(_l("Write each anchor as: points = meaning, for example 0 = does not meet."))
            self._anchors[str(half)] = meaning.strip()

    def criterion_fields(self) -> dict:
        return {
            "code": self.code.data.strip(), "title_lv": self.title_lv.data.strip(),
            "title_en": self.title_en.data.strip(), "description_lv": (self.description_lv.data or "").strip(),
            "description_en": (self.description_en.data or "").strip(), "max_half_points": self.max_points.data,
            "step_half_points": int(self.step.data), "min_half_points": self.min_points.data,
            "weight_percent": self.weight_percent.data, "comment_required": bool(self.comment_required.data),
            "anchors": getattr(self, "_anchors", {}),
        }


class CheckForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=10), CODE])
    title_lv = StringField(_l("Question in Latvian"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Question in English"), validators=[DataRequired(), Length(max=300)])
    automatic = SelectField(_l("Pre-filled by the system"),
                            choices=[SelectChoice("", _l("No: the administrator decides"))]
                            + [SelectChoice(name, label) for name, label in AUTOMATIC_CHECKS.items()],
                            default="")

    def __init__(self, *args, taken_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._taken = set(taken_codes)

    def validate_code(self, field):
        if field.data.strip() in self._taken:
            raise ValidationError(_l("This call already has a check with this code."))

    def check_fields(self) -> dict:
        return {"code": self.code.data.strip(), "title_lv": self.title_lv.data.strip(),
                "title_en": self.title_en.data.strip(), "automatic": self.automatic.data or None}
