"""The files of an application: the types a call asks for, uploads while a draft, and what is frozen at submit.

A file is judged by its content, never by its name: `filetype` reads the magic bytes, and the ZIP containers
(DOCX, XLSX, ODT, .edoc/ASiC-E) are told apart by the entries the ZIP lists, read from its central directory
without inflating anything but the few bytes of an ODF/ASiC `mimetype` entry. The sizes the ZIP declares are
checked before that, so a bomb is refused unopened. Stored names are safe (no path, no control or bidi
characters) but keep Latvian letters; the name the user's computer gave is kept only for display.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import clock, formatting
from app.errors import NotFound, Refused
from app.extensions import db
from app.models import Application, Call, User
from app.models.attachments import ATTACHMENT_FORMATS, MAX_FILE_BYTES, ApplicationFile, AttachmentType
from app.services import audit
from app.services.registry import guard
from app.services.workflow import lock


@dataclass(frozen=True)
class Format:
    label: str
    content_type: str
    extension: str


FORMATS = {
    "pdf": Format("PDF", "application/pdf", ".pdf"),
    "docx": Format("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xlsx": Format("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "odt": Format("ODT", "application/vnd.oasis.opendocument.text", ".odt"),
    "jpg": Format("JPG", "image/jpeg", ".jpg"),
    "png": Format("PNG", "image/png", ".png"),
    "edoc": Format(".edoc / ASiC-E", "application/vnd.etsi.asic-e+zip", ".edoc"),
}
assert tuple(FORMATS) == ATTACHMENT_FORMATS

MAX_OTHER_FILES = 5  # files of no asked-for type ("other") per application
# A ZIP container may declare at most this much content, and no entry may inflate more than RATIO times (office
# documents compress text some 5-20 times; a bomb declares thousands).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 5000
_ZIP_KINDS = {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"}
_ODF_MIMETYPES = {"application/vnd.oasis.opendocument.text": "odt", "application/vnd.etsi.asic-e+zip": "edoc"}
OTHER = "other"  # the row of files of no asked-for type


# --- the call's types -----------------------------------------------------------------------------------------

def types_of(call: Call) -> list[AttachmentType]:
    return db.session.scalars(select(AttachmentType).where(AttachmentType.call_id == call.id)
                              .order_by(AttachmentType.position, AttachmentType.id)).all()


def add_type(call: Call, actor: User, *, label_lv: str, label_en: str, formats: list[str],
             required: bool) -> AttachmentType:
    """A type the call asks for; only while the call is a draft (announce freezes them with the call)."""
    lock(call)
    _require_draft_call(call)
    formats = [f for f in ATTACHMENT_FORMATS if f in set(formats)]
    if not label_lv.strip() or not label_en.strip():
        raise Refused(_("Name the attachment in Latvian and in English."))
    if not formats:
        raise Refused(_("Choose at least one allowed format."))
    item = AttachmentType(call_id=call.id, position=len(types_of(call)), label_lv=label_lv.strip(),
                          label_en=label_en.strip(), formats=formats, required=required)
    db.session.add(item)
    db.session.flush()
    audit.record("call", call.id, "edit", "draft", "draft", actor.id,
                 data={"changed": ["attachment_types"], "added": item.label_lv})
    return item


def remove_type(call: Call, actor: User, item: AttachmentType) -> None:
    lock(call)
    _require_draft_call(call)
    if item.call_id != call.id:
        raise NotFound()
    db.session.delete(item)
    audit.record("call", call.id, "edit", "draft", "draft", actor.id,
                 data={"changed": ["attachment_types"], "removed": item.label_lv})


def _require_draft_call(call: Call) -> None:
    if call.status != "draft":
        raise Refused(_("The call is announced; its definition is frozen."))


def definition(call: Call) -> list:
    """The types as they go into the call's frozen definition (app/services/calls.py `definition`)."""
    return [[t.label_lv, t.label_en, list(t.formats), t.required] for t in types_of(call)]


def formats_text(formats) -> str:
    return ", ".join(FORMATS[f].label for f in formats if f in FORMATS)


# --- recognising a file -----------------------------------------------------------------------------------------

def recognise(data: bytes) -> str | None:
    """The format of `data` judged by its content (a key of FORMATS), or None when it is none of them. Refused
    for a ZIP whose declared content is absurd (a bomb) or which cannot be read."""
    kind = filetype.guess(data)
    if kind is None:
        return None
    if kind.extension in ("pdf", "png") or kind.extension == "jpg":
        return kind.extension
    if kind.extension in _ZIP_KINDS or kind.mime == "application/zip":
        return _zip_format(data)
    return None


