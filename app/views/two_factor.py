"""Two-factor sign-in (app/services/two_factor.py): the second step of the login, the enrolment, the settings,
and the gate that keeps an admin or auditor without it out of every other page.

The second step: after a right password, the session holds only a *pending* sign-in (the user's id and session
version, when the password was right, where to go next); Flask-Login's session is written only when the code passes.
A pending sign-in expires after two_factor.PENDING_FOR. Once the code has passed, the session carries PASSED (the
user's id): the gate lets a session through only with it, or for a user to whom two-factor is optional and off.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from app import clock, policies
from app.errors import Refused
from app.extensions import db
from app.forms.two_factor import CodeForm, PasswordAgainForm
from app.models import User
from app.services import accounts, two_factor
from app.views.common import safe_next

bp = Blueprint("two_factor", __name__)

PASSED = "two_factor_passed"  # the id of the user whose second step this session passed
PENDING = "two_factor_pending"  # {"user", "version", "at", "next"}: the password was right, the code is awaited
SETUP = "two_factor_setup"  # the encrypted secret the enrolment page shows, until a code confirms it
# what an admin or auditor who has not enrolled yet may still reach
OPEN_BEFORE_ENROLMENT = {"static", "bootstrap.static", "auth.logout", "public.set_language", "two_factor.setup"}


def _home_for(user) -> str:
    return {"applicant": url_for("applicant.home"), "evaluator": url_for("evaluator.queue")}.get(
        user.role, url_for("admin.calls"))


# --- the login's second step -------------------------------------------------------------------------------------

def after_password(user: User, next_url: str | None):
    """The login form found the password right: a redirect to the code step when the user has two-factor
    sign-in on (nobody is logged in yet), else None (the caller logs the user in)."""
    session.pop(PASSED, None)
    session.pop(PENDING, None)
    if not two_factor.enabled(user):
        return None
    session[PENDING] = {"user": user.id, "version": user.session_version, "at": clock.now().timestamp(),
                        "next": next_url}
    return redirect(url_for("two_factor.sign_in"))


def _pending_user() -> User | None:
    """The user whose password was right a moment ago, while the pending sign-in holds; else None (and it goes)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    user = db.session.get(User, pending.get("user")) if isinstance(pending.get("user"), int) else None
    fresh = clock.now().timestamp() - float(pending.get("at") or 0) <= two_factor.PENDING_FOR.total_seconds()
    if user is None or not user.active or user.session_version != pending.get("version") or not fresh:
        session.pop(PENDING, None)
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    user = _pending_user()
    if user is None:
        flash(_("The sign-in has expired (a few minutes pass between the password and the code). Enter your "
                "password again."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used = accounts.second_step_checked(user.id, lambda found: two_factor.check_code(found, form.code.data),
                                                request.remote_addr or "")
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            if not used:
                flash(_("That code is not right, or it was used already. Enter the code the app shows now, or one "
                        "of your recovery codes."), "error")
            else:
                next_url = safe_next(session.pop(PENDING, {}).get("next"))
                user = db.session.get(User, user.id)
                login_user(user)
                session[PASSED] = user.id
                if used == "recovery":
                    flash(_("You signed in with a recovery code; it cannot be used again. Recovery codes left: "
                            "%(left)s. Make new ones on the two-factor sign-in page.",
                            left=two_factor.recovery_codes_left(user)), "info")
                return redirect(next_url or _home_for(user))
    return render_template("two_factor/sign_in.html", form=form)


# --- the gate ----------------------------------------------------------------------------------------------------

@bp.before_app_request
def gate():
    if request.endpoint in ("static", "bootstrap.static") or not current_user.is_authenticated:
        return None
    if session.get(PASSED) == current_user.id:
        return None
    if two_factor.enabled(current_user):
        # a session that never passed the second step (logged in some other way): it ends here
        logout_user()
        session.pop(PENDING, None)
        flash(_("Log in again: your account has two-factor sign-in."), "info")
        return redirect(url_for("auth.login"))
    if two_factor.required_for(current_user) and request.endpoint not in OPEN_BEFORE_ENROLMENT:
        return redirect(url_for("two_factor.setup"))
    return None


# --- enrolment and settings ----------------------------------------------------------------------------------------

@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@login_required
def setup():
    token = session.get(SETUP)
    secret = two_factor.reveal(token)
    if secret is None:
        token = session[SETUP] = two_factor.new_secret_token()
        secret = two_factor.reveal(token)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(db.session.get(User, current_user.id), token, form.code.data)
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            session.pop(SETUP, None)
            session[PASSED] = current_user.id
            return render_template("two_factor/recovery_codes.html", codes=codes, first=True,
                                   continue_to=_home_for(current_user))
    uri = two_factor.provisioning_uri(current_user, secret)
    return render_template("two_factor/setup.html", form=form, secret=two_factor.grouped(secret),
                           qr=Markup(two_factor.qr_svg(uri, _("QR code for the authenticator app"))),
                           forced=two_factor.required_for(current_user) and not two_factor.enabled(current_user))


@bp.get("/account/two-factor")
@login_required
def settings():
    return render_template("two_factor/settings.html", form=PasswordAgainForm(),
                           on=two_factor.enabled(current_user), required=two_factor.required_for(current_user),
                           left=two_factor.recovery_codes_left(current_user),
                           may_turn_off=policies.may_turn_off_two_factor(current_user))


def _password_again(form: PasswordAgainForm) -> bool:
    """The form's password is the user's (counted by the login throttle); flashes why not."""
    if not form.validate_on_submit():
        flash(_("Enter your password to confirm."), "error")
        return False
    try:
        if accounts.password_confirmed(current_user, form.password.data, request.remote_addr or ""):
            return True
        flash(_("The password is not right."), "error")
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    return False


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    if not two_factor.enabled(current_user):
        return redirect(url_for(".settings"))
    if not _password_again(PasswordAgainForm()):
        return redirect(url_for(".settings"))
    codes = two_factor.regenerate_recovery_codes(db.session.get(User, current_user.id))
    db.session.commit()
    return render_template("two_factor/recovery_codes.html", codes=codes, first=False,
                           continue_to=url_for(".settings"))


@bp.post("/account/two-factor/off")
@login_required
def turn_off():
    if not policies.may_turn_off_two_factor(current_user):
        abort(403)
    if not two_factor.enabled(current_user) or not _password_again(PasswordAgainForm()):
        return redirect(url_for(".settings"))
    two_factor.disable(db.session.get(User, current_user.id))
    db.session.commit()
    flash(_("Two-factor sign-in is off. We have sent you an e-mail about it."), "success")
    return redirect(url_for(".settings"))
