"""Printing tables for people (rich), spreadsheets (CSV) and programs (JSON).

Tables fit the terminal: every column gets at least the width of its longest header word (and of
its numbers, which never wrap), so nothing wraps letter by letter; when the columns cannot all fit
at that width, the table is printed in parts, each repeating the columns that name the rows.
Numbers, years, shares and lists are written by `raremap.formatting`, like everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from raremap.files import csv_text
from raremap.formatting import cell, clean

console = Console(highlight=False, soft_wrap=True, emoji=False)
"""Output for people. Values are never read as rich markup or emoji codes: table cells are plain
Text, and messages built from input print with markup=False (so `Nd:x:` stays `Nd:x:`)."""

WRAP_WIDTH = 12
"""A text column may be narrowed to this width (wrapping between words) before the table is split."""
LONGEST_WORD = 28
"""Words up to this length (names, codes, magnet types) are never broken across lines."""
BORDER = 3
"""Characters rich adds per column (padding and the rule), plus one for the table's edge."""


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def plain(value: Any) -> Any:
    """A JSON-ready copy of a value: numpy scalars to Python, NaN to None, no float noise."""
    return clean(value)


def print_json(payload: Any) -> None:
    print(json.dumps(clean(payload), indent=2, ensure_ascii=False))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [clean(row) for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _column_widths(header: str, cells: Sequence[str], numeric: bool) -> tuple[int, int]:
    """(natural, minimum) width: on one line; narrowest without breaking a word or a number."""
    natural = max([len(header), *(len(text) for text in cells)])
    if numeric:
        minimum = max([_longest_word(header), *(len(text) for text in cells)])
    else:
        words = min(max((_longest_word(text) for text in cells), default=0), LONGEST_WORD)
        minimum = min(natural, max(_longest_word(header), words, WRAP_WIDTH))
    return natural, max(minimum, 1)


def _parts(widths: Sequence[int], keys: int, available: int) -> list[list[int]]:
    """Groups of column positions, each with the key columns first, whose minimum widths fit."""
    key_columns = list(range(keys))
    key_width = sum(widths[index] + BORDER for index in key_columns) + 1
    parts: list[list[int]] = []
    current: list[int] = []
    used = key_width
    for index in range(keys, len(widths)):
        needed = widths[index] + BORDER
        if current and used + needed > available:
            parts.append(key_columns + current)
            current, used = [], key_width
        current.append(index)
        used += needed
    if current or not parts:
        parts.append(key_columns + current)
    return parts


def _fixed_widths(natural: Sequence[int], minimum: Sequence[int], available: int) -> list[int] | None:
    """Column widths that fill `available` characters: each column's minimum plus a share of what is
    left in proportion to how much wider it would like to be; None when every column fits whole."""
    room = available - (BORDER * len(natural) + 1)
    if sum(natural) <= room:
        return None
    extra = max(room - sum(minimum), 0)
    slack = [wide - narrow for wide, narrow in zip(natural, minimum, strict=True)]
    total_slack = sum(slack) or 1
    return [narrow + (extra * part) // total_slack for narrow, part in zip(minimum, slack, strict=True)]


def _header(column: str, unit: str) -> str:
    shown = unit and unit not in ("year", "date", "fraction")
    return f"{column} ({unit})" if shown else column


def rich_table(
    frame: pd.DataFrame,
    title: str | None = None,
    whole: tuple[str, ...] = (),
    units: Mapping[str, str] | None = None,
    keys: int | None = None,
    width: int | None = None,
) -> RenderableType:
    """A table of a frame that fits the terminal (split into parts if it must).

    `whole`: columns never folded (names people search for); `units`: unit per column, shown in
    the header (except years and fractions, which are written as years and per cent); `keys`: how
    many leading columns name a row and are repeated in every part (default: the first column).
    """
    units = {str(column): value for column, value in (units or {}).items() if value}
    names = [str(column) for column in frame.columns]
    headers = [_header(name, units.get(name, "")) for name in names]
    texts = [[cell(value, name, units.get(name, "")) for value in frame[column].astype(object)]
             for name, column in zip(names, frame.columns, strict=True)]
    numeric = [pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
               for column in frame.columns]
    sizes = [_column_widths(header, cells, is_number)
             for header, cells, is_number in zip(headers, texts, numeric, strict=True)]
    natural = [size[0] for size in sizes]
    minimum = [size[0] if name in whole else size[1] for size, name in zip(sizes, names, strict=True)]
    available = width or console.width
    key_count = min(1 if keys is None else keys, len(names))
    fits = sum(value + BORDER for value in minimum) + 1 <= available
    parts = [list(range(len(names)))] if fits else _parts(minimum, key_count, available)
    tables = []
    for position, part in enumerate(parts, start=1):
        shown = title if title is None or len(parts) == 1 else f"{title} (part {position} of {len(parts)})"
        fixed = _fixed_widths([natural[index] for index in part], [minimum[index] for index in part], available)
        table = Table(title=None if shown is None else Text(shown), title_justify="left", header_style="bold")
        for slot, index in enumerate(part):
            table.add_column(
                Text(headers[index]),
                justify="right" if numeric[index] else "left",
                overflow="fold",
                no_wrap=names[index] in whole,
                width=None if fixed is None else fixed[slot],
            )
        for row in range(len(frame)):
            table.add_row(*(Text(texts[index][row]) for index in part))
        tables.append(table)
    return tables[0] if len(tables) == 1 else Group(*tables)


def print_frame(
    frame: pd.DataFrame,
    output_format: Format = Format.table,
    title: str | None = None,
    units: Mapping[str, str] | None = None,
) -> None:
    """A frame as a table, CSV or JSON (JSON: with each column's unit when `units` are given)."""
    if output_format is Format.json:
        if units:
            print_json({"units": {column: unit for column, unit in units.items() if unit}, "rows": records(frame)})
        else:
            print_json(records(frame))
    elif output_format is Format.csv:
        print(csv_text(frame), end="")
    else:
        console.print(rich_table(frame, title, units=units))
