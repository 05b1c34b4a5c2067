"""Every check on a dataset lives here: types, units, allowed values, references, keys,
compositions and trade balances. All problems are collected and raised once, each naming the
file, line, column, the bad value and the fix.

Every check is linear in the size of the table (grouping and hashing, never a scan of the table
per bad row), so a table with thousands of problems is checked as fast as a clean one; the
benchmark `benchmarks/validation.py` measures this on the bundled dataset and on it doubled.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa

from raremap.data.reading import closest
from raremap.data.schema import ColumnSchema, TableSchema, table_schemas, vocabularies
from raremap.errors import Problem, plain_value
from raremap.reading_guard import partial_date
from raremap.vocabulary import NATIONAL_TOTAL

SHARE_TOLERANCE = 1e-3
"""Compositions (ore, recipes, country deposit mixes) must sum to 1 within this."""

TRADE_RELATIVE_TOLERANCE = 0.25
TRADE_ABSOLUTE_TOLERANCE_T = 100.0
LOWEST_OXIDE_CONTENT_OF_TRADED_PRODUCT = {"mining": 0.30, "separation": 0.45, "metal": 1.0, "magnet": 1.0}
"""A country's exports at a stage, converted to the least oxide they can contain, may exceed its
production plus imports at that stage by at most 25 % plus 100 t.

