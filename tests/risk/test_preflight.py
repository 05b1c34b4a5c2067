"""Output problems of a risk run are found before the first draw, or reported with the path."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from raremap.data import store
from raremap.errors import RaremapError
from raremap.risk import chunks, engine
from raremap.risk.engine import RunOptions, run_risk


@pytest.fixture
def no_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the run gets as far as loading data (where the costly work starts)."""

    def refuse(*_: object) -> None:
        raise AssertionError("the run started although its outputs were unusable")

    monkeypatch.setattr(engine, "load", refuse)


def options(tmp_path: Path, **changes: object) -> RunOptions:
    values: dict[str, object] = {"out": tmp_path / "run", "store_path": tmp_path / "store.duckdb", "progress": False}
    values.update(changes)
    return RunOptions(**values)  # type: ignore[arg-type]


def test_an_out_that_is_a_file(tmp_path: Path, no_draws: None) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(RaremapError, match="is a file; give a folder"):
        run_risk("default", options(tmp_path, out=tmp_path / "file"), draws=5)


def test_a_read_only_out(tmp_path: Path, no_draws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == tmp_path else real_access(path, mode))
    with pytest.raises(RaremapError, match="is read-only; choose a folder"):
        run_risk("default", options(tmp_path), draws=5)


def test_a_disk_without_room(tmp_path: Path, no_draws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks.shutil, "disk_usage", lambda _: type("Usage", (), {"free": 1_000_000})())
    with pytest.raises(RaremapError, match=r"1 MB free on its disk, but 100,000 draws need about"):
        run_risk("default", options(tmp_path), draws=100_000)


def test_a_read_only_store(tmp_path: Path, no_draws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.duckdb"
    store.save_run(path, run_id="r", kind="simulate", name="x", dataset_version="v", specification={},
                   summary={}, results={"t": pd.DataFrame({"a": [1]})})
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda target, mode: False if Path(target) == path else real_access(target, mode))
    with pytest.raises(RaremapError, match=r"store .* is read-only"):
        run_risk("default", options(tmp_path), draws=5)


def test_a_damaged_store(tmp_path: Path, no_draws: None) -> None:
    path = tmp_path / "store.duckdb"
    path.write_bytes(b"not a store" * 1000)
    with pytest.raises(store.StoreDamagedError, match="cannot open store"):
        run_risk("default", options(tmp_path), draws=5)


def test_a_disk_that_fills_during_the_run_is_reported_with_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(chunks.pq, "write_table", full)
    with pytest.raises(RaremapError, match=r"cannot write .*chunk-000000.parquet: No space left on device; .*--resume"):
        chunks.write_chunk(tmp_path, 0, None)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
