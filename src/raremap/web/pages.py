"""The dashboard's pages: Jinja2 templates (autoescaped) and the figure blocks they show.

Every page is rendered from a template in `web/templates` with autoescaping on, so any text that
came from a person (a scenario name, a description, a job message) is escaped by default rather
than by remembering to. The only behaviour is in `web/static/dashboard.js` and the figure renderer,
served as files: pages carry no inline script, which lets the Content-Security-Policy forbid
inline scripts and eval (see raremap.web.security).

Charts come from the same figure builders as the offline report, so a chart in a meeting and a
chart in a brief are the same chart; plotly.js and the world map are served by this server from
the installed packages, never from a CDN.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from raremap.report.figure import Section
from raremap.report.html import figure_html, format_cell, report_table_html


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("raremap.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """A page from its template; `title`, `figures` (load plotly) and `logged_in` go to the frame."""
    context.setdefault("figures", False)
    context.setdefault("logged_in", False)
    return environment().get_template(template).render(**context)


@cache
def static_file(name: str) -> str:
    """A file shipped in web/static (the dashboard's script and style)."""
    return resources.files("raremap.web").joinpath("static", name).read_text(encoding="utf-8")


def sections_html(sections: Sequence[Section]) -> Markup:
    """Report sections as HTML; the figure and table builders escape every text they place."""
    parts = []
    for section in sections:
        parts.append(
            Markup('<section id="{}"><h2>{}</h2><p>{}</p>').format(
                section.identifier, section.title, section.introduction
            )
        )
        parts += [Markup(figure_html(figure)) for figure in section.figures]
        parts += [Markup('<div class="scroll">{}</div>').format(Markup(report_table_html(table))) for table in section.tables]
        parts.append(Markup("</section>"))
    return Markup("").join(parts)


def table_rows(frame: pd.DataFrame) -> tuple[list[str], list[dict[str, dict[str, Any]]]]:
    """A frame as the column names and rows of cells ({text, number}) the `data_table` macro shows."""
    columns = [str(column) for column in frame.columns]
    rows = []
    for record in frame.astype(object).itertuples(index=False):
        cells = {}
        for column, value in zip(columns, record, strict=True):
            text, number = format_cell(value)
            cells[column] = {"text": text, "number": number}
        rows.append(cells)
    return columns, rows
