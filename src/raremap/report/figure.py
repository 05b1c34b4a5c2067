"""The pieces a report is made of: figures as plain plotly JSON, tables, and the rows behind each.

Figures are plain dictionaries (``{"data": [...], "layout": {...}}``) rather than plotly Python
objects, so that building them needs no plotting library: the same figures go into the offline
HTML report, the dashboard and the tests, and only plotly.js (in the browser) draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from raremap.report.palette import coloured


@dataclass(frozen=True)
class Evidence:
    """The rows of one dataset table (or one stored run) that a figure or table is computed from.

    `selection` says which rows in words a reader can repeat with `raremap data show`; `source_ids`
    are the `sources.csv` entries those rows cite, so every number leads back to a publication.
    """

    table: str
    selection: str
    rows: int
    source_ids: tuple[str, ...] = ()


TITLE_LINE = 46
"""Characters of a chart title per line: plotly does not wrap titles, and a phone shows about this many."""


def wrapped_title(text: str, width: int = TITLE_LINE) -> str:
    """A chart title broken into lines (plotly's <br>) of at most about `width` characters, at spaces."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "<br>".join(lines)


@dataclass(frozen=True)
class Figure:
    """One chart: its plotly data and layout, a caption that says what it shows, and its evidence."""

    identifier: str
    title: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    caption: str = ""
    evidence: tuple[Evidence, ...] = ()

    def plotly_json(self) -> dict[str, Any]:
        """The figure as plotly.js expects it: the title in the layout, margins that let the axes and
        legend find room on a phone, the legend below the chart, and every country in its own colour
        (raremap.report.palette), the same in every figure."""
        layout: dict[str, Any] = {
            "title": {"text": wrapped_title(self.title), "x": 0, "xanchor": "left", "font": {"size": 15},
                      "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}, "automargin": True},
            "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
            "legend": {"orientation": "h", "x": 0, "xanchor": "left", "yref": "container", "y": 0,
                       "yanchor": "bottom"},
            "autosize": True,
        }
        for axis in ("xaxis", "yaxis"):
            layout[axis] = {"automargin": True}
        for key, value in self.layout.items():
            if key in ("xaxis", "yaxis", "legend", "margin") and isinstance(value, dict):
                layout[key] = {**layout.get(key, {}), **value}
            else:
                layout[key] = value
        return {"data": coloured(self.data), "layout": layout}


@dataclass(frozen=True)
class Table:
    """A table shown in the report, with the evidence behind its numbers."""

    identifier: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    evidence: tuple[Evidence, ...] = ()
    units: Mapping[str, str] = field(default_factory=dict)
    """Unit per column (from the result contract): shown in the header; years and shares written as such."""
    folded: bool = False
    """Shown closed (a <details> element) so ten runs' tables do not bury the page."""


@dataclass(frozen=True)
class Section:
    """A titled part of the report: a short text that says why it matters, then figures and tables."""

    identifier: str
    title: str
    introduction: str
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = field(default=())
    caveats: tuple[str, ...] = ()
    """What a reader must know before trusting the numbers; shown in a box under the introduction."""
    findings: tuple[str, ...] = ()
    """What the section's numbers say, in sentences (a scenario against its base, and why); shown
    after the caveats, before the figures."""


def evidence_from_rows(table: str, selection: str, rows: pd.DataFrame) -> Evidence:
    """Evidence naming the rows used and every source they cite, in a stable order."""
    source_ids: tuple[str, ...] = ()
    if "source_id" in rows.columns:
        source_ids = tuple(sorted(str(value) for value in rows["source_id"].dropna().unique()))
    return Evidence(table=table, selection=selection, rows=len(rows), source_ids=source_ids)
