"""Printing tables for people (rich), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from raremap.files import csv_text

console = Console(highlight=False, soft_wrap=True, emoji=False)
"""Output for people. Values are never read as rich markup or emoji codes: table cells are plain
Text, and messages built from input print with markup=False (so `Nd:x:` stays `Nd:x:`)."""


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def plain(value: Any) -> Any:
    """A JSON-ready copy of a value: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def print_json(payload: Any) -> None:
    print(json.dumps(plain(payload), indent=2, ensure_ascii=False))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [plain(row) for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return (
            f"{value:,.4g}" if abs(value) < 1 else f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
        )
    return str(value)


def rich_table(frame: pd.DataFrame, title: str | None = None, whole: tuple[str, ...] = ()) -> Table:
    """A rich table of a frame; the columns named in `whole` are never folded (names people search for)."""
    table = Table(title=None if title is None else Text(title), title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(
            Text(str(column)), justify="right" if numeric else "left", overflow="fold", no_wrap=column in whole
        )
    for row in frame.itertuples(index=False):
        table.add_row(*(Text(_cell(value)) for value in row))
    return table


def print_frame(frame: pd.DataFrame, output_format: Format = Format.table, title: str | None = None) -> None:
    if output_format is Format.json:
        print_json(records(frame))
    elif output_format is Format.csv:
        print(csv_text(frame), end="")
    else:
        console.print(rich_table(frame, title))
