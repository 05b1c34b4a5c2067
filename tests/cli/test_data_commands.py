
"""`raremap data ...` and `raremap demo` from the shell: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raremap.data import store
from tests.cli.runner import run_raremap
from tests.helpers import copy_table, read_text_table, write_text_table


def test_validate_passes_on_the_bundled_data() -> None:
    result = run_raremap("data", "validate")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_validate_fails_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = copy_table("production", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "value_t"] = "12 kt"
    frame.loc[1, "country"] = "India"
    write_text_table(frame, path)
    result = run_raremap("data", "validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: 2 problems")
    assert any("production.csv line 2 column value_t: '12 kt'" in line for line in lines)
    assert any("production.csv line 3 column country: 'India'" in line and "'IND'" in line for line in lines)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_raremap("--debug", "data", "validate", str(tmp_path / "missing"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_missing_directory_is_one_red_line(tmp_path: Path) -> None:
    result = run_raremap("data", "validate", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


@pytest.mark.slow
def test_load_twice_reports_the_same_version(tmp_path: Path) -> None:
    database = tmp_path / "store.duckdb"
    first = run_raremap("data", "load", "--db", str(database))
    second = run_raremap("data", "load", "--db", str(database))
    assert first.returncode == second.returncode == 0
    assert "loaded" in first.stdout and "already in the store" in second.stdout
    assert first.stdout.split()[1] == second.stdout.split()[1]


def test_load_of_bad_data_writes_no_database(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reserves.csv").write_bytes(b"\x00\x00binary")
    database = tmp_path / "store.duckdb"
    result = run_raremap("data", "load", str(tmp_path / "data"), "--db", str(database))
    assert result.returncode == 1 and "binary" in result.stderr
    assert not database.exists()


def test_show_as_json_lists_row_objects_with_the_table_columns() -> None:
    result = run_raremap("data", "show", "reserves", "--country", "IND", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(row["country"] == "IND" for row in rows)
    assert {"country", "year", "value_t", "series", "source_id", "quality", "method", "as_of"} == set(rows[0])


def test_show_an_unknown_table_lists_the_tables() -> None:
    result = run_raremap("data", "show", "prodution")
    assert result.returncode == 1 and "production" in result.stderr


def test_sources_summary_counts_rows_by_quality() -> None:
    result = run_raremap("data", "sources", "--summary", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = {row["table"]: row for row in json.loads(result.stdout)}
    assert summary["production"]["rows"] == sum(
        summary["production"][quality] for quality in ("reported", "derived", "estimated")
    )


@pytest.mark.slow
def test_import_baci_writes_a_valid_override(tmp_path: Path) -> None:
    (tmp_path / "BACI_HS92_Y2022.csv").write_text("t,i,j,k,v,q\n2022,156,699,280530,100,10\n")
    (tmp_path / "country_codes_V202401b.csv").write_text(
        "country_code,country_name,country_iso2,country_iso3\n156,China,CN,CHN\n699,India,IN,IND\n"
    )
    out = tmp_path / "imported"
    result = run_raremap("data", "import-baci", str(tmp_path / "BACI_HS92_Y2022.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert run_raremap("data", "validate", str(out)).returncode == 0


def test_import_baci_with_wrong_columns_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    (tmp_path / "country_codes.csv").write_text("country_code,country_iso3\n156,CHN\n")
    result = run_raremap("data", "import-baci", str(tmp_path / "bad.csv"))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "t, i, j, k, v, q" in result.stderr


@pytest.mark.slow
def test_demo_runs_the_main_job_and_writes_its_files(tmp_path: Path) -> None:
    result = run_raremap("demo", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for expected in ("mining", "magnet", "baseline", "china-2025-controls", "china-halt-2030", "india-magnet-scheme-under-halt"):
        assert expected in result.stdout
    text = result.stdout
    # It opens with what the numbers mean and their caveats, before any table.
    assert text.index("What the numbers mean") < text.index("┏")
    # The calibration caveat names each good with its tonnage and share, and says why.
    for caveat in ("Calibration supply", "of world use)", "Why:", "Perfect foresight", "estimates"):
        assert caveat in text.split("world and IND by stage")[0]
    assert "IND shortfall per year, 2024-2035, all magnet sectors (t magnet per year" in text
    # India's own lever, read against the 2030 repeat of China's licensing: its plants lower India's shortfall.
    assert "india-magnet-scheme-under-halt (" in text and "against china-halt-2030: lowers IND's shortfall" in text
    assert "what binds for IND" in text and "welfare" not in text, "no unexplained columns"
    assert "['" not in text
    out = tmp_path / "out"
    overview = json.loads((out / "overview.json").read_text())
    assert {row["stage"] for row in overview["overview"]} == {"mining", "separation", "metal", "magnet"}
    assert [row["scenario"] for row in overview["scenarios"]] == [
        "baseline",
        "china-2025-controls",
        "china-halt-2030",
        "india-magnet-scheme-under-halt",
    ]
    _baseline, controls, _halt, scheme = overview["scenarios"]
    assert overview["horizon"] == "2024-2035" and overview["units"]["binding"]["shadow_usd_per_kg"] == "USD per kg"
    assert scheme["against_base"]["changed"] is True and controls["against_base"]["changed"] is True
    magnets = [row for row in controls["shortfall_by_year"] if row["unit"] == "t magnet"]
    assert [row["period"] for row in magnets] == [str(year) for year in range(2024, 2036)]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "china-2025-controls" in report and "<script" in report
    assert (out / "report.html").stat().st_mode & 0o044, (
        "result files are readable by others, like any output"
    )
    runs = store.list_runs(out / "raremap.duckdb")
    assert sorted(runs["name"]) == ["baseline", "china-2025-controls", "china-halt-2030", "india-magnet-scheme-under-halt"]
