"""Bad input gets a problem that names the file, line, column, the bad value and the fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import raremap
from raremap.data.dataset import content_version
from raremap.data.schema import table_schemas
from raremap.errors import ConsistencyError, Problem, RaremapError
from tests.helpers import copy_table, read_text_table, write_text_table


def problems_of(directory: Path) -> list[Problem]:
    with pytest.raises(ConsistencyError) as caught:
        raremap.load(directory)
    return list(caught.value.problems)


def find(problems: list[Problem], **expected: object) -> Problem:
    for problem in problems:
        if all(getattr(problem, name) == value for name, value in expected.items()):
            return problem
    raise AssertionError(f"no problem with {expected} among:\n" + "\n".join(map(str, problems)))


def breakable_column(table: str) -> tuple[str, str]:
    """A column of `table` and a value that must be rejected there."""
    schema = table_schemas()[table]
    for column in schema.columns:
        if column.dtype in ("number", "integer") and column.required:
            return column.name, "not-a-number"
    for column in schema.columns:
        if column.allowed and column.dtype != "list":
            return column.name, "Atlantis"
    raise AssertionError(f"no breakable column in {table}")


@pytest.mark.parametrize("table", sorted(table_schemas()))
def test_a_broken_copy_of_each_table_is_reported_at_its_file_line_and_column(
    table: str, tmp_path: Path
) -> None:
    path = copy_table(table, tmp_path)
    frame = read_text_table(path)
    column, bad_value = breakable_column(table)
    frame.loc[0, column] = bad_value
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file=f"{table}.csv", row=2, column=column, value=bad_value)
    assert problem.fix


def test_a_value_with_a_unit_asks_for_the_bare_number_in_tonnes(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "value_t"] = "6.9 Mt"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="reserves.csv", row=2, column="value_t")
    assert "bare number" in problem.fix and "t REO" in problem.fix


def test_a_country_name_gets_its_iso3_code_suggested(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "country"] = "India"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="reserves.csv", row=2, column="country", value="India")
    assert "'IND'" in problem.fix


def test_a_misspelt_country_name_gets_the_closest_code(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "country"] = "Austrlia"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="reserves.csv", column="country", value="Austrlia")
    assert "'AUS'" in problem.fix


def test_duplicate_keys_name_the_first_occurrence(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    write_text_table(pd.concat([frame, frame.iloc[[0]]]), path)
    problem = find(problems_of(tmp_path), file="reserves.csv", row=len(frame) + 2)
    assert "line 2" in problem.message


def test_missing_and_extra_columns_are_named_with_the_fix(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path).rename(columns={"value_t": "value_kt"})
    write_text_table(frame, path)
    problems = problems_of(tmp_path)
    extra = find(problems, file="reserves.csv", column="value_kt")
    assert "'value_t'" in extra.fix and "t REO" in extra.fix
    find(problems, file="reserves.csv", column="value_t")


def test_negative_quantities_are_refused(tmp_path: Path) -> None:
    path = copy_table("production", tmp_path)
    frame = read_text_table(path)
    frame.loc[3, "value_t"] = "-5"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="production.csv", row=5, column="value_t")
    assert "negative" in problem.message


def test_a_share_written_as_a_percentage_is_explained(tmp_path: Path) -> None:
    path = copy_table("ore_composition", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "share"] = "23"
    write_text_table(frame, path)
    problems = problems_of(tmp_path)
    problem = find(problems, file="ore_composition.csv", row=2, column="share")
    assert "percentage" in problem.message
    assert any("sum to" in other.message for other in problems if other.file == "ore_composition.csv")


def test_compositions_must_sum_to_one(tmp_path: Path) -> None:
    path = copy_table("recipes", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "share"] = str(float(frame.loc[0, "share"]) + 0.05)
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="recipes.csv", column="share")
    assert "not 1" in problem.message


def test_a_source_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "source_id"] = "my_notes"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="reserves.csv", row=2, column="source_id", value="my_notes")
    assert "sources.csv" in problem.fix


def test_estimated_rows_must_state_their_method(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "quality"] = "estimated"
    frame.loc[0, "method"] = ""
    write_text_table(frame, path)
    find(problems_of(tmp_path), file="reserves.csv", row=2, column="method")


def test_trade_far_above_production_plus_imports_is_refused(tmp_path: Path) -> None:
    production = raremap.load()["production"]
    main = production[(production["series"] == "main") & (production["element"] == "REO")]
    producer = main[(main["stage"] == "metal") & (main["country"] != "WLD")].iloc[0]
    path = copy_table("trade", tmp_path)
    frame = read_text_table(path)
    row = frame.iloc[0].copy()
    row[["exporter", "importer", "stage", "element", "year", "value_t", "hs_code"]] = [
        producer["country"],
        "IND" if producer["country"] != "IND" else "USA",
        "metal",
        "REO",
        str(producer["year"]),
        str(producer["value_t"] * 100 + 10_000),
        "999999",
    ]
    write_text_table(pd.concat([frame, row.to_frame().T]), path)
    problem = find(problems_of(tmp_path), file="trade.csv", column="value_t")
    assert producer["country"] in problem.message and "units" in problem.fix


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary\xff", "binary"),
        (b"country,year,value_t,series,source_id,quality,method,as_of\n", "no rows"),
    ],
)
def test_empty_binary_and_header_only_files(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "reserves.csv").write_bytes(content)
    problems = [problem for problem in problems_of(tmp_path) if problem.file == "reserves.csv"]
    assert [message in problem.message for problem in problems] == [True]


def test_ragged_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("CHN,2024,1,main,extra,fields,here,too,and,more\n")
    problems = problems_of(tmp_path)
    assert any(problem.file == "reserves.csv" and "fields" in problem.message for problem in problems)


def test_unknown_file_names_get_the_closest_table(tmp_path: Path) -> None:
    (tmp_path / "prodution.csv").write_text("a\n1\n")
    problem = find(problems_of(tmp_path), file="prodution.csv")
    assert "production.csv" in problem.fix


def test_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(RaremapError, match="does not exist"):
        raremap.load(tmp_path / "nowhere")


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    reserves = copy_table("reserves", tmp_path)
    frame = read_text_table(reserves)
    frame.loc[0, "value_t"] = "lots"
    frame.loc[1, "country"] = "Narnia"
    write_text_table(frame, reserves)
    (tmp_path / "recipes.csv").write_bytes(b"")
    problems = problems_of(tmp_path)
    assert {"reserves.csv", "recipes.csv"} <= {problem.file for problem in problems}
    find(problems, column="value_t", value="lots")
    find(problems, column="country", value="Narnia")


def test_an_override_directory_replaces_only_the_tables_it_holds(
    tmp_path: Path, dataset: raremap.Dataset
) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "value_t"] = "123"
    write_text_table(frame, path)
    overridden = raremap.load(tmp_path)
    assert overridden["reserves"]["value_t"].iloc[0] == 123
    assert overridden["production"].equals(dataset["production"])
    assert overridden.version != dataset.version


@pytest.mark.parametrize(
    ("value", "message"),
    [("inf", "not a finite number"), ("-inf", "not a finite number"), ("1e400", "not a finite number"),
     ("1e308", "far too large"), ("2e7", "above the maximum 1e+07")],
)
def test_numbers_must_be_finite_and_in_range(tmp_path: Path, value: str, message: str) -> None:
    path = copy_table("production", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "value_t"] = value
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="production.csv", row=2, column="value_t")
    assert message in problem.message


def test_a_forty_digit_year_is_one_problem_not_a_crash(tmp_path: Path) -> None:
    path = copy_table("production", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "year"] = "1" * 40
    write_text_table(frame, path)
    find(problems_of(tmp_path), file="production.csv", row=2, column="year", value="1" * 40)


@pytest.mark.parametrize(("table", "column", "value", "reason"), [
    ("partnerships", "date", "2024-13-45", "no month 13"),
    ("policies", "start", "2025-02-30", "February 2025 has 28 days"),
])
def test_dates_must_exist(tmp_path: Path, table: str, column: str, value: str, reason: str) -> None:
    path = copy_table(table, tmp_path)
    frame = read_text_table(path)
    frame.loc[0, column] = value
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file=f"{table}.csv", row=2, column=column, value=value)
    assert reason in problem.message


@pytest.mark.parametrize("length", [20_000, 140_000])
def test_an_overlong_field_is_reported_with_its_line(tmp_path: Path, length: int) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "method"] = "x" * length
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="reserves.csv", row=2)
    assert "10,000 characters" in problem.message + problem.fix
    assert len(str(problem)) < 500


def test_duplicate_key_messages_show_plain_values(tmp_path: Path) -> None:
    path = copy_table("production", tmp_path)
    frame = read_text_table(path)
    write_text_table(pd.concat([frame, frame.iloc[[0]]]), path)
    problem = find(problems_of(tmp_path), file="production.csv", row=len(frame) + 2)
    assert "np.int64" not in str(problem) and f"'year': {int(frame.loc[0, 'year'])}" in problem.message


def test_country_codes_are_read_in_any_case(tmp_path: Path, dataset: raremap.Dataset) -> None:
    path = copy_table("reserves", tmp_path)
    frame = read_text_table(path)
    frame["country"] = frame["country"].str.lower()
    write_text_table(frame, path)
    assert raremap.load(tmp_path)["reserves"]["country"].tolist() == dataset["reserves"]["country"].tolist()


def test_a_garbage_header_is_shown_once_and_short(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    text = path.read_text(encoding="utf-8")
    garbage = "garbage in the header " * 1_000
    path.write_text(text.replace("method", garbage, 1), encoding="utf-8")
    problems = [str(problem) for problem in problems_of(tmp_path) if problem.file == "reserves.csv"]
    assert problems and all(len(problem) < 600 for problem in problems)
    assert all(problem.count(garbage[:40]) <= 1 for problem in problems)


def test_a_table_larger_than_the_limit_is_refused_by_size(tmp_path: Path) -> None:
    with (tmp_path / "trade.csv").open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: nothing is read
    problem = find(problems_of(tmp_path), file="trade.csv")
    assert "209,715,200 bytes" in problem.message and "docs/limits.md" in problem.fix


def test_non_utf8_tables_name_the_line_and_byte(tmp_path: Path) -> None:
    path = copy_table("reserves", tmp_path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\xe9", 1))
    problem = find(problems_of(tmp_path), file="reserves.csv", row=2)
    assert "0xE9" in problem.message and "byte" in problem.message


def test_the_version_is_the_content_whatever_the_row_order(dataset: raremap.Dataset) -> None:
    """Results and caches are keyed by the version: reordering rows keeps it, any changed value moves it."""
    tables = dict(dataset.tables)
    assert content_version({name: frame.iloc[::-1] for name, frame in tables.items()}) == dataset.version
    production = tables["production"].copy()
    production.loc[production.index[0], "value_t"] += 1
    assert content_version({**tables, "production": production}) != dataset.version
    renamed = tables["production"].rename(columns={"series": "basis"})
    assert content_version({**tables, "production": renamed}) != dataset.version
    assert content_version({**tables, "production": tables["production"].iloc[1:]}) != dataset.version
