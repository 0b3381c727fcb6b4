"""Login, logout, NGO registration, the in-app messages."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from app import policies
from app.errors import Refused
from app.extensions import db, login_manager
from app.forms import FlaskForm
from app.forms.accounts import (AcceptInvitationForm, ChangePasswordForm, ForgotPasswordForm, LoginForm,
                                NewPasswordForm, RegisterForm)
from app.models import Message, User
from app.services import accounts, invitations, password_reset, registration
from app.views.common import attempt, current_lang, safe_next

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id):
    return accounts.session_user(session_id)


def _home_for(user) -> str:
    return {"applicant": url_for("applicant.home"), "evaluator": url_for("evaluator.queue")}.get(
        user.role, url_for("admin.calls"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr or "")
        except Refused as refused:
            flash(refused.message, "error")
        else:
            from app.views import two_factor as two_factor_views

            next_url = safe_next(request.args.get("next"))
            second_step = two_factor_views.after_password(user, next_url)  # its code first, when it has 2FA on
            if second_step is not None:
                return second_step
            login_user(user)
            return redirect(next_url or _home_for(user))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        accounts.end_sessions(current_user)  # every copy of this session's cookie, and the user's other sessions
        db.session.commit()
    logout_user()
    session.pop("two_factor_passed", None)  # app/views/two_factor.py PASSED
    flash(_("You have logged out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:  # registering would silently switch this session to the new NGO's account
        flash(_("You are logged in already. Log out first to register another organisation."), "info")
        return redirect(_home_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            registration.request_registration(
                organisation_name=form.organisation_name.data, registration_number=form.registration_number.data,
                legal_form=form.legal_form.data, iban=form.iban.data,
                organisation_email=form.organisation_email.data, address=form.address.data or "",
                user_name=form.user_name.data, email=form.email.data, password=form.password.data,
                language=current_lang(), municipality=form.municipality.data or "")
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            return redirect(url_for(".registration_sent"))
    return render_template("auth/register.html", form=form)


@bp.get("/register/sent")
def registration_sent():
    return render_template("auth/registration_sent.html", mail_on=bool(current_app.config.get("MAIL_SERVER")))


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    """The link from the e-mail shows a button; only its POST confirms (a mail scanner that opens links must not)."""
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            user = registration.confirm(token)
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
            return redirect(url_for(".register"))
        logout_user()
        login_user(user)
        flash(_("Your organisation is registered. You can now apply."), "success")
        return redirect(url_for("applicant.home"))
    return render_template("auth/confirm.html", form=form)


# --- passwords ------------------------------------------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_reset(form.email.data, current_lang(), request.remote_addr or "")
        db.session.commit()
        # the same answer whether or not the address has an account
        flash(_("If an account has this address, we have sent it a link to set a new password. The link works for "
                "one hour. No e-mail within a few minutes? Look in the spam folder."), "info")
        return redirect(url_for(".login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    """The link from the e-mail shows the form; only its POST sets the password (a mail scanner that opens links
    changes nothing)."""
    form = NewPasswordForm()
    try:
        password_reset.check(token)
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".forgot_password"))
    if form.validate_on_submit() and attempt(
            lambda: password_reset.reset(token, form.password.data),
            _("Your new password is set, and every session that was open has ended. Log in with the new password.")):
        logout_user()
        return redirect(url_for(".login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_own_password(current_user._get_current_object(), form.current_password.data,
                                                form.password.data, request.remote_addr or "")
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            login_user(user)  # this session goes on under the new session version; every other one has ended
            flash(_("Your password is changed. You were logged out everywhere else."), "success")
            return redirect(_home_for(user))
    return render_template("auth/change_password.html", form=form)


# --- invitations ----------------------------------------------------------------------------------------------

@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    """The invited colleague's link: a name and a password make the account, a member of the organisation."""
    form = AcceptInvitationForm()
    try:
        found = invitations.opened(token, current_user)
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(_home_for(current_user) if current_user.is_authenticated else url_for("public.index"))
    if request.method == "GET":
        form.name.data = found.name
    if form.validate_on_submit():
        try:
            user = invitations.accept(token, current_user, name=form.name.data, password=form.password.data)
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            login_user(user)
            flash(_("Welcome! You are now a member of %(organisation)s.", organisation=user.organisation.name),
                  "success")
            return redirect(url_for("applicant.home"))
    return render_template("auth/invitation.html", form=form, invitation=found)


@bp.route("/evaluator/welcome/<welcome_token>", methods=["GET", "POST"])
def evaluator_welcome(welcome_token):
    """An invited evaluator's link (app/services/evaluators.py): they choose their password, then log in. Only the
    POST sets it; an expired, forged or used link says which, on the login page."""
    from app.services import evaluators

    form = NewPasswordForm()
    try:
        invited = evaluators.invited(welcome_token)
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".login"))
    if form.validate_on_submit() and attempt(lambda: evaluators.accept(welcome_token, form.password.data),
                                             _("Your password is set. Log in with your e-mail and the new password.")):
        logout_user()
        return redirect(url_for(".login"))
    return render_template("auth/evaluator_welcome.html", form=form, invited=invited)


@bp.route("/messages/settings", methods=["GET", "POST"])
@login_required
def message_settings():
    """Which messages also come by e-mail: a choice per kind; legal notices always do."""
    from app.services import notifications

    form = FlaskForm()
    if request.method == "POST" and request.form.get("listed") != "1":
        abort(400)  # not the settings form: an empty choice would switch every kind off
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        listed = {key for key, _kind in notifications.choosable(user)}
        notifications.set_email_off(user, listed - set(request.form.getlist("by_email")))
        db.session.commit()
        flash(_("Your choice is saved."), "success")
        return redirect(url_for(".message_settings"))
    return render_template("auth/message_settings.html", form=form, kinds=notifications.choosable(current_user),
                           off=set(current_user.email_off_kinds or []))


@bp.get("/my-data.zip")
@login_required
def personal_data():
    """Everything the system holds about the person logged in (app/services/personal_data.py)."""
    from app.services import personal_data as personal_data_service

    return personal_data_service.archive(current_user), 200, {
        "Content-Type": "application/zip", "Cache-Control": "private, no-store",
        "Content-Disposition": 'attachment; filename="pumpurs-grants-my-data.zip"'}


@bp.get("/messages")
@login_required
def messages():
    rows = db.session.scalars(select(Message).where(policies.visible_messages_filter(current_user))
                              .order_by(Message.id.desc()).limit(200)).all()
    return render_template("auth/messages.html", messages=rows)


@bp.get("/messages/<int:message_id>")
@login_required
def message(message_id):
    row = db.session.scalar(select(Message).where(Message.id == message_id,
                                                  policies.visible_messages_filter(current_user)))
    if row is None:
        abort(404)
    return render_template("auth/message.html", message=row)
