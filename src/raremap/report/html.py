"""Rendering sections as one self-contained HTML page that opens with no network.

Everything is inlined: plotly.js, the world map, the figure data and the styles. A Content
Security Policy in the page forbids every fetch, so a chart that tried to reach a CDN would fail
loudly instead of leaking a request. Source links are ordinary hyperlinks that a reader may follow.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from raremap.report.assets import geo_assets_script, plotly_javascript, script_safe
from raremap.report.figure import Evidence, Figure, Section, Table

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; worker-src blob:"
)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #0f172a; background: #f8fafc; }
header { background: #0f172a; color: #f8fafc; padding: 1.5rem 2rem; }
header p { margin: 0.3rem 0 0; color: #cbd5e1; }
nav { padding: 0.6rem 2rem; background: #e2e8f0; font-size: 0.9rem; }
nav a { margin-right: 1rem; color: #1e3a8a; }
main { padding: 0 2rem 3rem; max-width: 1200px; }
section { margin-top: 2rem; }
.figure { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 0.5rem; margin: 1rem 0; }
.caption { font-size: 0.88rem; color: #334155; margin: 0.3rem 0.5rem; }
.evidence { font-size: 0.8rem; color: #475569; margin: 0.2rem 0.5rem 0.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; background: #fff; margin: 0.5rem 0; }
th, td { border: 1px solid #e2e8f0; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f1f5f9; }
.pass-true { color: #047857; font-weight: 600; } .pass-false { color: #b91c1c; font-weight: 600; }
"""
RENDER_SCRIPT = """
document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function (element) {
  var figure = JSON.parse(element.textContent);
  var target = document.getElementById(element.dataset.figure);
  Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
});
"""


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def format_cell(value: Any) -> tuple[str, bool]:
    """A cell's text and whether it is a number (numbers align right)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int | float):
        number = float(value)
        text = (
            f"{number:,.4g}"
            if abs(number) < 1
            else f"{number:,.0f}"
            if abs(number) >= 100
            else f"{number:,.2f}"
        )
        return text, True
    return str(value), False


def table_html(frame: pd.DataFrame) -> str:
    header = "".join(f"<th>{escape(column)}</th>" for column in frame.columns)
    body = []
    for row in frame.astype(object).itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            text, numeric = format_cell(value)
            css = ' class="number"' if numeric else ""
            if column == "pass" and text in ("yes", "no"):
                css = f' class="pass-{"true" if text == "yes" else "false"}"'
            if column == "url" and text.startswith(("https://", "http://")):
                cells.append(f'<td><a href="{escape(text)}" rel="noreferrer">{escape(text)}</a></td>')
                continue
            cells.append(f"<td{css}>{escape(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def evidence_html(evidence: Sequence[Evidence]) -> str:
    """'Data: table (selection, N rows) — sources [a], [b]' with links to the sources table."""
    items = []
    for item in evidence:
        links = ", ".join(
            f'<a href="#source-{escape(source)}">{escape(source)}</a>' for source in item.source_ids
        )
        cited = f"; sources {links}" if links else ""
        items.append(
            f"<li><code>{escape(item.table)}</code>: {escape(item.selection)} ({item.rows:,} rows){cited}</li>"
        )
    return f'<div class="evidence">Data:<ul>{"".join(items)}</ul></div>' if items else ""


def figure_html(figure: Figure) -> str:
    payload = script_safe(json.dumps(figure.plotly_json(), separators=(",", ":"), allow_nan=False))
    return (
        f'<div class="figure" id="figure-{escape(figure.identifier)}">'
        f'<div class="plot" id="plot-{escape(figure.identifier)}"></div>'
        f'<script type="application/json" data-figure="plot-{escape(figure.identifier)}">{payload}</script>'
        f'<p class="caption">{escape(figure.caption)}</p>{evidence_html(figure.evidence)}</div>'
    )


def report_table_html(table: Table) -> str:
    caption = f'<p class="caption">{escape(table.caption)}</p>' if table.caption else ""
    return (
        f'<div class="table" id="table-{escape(table.identifier)}"><h3>{escape(table.title)}</h3>'
        f"{table_html(table.frame)}{caption}{evidence_html(table.evidence)}</div>"
    )


def section_html(section: Section) -> str:
    parts = [
        f'<section id="{escape(section.identifier)}"><h2>{escape(section.title)}</h2>',
        f"<p>{escape(section.introduction)}</p>",
    ]
    parts += [figure_html(figure) for figure in section.figures]
    parts += [report_table_html(table) for table in section.tables]
    parts += [f'<p class="caption">{escape(note)}</p>' for note in section.notes]
    parts.append("</section>")
    return "".join(parts)


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole report page: styles, plotly.js and the map inlined, then the sections."""
    navigation = "".join(
        f'<a href="#{escape(section.identifier)}">{escape(section.title)}</a>' for section in sections
    )
    figure_count = sum(len(section.figures) for section in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style>"
        f"<script>{script_safe(geo_assets_script())}</script>"
        f"<script>{plotly_javascript()}</script></head>"
        f'<body data-figure-count="{figure_count}"><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>'
        f"<nav>{navigation}</nav><main>{''.join(section_html(section) for section in sections)}</main>"
        f"<script>{RENDER_SCRIPT}</script></body></html>\n"
    )