def _zip_format(data: bytes) -> str | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise Refused(_("The file is damaged: it cannot be read.")) from None
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES or any(
            e.file_size > 1024 * 1024 and e.file_size > MAX_RATIO * max(e.compress_size, 1) for e in entries):
        raise Refused(_("The file declares far more content than it holds (a so-called ZIP bomb) and was "
                        "refused."))
    names = {e.filename for e in entries}
    if "mimetype" in names:  # ODF and ASiC-E: a short, stored first entry naming the type
        try:
            with archive.open("mimetype") as entry:
                mimetype = entry.read(100).decode("ascii", "replace").strip()
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError):
            raise Refused(_("The file is damaged: it cannot be read.")) from None
        return _ODF_MIMETYPES.get(mimetype)
    if "[Content_Types].xml" in names and not any(n.endswith("vbaProject.bin") for n in names):  # no macros
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


_SEPARATORS = re.compile(r"[/\\]")
_UNSAFE = re.compile(r"[^\w\-]+")  # \w is Unicode: ā, č, ē … stay


def _visible(text: str) -> str:
    """NFC, without control, format (bidi overrides, zero-width) or unassigned characters."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text or "") if unicodedata.category(ch)[0] != "C")


def display_name(original: str) -> str:
    """The name to show: the last part of the path as given, visible characters only."""
    name = _SEPARATORS.split(_visible(original))[-1].strip()
    return name[:200] or "—"


def safe_name(original: str, file_format: str) -> str:
    """The stored name: letters (Latvian ones too), digits, '-' and '_', with the extension of the format the
    content is; never a path. "../../etc/passwd" → "passwd.pdf"; "Valdes lēmums.pdf" → "Valdes_lēmums.pdf"."""
    name = display_name(original)
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = _UNSAFE.sub("_", stem).strip("._-")[:100].strip("._-")
    return f"{stem or 'file'}{FORMATS[file_format].extension}"


# --- an application's files ---------------------------------------------------------------------------------------

def files_of(application: Application, *, addenda: bool = False) -> list[ApplicationFile]:
    """The files of the application (the content as submitted), or with `addenda` the clarification files."""
    query = select(ApplicationFile).where(ApplicationFile.application_id == application.id)
    query = query.where(ApplicationFile.clarification_id.isnot(None) if addenda
                        else ApplicationFile.clarification_id.is_(None))
    return db.session.scalars(query.order_by(ApplicationFile.id)).all()


def editable(application: Application) -> bool:
    return application.status == "draft" and application.call.accepting(clock.now())


def _require_editable(application: Application) -> None:
    if application.status != "draft":
        raise Refused(_("A submitted application can no longer be changed."))
    if not application.call.accepting(clock.now()):
        raise Refused(_("The call is closed: drafts are read-only."))


@dataclass(frozen=True)
class Prepared:
    """A file judged acceptable, not yet stored."""

    name: str  # for display
    stored_name: str
    format: str
    data: bytes
    sha256: str

    def fill(self, row: ApplicationFile, actor: User) -> None:
        row.filename, row.original_name, row.format = self.stored_name, self.name, self.format
        row.content_type, row.size, row.content = FORMATS[self.format].content_type, len(self.data), self.data
        row.sha256, row.uploaded_by, row.uploaded_at = self.sha256, actor.id, clock.now()


def prepare(original_name: str, data: bytes, allowed) -> Prepared:
    """Judge a file: refused, with the reason, when empty, too large, unrecognised or not of an `allowed` format."""
    if not data:
        raise Refused(_("The file is empty. Choose the file again."))
    if len(data) > MAX_FILE_BYTES:
        raise Refused(_("Files may be at most 10 MB."))
    file_format = recognise(data)
    if file_format not in allowed:
        raise Refused(_("“%(name)s” is not a file of an allowed format (%(formats)s). The format is recognised "
                        "from the file's content, not from its name.", name=display_name(original_name),
                        formats=formats_text(allowed)))
    return Prepared(display_name(original_name), safe_name(original_name, file_format), file_format, data,
                    hashlib.sha256(data).hexdigest())


def add_addenda(application: Application, clarification, actor: User, prepared: list[Prepared]) -> None:
    """Files sent with a clarification answer: kept apart from the submitted content (never in its hash), each
    with its own SHA-256, which the answer's hash covers (app/services/applications.py `_store_answer`)."""
    for item in prepared:
        row = ApplicationFile(application_id=application.id, type_id=None, clarification_id=clarification.id)
        item.fill(row, actor)
        db.session.add(row)
    db.session.flush()