Trade is in tonnes of product as shipped, production in tonnes of oxide (or metal, or magnet).
The lowest oxide content of what is shipped bounds the comparison: concentrates and mixed
carbonates carry 30 % REO or more (loparite concentrate is the leanest), rare-earth compounds
45 % or more (hydrated chlorides are the leanest), metals and magnets are counted as shipped.
Customs data also carry re-exports and stock changes, so the check catches gross errors (a value
in kg where tonnes belong, a swapped exporter and importer), not rounding."""

LARGEST_MAGNITUDE = 1e15
"""No number in any table may exceed this in size, whether or not its column declares a maximum:
larger values are typing accidents (1e308, a 40-digit year) that would overflow the model."""
LARGEST_WHOLE_NUMBER = 2**53
"""Whole numbers are exact up to here as floating point; a longer one cannot be a year or a count."""
COUNTRY_CODE_ALTERNATIVES = frozenset({"ref:countries.country", "vocab:aggregate", "ref:blocs.bloc"})
"""Columns allowing only these hold upper-case codes; raremap reads three-letter codes in any case
(ind is IND), as the command line and the API do; other text is left as written for the messages."""
ISO3_PATTERN = "[A-Za-z]{3}"
ISO3 = re.compile(ISO3_PATTERN)
UNIT_SUFFIX = re.compile(r"^\s*[-+]?[\d.,]+\s*(kt|mt|kg|g|t|tonnes?|tons?|usd|\$|%)\s*$", re.IGNORECASE)
PROVENANCE_QUALITIES_NEEDING_METHOD = ("derived", "estimated")


def file_name(table: str) -> str:
    return f"{table}.csv"


def line_number(label: Hashable) -> int:
    """The file line of a row: tables are indexed by the line each row came from."""
    return int(cast(int, label))


# --- types -------------------------------------------------------------------------------------


def _number_fix(text: str, column: ColumnSchema) -> str:
    unit = f" in {column.unit}" if column.unit else ""
    if UNIT_SUFFIX.match(text):
        return f"write the bare number{unit}, converting the unit (kt = 1000 t, kg = 0.001 t)"
    if "," in text:
        return f"write the number without thousands separators{unit}, e.g. 1234.5"
    return f"write a plain number{unit}, e.g. 1234.5"


def is_code_column(table: str, column: ColumnSchema) -> bool:
    """Whether a column holds country (or bloc) codes, which are read in any case."""
    if table == "countries" and column.name == "country":
        return True
    return bool(column.allowed) and set(column.allowed) <= COUNTRY_CODE_ALTERNATIVES


def _number_problems(
    table: str, text: pd.Series, present: pd.Series, column: ColumnSchema
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """The numbers of a column, which of them are bad, and a problem for each bad one.

    Worked on the column's numpy arrays: as pandas operations, some ten masks for each of the
    tables' two hundred columns cost more than the checking itself.
    """
    words, given = text.to_numpy(dtype=object), present.to_numpy(dtype=bool)
    candidates = np.array([word if keep else None for word, keep in zip(words, given, strict=True)], dtype=object)
    numbers = np.asarray(pd.to_numeric(candidates, errors="coerce"), dtype="float64")
    readable = ~np.isnan(numbers)
    finite = np.isfinite(numbers)
    unreadable = given & ~readable
    infinite = given & readable & ~finite
    magnitude = np.abs(numbers, where=finite, out=np.zeros_like(numbers))
    huge = given & finite & (magnitude > LARGEST_MAGNITUDE)
    fractional = given & finite & (numbers != np.floor(np.where(readable, numbers, 0.0)))
    if column.dtype == "integer":
        huge |= given & finite & (magnitude >= LARGEST_WHOLE_NUMBER)
    lines = text.index.tolist()  # Python ints, as the messages show them

    def each(mask: np.ndarray, message: str, fix: str | None = None) -> list[Problem]:
        return [
            Problem(file_name(table), message, fix if fix is not None else _number_fix(str(words[at]), column), lines[at], column.name,
                    words[at])
            for at in np.flatnonzero(mask)
        ]

    if column.dtype == "number":
        problems = each(unreadable, "is not a number")
    else:
        problems = each(unreadable, "is not a whole number", "write a whole number, e.g. 2024")
    problems += each(infinite, "is not a finite number", "give a finite number")
    problems += each(huge & ~infinite, "is far too large to be a real value", _range_fix(column))
    bad = unreadable | infinite | huge
    if column.dtype == "integer":
        problems += each(fractional & ~bad, "is not a whole number", "write a whole number, e.g. 2024")
        bad |= fractional
    return pd.Series(np.where(bad, np.nan, numbers), index=text.index), pd.Series(bad, index=text.index), problems


def _range_fix(column: ColumnSchema) -> str:
    unit = f" {column.unit}" if column.unit and column.unit != "year" else ""
    low = "" if column.minimum is None else f"{column.minimum:g}"
    high = f"{column.maximum:g}" if column.maximum is not None else f"{LARGEST_MAGNITUDE:g}"
    return f"give a value{f' from {low}' if low else ''} up to {high}{unit}"


def _date_problems(table: str, text: pd.Series, present: pd.Series, column: ColumnSchema) -> list[Problem]:
    """Dates that are not YYYY, YYYY-MM or YYYY-MM-DD, or that do not exist (2024-13-45)."""
    errors = {}
    for value in text[present].unique():  # dates repeat: each distinct one is parsed once
        try:
            partial_date(value)
        except ValueError as error:
            errors[value] = str(error).split(";")[0]
    return [
        Problem(file_name(table), errors[value], "write YYYY, YYYY-MM or YYYY-MM-DD", line_number(line), column.name, value)
        for line, value in text[present].items()
        if value in errors
    ]


def _convert_column(table: str, values: pd.Series, column: ColumnSchema) -> tuple[pd.Series, list[Problem]]:
    """A column of strings as the schema's type (text stripped, country codes upper-cased), and the
    values that do not convert. Built from plain lists: per-column pandas steps cost more than the work."""
    raw = values.to_numpy(dtype=object)
    words = ["" if missing else str(item).strip() for item, missing in zip(raw, pd.isna(raw), strict=True)]
    text = pd.Series(words, index=values.index, dtype="object")
    present = pd.Series([word != "" for word in words], index=values.index, dtype=bool)
    if column.dtype in ("integer", "number"):
        numbers, _, problems = _number_problems(table, text, present, column)
        converted = numbers.astype("Int64") if column.dtype == "integer" else numbers.astype("float64")
        return converted, problems
    problems = _date_problems(table, text, present, column) if column.dtype == "date" else []
    if is_code_column(table, column):
        words = [word.upper() if ISO3.fullmatch(word) else word for word in words]
    return pd.Series([word if word != "" else None for word in words], index=values.index, dtype="object"), problems


def convert_table(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert a table of strings to the schema's types, reporting every value that does not convert."""
    schema = table_schemas()[table]
    problems: list[Problem] = []
    converted = {}
    for column in schema.columns:
        converted[column.name], column_problems = _convert_column(table, frame[column.name], column)
        problems += column_problems
    return pd.DataFrame(converted, index=frame.index), problems


