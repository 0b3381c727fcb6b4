"""The evaluator's forms: the workflow buttons, the scoring sheet (a points field and a comment per criterion), the
consensus note."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import Field, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import FlaskForm

NOT_APPLICABLE = "na"
# points as typed: a whole number without leading zeros, maybe a sign, maybe one or two decimals
POINTS = re.compile(r"-?(0|[1-9][0-9]{0,3})([.,][0-9]{1,2})?")


class ActionForm(FlaskForm):
    trigger = HiddenField(validators=[DataRequired()])
    note = TextAreaField(validators=[Optional(), Length(max=3000)])


class ConsensusNoteForm(FlaskForm):
    text = TextAreaField(_l("Consensus note"), validators=[DataRequired(_l("Write the note.")), Length(max=4000)],
                         render_kw={"rows": 4})


class ScoreField(Field):
    """One criterion's score as typed, in points ("3,5" or "3.5", as a number input sends it) → integer half points
    in `data`; blank → `None` with `blank` set; "not applicable" is the value "na" (the sheet's checkbox shares the
    field's name). The scale (0 … maximum in the criterion's step) is the service's rule
    (`reviews.score_problem`), checked here too so that every bad value on the sheet is listed at once."""

    blank = True
    absent = True  # not in the post at all (not on the form that sent it): a stored score stays as it is
    not_applicable = False

    def __init__(self, label=None, validators=None, criterion=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.criterion = criterion
        self._parse_error = None

    def process_formdata(self, valuelist):
        self.absent = not valuelist
        self.not_applicable = NOT_APPLICABLE in valuelist
        typed = next((v for v in valuelist if v and v != NOT_APPLICABLE), "")
        self.blank = not self.not_applicable and not typed.strip()
        self.data = None
        if self.not_applicable or self.blank:
            return
        if not POINTS.fullmatch(typed.strip()):  # what a number input sends: "3", "3.5" (or "3,5" typed by hand)
            self._parse_error = "not_a_number"
            return
        doubled = Decimal(typed.strip().replace(",", ".")) * 2
        if doubled != doubled.to_integral_value() or doubled < 0:
            self._parse_error = "off_scale"  # 2,25, -1, NaN, 1e400: said as the criterion's scale
            return
        self.data = int(doubled)

    def pre_validate(self, form):
        from app.services.reviews import scale_message, score_problem

        if self._parse_error == "not_a_number":
            raise ValidationError(str(_l("Criterion %(code)s: enter the score as a number of points, for example 3 "
                                         "or 3,5.", code=self.criterion.code)))  # str(): lazy counts as markup
        if self._parse_error:
            raise ValidationError(scale_message(self.criterion))
        if self.data is not None:
            problem = score_problem(self.criterion, self.data)
            if problem:
                raise ValidationError(problem)

    def _value(self):
        """What the number input shows: points with a dot (HTML's number format), or what was typed."""
        if self.raw_data:
            return next((v for v in self.raw_data if v != NOT_APPLICABLE), "")
        if self.data is None:
            return ""
        whole, half = divmod(self.data, 2)
        return f"{whole}.5" if half else str(whole)


class ScoreSheet(FlaskForm):
    """Built per call by `score_sheet`: fields `score_<criterion id>` and `comment_<criterion id>`."""

    criteria: list = []

    def rows(self):
        """(criterion, its score field, its comment) in the call's order, for the template."""
        return [(c, self[f"score_{c.id}"], self[f"comment_{c.id}"]) for c in self.criteria]

    def scores(self) -> dict[int, tuple[int | None, str]]:
        """What `evaluation.save_scores` takes: the criteria scored or marked not applicable."""
        return {criterion.id: (score.data, (comment.data or "").strip())
                for criterion, score, comment in self.rows() if not score.blank}

    def cleared(self) -> list[int]:
        """The criteria sent blank: a score stored before is taken back (one not sent at all stays)."""
        return [criterion.id for criterion, score, _ in self.rows() if score.blank and not score.absent]

    def unsaved_comments(self) -> list:
        """The criteria with a comment but no score: a comment is stored with its score, so these are not kept."""
        return [criterion for criterion, score, comment in self.rows() if score.blank and (comment.data or "").strip()]

    def values(self) -> dict[int, int | None]:
        """The scores as typed, for the running total (invalid ones left out)."""
        return {criterion.id: score.data for criterion, score, _ in self.rows()
                if not score.blank and not score.errors and (score.not_applicable or score.data is not None)}

    def fill(self, stored_scores) -> None:
        for score in stored_scores:
            if f"score_{score.criterion_id}" in self:
                field = self[f"score_{score.criterion_id}"]
                field.data, field.blank, field.absent = score.half_points, False, False
                field.not_applicable = score.half_points is None
                self[f"comment_{score.criterion_id}"].data = score.comment


def score_sheet(criteria, lang: str, **kwargs) -> ScoreSheet:
    """A ScoreSheet class for this call's criteria, instantiated (from the request on POST)."""
    fields = {"criteria": list(criteria)}
    for criterion in criteria:
        fields[f"score_{criterion.id}"] = ScoreField(_l("Score"), criterion=criterion)
        fields[f"comment_{criterion.id}"] = TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3})
    return type("CallScoreSheet", (ScoreSheet,), fields)(**kwargs)
