"""The store under sharing and damage: writers wait, no run is lost, a damaged store is never written."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from raremap.data import store
from raremap.data.dataset import Dataset
from raremap.errors import RaremapError

HOLD = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


@contextmanager
def held_by_another_process(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store's write lock for `seconds`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield holder
    finally:
        holder.communicate(timeout=seconds + 30)


def save(path: Path, run_id: str) -> None:
    store.save_run(
        path, run_id=run_id, kind="simulate", name="x", dataset_version="v",
        specification={}, summary={}, results={"shortfall": pd.DataFrame({"tonnes": [1.0]})},
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def truncated_store(dataset: Dataset, tmp_path: Path) -> Path:
    path = tmp_path / "damaged.duckdb"
    store.save_dataset(dataset, path)
    save(path, "run-1")
    size = path.stat().st_size
    with path.open("r+b") as stream:
        stream.truncate(size // 2)
    return path


def test_a_truncated_store_is_refused_by_every_entry_point_and_left_unchanged(
    truncated_store: Path, dataset: Dataset
) -> None:
    before = digest(truncated_store)
    attempts = [
        lambda: store.save_dataset(dataset, truncated_store),
        lambda: save(truncated_store, "run-2"),
        lambda: store.list_runs(truncated_store),
        lambda: store.read_run_result("run-1", "shortfall", truncated_store),
        lambda: store.check_writable(truncated_store),
    ]
    for attempt in attempts:
        with pytest.raises(store.StoreDamagedError, match=r"cannot open store .*truncated"):
            attempt()
    assert digest(truncated_store) == before
    assert not Path(f"{truncated_store}.wal").exists()


def test_a_store_with_damaged_blocks_is_refused_and_left_unchanged(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "damaged.duckdb"
    store.save_dataset(dataset, path)
    size = path.stat().st_size
    with path.open("r+b") as stream:  # overwrite part of the middle, where the tables' blocks are
        for offset in range(size // 3, size // 3 + 100_000, 4096):
            stream.seek(offset)
            stream.write(b"\xde\xad\xbe\xef" * 16)
    before = digest(path)
    store._PASSED.clear()
    with pytest.raises(store.StoreDamagedError, match="checksum"):
        save(path, "run-1")
    assert digest(path) == before


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes\n" * 100, encoding="utf-8")
    with pytest.raises(store.StoreDamagedError, match="not a DuckDB file"):
        save(path, "run-1")
    assert path.read_text(encoding="utf-8").startswith("these are my notes")


def test_a_store_after_deletes_passes_the_check(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    for number in range(4):
        save(path, f"run-{number}")
    with store.connect(path) as connection:
        connection.execute("DELETE FROM run_results WHERE run_id IN ('run-0', 'run-1')")
    store._PASSED.clear()
    store.check_integrity(path)


def test_a_writer_waits_for_another_process_and_saves(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    save(path, "first")
    with held_by_another_process(path, 1.5):
        began = time.monotonic()
        save(path, "second")
        waited = time.monotonic() - began
    assert waited > 0.5
    assert set(store.list_runs(path)["run_id"]) == {"first", "second"}


def test_a_run_that_cannot_be_saved_in_time_is_kept_and_added_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "busy.duckdb"
    save(path, "first")
    monkeypatch.setattr(store, "WRITE_WAIT_SECONDS", 0.3)
    with held_by_another_process(path, 1.5), pytest.raises(store.StoreBusyError, match="is kept in") as caught:
        save(path, "late")
    pending = store.pending_directory(path) / "late.json"
    assert pending.exists() and str(pending) in str(caught.value)
    save(path, "next")
    assert set(store.list_runs(path)["run_id"]) == {"first", "late", "next"}
    assert not pending.exists()
    assert len(store.read_run_result("late", "shortfall", path)) == 1


def test_a_reader_waits_within_its_bound_then_says_busy(tmp_path: Path) -> None:
    path = tmp_path / "read.duckdb"
    save(path, "first")
    with (
        held_by_another_process(path, 1.5),
        pytest.raises(store.StoreBusyError, match="in use by another"),
        store.connect(path, read_only=True, wait_seconds=0.3),
    ):
        pass


def test_writability_is_checked_before_work(tmp_path: Path) -> None:
    with pytest.raises(RaremapError, match="is a directory"):
        store.check_writable(tmp_path)
    with pytest.raises(RaremapError, match=r"folder .* does not exist"):
        store.check_writable(tmp_path / "missing" / "store.duckdb")
    assert store.check_writable(tmp_path / "new.duckdb") == tmp_path / "new.duckdb"