# --- allowed values ----------------------------------------------------------------------------


def allowed_values(alternative: str, tables: Mapping[str, pd.DataFrame]) -> set[str]:
    """The values one `allowed` alternative admits ("vocab:stage", "ref:countries.country")."""
    kind, _, target = alternative.partition(":")
    if kind == "vocab":
        return set(vocabularies()[target])
    if kind == "ref":
        table, _, column = target.partition(".")
        return set(tables[table][column].dropna().astype(str))
    raise ValueError(f"unknown allowed-value kind {alternative!r} in schema.csv")


def _references_present(column: ColumnSchema, tables: Mapping[str, pd.DataFrame]) -> bool:
    """Whether every table a column refers to was read (a table that failed to read is reported once)."""
    referenced = [
        alternative[4:].partition(".")[0] for alternative in column.allowed if alternative.startswith("ref:")
    ]
    return all(table in tables for table in referenced)


class _Suggestions:
    """The fix for each distinct bad value of one column, computed once however often the value repeats."""

    def __init__(self, column: ColumnSchema, allowed: set[str], tables: Mapping[str, pd.DataFrame]):
        self.column = column
        self.allowed = allowed
        self.tables = tables
        self.fixes: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        if value not in self.fixes:
            self.fixes[value] = _suggest(value, self.column, self.allowed, self.tables)
        return self.fixes[value]


def _suggest(value: str, column: ColumnSchema, allowed: set[str], tables: Mapping[str, pd.DataFrame]) -> str:
    """The fix for a value outside the allowed set: a country name's ISO3 code, or the closest value."""
    if (
        any(alternative == "ref:countries.country" for alternative in column.allowed)
        and "countries" in tables
    ):
        countries = tables["countries"]
        by_name = {
            str(name).lower(): code
            for name, code in zip(countries["name"], countries["country"], strict=True)
        }
        code = by_name.get(value.lower())
        if code is None:
            name = closest(value.lower(), list(by_name))
            code = by_name[name] if name else closest(value.upper(), sorted(allowed))
        if code is not None:
            return f"use the ISO3 code {code!r}"
        return "use an ISO3 code listed in countries.csv"
    suggestion = closest(value, sorted(allowed))
    if suggestion is not None:
        return f"did you mean {suggestion!r}?"
    references = [alternative[4:] for alternative in column.allowed if alternative.startswith("ref:")]
    if references:
        table, _, key = references[0].partition(".")
        return f"add a row with {key} {value!r} to {table}.csv, or use a {key} listed there"
    listed = sorted(allowed)
    shown = ", ".join(listed[:20]) + (", ..." if len(listed) > 20 else "")
    return f"use one of: {shown}"


def _list_problems(
    table: str,
    frame: pd.DataFrame,
    column: ColumnSchema,
    allowed: set[str],
    tables: Mapping[str, pd.DataFrame],
) -> list[Problem]:
    problems = []
    suggest = _Suggestions(column, allowed, tables)
    for line, text in frame[column.name].dropna().items():
        for item in (part.strip() for part in str(text).split(";")):
            if item and item not in allowed:
                fix = suggest(item)
                problems.append(
                    Problem(
                        file_name(table),
                        "is not an allowed value in this list",
                        fix,
                        line_number(line),
                        column.name,
                        item,
                    )
                )
    return problems


