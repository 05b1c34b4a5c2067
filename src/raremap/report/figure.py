"""The pieces a report is made of: figures as plain plotly JSON, tables, and the rows behind each.

Figures are plain dictionaries (``{"data": [...], "layout": {...}}``) rather than plotly Python
objects, so that building them needs no plotting library: the same figures go into the offline
HTML report, the dashboard and the tests, and only plotly.js (in the browser) draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


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
        """The figure as plotly.js expects it, with the title in the layout."""
        layout = {"title": {"text": self.title}, "margin": {"l": 60, "r": 30, "t": 60, "b": 50}}
        layout.update(self.layout)
        return {"data": self.data, "layout": layout}


@dataclass(frozen=True)
class Table:
    """A table shown in the report, with the evidence behind its numbers."""

    identifier: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Section:
    """A titled part of the report: a short text that says why it matters, then figures and tables."""

    identifier: str
    title: str
    introduction: str
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = field(default=())


def evidence_from_rows(table: str, selection: str, rows: pd.DataFrame) -> Evidence:
    """Evidence naming the rows used and every source they cite, in a stable order."""
    source_ids: tuple[str, ...] = ()
    if "source_id" in rows.columns:
        source_ids = tuple(sorted(str(value) for value in rows["source_id"].dropna().unique()))
    return Evidence(table=table, selection=selection, rows=len(rows), source_ids=source_ids)
