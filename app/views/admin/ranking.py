"""A call's ranking: provisional while evaluating, then the confirmed protocol, explained row by row."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import policies
from app.models import Document
from app.extensions import db
from app.services import calls, pages, protocols, reviews
from app.views.admin import _document_url, bp
from app.views.common import attempt


class TranslationForm(FlaskForm):
    """Ask for the confirmed protocol in the other language (nothing to fill in: the CSRF token is the form)."""


@bp.get("/calls/<int:call_id>/ranking", endpoint="ranking")
def ranking_page(call_id):
    call = policies.call_for_admin(call_id, current_user)
    page = pages.ranking_page(call, current_user)
    protocol = page.protocol
    translation = db.session.get(Document, protocol.translation_document_id) if protocol and \
        protocol.translation_document_id else None
    return render_template("admin/ranking.html", **page.context(),
                           protocol_url=_document_url(protocol.document_id) if protocol else None,
                           translation=translation,
                           translation_url=_document_url(translation.id) if translation else None,
                           other_language=protocols.other_language(protocol) if protocol else None,
                           translation_form=TranslationForm(),
                           consensus_notes=reviews.notes_of_call(call))


@bp.post("/calls/<int:call_id>/protocol/translation", endpoint="protocol_translation")
def protocol_translation(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    back = redirect(url_for(".ranking", call_id=call.id))
    if not TranslationForm().validate():
        flash(_("The form has expired: please try again."), "error")
        return back
    protocol = calls.latest_protocol(call)
    if protocol is None:
        flash(_("There is no confirmed protocol to translate."), "error")
        return back
    attempt(lambda: protocols.request_translation(call, protocol, current_user),
            _("The protocol in the other language is being prepared: it is linked below."))
    return back
