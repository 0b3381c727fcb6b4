"""HTML → PDF with WeasyPrint. Only local static files may be fetched."""
from __future__ import annotations

import threading
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

STATIC = Path(__file__).resolve().parent / "static"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


def _local_only_fetcher():
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            path = Path(url2pathname(parsed.path)).resolve() if parsed.scheme == "file" else None
            if path is None or not any(path.is_relative_to(root) for root in (STATIC, *FONT_DIRS)):
                raise ValueError(f"refusing to fetch {url}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("file",))


def render_html(kind: str, context: dict, language: str) -> str:
    with force_locale(language):
        return render_template(f"pdf/{kind}.html", lang=language, font_dir=str(FONT_DIRS[0]), **context)


_FONTS = threading.local()


def _font_config():
    """One WeasyPrint font configuration per thread, kept: a fresh one per document loads the system's fonts and
    writes the @font-face files to a new folder each time (about a third of a letter's rendering); a kept one adds
    each @font-face once, so memory stays flat. Per thread, because fontconfig and Pango promise no sharing."""
    config = getattr(_FONTS, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _FONTS.config = FontConfiguration()
    return config


def render(kind: str, context: dict, language: str) -> bytes:
    from weasyprint import HTML

    html = render_html(kind, context, language)
    base = current_app.static_folder
    return HTML(string=html, base_url=base, url_fetcher=_local_only_fetcher()).write_pdf(font_config=_font_config())
