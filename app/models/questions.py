"""A question of the call's own, asked besides the fixed form (issue 6): frozen with the call at announce."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.extensions import db

QUESTION_KINDS = ("short_text", "long_text", "number", "date", "choice", "yes_no", "file")
QUESTION_STEPS = ("project", "activities", "participants", "results", "questions", "declarations")
# What the admin's pages call each kind and step (msgids: shown through gettext).
KIND_LABELS = {"short_text": _l("Short text"), "long_text": _l("Long text"), "number": _l("Whole number"),
               "date": _l("Date"), "choice": _l("One of several options"), "yes_no": _l("Yes or no"),
               "file": _l("File")}
STEP_LABELS = {"project": _l("The project"), "activities": _l("Activities"), "participants": _l("Who takes part"),
               "results": _l("Results and indicators"), "questions": _l("Questions of the call"),
               "declarations": _l("Declarations")}


class Question(db.Model):
    __tablename__ = "call_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    # The stable key the answers are stored under (application.content["questions"][key]); never reused in a call.
    key: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[str] = mapped_column(String(20), default="questions")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    label_lv: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    help_lv: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    # choice: [{"value": "o1", "lv": "Jā, pilnībā", "en": "Yes, fully"}, ...]
    options: Mapped[list] = mapped_column(JSON, default=list)
    min_value: Mapped[int | None] = mapped_column(Integer)  # number: inclusive bounds
    max_value: Mapped[int | None] = mapped_column(Integer)

    call = relationship("Call", backref=backref("questions", order_by="Question.position",
                                                 cascade="all, delete-orphan"))

    __table_args__ = (
        UniqueConstraint("call_id", "key", name="uq_call_questions_call_key"),
        CheckConstraint(f"kind in {QUESTION_KINDS}", name="question_kind"),
        CheckConstraint(f"step in {QUESTION_STEPS}", name="question_step"),
        CheckConstraint("min_value is null or max_value is null or min_value <= max_value", name="question_range"),
    )

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label_lv

    def help(self, lang: str) -> str:
        return self.help_en if lang == "en" and self.help_en else self.help_lv

    @property
    def kind_label(self) -> str:
        """The kind in words, in the reader's language (a lazy string)."""
        return KIND_LABELS[self.kind]

    @property
    def step_label(self) -> str:
        return STEP_LABELS[self.step]

    def option_label(self, value, lang: str) -> str | None:
        for option in self.options or []:
            if option["value"] == value:
                return option["en"] if lang == "en" and option.get("en") else option["lv"]
        return None
