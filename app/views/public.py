"""What anyone may read: announced calls, their dates as a calendar, regulations, published results, the receipt
check, the process diagrams."""
import io

from flask import (Blueprint, Response, abort, redirect, render_template, request, send_file, session,
                   url_for)
from flask_login import current_user
from sqlalchemy import select

from app import clock, policies
from app.extensions import db
from app.forms.public import ReceiptCheckForm
from app.models import Application, Call, Decision, Document, Organisation
from app.services import accessibility as accessibility_service
from app.services import jobs, links, public
from app.services.public import PUBLIC_STATES
from app.services.workflow import effective_status
from app.views.common import current_lang, safe_next
from workflows import diagram
from workflows.application import APPLICATION
from workflows.call import CALL
from workflows.engine import WORKFLOWS

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render_template("public/index.html", **public.public_calls(clock.now()).context())


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


@bp.get("/calls/<code>/dates.ics")
def calendar(code):
    call = _public_call(code)
    url = links.public_link(".call", code=call.code)
    response = Response(public.call_calendar(call, current_lang(), url, clock.now()), mimetype="text/calendar")
    response.headers.set("Content-Disposition", "attachment", filename=f"{call.code}.ics")
    return response


@bp.get("/receipts/check")
def check_receipt():
    """GET, so that a check can be linked: the form, and with both fields sent, the answer. An unknown number and
    a wrong checksum get the same answer; a confirmed one shows the time alone, nothing of the content."""
    sent = "number" in request.args or "sha256" in request.args
    form = ReceiptCheckForm(formdata=request.args if sent else None)
    asked = sent and form.validate()
    received_at = public.receipt_received_at(form.number.data, form.sha256.data) if asked else None
    return render_template("public/receipt_check.html", form=form, asked=asked, received_at=received_at)


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


@bp.get("/attachments/<int:file_id>")
def attachment(file_id):
    """An application's file, for whoever may see the application (policies.attachment_for); always as a
    download, with the type its content was recognised as, never run or shown inline by the browser."""
    found = policies.attachment_for(file_id, current_user)
    response = send_file(io.BytesIO(found.content), mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename, max_age=0)
    response.headers["X-Content-SHA256"] = found.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/workflows")
def workflows():
    drawings = [(name, diagram.to_svg(w, lang=current_lang()), diagram.outline(w, current_lang()))
                for name, w in WORKFLOWS.items()]
    return render_template("public/workflows.html", drawings=drawings)


@bp.get("/accessibility")
def accessibility():
    return render_template("public/accessibility.html", statement=accessibility_service.statement())


@bp.post("/language")
def set_language():
    chosen = request.form.get("lang")
    if chosen in ("lv", "en"):
        session["lang"] = chosen
        if current_user.is_authenticated:
            current_user.language = chosen
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
