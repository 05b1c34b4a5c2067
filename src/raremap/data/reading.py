"""Read table files as text, reporting every problem with the file itself (not its values).

The bytes come through the guarded reader (size, encoding); values stay strings here and
`consistency` converts and checks them against the schema, so a bad number is reported with its
row instead of failing the whole read.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from raremap.data.schema import TableSchema
from raremap.errors import Problem
from raremap.reading_guard import TABLE_LIMITS, InputError, read_text
from raremap.suggestions import closest

__all__ = ["closest", "read_table"]


def _decode(path: Path, problems: list[Problem]) -> str | None:
    try:
        return read_text(path, TABLE_LIMITS, "table")
    except InputError as error:
        where = [f"character {error.column}" if error.column is not None else "",
                 f"byte {error.byte}" if error.byte is not None else ""]
        detail = ", ".join(part for part in where if part)
        message = f"{error.message} ({detail})" if detail else error.message
        problems.append(Problem(path.name, message, error.fix, row=error.line))
        return None


def _header_problems(path: Path, header: list[str], schema: TableSchema) -> list[Problem]:
    expected = list(schema.column_names)
    problems = []
    for column in header:
        if column not in expected:
            suggestion = closest(column, expected)
            unit_hint = ""
            if suggestion is not None:
                unit = schema.column(suggestion).unit
                unit_hint = f" (in {unit})" if unit else ""
            problems.append(
                Problem(
                    path.name,
                    f"is not a column of {schema.name}",
                    f"rename it to {suggestion!r}{unit_hint}"
                    if suggestion
                    else f"remove it; columns are {', '.join(expected)}",
                    row=1,
                    column=column,
                )
            )
    for column in expected:
        if column not in header and schema.column(column).required:
            problems.append(
                Problem(
                    path.name,
                    f"required column {column!r} is missing",
                    f"add column {column!r} ({schema.column(column).description})",
                    row=1,
                    column=column,
                )
            )
    counts = Counter(header)
    for column in sorted(name for name, count in counts.items() if count > 1):
        problems.append(Problem(path.name, "column appears twice", "keep one of them", row=1, column=column))
    return problems


def _rows(path: Path, text: str) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The non-blank rows with their line numbers, and fields longer than the limit."""
    reader = csv.reader(io.StringIO(text))
    numbered: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                numbered.append((reader.line_num, row))
    except csv.Error as error:
        return [], [
            Problem(
                path.name,
                f"cannot be read as CSV from here ({error})",
                f"close every quote; a field holds at most {TABLE_LIMITS.max_text:,} characters",
                row=reader.line_num,
            )
        ]
    header = [cell.strip() for cell in numbered[0][1]] if numbered else []
    for line, row in numbered:
        for position, cell in enumerate(row):
            if len(cell) > TABLE_LIMITS.max_text:
                problems.append(
                    Problem(
                        path.name,
                        f"holds {len(cell):,} characters, more than the {TABLE_LIMITS.max_text:,} characters a field may hold",
                        "shorten it (or close the quote opened before it)",
                        row=line,
                        column=header[position] if position < len(header) and line != numbered[0][0] else None,
                        value=cell,  # shortened when shown
                    )
                )
    return numbered, problems


def read_table(path: Path, schema: TableSchema) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table file as strings; return it (or None) and the problems found in its layout."""
    problems: list[Problem] = []
    text = _decode(path, problems)
    if text is None:
        return None, problems
    numbered, layout_problems = _rows(path, text)
    if layout_problems:
        return None, layout_problems
    if not numbered:
        return None, [Problem(path.name, "is empty", f"write a header row: {','.join(schema.column_names)}")]
    header = [cell.strip() for cell in numbered[0][1]]
    problems += _header_problems(path, header, schema)
    if len(numbered) == 1:
        problems.append(Problem(path.name, "has a header but no rows", "add data rows or remove the file"))
    for line, row in numbered[1:]:
        if len(row) != len(header):
            problems.append(
                Problem(
                    path.name,
                    f"has {len(row)} fields where the header has {len(header)}",
                    "quote values that contain commas and give every row the same columns",
                    row=line,
                )
            )
    if problems:
        return None, problems
    frame = pd.DataFrame([row for _, row in numbered[1:]], columns=header, dtype="object")
    frame.index = pd.Index([line for line, _ in numbered[1:]], name="line")  # line numbers in the file
    for column in schema.column_names:
        if column not in frame.columns:
            frame[column] = ""
    return frame[list(schema.column_names)], problems
