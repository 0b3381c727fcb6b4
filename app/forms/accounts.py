from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app import municipalities
from app.formatting import current_lang
from app.forms import FlaskForm
from app.models.accounts import LEGAL_FORMS

LEGAL_FORM_LABELS = {"biedriba": _l("Association (biedrība)"), "nodibinajums": _l("Foundation (nodibinājums)"),
                     "youth_organisation": _l("Youth organisation (on the ministry's list)")}


def _municipality_choices() -> list[tuple[str, str]]:
    return [("", _l("— choose —"))] + municipalities.choices(current_lang())


def _municipality_field():
    return SelectField(_l("Municipality where the organisation works"), choices=_municipality_choices, default="")


def _normal_email(value):
    """E-mail addresses are stored stripped and in lower case; the length limit is the stored one ("İ" is two
    characters in lower case, so 150 of them would not fit the column)."""
    return value.strip().lower() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), filters=[_normal_email], validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class RegisterForm(FlaskForm):
    organisation_name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200)])
    # as people copy it: "LV40008152656", "4000 8152 656"; the service cleans it and says what is wrong
    registration_number = StringField(_l("Registration number"), validators=[DataRequired(), Length(max=20)])
    legal_form = SelectField(_l("Legal form"), choices=[SelectChoice(k, LEGAL_FORM_LABELS[k]) for k in LEGAL_FORMS])
    iban = StringField(_l("Bank account (IBAN)"), validators=[DataRequired(), Length(max=34)])
    organisation_email = EmailField(_l("Organisation e-mail"), filters=[_normal_email],
                                    validators=[DataRequired(), Email(check_deliverability=False), Length(max=200)])
    address = StringField(_l("Legal address"), validators=[Length(max=300)])
    municipality = _municipality_field()
    user_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Your e-mail (login)"), filters=[_normal_email],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=200)])
    password_again = PasswordField(_l("Password again"),
                                   validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    password_again = PasswordField(_l("New password again"),
                                   validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Your e-mail (login)"), filters=[_normal_email],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=200)])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])


class ProfileForm(FlaskForm):
    """The organisation's profile as its members may change it; the registration number is shown, not edited."""

    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200)])
    legal_form = SelectField(_l("Legal form"), choices=[SelectChoice(k, LEGAL_FORM_LABELS[k]) for k in LEGAL_FORMS])
    iban = StringField(_l("Bank account (IBAN)"), validators=[DataRequired(), Length(max=34)])
    email = EmailField(_l("Organisation e-mail"), filters=[_normal_email],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=200)])
    address = StringField(_l("Legal address"), validators=[Length(max=300)])
    municipality = _municipality_field()


class InviteForm(FlaskForm):
    invitee_name = StringField(_l("Colleague's name"), validators=[DataRequired(), Length(max=200)])
    invitee_email = EmailField(_l("Colleague's e-mail"), filters=[_normal_email],
                               validators=[DataRequired(), Email(check_deliverability=False), Length(max=200)])
