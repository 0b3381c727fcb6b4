"""The questions of a call's own (issue 6): an admin words them per call, the applicant answers them in a step.

The definition lives in `Question` rows (app/models/questions.py), edited only while the call is a draft and
frozen with it at announce (`calls.definition` hashes them). Answers live in the application's content under
`content["questions"]`, keyed by each question's stable `key`, so they are part of the submitted content and its
SHA-256. Every answer is judged here, on the server, whatever the browser sent (`parse_answers`).

Form fields are named `q-<key>`; the one rendering of them is the macro in templates/applicant/_questions.html.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from app import clock, direction_controls, formatting
from app.errors import Refused
from app.extensions import db
from app.models.questions import KIND_LABELS, QUESTION_KINDS, QUESTION_STEPS, STEP_LABELS, Question  # noqa: F401
from app.services import audit
from app.services.registry import guard
from app.services.workflow import lock

# The guided form's steps a question may be placed in ("questions" is the step of the call's own questions).
STEP_CHOICES = QUESTION_STEPS
DEFAULT_STEP = "questions"
# "file": a question answered by a file is asked as an attachment type of the call (`ask_for_file`), so the
# attachments service keeps the file (type recognised from the content, size limits, its SHA-256 in the frozen
# content and the receipt, authorised downloads); no Question row asks it. Every other kind is typed in.
KINDS = QUESTION_KINDS
TYPED_KINDS = tuple(k for k in KINDS if k != "file")
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20000
_INTEGER = re.compile(r"-?\d{1,15}")  # a whole number people type; never thousands of digits


def field_name(question: Question) -> str:
    return f"q-{question.key}"


# --- the applicant's side ----------------------------------------------------------------------------------

def for_step(call, step_name: str) -> list[Question]:
    """The call's questions placed in `step_name`, in the admin's order."""
    return [q for q in call.questions if q.step == step_name and q.kind in TYPED_KINDS]


def asked(call) -> list[Question]:
    """Every question the applicant is asked, in order of steps, then of position."""
    return sorted((q for q in call.questions if q.kind in TYPED_KINDS),
                  key=lambda q: (STEP_CHOICES.index(q.step), q.position))


def answers_of(application) -> dict:
    return dict((application.content or {}).get("questions") or {})


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_one(question: Question, raw: str | None):
    """(value, error) for one question's field as sent; value None when left empty."""
    text = (raw or "").strip()
    if not text:
        return None, (_("Answer this question.") if question.required else None)
    if code := direction_controls.first_in(text):
        return None, direction_controls.refusal(code)
    kind = question.kind
    if kind in ("short_text", "long_text"):
        limit = SHORT_TEXT_MAX if kind == "short_text" else LONG_TEXT_MAX
        if len(text) > limit:
            return None, _("Write at most %(n)s characters.", n=limit)
        return text, None
    if kind == "number":
        compact = re.sub(r"[\s\u00a0\u202f]", "", text)
        if not _INTEGER.fullmatch(compact):
            return None, _("Enter a whole number, e.g. 12.")
        number = int(compact)
        low, high = question.min_value, question.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                return None, _("Enter a number from %(low)s to %(high)s.", low=low, high=high)
            if low is not None:
                return None, _("Enter a number of at least %(low)s.", low=low)
            return None, _("Enter a number of at most %(high)s.", high=high)
        return number, None
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, _("Enter a date as year-month-day, e.g. 2027-03-31.")
    if kind == "choice":
        if text not in {o["value"] for o in question.options or []}:
            return None, _("Choose one of the options given.")
        return text, None
    if kind == "yes_no":
        if text not in ("yes", "no"):
            return None, _("Answer yes or no.")
        return text == "yes", None
    return None, None


def parse_answers(questions: list[Question], formdata) -> tuple[dict, dict[str, str]]:
    """Judge the fields of `questions` in `formdata` (request.form or a dict). Returns (answers, errors): answers
    keyed by question key (None for a question left empty), errors keyed by question key in the user's language.
    A caller saves nothing when errors is not empty."""
    answers, errors = {}, {}
    for question in questions:
        if question.kind not in TYPED_KINDS:
            continue  # a file is an attachment (see TYPED_KINDS)
        value, error = _parse_one(question, formdata.get(field_name(question)))
        if error:
            errors[question.key] = error
        else:
            answers[question.key] = value
    return answers, errors


