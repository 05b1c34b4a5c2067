"""The DuckDB store keeps each dataset once per content version and never half-writes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from raremap.data import store
from raremap.data.dataset import Dataset


def test_loading_the_same_data_twice_gives_the_same_version_once(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    first_version, first_new = store.save_dataset(dataset, path)
    second_version, second_new = store.save_dataset(dataset, path)
    assert (first_version, first_new) == (dataset.version, True)
    assert (second_version, second_new) == (dataset.version, False)
    assert len(store.list_datasets(path)) == 1


def test_changed_data_gets_a_new_version_beside_the_old(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    store.save_dataset(dataset, path)
    tables = dict(dataset.tables)
    tables["reserves"] = tables["reserves"].assign(value_t=tables["reserves"]["value_t"] * 2)
    changed = Dataset(tables=tables)
    version, new = store.save_dataset(changed, path)
    assert new and version != dataset.version
    assert set(store.list_datasets(path)["version"]) == {dataset.version, version}
    stored = store.read_dataset_table("reserves", version, path)
    assert stored["value_t"].sum() == pytest.approx(2 * dataset["reserves"]["value_t"].sum())


def test_stored_tables_round_trip(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    store.save_dataset(dataset, path)
    stored = store.read_dataset_table("production", dataset.version, path)
    original = dataset["production"]
    assert len(stored) == len(original)
    assert stored["value_t"].sum() == pytest.approx(original["value_t"].sum())


def test_a_failed_first_load_leaves_no_file(
    dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.duckdb"

    def failing_insert(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_create_data_tables", failing_insert)
    with pytest.raises(RuntimeError):
        store.save_dataset(dataset, path)
    assert not path.exists()


def test_a_failed_load_into_an_existing_store_changes_nothing(
    dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.duckdb"
    store.save_dataset(dataset, path)
    tables = dict(dataset.tables)
    tables["reserves"] = tables["reserves"].assign(value_t=0.0)
    changed = Dataset(tables=tables)
    original_register = duckdb.DuckDBPyConnection.register
    calls = {"count": 0}

    def register_then_fail(connection: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> object:
        calls["count"] += 1
        if calls["count"] > 3:  # after a few tables went in
            raise RuntimeError("interrupted")
        return original_register(connection, name, frame)

    monkeypatch.setattr(duckdb.DuckDBPyConnection, "register", register_then_fail)
    with pytest.raises(RuntimeError):
        store.save_dataset(changed, path)
    monkeypatch.undo()
    assert list(store.list_datasets(path)["version"]) == [dataset.version]
    with duckdb.connect(str(path), read_only=True) as connection:
        versions = connection.execute("SELECT DISTINCT dataset_version FROM data_reserves").fetchall()
    assert versions == [(dataset.version,)]


def test_runs_are_stored_with_their_dataset_version(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    shortfall = pd.DataFrame({"country": ["IND"], "tonnes": [12.5]})
    store.save_run(
        path,
        run_id="run-1",
        kind="simulate",
        name="baseline",
        dataset_version="abc",
        specification={"name": "baseline"},
        summary={"shortfall_t": 12.5},
        results={"shortfall": shortfall},
    )
    runs = store.list_runs(path)
    assert list(runs["run_id"]) == ["run-1"] and list(runs["dataset_version"]) == ["abc"]
    assert store.read_run_result("run-1", "shortfall", path).equals(shortfall)


def test_extension_autoloading_is_off(tmp_path: Path) -> None:
    with store.connect(tmp_path / "store.duckdb") as connection:
        settings = dict(
            connection.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name LIKE 'auto%_known_extensions'"
            ).fetchall()
        )
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
