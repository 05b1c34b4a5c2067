"""Read table files as text, reporting every problem with the file itself (not its values).

Values stay strings here; `consistency` converts and checks them against the schema, so a bad
number is reported with its row instead of failing the whole read.
"""

from __future__ import annotations

import csv
import difflib
import io
from pathlib import Path

import pandas as pd

from raremap.data.schema import TableSchema
from raremap.errors import Problem


def closest(value: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The candidate most like `value`, if any is reasonably close."""
    matches = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _decode(path: Path, problems: list[Problem]) -> str | None:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        problems.append(Problem(path.name, "is a binary file, not CSV text", "save the table as UTF-8 CSV"))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(
            Problem(path.name, f"is not UTF-8 text (byte {error.start})", "save the table as UTF-8 CSV")
        )
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
                    f"column {column!r} is not in the schema of {schema.name}",
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
    duplicates = {column for column in header if header.count(column) > 1}
    for column in sorted(duplicates):
        problems.append(Problem(path.name, "column appears twice", "keep one of them", row=1, column=column))
    return problems


def read_table(path: Path, schema: TableSchema) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table file as strings; return it (or None) and the problems found in its layout."""
    problems: list[Problem] = []
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        return None, [Problem(path.name, f"{path} {what}", "give the path of a CSV file")]
    text = _decode(path, problems)
    if text is None:
        return None, problems
    reader = csv.reader(io.StringIO(text))
    numbered: list[tuple[int, list[str]]] = []
    for row in reader:
        if any(cell.strip() for cell in row):
            numbered.append((reader.line_num, row))
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
