"""Every case of issue 18 (and the input cases of issue 19) as a fixture, through the command line.

Each must end in one clean error — status 1, `error:`, the file and place, the fix — and write
nothing: no store, no result, no change to the files given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from raremap.data import store
from raremap.data.dataset import bundled_directory
from tests.hostile.command import attempt

pytestmark = pytest.mark.slow

SCENARIOS = {
    "capacity NaN": "capacity_changes: [{country: IND, stage: magnet, capacity_t: .nan, online_year: 2028}]",
    "capacity infinity": "capacity_changes: [{country: IND, stage: magnet, capacity_t: .inf, online_year: 2028}]",
    "stockpile infinity": "stockpiles: [{holder: IND, stage: metal, element: Nd, size_t: .inf}]",
    "repeated key": "importer: IND\nimporter: CHN",
    "alias bomb in description": "description: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "\n".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)),
    "alias bomb in export_controls": "x0: &x0 {exporter: CHN, stages: [magnet], form: ban, start: 2026}\n"
    + "\n".join(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, 7))
    + "\nexport_controls: *x6",
    "nesting thousands deep": "description: " + "[" * 20_000 + "]" * 20_000,
    "mapping nesting thousands deep": "description: " + "{a: " * 5_000 + "1" + "}" * 5_000,
    "February 30": "export_controls: [{exporter: CHN, stages: [magnet], form: ban, start: 2025-02-30}]",
    "month 13": "export_controls: [{exporter: CHN, stages: [magnet], form: ban, start: 2026-13-01}]",
    "control after the horizon": "export_controls: [{exporter: CHN, stages: [magnet], form: ban, start: 2040}]",
    "unknown country with suggestion": "export_controls: [{exporter: CNH, stages: [magnet], form: ban, start: 2026}]",
}
RAW_FILES = {
    "binary file": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "Latin-1 file": "name: café\nbase: baseline\n".encode("latin-1"),
    "UTF-16 file": "name: x\n".encode("utf-16"),
}


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_bad_scenarios_are_one_clean_error_and_store_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nbase: baseline\n{SCENARIOS[case]}\n", encoding="utf-8")
    database = tmp_path / "runs.duckdb"
    outcome = attempt(capsys, tmp_path, f"scenario: {case}", "simulate", str(path), "--db", str(database))
    assert outcome.clean_error, outcome.error
    assert outcome.changed == () and not database.exists()
    assert "bad.yaml" in outcome.error and outcome.error.count("\n") == 1  # one line naming the file
    assert ("line" in outcome.error or " = " in outcome.error or "[" in outcome.error) and len(outcome.error) < 3_000


@pytest.mark.parametrize("case", sorted(RAW_FILES))
def test_files_that_are_not_utf8_text(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(RAW_FILES[case])
    outcome = attempt(capsys, tmp_path, f"scenario: {case}", "simulate", str(path))
    assert outcome.clean_error and "byte" in outcome.error and "line" in outcome.error


@pytest.mark.parametrize("kind", ["risk", "plan"])
def test_risk_and_plan_files_are_read_the_same_way(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"bad-{kind}.yaml"
    path.write_text("name: bad\nname: again\n", encoding="utf-8")
    outcome = attempt(capsys, tmp_path, f"{kind}: repeated key", kind, str(path), "--db", str(tmp_path / "s.duckdb"))
    assert outcome.clean_error and "appears twice" in outcome.error


TABLE_CASES = {
    "infinity": ("production", "value_t", "inf"),
    "1e308": ("production", "value_t", "1e308"),
    "1e400": ("production", "value_t", "1e400"),
    "40-digit year": ("production", "year", "1" * 40),
    "date 2024-13-45 in partnerships.date": ("partnerships", "date", "2024-13-45"),
    "date 2024-13-45 in policies.start": ("policies", "start", "2024-13-45"),
    "field over 131,072 characters": ("reserves", "method", "x" * 140_000),
}


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_bad_tables_are_reported_and_nothing_is_loaded(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    table, column, value = TABLE_CASES[case]
    folder = tmp_path / "tables"
    folder.mkdir()
    with (bundled_directory() / f"{table}.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    rows[1][rows[0].index(column)] = value
    with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    database = tmp_path / "s.duckdb"
    outcome = attempt(capsys, tmp_path, f"table: {case}", "data", "load", str(folder), "--db", str(database))
    assert outcome.clean_error and f"{table}.csv line 2" in outcome.error
    assert not database.exists()


@pytest.mark.parametrize("table", sorted(path.stem for path in bundled_directory().glob("*.csv")))
def test_a_repeated_row_in_any_table_is_named_as_a_repeated_key(table: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A row pasted twice must be reported as such, not break a check that looks the key up (a repeated
    sector made the demand-unit check fail with an internal error until 2026-12-07)."""
    folder = tmp_path / "tables"
    folder.mkdir()
    lines = (bundled_directory() / f"{table}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / f"{table}.csv").write_text("".join([*lines, lines[1]]), encoding="utf-8")
    outcome = attempt(capsys, tmp_path, f"repeated row: {table}", "data", "validate", str(folder))
    assert outcome.clean_error and f"{table}.csv line {len(lines) + 1}" in outcome.error and "repeats the key" in outcome.error


def test_a_garbage_header_is_echoed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    garbage = "garbage " * 2_500
    text = (bundled_directory() / "reserves.csv").read_text(encoding="utf-8")
    (folder / "reserves.csv").write_text(text.replace("method", garbage, 1), encoding="utf-8")
    outcome = attempt(capsys, tmp_path, "table: 20 KB header", "data", "validate", str(folder))
    assert outcome.clean_error and outcome.error.count(garbage[:40]) <= 1 and len(outcome.error) < 2_000


@pytest.fixture
def truncated_store(tmp_path: Path, dataset: object) -> Path:
    path = tmp_path / "s.duckdb"
    store.save_dataset(dataset, path)  # type: ignore[arg-type]
    with path.open("r+b") as stream:
        stream.truncate(path.stat().st_size // 2)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ("data", "load"),
        ("simulate", "baseline"),
        ("report", "--out", "{folder}/report.html"),
        ("risk", "default", "--draws", "5", "--out", "{folder}/draws"),
        ("plan", "default"),
        ("serve", "--port", "1"),
    ],
)
def test_a_truncated_store_stops_every_command_and_is_left_byte_identical(
    command: tuple[str, ...], truncated_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def never_serve(*_: object, **__: object) -> None:
        raise AssertionError("the server started on a damaged store")

    monkeypatch.setattr(uvicorn, "run", never_serve)
    arguments = [part.format(folder=truncated_store.parent) for part in command]
    outcome = attempt(capsys, truncated_store.parent, f"store: truncated, {command[0]}", *arguments, "--db", str(truncated_store))
    assert outcome.clean_error and "cannot open store" in outcome.error, outcome.error
    assert outcome.changed == ()


def test_risk_outputs_are_checked_before_the_first_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    outcome = attempt(capsys, tmp_path, "risk: --out is a file", "risk", "default", "--out", str(tmp_path / "file"),
                      "--db", str(tmp_path / "s.duckdb"))
    assert outcome.clean_error and str(tmp_path / "file") in outcome.error
    outcome = attempt(capsys, tmp_path, "risk: --db is a folder", "risk", "default", "--out", str(tmp_path / "draws"),
                      "--db", str(tmp_path))
    assert outcome.clean_error and "is a directory" in outcome.error


MESSAGE_CASES = {
    "emoji code kept literal": (("data", "show", "Nd:x:"), "'Nd:x:'"),
    "markup kept literal": (("data", "show", "[bold]x[/]"), "'[bold]x[/]'"),
    "country in any case": (("metrics", "--importer", "aus", "--json"), None),
    "unknown country": (("data", "show", "production", "--country", "XYZ"), "unknown country"),
    "--draws 0 not blamed on the file": (("risk", "default", "--draws", "0"), "given with the command"),
    "store that does not exist": (("report", "--db", "{folder}/nonexistent.duckdb"), "does not exist"),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_messages(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command, expected = MESSAGE_CASES[case]
    arguments = [part.format(folder=tmp_path) for part in command]
    outcome = attempt(capsys, tmp_path, f"message: {case}", *arguments)
    if expected is None:
        assert outcome.code == 0, outcome.error
    else:
        assert outcome.clean_error and expected in outcome.error, outcome.error
        assert "np.int64" not in outcome.error and "countrie;" not in outcome.error


def test_usage_mistakes_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for arguments, expected in ((("nosuch",), "No such command"), (("simulate", "--nosuchflag", "baseline"), "No such option")):
        outcome = attempt(capsys, tmp_path, "usage", *arguments)
        assert outcome.code == 2 and "Usage:" in outcome.error and expected in outcome.error
        assert "internal error" not in outcome.error