# --- column rules through pandera --------------------------------------------------------------


def _pandera_schema(schema: TableSchema, allowed: dict[str, set[str]]) -> pa.DataFrameSchema:
    columns = {}
    for column in schema.columns:
        checks = []
        if column.minimum is not None:
            checks.append(pa.Check.ge(column.minimum))
        if column.maximum is not None:
            checks.append(pa.Check.le(column.maximum))
        if column.name in allowed and column.dtype != "list":
            checks.append(pa.Check.isin(sorted(allowed[column.name])))
        columns[column.name] = pa.Column(checks=checks, nullable=not column.required, coerce=False)
    return pa.DataFrameSchema(columns)


def _describe_failure(check: str, column: ColumnSchema) -> tuple[str, str]:
    unit = f" {column.unit}" if column.unit else ""
    if check == "not_nullable":
        return "is empty but required", f"fill in {column.name} ({column.description})"
    if check.startswith("greater_than_or_equal_to"):
        if column.minimum == 0:
            return "is negative", f"quantities are never negative; give the value in{unit} as 0 or more"
        return (
            f"is below the minimum {column.minimum:g}",
            f"give a value of at least {column.minimum:g}{unit}",
        )
    if check.startswith("less_than_or_equal_to"):
        hint = " (a share is a fraction, not a percentage)" if column.maximum == 1 else ""
        return (
            f"is above the maximum {column.maximum:g}{hint}",
            f"give a value of at most {column.maximum:g}{unit}",
        )
    return f"fails check {check}", "correct the value"


