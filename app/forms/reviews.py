"""The evaluator's forms: the workflow buttons and the scoring sheet, one select and comment per criterion."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app import formatting
from app.forms import FlaskForm

NOT_SCORED = ""
NOT_APPLICABLE = "na"


class ActionForm(FlaskForm):
    trigger = HiddenField(validators=[DataRequired()])
    note = TextAreaField(validators=[Optional(), Length(max=3000)])


def score_choices(criterion, lang: str) -> list[SelectChoice]:
    """0 … max in the criterion's step, shown as points (3,5 in Latvian), plus 'not applicable'."""
    values = range(0, criterion.max_half_points + 1, criterion.step_half_points)
    return ([SelectChoice(NOT_SCORED, _l("— choose —"))]
            + [SelectChoice(str(v), formatting.points(v, lang)) for v in values]
            + [SelectChoice(NOT_APPLICABLE, _l("not applicable"))])


class ScoreSheet(FlaskForm):
    """Built per call by `score_sheet`: fields `score_<criterion id>` and `comment_<criterion id>`."""

    criteria: list = []

    def rows(self):
        """(criterion, its select, its comment) in the call's order, for the template."""
        return [(c, self[f"score_{c.id}"], self[f"comment_{c.id}"]) for c in self.criteria]

    def scores(self) -> dict[int, tuple[int | None, str]]:
        """What `evaluation.save_scores` takes; a criterion left on '— choose —' is not saved."""
        chosen = {}
        for criterion, select, comment in self.rows():
            if select.data == NOT_SCORED:
                continue
            half_points = None if select.data == NOT_APPLICABLE else int(select.data)
            chosen[criterion.id] = (half_points, (comment.data or "").strip())
        return chosen

    def fill(self, stored_scores) -> None:
        for score in stored_scores:
            if f"score_{score.criterion_id}" in self:
                self[f"score_{score.criterion_id}"].data = (
                    NOT_APPLICABLE if score.half_points is None else str(score.half_points))
                self[f"comment_{score.criterion_id}"].data = score.comment


def score_sheet(criteria, lang: str, **kwargs) -> ScoreSheet:
    """A ScoreSheet class for this call's criteria, instantiated (from the request on POST)."""
    fields = {"criteria": list(criteria)}
    for criterion in criteria:
        fields[f"score_{criterion.id}"] = SelectField(
            _l("Score"), choices=score_choices(criterion, lang), default=NOT_SCORED)
        fields[f"comment_{criterion.id}"] = TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3})
    return type("CallScoreSheet", (ScoreSheet,), fields)(**kwargs)