def merged(application, answers: dict) -> dict:
    """The application's content with `answers` written over its stored answers (other steps' answers kept)."""
    content = dict(application.content or {})
    content["questions"] = {**answers_of(application), **answers}
    return content


def save(application, actor, answers: dict, version: int | None = None) -> None:
    """Store answers already judged by `parse_answers` (never raw form data), over the other steps' answers.
    `version`: what the user loaded, when this is the whole save (a step of its own); the one-page form's
    `applications.save_draft` has checked it already."""
    if application.status != "draft":
        raise Refused(_("A submitted application can no longer be changed."))
    if version is not None and application.version != version:
        raise Refused(_("Someone else saved this application meanwhile. Reload the page and enter your changes "
                        "again."))
    if not application.call.accepting(clock.now()):
        raise Refused(_("The call is closed: drafts are read-only."))
    known = {q.key for q in application.call.questions}
    application.content = merged(application, {k: v for k, v in answers.items() if k in known})


def missing(application) -> list[Question]:
    """Required questions with no answer."""
    answers = answers_of(application)
    return [q for q in asked(application.call) if q.required and _blank(answers.get(q.key))]


def problems(application) -> list[str]:
    """What still blocks submitting, one line per unanswered required question (the checklist and the guard)."""
    lang = formatting.current_lang()
    return [_("Answer the question: %(label)s", label=q.label(lang)) for q in missing(application)]


def step_status(application, step_name: str) -> str | None:
    """'not_started', 'in_progress' or 'completed' for the questions of `step_name`; None when the step holds
    none (the step's own fields decide then)."""
    questions = for_step(application.call, step_name)
    if not questions:
        return None
    answers = answers_of(application)
    answered = [q for q in questions if not _blank(answers.get(q.key))]
    if not answered and not any(q.key in answers for q in questions):
        return "not_started"
    if any(q.required and _blank(answers.get(q.key)) for q in questions):
        return "in_progress"
    return "completed"


@guard("questions_answered")
def _questions_answered(ctx):
    found = problems(ctx.entity)
    return " ".join(found) if found else None


def answer_text(question: Question, value, lang: str) -> str:
    """An answer as a reader sees it, in `lang` ("" when unanswered)."""
    if _blank(value):
        return ""
    if question.kind == "yes_no":
        with force_locale(lang):
            return _("Yes") if value else _("No")
    if question.kind == "choice":
        return question.option_label(value, lang) or str(value)
    if question.kind == "date":
        try:
            return formatting.day(date.fromisoformat(value), lang)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def shown(application, lang: str) -> list[dict]:
    """The questions with their answers for pages, receipts and PDFs: [{"key", "label", "answer"}]."""
    answers = answers_of(application)
    return [{"key": q.key, "label": q.label(lang), "answer": answer_text(q, answers.get(q.key), lang)}
            for q in asked(application.call)]


def frozen(application) -> list:
    """The questions as part of the frozen content: key, both labels and the answer as stored."""
    answers = answers_of(application)
    return [[q.key, q.label_lv, q.label_en, answers.get(q.key)] for q in asked(application.call)]


# --- the admin's side ------------------------------------------------------------------------------------

def parse_definition(formdata, kinds: tuple[str, ...] = KINDS) -> tuple[dict, dict[str, str]]:
    """The admin's question form judged: (fields for add/update, errors by field name). `kinds`: those allowed
    (an existing question: TYPED_KINDS, it cannot become a file)."""
    errors: dict[str, str] = {}
    get = lambda name: (formdata.get(name) or "").strip()  # noqa: E731
    kind, step = get("kind"), get("step") or DEFAULT_STEP
    if kind not in kinds:
        errors["kind"] = _("Choose the kind of answer.")
    if step not in STEP_CHOICES:
        errors["step"] = _("Choose the step the question is asked in.")
    fields = {"kind": kind, "step": step, "required": formdata.get("required") in ("y", "on", "1", "true"),
              "label_lv": get("label_lv"), "label_en": get("label_en"),
              "help_lv": get("help_lv"), "help_en": get("help_en"), "options": [],
              "min_value": None, "max_value": None}
    for name in ("label_lv", "label_en"):
        if not fields[name]:
            errors[name] = _("Write the question in Latvian and in English.")
        elif len(fields[name]) > 300:
            errors[name] = _("Write at most %(n)s characters.", n=300)
    for name in ("label_lv", "label_en", "help_lv", "help_en", "options", "min_value", "max_value"):
        if code := direction_controls.first_in(get(name)):
            errors[name] = direction_controls.refusal(code)
    if kind == "choice":
        lines = [line.strip() for line in get("options").splitlines() if line.strip()]
        for number, line in enumerate(lines, start=1):
            lv, _sep, en = (part.strip() for part in line.partition("|"))
            if not lv or not en:
                errors["options"] = _("Write each option on a line of its own as Latvian|English.")
                break
            fields["options"].append({"value": f"o{number}", "lv": lv, "en": en})
        if "options" not in errors and len(fields["options"]) < 2:
            errors["options"] = _("A choice needs at least two options.")
    if kind == "number":
        for name in ("min_value", "max_value"):
            text = get(name)
            if text and not _INTEGER.fullmatch(text):
                errors[name] = _("Enter a whole number, e.g. 12.")
            elif text:
                fields[name] = int(text)
        if fields["min_value"] is not None and fields["max_value"] is not None \
                and fields["min_value"] > fields["max_value"]:
            errors["max_value"] = _("The largest number cannot be less than the smallest.")
    return fields, errors