def column_problems(table: str, frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Required values, ranges and allowed values of one table, checked by pandera."""
    schema = table_schemas()[table]
    allowed = {
        column.name: set().union(*(allowed_values(alternative, tables) for alternative in column.allowed))
        for column in schema.columns
        if column.allowed and _references_present(column, tables)
    }
    problems: list[Problem] = []
    for column in schema.columns:
        if column.dtype == "list" and column.name in allowed:
            problems += _list_problems(table, frame, column, allowed[column.name], tables)
    try:
        _pandera_schema(schema, allowed).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.dropna(subset=["index"])
        suggesters = {
            name: _Suggestions(schema.column(name), values, tables) for name, values in allowed.items()
        }
        for case in cases.itertuples(index=False):
            column = schema.column(str(case.column))
            value = None if pd.isna(case.failure_case) else plain_value(case.failure_case)
            if str(case.check).startswith("isin"):
                message, fix = "is not an allowed value", suggesters[column.name](str(value))
            else:
                message, fix = _describe_failure(str(case.check), column)
            problems.append(
                Problem(file_name(table), message, fix, line_number(case.index), column.name, value)
            )
    return problems


# --- rows and groups ---------------------------------------------------------------------------


def key_problems(table: str, frame: pd.DataFrame) -> list[Problem]:
    """Rows that repeat another row's key, each naming the line of the first.

    The first line of every key comes from one grouping of the table, so the check stays linear
    however many rows repeat.
    """
    key = list(table_schemas()[table].key)
    duplicated = frame.duplicated(subset=key, keep="first")
    if not duplicated.any():
        return []
    groups = frame.groupby(key, dropna=False, sort=False).ngroup()
    first_line = pd.Series(frame.index, index=frame.index).groupby(groups).transform("first")
    problems = []
    repeated = frame.loc[duplicated, key].astype(object)
    for line, values in zip(repeated.index, repeated.itertuples(index=False), strict=True):
        labels = {name: plain_value(value) for name, value in zip(key, values, strict=True)}
        problems.append(
            Problem(
                file_name(table),
                f"repeats the key {labels} of line {line_number(first_line[line])}",
                "keep one row per key (merge or delete the duplicate)",
                line_number(line),
                ",".join(key),
            )
        )
    return problems


def method_problems(table: str, frame: pd.DataFrame) -> list[Problem]:
    """Derived and estimated rows must say how they were made."""
    if table == "sources":
        return []
    needs = frame["quality"].isin(PROVENANCE_QUALITIES_NEEDING_METHOD) & frame["method"].isna()
    return [
        Problem(
            file_name(table),
            f"is a {frame.loc[line, 'quality']} row without a method",
            "describe in column method how the figure was derived or estimated",
            line_number(line),
            "method",
        )
        for line in frame.index[needs]
    ]


def share_problems(table: str, frame: pd.DataFrame) -> list[Problem]:
    """Compositions must sum to 1 within SHARE_TOLERANCE per group."""
    schema = table_schemas()[table]
    if schema.share_column is None:
        return []
    problems = []
    group_columns = list(schema.share_group)
    for group, rows in frame.groupby(group_columns, dropna=False):
        total = rows[schema.share_column].sum()
        if abs(total - 1.0) > SHARE_TOLERANCE:
            labels = dict(zip(group_columns, group if isinstance(group, tuple) else (group,), strict=True))
            problems.append(
                Problem(
                    file_name(table),
                    f"shares of {labels} sum to {total:.4f}, not 1 (tolerance {SHARE_TOLERANCE})",
                    f"correct the shares on lines {', '.join(str(line) for line in rows.index)} so they sum to 1",
                    line_number(rows.index[0]),
                    schema.share_column,
                )
            )
    return problems


def trade_balance_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """A country's exports at a stage must not exceed its production plus imports there (with tolerance).

    Checked only where the production table reports the exporter's output at that stage and year.
    """
    if "trade" not in tables or "production" not in tables:
        return []
    trade = tables["trade"]
    production = tables["production"]
    main = production[(production["series"] == "main") & (production["element"].isin(["REO", "NdFeB"]))]
    produced = main.groupby(["country", "stage", "year"])["value_t"].sum()
    content = trade["stage"].map(LOWEST_OXIDE_CONTENT_OF_TRADED_PRODUCT).fillna(1.0)
    trade = trade.assign(oxide_t=trade["value_t"] * content)
    exports = trade.groupby(["exporter", "stage", "year"])["oxide_t"].sum()
    imports = trade.groupby(["importer", "stage", "year"])["oxide_t"].sum()
    first_lines = pd.Series(trade.index, index=trade.index).groupby(
        [trade["exporter"], trade["stage"], trade["year"]]
    ).first()
    problems = []
    for key, exported in exports.items():
        country, stage, year = cast(tuple[str, str, int], key)
        if (country, stage, year) not in produced.index:
            continue
        available = produced[(country, stage, year)] + imports.get((country, stage, year), 0.0)
        limit = available * (1 + TRADE_RELATIVE_TOLERANCE) + TRADE_ABSOLUTE_TOLERANCE_T
        if exported > limit:
            problems.append(
                Problem(
                    "trade.csv",
                    f"{country} exports at least {exported:,.0f} t (oxide content) at stage {stage} in {year}, "
                    f"more than its production plus imports ({available:,.0f} t) allow within {TRADE_RELATIVE_TOLERANCE:.0%} + "
                    f"{TRADE_ABSOLUTE_TOLERANCE_T:.0f} t",
                    "check the units (tonnes) and the direction of these flows, or the production figure",
                    line_number(first_lines[(country, stage, year)]),
                    "value_t",
                )
            )
    return problems


CAPACITY_STATUS_IN_PROJECTS = {
    "operating": {"operating"},
    "construction": {"construction"},
    "announced": {"committed", "announced", "speculative"},
}
"""Which project statuses a capacity row's status may mirror."""

def capacity_project_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """`capacity` and `projects` must not contradict each other.

    The rule (docs/data.md): `capacity` holds national totals and quotas (facility containing
    'national total') and, for the simulator, facility rows that mirror a `projects` row; `projects`
    holds every facility of the pipeline. So every facility row of `capacity` must have a `projects`
    row of the same name with the same country, stage, element and tonnage, a matching status, and
    (for operating capacity) a first-output year no later than the capacity year. And where
    `capacity` has a national total for a country, stage, element and year, the operating projects
    there that started by that year must not add up to more than it.
    """
    if "capacity" not in tables or "projects" not in tables:
        return []
    capacity, projects = tables["capacity"], tables["projects"]
    by_name: dict[str, Any] = {str(name): line for line, name in projects["project"].items()}
    problems = []
    is_total = capacity["facility"].astype(str).str.contains(NATIONAL_TOTAL, case=False, regex=False)
    for line, row in capacity[~is_total].iterrows():
        facility = str(row["facility"])
        if facility not in by_name:
            problems.append(Problem(
                "capacity.csv", "names a facility that has no row in projects.csv",
                f"add a projects row named {facility!r} (or rename the facility to a project listed there)",
                line_number(line), "facility", facility))
            continue
        project = projects.loc[by_name[facility]]
        for column, project_column in (("country", "country"), ("stage", "stage"), ("element", "element"),
                                       ("value_t", "capacity_t")):
            mine, theirs = row[column], project[project_column]
            if pd.isna(mine) or pd.isna(theirs):
                continue  # an unconvertible value is reported by the type checks
            same = (abs(float(mine) - float(theirs)) <= 1e-6 * max(1.0, abs(float(theirs)))
                    if column == "value_t" else str(mine) == str(theirs))
            if not same:
                problems.append(Problem(
                    "capacity.csv", f"contradicts projects.csv line {by_name[facility]} ({project_column} {theirs})",
                    f"make {column} equal to the project's {project_column}, or correct the project row",
                    line_number(line), column, mine))
        allowed = CAPACITY_STATUS_IN_PROJECTS.get(str(row["status"]), set())
        if str(project["status"]) not in allowed:
            problems.append(Problem(
                "capacity.csv", f"has status {row['status']} but projects.csv line {by_name[facility]} says {project['status']}",
                f"use a status matching the project's ({', '.join(sorted(CAPACITY_STATUS_IN_PROJECTS))} "
                "correspond to operating, construction, committed/announced/speculative)",
                line_number(line), "status", row["status"]))
        start = project["expected_start"]
        if str(row["status"]) == "operating" and pd.notna(start) and pd.notna(row["year"]) and int(start) > int(row["year"]):
            problems.append(Problem(
                "capacity.csv", f"is operating in {row['year']} but the project starts in {int(start)} (projects.csv line {by_name[facility]})",
                "give the capacity row a year no earlier than the project's expected_start, or correct the project",
                line_number(line), "year", row["year"]))
    totals = capacity[is_total]
    operating = projects[projects["status"] == "operating"]
    for line, row in totals.iterrows():
        if pd.isna(row["value_t"]) or pd.isna(row["year"]):
            continue
        same_place = operating[(operating["country"] == row["country"]) & (operating["stage"] == row["stage"])
                               & (operating["element"] == row["element"])]
        started = same_place[same_place["expected_start"].isna() | (same_place["expected_start"] <= row["year"])]
        facilities = float(started["capacity_t"].sum())
        if facilities > float(row["value_t"]) * (1 + SHARE_TOLERANCE):
            problems.append(Problem(
                "capacity.csv",
                f"national total {float(row['value_t']):,.0f} t is below the {facilities:,.0f} t of operating projects "
                f"(projects.csv lines {', '.join(str(index) for index in started.index)})",
                "raise the national total or correct the projects' capacity, status or start",
                line_number(line), "value_t", row["value_t"]))
    return problems


# --- market tables: sectors, demand units, magnet grades, monthly trade -------------------------

MAGNET_PRODUCTS = ("NdFeB", "SmCo")
"""Demand rows in `t magnet` name one of these products in their element column."""

MONTHLY_PARTNER_TOLERANCE = 0.02
"""Named partners of one exporter, month and scope may exceed the all-partner (WLD) row by at most 2 %
(rounding in the reports the rows come from)."""


def _recipe_product(elements: set[str]) -> str | None:
    """Which magnet product a recipe makes, from its elements (Sm and Co: SmCo; Nd and Fe: NdFeB)."""
    if {"Sm", "Co"} <= elements:
        return "SmCo"
    if {"Nd", "Fe"} <= elements:
        return "NdFeB"
    return None


def sector_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Every demand sector has a demand curve in sectors.csv, and every curve slopes down."""
    if "sectors" not in tables:
        return []
    sectors = tables["sectors"]
    problems = [
        Problem(
            "sectors.csv",
            "has elasticity 0, so the sector's demand curve is flat in quantity and never responds to price",
            "give a negative short-run elasticity, e.g. -0.05 for magnet users",
            line_number(line),
            "elasticity",
            value,
        )
        for line, value in sectors["elasticity"].items()
        if pd.notna(value) and value >= 0
    ]
    if "demand" in tables:
        known = set(sectors["sector"].dropna())
        demand = tables["demand"]
        missing = demand[demand["sector"].notna() & ~demand["sector"].isin(known)]
        for sector, rows in missing.groupby("sector"):
            lines = [line_number(line) for line in rows.index]
            problems.append(
                Problem(
                    "demand.csv",
                    f"uses sector {sector!r}, which has no row in sectors.csv",
                    f"add a row for {sector!r} to sectors.csv (kind, value_multiple, elasticity, priority, substitution)",
                    lines[0],
                    "sector",
                    sector,
                    more_rows=tuple(lines[1:]),
                )
            )
    return problems


def _first_per_key(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The table indexed by `key`, the first row of each (a repeated key is `key_problems`' to report,
    not a reason for a cross-table check to fail)."""
    return frame.drop_duplicates(subset=key, keep="first").set_index(key)


def demand_unit_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """t magnet rows name NdFeB or SmCo and belong to magnet sectors; t REO rows name an element;
    oxide-application sectors are in t REO."""
    if "demand" not in tables:
        return []
    demand = tables["demand"]
    kind = _first_per_key(tables["sectors"], "sector")["kind"] if "sectors" in tables else pd.Series(dtype=object)
    sector_kind = demand["sector"].map(kind)
    magnet_unit = demand["unit"] == "t magnet"
    product = demand["element"].isin(MAGNET_PRODUCTS)
    checks = [
        (magnet_unit & ~product, "element", "is in t magnet but does not name a magnet product",
         "write NdFeB or SmCo in element for t magnet rows, or give the element in t REO"),
        (~magnet_unit & demand["unit"].notna() & product, "unit", "names a magnet product but is not in t magnet",
         "give magnet products in t magnet (mass of magnet)"),
        (magnet_unit & (sector_kind == "oxide"), "unit", "is in t magnet but its sector buys oxides",
         "give oxide-application demand in t REO of each element"),
    ]
    problems = []
    for mask, column, message, fix in checks:
        for line in demand.index[mask.fillna(False)]:
            problems.append(Problem("demand.csv", message, fix, line_number(line), column, demand.loc[line, column]))
    return problems


def magnet_grade_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Grades name recipes of their product, and every magnet demand row finds a grade mix
    (its country's, else the WLD default) for its sector and product."""
    if "magnet_grades" not in tables or "recipes" not in tables:
        return []
    grades = tables["magnet_grades"]
    recipes = tables["recipes"]
    products = {
        str(magnet_type): _recipe_product(set(rows["element"].dropna()))
        for magnet_type, rows in recipes.groupby("magnet_type")
    }
    problems = []
    for line, row in grades.iterrows():
        made = products.get(str(row["magnet_type"]))
        if made is not None and made != row["product"]:
            problems.append(
                Problem(
                    "magnet_grades.csv",
                    f"grade {row['magnet_type']!r} makes {made} magnets but the row is for {row['product']}",
                    f"set product to {made} or choose a {row['product']} recipe",
                    line_number(line),
                    "product",
                    row["product"],
                )
            )
    if "demand" in tables:
        demand = tables["demand"]
        magnets = demand[demand["element"].isin(MAGNET_PRODUCTS)]
        available = set(zip(grades["country"], grades["sector"], grades["product"], strict=True))
        for key, rows in magnets.groupby(["country", "sector", "element"]):
            country, sector, product = cast(tuple[str, str, str], key)
            if (country, sector, product) in available or ("WLD", sector, product) in available:
                continue
            lines = [line_number(line) for line in rows.index]
            problems.append(
                Problem(
                    "demand.csv",
                    f"{product} demand of {country} in sector {sector!r} has no grade mix in magnet_grades.csv",
                    f"add WLD (or {country}) rows for sector {sector!r}, product {product} to magnet_grades.csv",
                    lines[0],
                    "sector",
                    sector,
                    more_rows=tuple(lines[1:]),
                )
            )
    return problems


def trade_monthly_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Months are YYYY-MM, and named partners of an exporter never add up to more than its WLD total."""
    if "trade_monthly" not in tables:
        return []
    monthly = tables["trade_monthly"]
    problems = [
        Problem(
            "trade_monthly.csv",
            "is not a month",
            "write the first month of the period as YYYY-MM",
            line_number(line),
            "month",
            value,
        )
        for line, value in monthly["month"].items()
        if pd.notna(value) and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", str(value))
    ]
    keys = ["exporter", "month", "months", "stage", "element", "scope"]
    total = monthly[monthly["importer"] == "WLD"].groupby(keys)["value_t"].sum()
    partners = monthly[monthly["importer"] != "WLD"].groupby(keys)["value_t"].sum()
    all_partners = {cast(tuple, key): float(value) for key, value in total.items()}
    for raw_key, named in partners.items():
        key = cast(tuple, raw_key)
        if key not in all_partners:
            continue
        limit = all_partners[key] * (1 + MONTHLY_PARTNER_TOLERANCE)
        if named > limit:
            exporter, month, months = key[0], key[1], key[2]
            rows = monthly[(monthly["exporter"] == exporter) & (monthly["month"] == month) & (monthly["months"] == months)]
            problems.append(
                Problem(
                    "trade_monthly.csv",
                    f"{exporter}'s named partners in {month} ({months} months) take {named:,.0f} t, more than its all-partner total {all_partners[key]:,.0f} t",
                    "check the partner rows and the WLD row for that period (units, months, scope)",
                    line_number(rows.index[0]),
                    "value_t",
                )
            )
    return problems


def market_problems(tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """All checks of the market tables (sectors, demand units, magnet grades, monthly trade)."""
    return (
        sector_problems(tables)
        + demand_unit_problems(tables)
        + magnet_grade_problems(tables)
        + trade_monthly_problems(tables)
    )


def check_tables(raw_tables: Mapping[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Convert and check every table; return the typed tables and every problem found."""
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    for table, frame in raw_tables.items():
        tables[table], conversion_problems = convert_table(table, frame)
        problems += conversion_problems
    unconverted = {(problem.file, problem.row, problem.column) for problem in problems}
    for table, frame in tables.items():
        problems += [
            problem
            for problem in column_problems(table, frame, tables)
            # a value that did not convert is already reported; do not report its emptiness again
            if (problem.file, problem.row, problem.column) not in unconverted
        ]
        problems += key_problems(table, frame)
        problems += method_problems(table, frame)
        problems += share_problems(table, frame)
    problems += trade_balance_problems(tables)
    problems += capacity_project_problems(tables)
    problems += market_problems(tables)
    return tables, problems
