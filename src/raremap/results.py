"""The result contract: every engine's result tables declared as data (results.csv), like the inputs.

Each engine (simulation, risk, plan, backtest) declares its tables' columns, types, units and keys in
``results.csv``. Engines check what they produce against it before saving (`check_tables`), and the
report, the dashboard and the API read columns and units from it, so a renamed column is an error
in a test, never a figure that silently disappears.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from raremap.errors import RaremapError


@cache
def schema() -> pd.DataFrame:
    """The declared result columns: engine, table, column, dtype, unit, key, description."""
    with resources.files("raremap").joinpath("results.csv").open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    frame["key"] = frame["key"] == "true"
    return frame


def tables(engine: str) -> list[str]:
    """The tables an engine declares, in order."""
    rows = schema()[schema()["engine"] == engine]
    return list(dict.fromkeys(rows["table"]))


def columns(engine: str, table: str) -> list[str]:
    """The declared columns of one result table, in order."""
    rows = schema()[(schema()["engine"] == engine) & (schema()["table"] == table)]
    if rows.empty:
        raise RaremapError(f"{engine} has no result table {table!r}; its tables are {', '.join(tables(engine))}")
    return list(rows["column"])


def unit(engine: str, table: str, column: str) -> str:
    """The unit of one result column ('' for labels)."""
    rows = schema()
    match = rows[(rows["engine"] == engine) & (rows["table"] == table) & (rows["column"] == column)]
    if match.empty:
        raise RaremapError(f"{engine} result table {table!r} has no column {column!r}; columns are {', '.join(columns(engine, table))}")
    return str(match["unit"].iloc[0])


def check_tables(engine: str, produced: dict[str, pd.DataFrame]) -> None:
    """Every declared table present with exactly its declared columns, in order (an engine bug otherwise)."""
    problems = []
    for table in tables(engine):
        if table not in produced:
            problems.append(f"table {table} missing")
            continue
        expected, found = columns(engine, table), list(produced[table].columns)
        if found != expected:
            problems.append(f"table {table} has columns {found}, declared {expected}")
    for table in sorted(set(produced) - set(tables(engine))):
        problems.append(f"table {table} is not declared in results.csv")
    if problems:
        raise RaremapError(f"{engine} results break the result contract (results.csv): " + "; ".join(problems))
