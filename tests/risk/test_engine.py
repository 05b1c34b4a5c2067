"""The Monte Carlo engine: bit-identical draws whatever the chunking and workers, resume, store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from raremap import results
from raremap.data import store
from raremap.errors import RaremapError
from raremap.risk.chunks import chunk_path
from raremap.risk.engine import RunOptions, run_risk
from tests.risk.helpers import read_run


def options(folder: Path, **changes) -> RunOptions:
    settings = {"out": folder, "store_path": None, "progress": False, "report": lambda message: None}
    return RunOptions(**{**settings, **changes})


@pytest.mark.slow
def test_draws_are_identical_for_any_chunking_and_worker_count(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    single = run_risk(small_risk_file, options(tmp_path / "one", chunk_size=7), dataset=dataset)
    double = run_risk(small_risk_file, options(tmp_path / "two", chunk_size=13, workers=2), dataset=dataset)
    first, second = read_run(tmp_path / "one"), read_run(tmp_path / "two")
    assert list(first["draw"]) == list(range(60))
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert single.summary.equals(double.summary)
    assert first.filter(like="shortfall_t:").to_numpy().sum() > 0


@pytest.mark.slow
def test_every_draw_once_after_kill_and_resume(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    folder = tmp_path / "killed"
    child = (
        "import sys; from pathlib import Path; from raremap.risk.engine import RunOptions, run_risk; "
        "run_risk(sys.argv[1], RunOptions(out=Path(sys.argv[2]), chunk_size=20, store_path=None, progress=False), draws=1200)"
    )
    command = [sys.executable, "-c", child, str(small_risk_file), str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(folder.glob("chunk-*.parquet"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = len(list(folder.glob("chunk-*.parquet")))
    assert 3 <= written < 60, "the run must be killed part-way"
    run = run_risk(small_risk_file, options(folder, resume=True), draws=1200, dataset=dataset)
    draws = read_run(folder)["draw"]
    assert sorted(draws) == list(range(1200)) and draws.is_unique
    assert run.computed_draws == 1200 - 20 * written


@pytest.mark.slow
def test_corrupt_chunk_is_reported_and_recomputed(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    folder = tmp_path / "run"
    run_risk(small_risk_file, options(folder, chunk_size=20), dataset=dataset)
    original = read_run(folder)
    chunk_path(folder, 1).write_bytes(b"not parquet at all")
    reports: list[str] = []
    resumed = run_risk(small_risk_file, options(folder, resume=True, report=reports.append), dataset=dataset)
    assert len(reports) == 1 and "chunk-000001.parquet is corrupt" in reports[0]
    assert resumed.computed_draws == 20
    pd.testing.assert_frame_equal(read_run(folder), original, check_exact=True)


def test_resume_refuses_a_different_run(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    folder = tmp_path / "run"
    run_risk(small_risk_file, options(folder, chunk_size=30), dataset=dataset)
    with pytest.raises(RaremapError, match=r"cannot resume .* seed"):
        run_risk(small_risk_file, options(folder, resume=True), seed=99, dataset=dataset)
    with pytest.raises(RaremapError, match="already holds a run"):
        run_risk(small_risk_file, options(folder), dataset=dataset)


def test_resume_refuses_a_run_of_the_previous_format(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    """Format 2 chunks hold sector x element cells; mixing them with format 3 chunks would break the summary."""
    folder = tmp_path / "run"
    run_risk(small_risk_file, options(folder, chunk_size=30), dataset=dataset)
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 3
    (folder / "run.json").write_text(json.dumps({**manifest, "format": 2}), encoding="utf-8")
    chunk_path(folder, 1).unlink()
    with pytest.raises(RaremapError, match=r"cannot resume .* run format 2 .* writes format 3"):
        run_risk(small_risk_file, options(folder, resume=True), dataset=dataset)


def test_run_is_recorded_in_the_store_by_the_result_contract(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    """Every table declared for engine `risk` in results.csv is stored with exactly its columns."""
    database = tmp_path / "store.duckdb"
    run = run_risk(small_risk_file, options(tmp_path / "run", store_path=database), dataset=dataset)
    runs = store.list_runs(database)
    assert list(runs["run_id"]) == [run.run_id] and list(runs["kind"]) == ["risk"]
    for table in results.tables("risk"):
        assert list(run.tables[table].columns) == results.columns("risk", table), table
        stored = store.read_run_result(run.run_id, table, database)
        assert stored.empty or list(stored.columns) == results.columns("risk", table), table  # JSON loses empty columns
    stored = store.read_run_result(run.run_id, "summary", database)
    assert list(stored["sector"]) == list(run.summary["sector"])
    assert set(stored["unit"]) == {"t magnet"} and set(stored["horizon"]) == {"2025 to 2026"}
    assert run.evaluations["solved"] + run.evaluations["base"] + run.evaluations["cached"] == 60


def test_a_run_is_saved_later_by_its_public_save(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    """What the web server does: run without a store, then save under its own lock."""
    run = run_risk(small_risk_file, options(tmp_path / "run", store_path=None), draws=20, dataset=dataset)
    database = tmp_path / "later.duckdb"
    assert not database.exists()
    assert run.save(database) == run.run_id
    assert list(store.list_runs(database)["dataset_version"]) == [str(dataset.version)]


def test_bad_worker_and_chunk_settings(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    with pytest.raises(RaremapError, match="--workers 0"):
        run_risk(small_risk_file, options(tmp_path / "a", workers=0), dataset=dataset)
    with pytest.raises(RaremapError, match="--chunk-size -3"):
        run_risk(small_risk_file, options(tmp_path / "b", chunk_size=-3), dataset=dataset)
