"""The call's settings, its criteria and its checks, as the programme administrator types them.

Fields here turn what people type into what the models store: euros into cents, points into half points, a Riga
wall-clock time into UTC, the rows of tranches and reports into their JSON lists. Each says clearly what was wrong.
"""
from __future__ import annotations


import wtforms
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (BooleanField, DateField, FieldList, FormField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)

from app.clock import RIGA, to_riga
from app.extensions import db
from app.formatting import current_lang, parse_money
from app.forms import _CATALOGUE, FlaskForm, IntegerField
from app.models import Call

MAX_CENTS = 2_000_000_000  # 20 million euros: far above any call, well inside a 32-bit integer column
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%Y."]
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y. %H:%M")
# The events a tranche may wait for (app/services/grants.py TRANCHE_EVENTS, which schedules and releases them), in
# words; or "date": the tranche is paid from the date in its row.
TRANCHE_EVENTS = {"sign": _l("on signing the agreement"),
                  "interim_report_approved": _l("after the interim report is approved"),
                  "final_report_approved": _l("after the final report is approved")}
ON_A_DATE = "date"
REPORT_KINDS = {"interim": _l("Interim report"), "final": _l("Final report")}
SUBMITTED_AT = "submitted_at"  # the tie-break key of app/ranking.py for the earlier submission
ROWS_MAX = 20  # rows of a list a browser may send; more are not read
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


class _Row(wtforms.Form):
    """A row of a list inside the call form; WTForms' own messages in the reader's language, as in FlaskForm."""

    class Meta:
        def get_translations(self, form):
            return _CATALOGUE


class TrancheRow(_Row):
    """One payment tranche: a share of the grant, and the event that makes it due or the date it is paid from.
    Blank row: ignored."""

    percent = IntegerField(_l("Percent of the grant"), validators=[
        Optional(), NumberRange(1, 100, message=_l("A tranche is between 1 and 100 percent."))])
    on = SelectField(_l("Paid"), choices=[SelectChoice("", "—"), SelectChoice(ON_A_DATE, _l("from the date given"))]
                     + [SelectChoice(event, label) for event, label in TRANCHE_EVENTS.items()],
                     validate_choice=False, default="")
    due_on = LocalDateField(_l("Date (if paid from a date)"), validators=[Optional()])

    def validate_on(self, field):
        if field.data and field.data != ON_A_DATE and field.data not in TRANCHE_EVENTS:
            raise ValidationError(_l("Choose when the tranche is paid from the list."))

    def validate_due_on(self, field):
        if field.data is not None and self.on.data in TRANCHE_EVENTS:
            raise ValidationError(_l("A tranche is paid either from a date or on an event: clear the date, or "
                                     "choose “from the date given”."))

    @property
    def blank(self) -> bool:
        return (self.percent.data is None and not self.percent.errors and not self.on.data
                and self.due_on.data is None and not self.due_on.errors)

    @property
    def dated(self) -> bool:
        return self.on.data == ON_A_DATE or (not self.on.data and self.due_on.data is not None)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid or self.blank:
            return valid
        if self.percent.data is None:
            self.percent.errors.append(_l("Give both the percentage and when it is paid, or leave the row empty."))
            return False
        if self.on.data == ON_A_DATE and self.due_on.data is None:
            self.due_on.errors.append(_l("Enter the date this tranche is paid from."))
            return False
        if not self.on.data and self.due_on.data is None:
            self.on.errors.append(_l("Give both the percentage and when it is paid, or leave the row empty."))
            return False
        return True

    def tranche(self) -> dict:
        """The row as the call stores it: {"percent", "due_on"} or {"percent", "on"}."""
        if self.dated:
            return {"percent": self.percent.data, "due_on": self.due_on.data.isoformat()}
        return {"percent": self.percent.data, "on": self.on.data}


class ReportRow(_Row):
    """One report of the schedule: which report and its due date. Blank row: ignored."""

    kind = SelectField(_l("Report"), choices=[SelectChoice("", "—")]
                       + [SelectChoice(kind, label) for kind, label in REPORT_KINDS.items()],
                       validate_choice=False, default="")
    due_on = LocalDateField(_l("Due on"), validators=[Optional()])

    def validate_kind(self, field):
        if field.data and field.data not in REPORT_KINDS:
            raise ValidationError(_l("Choose the report from the list."))

    @property
    def blank(self) -> bool:
        return not self.kind.data and self.due_on.data is None and not self.due_on.errors

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.blank and (not self.kind.data or self.due_on.data is None):
            (self.due_on if self.kind.data else self.kind).errors.append(
                _l("Give both the report and its due date, or leave the row empty."))
            return False
        return valid