def definition_values(question: Question) -> dict:
    """A question as the admin's form shows it (the inverse of `parse_definition`)."""
    return {"kind": question.kind, "step": question.step, "required": "y" if question.required else "",
            "label_lv": question.label_lv, "label_en": question.label_en, "help_lv": question.help_lv,
            "help_en": question.help_en,
            "options": "\n".join(f"{o['lv']}|{o['en']}" for o in question.options or []),
            "min_value": "" if question.min_value is None else str(question.min_value),
            "max_value": "" if question.max_value is None else str(question.max_value)}


def _require_draft(call) -> None:
    if call.status != "draft":
        raise Refused(_("The call is announced; its definition is frozen."))


def _next_key(call) -> str:
    """q1, q2, …: one more than any key the call ever had, so an answer never lands on another question."""
    used = [int(q.key[1:]) for q in call.questions if q.key[1:].isdigit()]
    return f"q{max(used, default=0) + 1}"


def ask_for_file(call, actor, fields: dict):
    """A question answered by a file: an attachment type of the call, in any format the attachments allow, with the
    question's labels and whether it is required (the applicant uploads it in the attachments step)."""
    from app.models.attachments import ATTACHMENT_FORMATS
    from app.services import attachments

    return attachments.add_type(call, actor, label_lv=fields["label_lv"], label_en=fields["label_en"],
                                formats=list(ATTACHMENT_FORMATS), required=fields["required"])


def add(call, actor, fields: dict) -> Question:
    lock(call)
    _require_draft(call)
    if fields.get("kind") not in TYPED_KINDS:
        raise Refused(_("Choose the kind of answer."))
    question = Question(call=call, key=_next_key(call), position=len(call.questions), **fields)
    db.session.add(question)
    db.session.flush()
    audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"question_added": question.key})
    return question


def update(question: Question, actor, fields: dict) -> list[str]:
    call = question.call
    lock(call)
    _require_draft(call)
    if fields.get("kind") not in TYPED_KINDS:
        raise Refused(_("Choose the kind of answer."))
    changed = sorted(name for name, value in fields.items() if getattr(question, name) != value)
    for name in changed:
        setattr(question, name, fields[name])
    if changed:
        audit.record("call", call.id, "edit", "draft", "draft", actor.id,
                     data={"question_changed": question.key, "changed": changed})
    return changed


def remove(question: Question, actor) -> None:
    call = question.call
    lock(call)
    _require_draft(call)
    call.questions.remove(question)  # delete-orphan
    for position, other in enumerate(call.questions):
        other.position = position
    audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"question_removed": question.key})


def move(question: Question, actor, offset: int) -> None:
    """Move a question up (-1) or down (+1) among the call's questions."""
    call = question.call
    lock(call)
    _require_draft(call)
    ordered = list(call.questions)
    index = ordered.index(question)
    target = index + offset
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, other in enumerate(ordered):
        other.position = position
    db.session.flush()
    db.session.expire(call, ["questions"])  # the collection is read again in its new order
    audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"question_moved": question.key})


def definition(call) -> list:
    """The questions as the call's frozen definition holds them (app/services/calls.py `definition`)."""
    return [[q.key, q.kind, q.step, q.required, q.label_lv, q.label_en, q.help_lv, q.help_en, q.options,
             q.min_value, q.max_value] for q in call.questions]
