"""What anyone may read: announced calls, regulations, published results, the process diagrams."""
from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, policies
from app.extensions import db
from app.models import Application, Call, Decision, Document, Organisation
from app.services import jobs
from app.services.workflow import effective_status
from app.views.common import current_lang, safe_next
from workflows import diagram
from workflows.application import APPLICATION
from workflows.call import CALL
from workflows.engine import WORKFLOWS

bp = Blueprint("public", __name__)
PUBLIC_STATES = ("announced", "open", "closed", "evaluation", "ranking", "awarded", "reporting", "completed")


@bp.get("/")
def index():
    calls = db.session.scalars(select(Call).where(Call.status.in_(PUBLIC_STATES))
                               .options(joinedload(Call.organiser)).order_by(Call.opens_at.desc())).all()
    rows = [(call, effective_status(call)) for call in calls]
    return render_template("public/index.html", rows=rows)


def _public_call(code: str) -> Call:
    call = db.session.scalar(select(Call).where(Call.code == code))
    if call is None or call.status not in PUBLIC_STATES:
        abort(404)
    return call


@bp.get("/calls/<code>")
def call(code):
    call = _public_call(code)
    status = effective_status(call)
    results = funded_projects(call) if call.status in CALL.groups["results_published"] else None
    return render_template("public/call.html", call=call, status=status, results=results,
                           accepting=call.accepting(clock.now()),
                           svg=diagram.to_svg(WORKFLOWS["call"], status, lang=current_lang()))


def funded_projects(call: Call):
    """The public list: organisation, title, amount, total score of each funded project; follows promotions."""
    return db.session.execute(
        select(Application, Organisation, Decision)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Decision, (Decision.application_id == Application.id) & Decision.current)
        .where(Application.call_id == call.id, Application.status.in_(APPLICATION.groups["holds_award"]),
               Decision.outcome == "funded")
        .order_by(Decision.rank.nulls_last(), Application.id)).all()


@bp.get("/calls/<code>/regulations.pdf")
def regulations(code):
    call = _public_call(code)
    if call.regulations_document_id is None:
        abort(404)
    return _pdf(db.session.get(Document, call.regulations_document_id))


@bp.get("/documents/<int:document_id>")
def document(document_id):
    found = db.session.get(Document, document_id)
    if found is None or not policies.can_download(current_user, found):
        abort(404)
    return _pdf(found)


def _pdf(document: Document) -> Response:
    if document.sha256 is None:  # no worker got there first: render now, once
        document = jobs.render_stored(document.id)
    response = Response(document.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{document.filename}"'
    response.headers["X-Content-SHA256"] = document.sha256
    return response


@bp.get("/workflows")
def workflows():
    drawings = [(name, diagram.to_svg(w, lang=current_lang()), diagram.outline(w, current_lang()))
                for name, w in WORKFLOWS.items()]
    return render_template("public/workflows.html", drawings=drawings)


@bp.post("/language")
def set_language():
    chosen = request.form.get("lang")
    if chosen in ("lv", "en"):
        session["lang"] = chosen
        if current_user.is_authenticated:
            current_user.language = chosen
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