def tie_break_choices(criteria) -> list[SelectChoice]:
    """The keys a tie may be broken by, in words: each criterion of the call, and the earlier submission."""
    return ([SelectChoice("", "—")]
            # str(): a lazy string counts as safe markup (flask_babel's LazyString.__html__), so the admin's title
            # inside it would reach the page unescaped
            + [SelectChoice(c.code, str(_l("Score of criterion %(code)s: %(title)s", code=c.code,
                                           title=c.title(current_lang())))) for c in criteria]
            + [SelectChoice(SUBMITTED_AT, _l("Earlier submission"))])


def _blank(entry) -> bool:
    return entry.form.blank if isinstance(entry, FormField) else not entry.data


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
    class Meta:
        def wrap_formdata(self, form, formdata):
            """The rows' own fields (payment_tranches-0-percent, …) are text too: a file there answers 400, as
            for every field of the form (app/forms/__init__.py)."""
            formdata = super().wrap_formdata(form, formdata)
            if formdata is not None and hasattr(formdata, "getlist"):
                for key in formdata:
                    if key.partition("-")[0] in CallForm.ROW_LISTS and any(
                            not isinstance(value, str) for value in formdata.getlist(key)):
                        abort(400)
            return formdata

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
    max_assignments_per_evaluator = IntegerField(_l("Applications per evaluator, at most"),
                                                 validators=[Optional(), NumberRange(1, 10000)])
    divergence_threshold_percent = IntegerField(_l("Divergence threshold, percent of the higher total"), default=30,
                                                validators=[InputRequired(), NumberRange(0, 100)])
    divergence_policy = SelectField(_l("Score of a divergent application"), choices=[
        SelectChoice("mean_all", _l("Mean of all counted reviews")),
        SelectChoice("closest_two", _l("Mean of the two closest reviews"))])
    allocation_policy = SelectField(_l("When the next project does not fit the budget"), choices=[
        SelectChoice("strict", _l("Stop: the rest go to the reserve list")),
        SelectChoice("skip", _l("Skip it: fund later ones that fit"))])
    tie_break_keys = FieldList(SelectField(_l("Tie-break key"), validate_choice=False, default=""),
                               label=_l("Ties are broken by, in this order"), max_entries=ROWS_MAX)
    review_days = IntegerField(_l("Days for a review"), default=14, validators=[InputRequired(), NumberRange(1, 365)])
    show_scores_after_review = BooleanField(
        _l("After submitting their own review, evaluators see the others' scores and write consensus notes"),
        default=False)
    acceptance_days = IntegerField(_l("Days to accept an offer"), default=10,
                                   validators=[InputRequired(), NumberRange(1, 365)])
    appeal_days = IntegerField(_l("Days to appeal"), default=30, validators=[InputRequired(), NumberRange(1, 365)])
    delivery_allowance_working_days = IntegerField(_l("Delivery allowance for letters, working days"), default=2,
                                                   validators=[InputRequired(), NumberRange(0, 30)])

    report_schedule = FieldList(FormField(ReportRow), label=_l("Reports"), max_entries=ROWS_MAX)
    payment_tranches = FieldList(FormField(TrancheRow), label=_l("Payment tranches"), max_entries=ROWS_MAX)

    def __init__(self, *args, call_id: int | None = None, organisers=(), criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._call_id = call_id
        self.organiser_id.choices = [SelectChoice(str(o.id), o.name) for o in organisers]
        self._tie_choices = tie_break_choices(criteria)
        self._tie_keys = {choice.value for choice in self._tie_choices if choice.value}
        # a blank row after the filled ones, so that a browser without scripts can add one more row on each save;
        # "Add a row" (add_row) gives another without saving
        for name, at_least in (("report_schedule", 2), ("payment_tranches", 2), ("tie_break_keys", 3)):
            rows = getattr(self, name)
            filled = sum(not _blank(entry) for entry in rows.entries)
            limit = len(self._tie_keys) if name == "tie_break_keys" else ROWS_MAX
            while len(rows.entries) < min(limit, max(at_least, filled + 1)):
                rows.append_entry()
        for entry in self.tie_break_keys.entries:
            entry.choices = self._tie_choices

    ROW_LISTS = ("report_schedule", "payment_tranches", "tie_break_keys")

    def add_row(self, name: str) -> None:
        """One more blank row in the list `name` (one of ROW_LISTS), within its limit; nothing is saved."""
        rows = getattr(self, name)
        limit = len(self._tie_keys) if name == "tie_break_keys" else ROWS_MAX
        if len(rows.entries) < limit:
            rows.append_entry()
            if name == "tie_break_keys":
                rows.entries[-1].choices = self._tie_choices

    def remove_row(self, name: str, index: int) -> None:
        """Drop row `index` of the list `name`; the rows after it move up. Nothing is saved."""
        rows = getattr(self, name)
        if 0 <= index < len(rows.entries):
            kept = [entry.data for position, entry in enumerate(rows.entries) if position != index]
            rows.entries, rows.last_index = [], -1
            for data in kept:
                rows.append_entry(data)
            for entry in (rows.entries if name == "tie_break_keys" else ()):
                entry.choices = self._tie_choices

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

    def validate_tie_break_keys(self, field):
        keys = [entry.data for entry in field.entries if entry.data]
        if any(key not in self._tie_keys for key in keys):
            raise ValidationError(_l("Choose the tie-break keys from the list."))
        if len(set(keys)) != len(keys):
            raise ValidationError(_l("A tie-break key is chosen twice."))

    def validate_report_schedule(self, field):
        if any(row.form.errors for row in field.entries):
            return  # each wrong row says why; the rows together are judged once each is whole
        rows = [row.form for row in field.entries if not row.form.blank]
        kinds = [row.kind.data for row in rows]
        if len(set(kinds)) != len(kinds):
            raise ValidationError(_l("Each report (interim, final) may appear only once."))
        due = {row.kind.data: row.due_on.data for row in rows}
        if "interim" in due and "final" in due and due["interim"] >= due["final"]:
            raise ValidationError(_l("The final report is due after the interim report."))

    def validate_payment_tranches(self, field):
        if any(row.form.errors for row in field.entries):
            return
        rows = [row.form for row in field.entries if not row.form.blank]
        interim = any(row.form.kind.data == "interim" for row in self.report_schedule.entries)
        for row in rows:
            if row.on.data == "interim_report_approved" and not interim:
                row.on.errors.append(_l("This call schedules no interim report: add one under Reports, or choose "
                                        "another moment."))
        total = sum(row.percent.data for row in rows)
        if rows and total != 100:
            for row in rows:  # the rows' own message, beside each percentage to change
                row.percent.errors.append(_l("The tranches add up to %(total)s %%; they must add up to 100 %%.",
                                             total=total))
        if any(row.on.errors or row.percent.errors for row in rows):
            raise ValidationError(_l("Correct the tranches marked."))

    def call_fields(self) -> dict:
        """The validated form as `Call` column values."""
        lump = self.funding_mode.data == "lump_sum"
        schedule = sorted(({"kind": row.form.kind.data, "due_on": row.form.due_on.data.isoformat()}
                           for row in self.report_schedule.entries if not row.form.blank),
                          key=lambda item: list(REPORT_KINDS).index(item["kind"]))
        tranches = [row.form.tranche() for row in self.payment_tranches.entries if not row.form.blank]
        keys = [entry.data for entry in self.tie_break_keys.entries if entry.data] or [SUBMITTED_AT]
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
            "max_assignments_per_evaluator": self.max_assignments_per_evaluator.data,
            "divergence_threshold_percent": self.divergence_threshold_percent.data,
            "divergence_policy": self.divergence_policy.data, "allocation_policy": self.allocation_policy.data,
            "tie_break_keys": keys, "review_days": self.review_days.data,
            "show_scores_after_review": bool(self.show_scores_after_review.data),
            "acceptance_days": self.acceptance_days.data, "appeal_days": self.appeal_days.data,
            "delivery_allowance_working_days": self.delivery_allowance_working_days.data,
            "report_schedule": schedule, "payment_tranches": tranches,
        }

    @staticmethod
    def data_of(call: Call) -> dict:
        """A stored call as the form's initial data (for editing)."""
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
            "max_assignments_per_evaluator": call.max_assignments_per_evaluator,
            "divergence_threshold_percent": call.divergence_threshold_percent,
            "divergence_policy": call.divergence_policy, "allocation_policy": call.allocation_policy,
            "tie_break_keys": call.tie_break_keys, "review_days": call.review_days,
            "show_scores_after_review": call.show_scores_after_review,
            "acceptance_days": call.acceptance_days, "appeal_days": call.appeal_days,
            "delivery_allowance_working_days": call.delivery_allowance_working_days,
            "report_schedule": [{"kind": item["kind"], "due_on": date.fromisoformat(item["due_on"])}
                                for item in call.report_schedule or []],
            "payment_tranches": [{"percent": item["percent"], "on": ON_A_DATE, "due_on": date.fromisoformat(
                item["due_on"])} if item.get("due_on") else dict(item) for item in call.payment_tranches or []],
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
    anchors = TextAreaField(_l("Scale anchors in Latvian, one per line: points = meaning"),
                            validators=[Length(max=5000)])
    anchors_en = TextAreaField(_l("Scale anchors in English, one per line: points = meaning"),
                               validators=[Length(max=5000)])

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
        self._anchors = _parsed_anchors(field.data)

    def validate_anchors_en(self, field):
        self._anchors_en = _parsed_anchors(field.data)

    def criterion_fields(self) -> dict:
        return {
            "code": self.code.data.strip(), "title_lv": self.title_lv.data.strip(),
            "title_en": self.title_en.data.strip(), "description_lv": (self.description_lv.data or "").strip(),
            "description_en": (self.description_en.data or "").strip(), "max_half_points": self.max_points.data,
            "step_half_points": int(self.step.data), "min_half_points": self.min_points.data,
            "weight_percent": self.weight_percent.data, "comment_required": bool(self.comment_required.data),
            "anchors": getattr(self, "_anchors", {}), "anchors_en": getattr(self, "_anchors_en", {}),
        }


