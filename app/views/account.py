"""The NGO's own organisation: its profile, its members, and inviting a colleague."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.forms.accounts import LEGAL_FORM_LABELS, InviteForm, ProfileForm
from app.services import invitations, organisations
from app.views.common import attempt, current_lang, only_role

bp = Blueprint("account", __name__, url_prefix="/apply/organisation")
bp.before_request(only_role("applicant"))


def _page(profile_form: ProfileForm, invite_form: InviteForm):
    organisation = current_user.organisation
    return render_template("account/organisation.html", organisation=organisation, form=profile_form,
                           invite_form=invite_form, members=list(organisation.members),
                           invited=invitations.pending(organisation), legal_forms=LEGAL_FORM_LABELS)


@bp.route("/", methods=["GET", "POST"])
@login_required
def organisation():
    organisation = current_user.organisation
    form = ProfileForm(obj=organisation)
    if form.validate_on_submit():
        changed = {}

        def save():
            changed.update(organisations.update_profile(
                organisation, current_user, name=form.name.data, legal_form=form.legal_form.data,
                iban=form.iban.data, email=form.email.data, address=form.address.data or "",
                municipality=request.form.get("municipality")))  # absent: an old form that does not edit it

        if attempt(save, lambda: _("The profile is saved.") if changed else _("Nothing was changed.")):
            return redirect(url_for(".organisation"))
    return _page(form, InviteForm())


@bp.post("/invite")
@login_required
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        email = form.invitee_email.data
        if attempt(lambda: invitations.invite(current_user, email=email, name=form.invitee_name.data,
                                              language=current_lang()),
                   _("We have sent an invitation to %(email)s. The link in it works for 7 days.", email=email)):
            return redirect(url_for(".organisation"))
    return _page(ProfileForm(obj=current_user.organisation), form)
