"""The invisible characters that change the direction of writing, which no stored text of ours may contain.

A right-to-left override (U+202E) in a project title makes every character after it display in reverse, so
"Nometne 2023" can show as something else on the receipt, in a decision letter or in the protocol, while the stored
bytes (and their SHA-256) say otherwise. Latvian and English text never needs them, so they are refused with a
message, never stripped silently: what is stored is what the person typed and saw. The forms refuse them in every
text field (their base class, `app.forms.FlaskForm`); `workflow.fire` refuses them in a note or data that reaches it
by another way.
"""
from __future__ import annotations

from flask_babel import gettext as _

# The Unicode bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates
# (U+2066–U+2069), and the marks (left-to-right U+200E, right-to-left U+200F, Arabic letter U+061C).
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def first_in(text: str | None) -> str | None:
    """The first direction control in `text`, named as "U+202E"; None when there is none."""
    for char in text or "":
        if char in DIRECTION_CONTROLS:
            return f"U+{ord(char):04X}"
    return None


def refusal(code: str) -> str:
    """What the user reads, in their language."""
    return _("The text contains an invisible character that changes the direction of writing (%(code)s), so it "
             "could read differently from what is saved. Delete it and type the text again.", code=code)


def refuse_in(*values) -> None:
    """Raise Refused, with the message, when any of the texts among `values` holds a direction control."""
    from app.errors import Refused

    for value in values:
        code = first_in(value) if isinstance(value, str) else None
        if code:
            raise Refused(refusal(code))
