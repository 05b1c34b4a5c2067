"""A store with one run of every kind, and the report written from it once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

import raremap
from raremap.report import write_report
from tests.report.sample_runs import save_sample_runs


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory, dataset: raremap.Dataset) -> Path:
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    save_sample_runs(path, dataset.version)
    return path


@pytest.fixture(scope="session")
def ten_run_store(tmp_path_factory: pytest.TempPathFactory, dataset: raremap.Dataset) -> Path:
    """Ten simulations (three named, seven variants of the baseline), a risk run and a plan."""
    path = tmp_path_factory.mktemp("store10") / "runs.duckdb"
    save_sample_runs(path, dataset.version, simulations=7)
    return path


@pytest.fixture(scope="session")
def report_path(
    tmp_path_factory: pytest.TempPathFactory, dataset: raremap.Dataset, sample_store: Path
) -> Path:
    return write_report(dataset, tmp_path_factory.mktemp("report") / "report.html", db=sample_store)
