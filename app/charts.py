"""Charts drawn on the server as SVG with pygal, and as PNG from that SVG with CairoSVG: no script, no CDN, nothing
the page's Content-Security-Policy has to allow. A municipality downloads either file for its own report; every chart
has its figures as a table beside it on the page, so the chart is never the only way to read them."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

import cairosvg
import pygal
from pygal.etree import etree as pygal_etree
from pygal.style import Style

# pygal builds its tree with lxml whenever lxml is installed (signxml, for the signed agreements, brings it); the
# post-processing below reads the standard library's ElementTree, so pygal is told to use that one.
pygal_etree.to_etree()

# pygal appends an import hook for its map plugins (pygal.maps.*, unused here) that has only the old
# find_module API: Python warns about it on every later import. Take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

# the app's palette (Bootstrap's), darker shades so each bar's text passes WCAG contrast on white
STYLE = Style(
    background="white", plot_background="white", foreground="#212529", foreground_strong="#212529",
    foreground_subtle="#6c757d", opacity="1", opacity_hover="0.85", transition="0s",
    colors=("#0b5ed7", "#198754", "#b02a37", "#997404", "#6f42c1", "#0a7ea4", "#495057"),
    font_family="DejaVu Sans, sans-serif", title_font_size=18, label_font_size=13, major_label_font_size=13,
    value_font_size=13, value_label_font_size=13, legend_font_size=13, tooltip_font_size=13)
# served with the SVG: it may style itself (pygal writes its CSS inline) and fetches nothing; scripts and framing
# as on every page (it has no script: see _without_scripts)
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"


def _config(title: str, formatter: Callable[[float], str], rows: int, legend: bool) -> dict:
    # the values are written in the labels ("Piešķirts: 9 200,00 €"), so the value axis needs neither labels nor
    # guides, and no value is printed over a bar
    return dict(
        title=title, style=STYLE, js=(), width=800, height=max(240, 110 + 44 * rows), show_legend=legend,
        legend_at_bottom=True, print_values=False, value_formatter=formatter, show_x_labels=False,
        show_x_guides=False, show_y_guides=False, margin=16, truncate_label=-1, truncate_legend=-1, no_data_text="—",
        disable_xml_declaration=False)


def bars(title: str, rows: Sequence[tuple[str, int]], formatter: Callable[[float], str] = str) -> bytes:
    """One horizontal bar per (label, value), in the order given."""
    chart = pygal.HorizontalBar(**_config(title, formatter, len(rows), legend=False))
    rows = list(reversed(rows))  # pygal draws the first label at the bottom: the reader starts at the top
    chart.x_labels = [f"{label}: {formatter(value)}" for label, value in rows]
    chart.add(title, [value for _label, value in rows])
    return _without_scripts(chart)


def grouped_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
                 formatter: Callable[[float], str] = str) -> bytes:
    """Bars per label, one per series (e.g. awarded and paid per municipality), with a legend."""
    chart = pygal.HorizontalBar(**_config(title, formatter, len(labels) * max(len(series), 1), legend=True))
    chart.x_labels = list(reversed(labels))
    for name, values in series:
        chart.add(name, list(reversed(values)))
    return _without_scripts(chart)


def _without_scripts(chart) -> bytes:
    """The chart's SVG without the configuration script pygal always writes (it drives its tooltips, which a
    static image does not need)."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(tree, encoding="utf-8", xml_declaration=False)


def to_png(svg: bytes) -> bytes:
    return cairosvg.svg2png(bytestring=svg, output_width=1600)
