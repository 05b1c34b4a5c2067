"""Command-line mistakes: the usual usage message with the closest match, or one red line; never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from raremap.cli import main
from tests.helpers import copy_table, read_text_table, write_text_table


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(arguments))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_an_unknown_command_gets_usage_and_the_closest_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, error = run(capsys, "simulat", "baseline")
    assert code == 2 and "Usage: raremap" in error and "Did you mean 'simulate'?" in error
    assert "internal error" not in error


def test_an_unknown_option_gets_usage_and_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, error = run(capsys, "simulate", "--jsn", "baseline")
    assert code == 2 and "Usage: raremap simulate" in error and "--json" in error
    assert "internal error" not in error


def test_values_are_printed_literally(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, error = run(capsys, "data", "show", "Nd:x:[bold]")
    assert code == 1 and "'Nd:x:[bold]'" in error


def test_an_unknown_country_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, output, error = run(capsys, "data", "show", "production", "--country", "XYZ")
    assert code == 1 and output == "" and error.count("\n") == 1 and "unknown country" in error


def test_country_codes_on_the_command_line_are_read_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run(capsys, "data", "show", "production", "--country", "chn", "--format", "csv")
    assert code == 0 and output.splitlines()[1].startswith("CHN,")


def test_a_store_that_does_not_exist_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, error = run(capsys, "report", "--db", str(tmp_path / "nonexistent.duckdb"), "--out", str(tmp_path / "r.html"))
    assert code == 1 and "does not exist" in error and not (tmp_path / "r.html").exists()


def test_csv_output_cannot_start_a_formula(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = copy_table("parameters", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, ["quality", "method"]] = ["derived", '=HYPERLINK("http://example.invalid","x")']
    write_text_table(frame, path)
    code, output, _ = run(capsys, "data", "show", "parameters", "--data", str(tmp_path), "--format", "csv")
    assert code == 0
    assert '"\'=HYPERLINK(' in output and "\n=" not in output and ",=" not in output


def test_an_output_that_is_a_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x", encoding="utf-8")
    code, _, error = run(capsys, "risk", "default", "--draws", "5", "--out", str(blocker), "--db", str(tmp_path / "s.duckdb"))
    assert code == 1 and "is a file" in error and error.count("\n") == 1
