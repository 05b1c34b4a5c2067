"""Rendering sections as one self-contained HTML page that opens with no network.

The page comes from Jinja2 templates (`report/templates`, autoescaped: every text from data or a
person is escaped by the template, not by remembering to); its style and its figure renderer are
files in `report/static`, inlined here so the report is one file, and served as files by the
dashboard, which shows the same sections. plotly.js and the world map are inlined too. A Content
Security Policy in the page forbids every fetch, so a chart that tried to reach a CDN would fail
loudly instead of leaking a request. Source links are ordinary hyperlinks that a reader may follow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from raremap.formatting import cell
from raremap.report.assets import geo_assets_script, plotly_javascript, script_safe
from raremap.report.figure import Evidence, Figure, Section, Table

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; worker-src blob:"
)
LINKED_COLUMNS = ("url",)
LINK_WIDTH = 40
ANCHORED = {"sources": ("source_id", "source-")}
"""Tables whose rows can be linked to: identifier -> (column, id prefix)."""


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("raremap.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def static_text(name: str) -> str:
    """A file shipped in report/static (the shared style and the figure renderer)."""
    return resources.files("raremap.report").joinpath("static", name).read_text(encoding="utf-8")


RENDER_SCRIPT = static_text("render-figures.js")
"""The figure renderer: inlined in the report, served as /static/render-figures.js by the dashboard."""


def format_cell(value: Any, column: str = "", unit: str = "") -> tuple[str, bool]:
    """A cell's text and whether it is a number (numbers align right), by raremap.formatting."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and not pd.isna(value)
    return cell(value, column, unit), bool(number) and not isinstance(value, bool)


@dataclass(frozen=True)
class CellView:
    text: str
    css: str = ""
    link: str = ""


@dataclass(frozen=True)
class RowView:
    cells: tuple[CellView, ...]
    anchor: str = ""


@dataclass(frozen=True)
class TableView:
    identifier: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[RowView, ...]
    caption: str
    evidence: tuple[Evidence, ...]
    folded: bool


@dataclass(frozen=True)
class FigureView:
    identifier: str
    payload: Markup
    caption: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class SectionView:
    identifier: str
    title: str
    introduction: str
    caveats: tuple[str, ...]
    findings: tuple[str, ...]
    figures: tuple[FigureView, ...]
    tables: tuple[TableView, ...]
    notes: tuple[str, ...]


def _header(column: str, unit: str) -> str:
    return f"{column} ({unit})" if unit and unit not in ("year", "date", "fraction") else column


def short_link(url: str, width: int = LINK_WIDTH) -> str:
    """A link's text: the address without its scheme and 'www.', cut to `width` characters."""
    text = url.split("://", 1)[-1].removeprefix("www.")
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell_view(column: str, value: Any, unit: str) -> CellView:
    text, number = format_cell(value, column, unit)
    if column in LINKED_COLUMNS and text.startswith(("https://", "http://")):
        return CellView(short_link(text), css="link", link=text)
    if column == "pass" and text in ("yes", "no"):
        return CellView(text, css=f"pass-{'true' if text == 'yes' else 'false'}")
    if number:
        return CellView(text, css="number")
    return CellView(text, css="text" if len(text) > 40 else "")


def table_view(table: Table) -> TableView:
    frame = table.frame
    columns = [str(column) for column in frame.columns]
    anchor_column, prefix = ANCHORED.get(table.identifier, ("", ""))
    rows = []
    for record in frame.astype(object).itertuples(index=False):
        values = dict(zip(columns, record, strict=True))
        cells = tuple(_cell_view(column, values[column], table.units.get(column, "")) for column in columns)
        anchor = f"{prefix}{values[anchor_column]}" if anchor_column in values else ""
        rows.append(RowView(cells, anchor))
    return TableView(
        identifier=table.identifier,
        title=table.title,
        headers=tuple(_header(column, table.units.get(column, "")) for column in columns),
        rows=tuple(rows),
        caption=table.caption,
        evidence=table.evidence,
        folded=table.folded,
    )


def figure_payload(figure: Figure) -> Markup:
    """The figure's plotly JSON, safe inside a <script> element (no `</` can close it)."""
    return Markup(script_safe(json.dumps(figure.plotly_json(), separators=(",", ":"), allow_nan=False)))


def figure_view(figure: Figure) -> FigureView:
    return FigureView(figure.identifier, figure_payload(figure), figure.caption, figure.evidence)


def section_view(section: Section) -> SectionView:
    return SectionView(
        identifier=section.identifier,
        title=section.title,
        introduction=section.introduction,
        caveats=section.caveats,
        findings=section.findings,
        figures=tuple(figure_view(figure) for figure in section.figures),
        tables=tuple(table_view(table) for table in section.tables),
        notes=section.notes,
    )


def sections_markup(sections: Sequence[Section]) -> Markup:
    """The sections as HTML (the dashboard's pages place this inside their own frame)."""
    views = [section_view(section) for section in sections]
    return Markup(environment().get_template("sections.html").render(sections=views))


def figure_html(figure: Figure) -> str:
    """One figure block as HTML (for tests and pages that show a single figure)."""
    template = environment().from_string('{% from "macros.html" import figure %}{{ figure(view) }}')
    return template.render(view=figure_view(figure))


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole report page: styles, plotly.js and the map inlined, then the sections."""
    views = [section_view(section) for section in sections]
    return environment().get_template("report.html").render(
        policy=Markup(CONTENT_SECURITY_POLICY),  # a constant with no double quote: safe in the attribute
        title=title,
        subtitle=subtitle,
        style=Markup(static_text("report.css")),
        geo_script=Markup(script_safe(geo_assets_script())),
        plotly=Markup(plotly_javascript()),
        render_script=Markup(script_safe(RENDER_SCRIPT)),
        figure_count=sum(len(section.figures) for section in sections),
        sections=views,
    ) + "\n"
