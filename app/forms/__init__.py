"""The base of every form, and what WTForms gets wrong for us.

- WTForms' own messages ("This field is required.", "Not a valid integer value.", ...) are looked up in the app's
  catalogue, so a Latvian page says them in Latvian (WTForms ships no Latvian catalogue).
- A NUL character is refused with a message: PostgreSQL cannot store one in text (it would be a 500).
- IntegerField refuses numbers of hundreds of digits: NumberRange turns them into a float, which overflows.
- A character that changes the direction of writing (U+202E and the other bidi controls) is refused in every text
  field with a message: it would make a receipt or a letter read differently from what is stored
  (app/direction_controls.py).
- A value that is not text (a file sent where a text field is, or the numbers, lists and objects of a JSON body)
  answers 400, the page a request no form of ours sends gets: WTForms' fields and our filters expect strings and
  would fail with a TypeError (a 500) deep inside. A file is taken only by a file field.

The forms import `FlaskForm` and `IntegerField` from here instead of from flask_wtf and wtforms.
"""
from __future__ import annotations

import wtforms
from flask import abort
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm as _FlaskForm
from werkzeug.datastructures import FileStorage

from app import direction_controls
from flask_babel import lazy_gettext as _l


class _Catalogue:
    """What WTForms calls: the message untouched but translated (WTForms fills in %(min)d and the like itself)."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


_CATALOGUE = _Catalogue()


class FlaskForm(_FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _CATALOGUE

        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if formdata is not None and hasattr(formdata, "getlist"):
                for field in form:
                    if any(not _fits(field, value) for value in formdata.getlist(field.name)):
                        abort(400)
            return formdata

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            typed = [value for value in field.raw_data or () if isinstance(value, str)]
            if any("\x00" in value for value in typed):
                field.errors = [*field.errors, _l("The text contains an invisible control character (NUL) that "
                                                  "cannot be saved. Type or paste it again as plain text.")]
                valid = False
            # a password is never shown, and one chosen before this rule must still open its account
            if isinstance(field, wtforms.StringField) and not isinstance(field, wtforms.PasswordField):
                found = next(filter(None, map(direction_controls.first_in, typed)), None)
                if found:
                    field.errors = [*field.errors, direction_controls.refusal(found)]
                    valid = False
        return valid


def _fits(field, value) -> bool:
    """Whether `value`, as sent, is something `field` can read: text, or a file for a file field."""
    if isinstance(value, FileStorage):
        return isinstance(field, (wtforms.FileField, wtforms.MultipleFileField))
    return isinstance(value, str)


class IntegerField(wtforms.IntegerField):
    LIMIT = 10**15  # far beyond any count or number of days here; NumberRange gives the real range

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) >= self.LIMIT:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))


def ngettext(singular: str, plural: str, n: int) -> str:  # the same, for a msgid with a plural
    return singular


# WTForms' messages that the app's validators and fields can show, spelt out so pybabel keeps them in the catalogue.
WTFORMS_MSGIDS = (
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Field must be equal to %(other_name)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    ngettext("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1),
    ngettext("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1),
    ngettext("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 1),
)
