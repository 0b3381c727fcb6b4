"""A call's ranking: provisional while evaluating, then the confirmed protocol."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import policies
from app.services import pages
from app.views.admin import _document_url, bp


@bp.get("/calls/<int:call_id>/ranking", endpoint="ranking")
def ranking_page(call_id):
    call = policies.call_for_admin(call_id, current_user)
    page = pages.ranking_page(call, current_user)
    return render_template("admin/ranking.html", **page.context(),
                           protocol_url=_document_url(page.protocol.document_id) if page.protocol else None)
