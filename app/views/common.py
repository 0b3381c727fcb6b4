"""What every blueprint's views share: the current language, refusals as flash messages, role gates."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import UserError
from app.extensions import db, login_manager
from app.formatting import current_lang  # noqa: F401  the views' language, from its one home
from app.models import Application, Assignment, Call
from app.services import workflow
from app.services.workflow import refused_message


# A path on this site: one slash, then no slash or backslash (browsers read "\\" as "/"), and no control
# characters anywhere (browsers drop tabs and newlines, so "/\t/evil.example" is "//evil.example"; a newline
# cannot go into a header at all).
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x1f\x7f]*")


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (a `next` to go back to after login or a language switch), else None."""
    return target if target and _LOCAL_PATH.fullmatch(target) else None


def flash_refusal(error: Exception) -> None:
    """Undo the whole attempt and tell the user why, in their language."""
    db.session.rollback()
    flash(refused_message(error), "error")


def attempt(action, done=None) -> bool:
    """Run one service call and commit; on a user's error (app/errors.py) roll everything back and say why.
    True when it was done. `done` is flashed on success: a text, a function giving the text once committed (to
    name the new state), or None to say nothing."""
    try:
        action()
        db.session.commit()
    except UserError as error:
        flash_refusal(error)
        return False
    if done is not None:
        flash(done() if callable(done) else done, "success")
    return True


def save_then_submit(entity, trigger: str, *, save, submit, done: str, back: str, then: str,
                     kept: str | None = None, fields=None):
    """The Submit button of an edit form, as a response. First `save` what was typed (None: nothing to save) and
    commit it on its own, so no typing is lost; a refused save goes `back` with the reason. Then, for a step that
    cannot be undone, the page that asks first (`confirmed`: its button posts `fields` again). Then `submit`:
    done, go on to `then`; refused, go `back` with the reason, and `kept` says the save stands."""
    if save is not None and not attempt(save):
        return redirect(back)
    if save is not None and kept and request.form.get("confirmed") != "1":
        flash(kept, "info")
    asked = confirmed(entity, trigger, back=back, fields=fields)
    if asked is not None:
        return asked
    if attempt(submit, done):
        return redirect(then)
    if save is not None and kept:
        flash(kept, "info")
    return redirect(back)


def only_role(role: str):
    """A before_request hook: anonymous users go to the login page, other roles get 403."""
    def gate():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != role:
            abort(403)
        return None
    return gate


def confirmed(entity, trigger: str, *, back: str, note: str | None = None, fields=None):
    """None when `trigger` may go ahead now: it can be undone, or this post says confirmed=1. Otherwise what to
    answer instead of moving (nothing is written): a redirect to `back` with the reason when the step would be
    refused anyway, or the page that asks "are you sure?" (templates/confirm.html), whose button posts `fields`
    (by default every field of this post) again to the same address with confirmed=1."""
    if not workflow.irreversible(entity, trigger) or request.form.get("confirmed") == "1":
        return None
    reason = workflow.check(entity, trigger, current_user)
    if reason is None and workflow.needs_note(entity, trigger) and not (note or "").strip():
        reason = _("Please write the reason.")
    if reason is not None:
        flash(reason, "error")
        return redirect(back)
    if fields is None:
        fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirmed")]
    query = request.query_string.decode()
    name = workflow.workflow_name(entity)
    return render_template("confirm.html", workflow=name, trigger=trigger, subject=_subject(entity), fields=fields,
                           label=workflow.engine().workflow(name).trigger_label(trigger, current_lang()),
                           action=request.path + (f"?{query}" if query else ""), back=back, note=note)


def _subject(entity) -> str:
    """What the step is about, in a line: the call, the application, or the application a review is of."""
    if isinstance(entity, Call):
        return f"{entity.code} · {entity.title(current_lang())}"
    if isinstance(entity, Application):
        return " · ".join(part for part in (entity.number, entity.title) if part)
    if isinstance(entity, Assignment):
        return _("Application %(number)s", number=entity.application.number)
    return ""


def page_number() -> int:
    """The page `?page=` asks for: 1 unless it is ASCII digits, and at most 10**6, so that the OFFSET stays far
    inside every database's integers (a longer number asks for the end: `paginate` shows the last page)."""
    asked = request.args.get("page", "")
    if not re.fullmatch(r"[0-9]+", asked):  # not str.isdigit or int(): they take "²" and "٣"
        return 1
    digits = asked.lstrip("0")
    if len(digits) > 7:  # past the cap anyway; and int() refuses numbers of more than 4300 digits
        return 10**6
    return min(max(int(digits or "0"), 1), 10**6)


def paginate(query, per_page: int):
    """The page of `query` that `?page=` asks for; past the end, the last page (page 1 of an empty list)."""
    page = db.paginate(query, page=page_number(), per_page=per_page, error_out=False)
    if page.page > max(page.pages, 1):
        page = db.paginate(query, page=max(page.pages, 1), per_page=per_page, error_out=False)
    return page