def upload(application: Application, actor: User, type_id: int | None, original_name: str,
           data: bytes) -> ApplicationFile:
    """Attach a file of the type `type_id` (None: "other"), replacing the one of that type. Refused, with the
    reason, for an empty, too large, unrecognised or not allowed file."""
    lock(application)
    _require_editable(application)
    attachment_type = None
    if type_id is not None:
        attachment_type = db.session.get(AttachmentType, type_id)
        if attachment_type is None or attachment_type.call_id != application.call_id:
            raise Refused(_("This call does not ask for that attachment."))
    prepared = prepare(original_name, data, attachment_type.formats if attachment_type else ATTACHMENT_FORMATS)
    existing = None
    if attachment_type is not None:
        existing = db.session.scalars(select(ApplicationFile).where(
            ApplicationFile.application_id == application.id, ApplicationFile.type_id == type_id,
            ApplicationFile.clarification_id.is_(None))).first()
    elif sum(1 for f in files_of(application) if f.type_id is None) >= MAX_OTHER_FILES:
        raise Refused(_("At most %(n)s other files may be attached.", n=MAX_OTHER_FILES))
    row = existing or ApplicationFile(application_id=application.id, type_id=type_id)
    prepared.fill(row, actor)
    db.session.add(row)
    db.session.flush()
    audit.record("application", application.id, "replace_attachment" if existing else "attach", "draft", "draft",
                 actor.id, data={"file": row.filename, "sha256": row.sha256, "type": type_id})
    return row


def remove(application: Application, actor: User, file_id: int) -> ApplicationFile:
    lock(application)
    _require_editable(application)
    row = db.session.get(ApplicationFile, file_id)
    if row is None or row.application_id != application.id or row.clarification_id is not None:
        raise NotFound()
    db.session.delete(row)
    audit.record("application", application.id, "remove_attachment", "draft", "draft", actor.id,
                 data={"file": row.filename, "sha256": row.sha256, "type": row.type_id})
    return row


def move_files(ctx) -> list[ApplicationFile]:
    """`files_of(ctx.entity)`, read once per move: the guard and the effects that freeze and receipt a submission
    see the same files (the application is locked, so they cannot change meanwhile)."""
    key = ("files", ctx.entity.id)
    if key not in ctx.memo:
        ctx.memo[key] = files_of(ctx.entity)
    return ctx.memo[key]


def missing_required(application: Application, files: list[ApplicationFile] | None = None) -> list[AttachmentType]:
    present = {f.type_id for f in (files_of(application) if files is None else files)}
    return [t for t in types_of(application.call) if t.required and t.id not in present]


def step_status(application: Application) -> str:
    """The attachments step of the guided form: "completed" when every required type is attached (a call that
    asks for none: completed), "in_progress" when some file is there but a required one is missing, else
    "not_started"."""
    if not missing_required(application):
        return "completed"
    return "in_progress" if files_of(application) else "not_started"


def rows_of(application: Application, lang: str) -> list[dict]:
    """The attachments page: one row per asked-for type with its file (or None), then the other files."""
    files = files_of(application)
    by_type = {f.type_id: f for f in files if f.type_id is not None}
    rows = [{"type": t, "label": t.label(lang), "formats": formats_text(t.formats), "required": t.required,
             "file": by_type.get(t.id)} for t in types_of(application.call)]
    rows += [{"type": None, "label": _("Other file"), "formats": formats_text(ATTACHMENT_FORMATS),
              "required": False, "file": f} for f in files if f.type_id is None]
    return rows


def frozen(application: Application, files: list[ApplicationFile] | None = None) -> list[dict]:
    """The files as they go into the frozen content and the receipt: name, type, format, size, SHA-256. `files`:
    `files_of(application)` when the caller has them already."""
    return [{"type": f.attachment_type.label_lv if f.attachment_type else OTHER, "name": f.original_name,
             "stored_name": f.filename, "format": f.format, "size": f.size, "sha256": f.sha256}
            for f in (files_of(application) if files is None else files)]


def receipt_rows(application: Application, lang: str, files: list[ApplicationFile] | None = None) -> list[dict]:
    """`frozen` with the type in `lang`, for the receipt (page, PDF, e-mail)."""
    with force_locale(lang):
        other = _("Other file")
    files = files_of(application) if files is None else files  # the frozen rows and their labels: the same files
    return [{**item, "type": f.attachment_type.label(lang) if f.attachment_type else other,
             "size_text": _kilobytes(f.size, lang)} for item, f in zip(frozen(application, files), files)]


def shown(application: Application, lang: str) -> list[dict]:
    """The files on the pages that show an application (its content, the admin's and the evaluator's page): the
    submitted ones, then those added with a clarification answer, each with the id its download link names."""
    rows = []
    for addendum in (False, True):
        for f in files_of(application, addenda=addendum):
            label = f.attachment_type.label(lang) if f.attachment_type else _("Other file")
            rows.append({"id": f.id, "type": label, "name": f.original_name, "size_text": _kilobytes(f.size, lang),
                         "sha256": f.sha256, "addendum": addendum})
    return rows


def _kilobytes(size: int, lang: str) -> str:
    return f"{size / 1024:.1f}".replace(".", "," if lang == "lv" else ".") + " KB"


@guard("attachments_present")
def _attachments_present(ctx):
    missing = missing_required(ctx.entity, move_files(ctx))
    if not missing:
        return None
    lang = formatting.current_lang()
    return _("Attach the required files: %(types)s.", types="; ".join(t.label(lang) for t in missing))
