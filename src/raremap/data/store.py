"""The DuckDB store: datasets versioned by content hash, and the runs made on them.

Every write happens inside one transaction, so a failure leaves the file as it was; a store
file created by a failed first write is removed. Extension auto-install and auto-load are off:
nothing is fetched from the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from raremap.data.dataset import Dataset
from raremap.data.schema import table_schemas
from raremap.errors import RaremapError

DEFAULT_PATH = Path("raremap.duckdb")
OFFLINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS datasets (
    version VARCHAR PRIMARY KEY,
    origin VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    row_count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    dataset_version VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    specification JSON NOT NULL,
    summary JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS run_results (
    run_id VARCHAR NOT NULL,
    result VARCHAR NOT NULL,
    data JSON NOT NULL,
    PRIMARY KEY (run_id, result)
);
"""


def data_table_name(table: str) -> str:
    return f"data_{table}"


@contextmanager
def connect(path: str | Path = DEFAULT_PATH, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store with network extension loading switched off; remove a file a failed first use created."""
    path = Path(path)
    if read_only and not path.exists():
        raise RaremapError(f"store {path} does not exist; create it with `raremap data load --db {path}`")
    if path.exists() and path.is_dir():
        raise RaremapError(f"store path {path} is a directory; give a file name such as raremap.duckdb")
    created = not path.exists()
    try:
        connection = duckdb.connect(str(path), read_only=read_only, config=OFFLINE_CONFIG)
    except duckdb.Error as error:
        raise RaremapError(
            f"cannot open store {path}: {error}; give a DuckDB file raremap created"
        ) from error
    try:
        yield connection
    except BaseException:
        connection.close()
        if created:
            path.unlink(missing_ok=True)
            Path(f"{path}.wal").unlink(missing_ok=True)
        raise
    connection.close()


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


SQL_TYPES = {
    "string": "VARCHAR",
    "date": "VARCHAR",
    "list": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
}


def _create_data_tables(connection: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    """One table per dataset table, typed from the schema, with a dataset_version column."""
    for table in dataset.tables:
        columns = [f'"{column.name}" {SQL_TYPES[column.dtype]}' for column in table_schemas()[table].columns]
        columns.append('"dataset_version" VARCHAR NOT NULL')
        connection.execute(f"CREATE TABLE IF NOT EXISTS {data_table_name(table)} ({', '.join(columns)})")


def save_dataset(dataset: Dataset, path: str | Path = DEFAULT_PATH) -> tuple[str, bool]:
    """Put a dataset into the store; return its version and whether it was new.

    Loading the same content twice stores it once: the version is the content hash.
    """
    with connect(path) as connection:
        connection.execute(CATALOG_DDL)
        known = connection.execute("SELECT 1 FROM datasets WHERE version = ?", [dataset.version]).fetchone()
        if known:
            return dataset.version, False
        with transaction(connection):
            _create_data_tables(connection, dataset)
            for table, frame in dataset.tables.items():
                rows = frame.assign(dataset_version=dataset.version)
                connection.register("frame_view", rows)
                columns = ", ".join(f'"{column}"' for column in rows.columns)
                connection.execute(
                    f"INSERT INTO {data_table_name(table)} ({columns}) SELECT {columns} FROM frame_view"
                )
                connection.unregister("frame_view")
            row_count = sum(len(frame) for frame in dataset.tables.values())
            connection.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?)",
                [dataset.version, dataset.origin, datetime.now(UTC).replace(tzinfo=None), row_count],
            )
    return dataset.version, True


def list_datasets(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    with connect(path, read_only=True) as connection:
        return connection.execute("SELECT * FROM datasets ORDER BY loaded_at").df()


def read_dataset_table(table: str, version: str, path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """One table of a stored dataset version, with the schema's columns."""
    if table not in table_schemas():
        raise RaremapError(f"unknown table {table!r}; tables are {', '.join(table_schemas())}")
    with connect(path, read_only=True) as connection:
        columns = ", ".join(f'"{column}"' for column in table_schemas()[table].column_names)
        return connection.execute(
            f"SELECT {columns} FROM {data_table_name(table)} WHERE dataset_version = ?", [version]
        ).df()


def save_run(
    path: str | Path,
    *,
    run_id: str,
    kind: str,
    name: str,
    dataset_version: str,
    specification: dict[str, Any],
    summary: dict[str, Any],
    results: dict[str, pd.DataFrame],
) -> None:
    """Store a run (simulation, risk, plan) with the dataset version it used, all or nothing."""
    with connect(path) as connection:
        connection.execute(CATALOG_DDL)
        with transaction(connection):
            connection.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    kind,
                    name,
                    dataset_version,
                    datetime.now(UTC).replace(tzinfo=None),
                    json.dumps(specification, default=str),
                    json.dumps(summary, default=str),
                ],
            )
            for result, frame in results.items():
                connection.execute(
                    "INSERT OR REPLACE INTO run_results VALUES (?, ?, ?)",
                    [run_id, result, frame.to_json(orient="records", date_format="iso")],
                )


def list_runs(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    with connect(path, read_only=True) as connection:
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        if "runs" not in tables:
            return pd.DataFrame(columns=["run_id", "kind", "name", "dataset_version", "created_at"])
        return connection.execute(
            "SELECT run_id, kind, name, dataset_version, created_at, summary FROM runs ORDER BY created_at"
        ).df()


def read_run_result(run_id: str, result: str, path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    with connect(path, read_only=True) as connection:
        row = connection.execute(
            "SELECT data FROM run_results WHERE run_id = ? AND result = ?", [run_id, result]
        ).fetchone()
    if row is None:
        raise RaremapError(f"run {run_id!r} has no result {result!r} in the store")
    return pd.DataFrame(json.loads(row[0]))
