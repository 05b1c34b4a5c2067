"""The schema of every bundled table, read from data (`tables.csv`, `schema.csv`, `vocabularies.csv`).

Validation, type conversion and the reference tables in the docs all come from these files,
so a column is described in exactly one place.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

PROVENANCE_TABLE = "*"  # schema rows that apply to every table except `sources`
DTYPES = ("string", "integer", "number", "date", "list")


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its type, unit, whether it is required, allowed values and range."""

    name: str
    dtype: str
    unit: str
    required: bool
    allowed: tuple[str, ...]  # alternatives such as "vocab:stage" or "ref:countries.country"
    minimum: float | None
    maximum: float | None
    description: str


@dataclass(frozen=True)
class TableSchema:
    """One table: its columns in order, its key, and the share column that sums to 1 per group."""

    name: str
    description: str
    columns: tuple[ColumnSchema, ...]
    key: tuple[str, ...]
    share_column: str | None
    share_group: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _read_package_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("raremap.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _column(row: dict[str, str]) -> ColumnSchema:
    return ColumnSchema(
        name=row["column"],
        dtype=row["dtype"],
        unit=row["unit"],
        required=row["required"].strip().lower() == "true",
        allowed=tuple(part for part in row["allowed"].split("|") if part),
        minimum=_optional_float(row["minimum"]),
        maximum=_optional_float(row["maximum"]),
        description=row["description"],
    )


@cache
def table_schemas() -> dict[str, TableSchema]:
    """All table schemas by name, in the order of `tables.csv`."""
    column_rows = _read_package_csv("schema.csv")
    provenance = [_column(row) for row in column_rows if row["table"] == PROVENANCE_TABLE]
    schemas: dict[str, TableSchema] = {}
    for table_row in _read_package_csv("tables.csv"):
        name = table_row["table"]
        columns = [_column(row) for row in column_rows if row["table"] == name]
        if name != "sources":
            columns += provenance
        schemas[name] = TableSchema(
            name=name,
            description=table_row["description"],
            columns=tuple(columns),
            key=_split(table_row["key"]),
            share_column=table_row["share_column"] or None,
            share_group=_split(table_row["share_group"]),
        )
    return schemas


@cache
def vocabularies() -> dict[str, dict[str, str]]:
    """Allowed values by vocabulary name, each with its description."""
    result: dict[str, dict[str, str]] = {}
    for row in _read_package_csv("vocabularies.csv"):
        result.setdefault(row["vocabulary"], {})[row["value"]] = row["description"]
    return result


def table_names() -> tuple[str, ...]:
    return tuple(table_schemas())