def _parsed_anchors(text: str | None) -> dict[str, str]:
    """Scale anchors as typed ("0 = does not meet" a line) → {"0": "does not meet"}, keyed by half points."""
    anchors = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        points, sep, meaning = line.partition("=")
        try:
            half = parse_points(points)
        except ValueError:
            half = None
        if not sep or half is None or not meaning.strip():
            raise ValidationError(_l("Write each anchor as: points = meaning, for example 0 = does not meet."))
        anchors[str(half)] = meaning.strip()
    return anchors


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


class CostCategoryForm(FlaskForm):
    """A cost category of a budgeted call, e.g. "Administrācija" / "Administration", at most 10 % of the total."""

    label_lv = StringField(_l("Category in Latvian"), validators=[DataRequired(), Length(max=200)])
    label_en = StringField(_l("Category in English"), validators=[DataRequired(), Length(max=200)])
    cap_percent = IntegerField(_l("At most, percent of the project's total (optional)"),
                               validators=[Optional(), NumberRange(1, 100)])

    def category_fields(self) -> dict:
        return {"label_lv": self.label_lv.data.strip(), "label_en": self.label_en.data.strip(),
                "cap_percent": self.cap_percent.data}


class CopyCallForm(FlaskForm):
    """A new draft from an earlier call: its every setting, criterion, check and text, with the dates moved."""

    source_id = SelectField(_l("Earlier call"), coerce=int, validators=[InputRequired()])
    opens_at = RigaDateTimeField(_l("New opening of applications (Riga time, optional)"), validators=[Optional()])
    code = StringField(_l("Code of the new call (optional)"), validators=[Optional(), Length(max=40), CODE])
    number_prefix = StringField(_l("Application number prefix of the new call (optional)"), validators=[
        Optional(), Length(max=20),
        Regexp(r"^[A-Z0-9][A-Z0-9-]*$", message=_l("Use capital letters, digits and dashes, e.g. PMP-2022."))])

    def __init__(self, *args, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.source_id.choices = [SelectChoice(str(c.id), f"{c.code} · {c.title(current_lang())}") for c in sources]

    def validate_source_id(self, field):
        if field.data not in {int(choice.value) for choice in self.source_id.choices}:
            raise ValidationError(_l("Choose one of the calls in the list."))

    def validate_opens_at(self, field):
        from app import clock

        if field.data is not None and field.data <= clock.now():
            raise ValidationError(_l("The new opening must be in the future."))

    def validate_code(self, field):
        if field.data and db.session.scalar(select(Call.id).where(Call.code == field.data.strip())) is not None:
            raise ValidationError(_l("Another call already has this code."))

    def validate_number_prefix(self, field):
        if field.data and db.session.scalar(select(Call.id).where(Call.number_prefix == field.data.strip())):
            raise ValidationError(_l("Another call already uses this prefix: numbers would clash."))
