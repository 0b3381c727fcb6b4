"""The attachment forms: the types a call asks for (admin) and an upload (applicant)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FileField, SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from app.forms import FlaskForm
from app.services.attachments import FORMATS


class AttachmentTypeForm(FlaskForm):
    label_lv = StringField(_l("Name of the attachment (Latvian)"), validators=[DataRequired(), Length(max=300)])
    label_en = StringField(_l("Name of the attachment (English)"), validators=[DataRequired(), Length(max=300)])
    formats = SelectMultipleField(_l("Allowed formats"), choices=[SelectChoice(k, f.label) for k, f in FORMATS.items()],
                                  validators=[DataRequired(_l("Choose at least one allowed format."))],
                                  widget=widgets.ListWidget(prefix_label=False),
                                  option_widget=widgets.CheckboxInput())
    required = BooleanField(_l("Required: the application cannot be submitted without it"))

    def type_fields(self) -> dict:
        return {"label_lv": self.label_lv.data.strip(), "label_en": self.label_en.data.strip(),
                "formats": list(self.formats.data), "required": bool(self.required.data)}


class UploadForm(FlaskForm):
    """One file for one row of the attachments page: `type_id` is the asked-for type's id, or "other"."""

    type_id = StringField(validators=[InputRequired(), Regexp(r"^(other|[0-9]{1,9})$")])
    file = FileField(_l("File"))

    @property
    def chosen_type(self) -> int | None:
        return None if self.type_id.data == "other" else int(self.type_id.data)
