"""Text written in one place and translated in another.

pybabel extracts only string literals given to a translation call. A text that is written down now but translated
later, in someone else's language (an e-mail subject translated in the recipient's language, the declaration an
evaluator reads in theirs), is written as `N_("…")`: the literal is extracted into the catalogues, and the value is
the msgid itself, for `gettext` to translate where the language is known. `N_` is one of Babel's default keywords,
and babel.cfg names it too.
"""
from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802  the gettext convention's name, so that every extractor knows it
    """Mark `text` as a msgid to extract; return it untranslated."""
    return text
