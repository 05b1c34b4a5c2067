"""The DuckDB store: datasets versioned by content hash, and the runs made on them.

Every write happens inside one transaction, so a failure leaves the file as it was; a store
file created by a failed first write is removed. Extension auto-install and auto-load are off:
nothing is fetched from the network.

Several raremap processes may share one store. DuckDB lets one process write a file, or many
read it, at a time; a process that finds the file locked waits and tries again, with growing
pauses, for a bounded time (`WRITE_WAIT_SECONDS`, `READ_WAIT_SECONDS`) and then raises
`StoreBusyError` (the web server answers 503 with Retry-After). A run that still cannot be saved
after the wait is written beside the store (`<store>.pending/<run id>.json`) and added by the next
write that gets through, so a computed run is never lost.

Before a store is opened it is checked: DuckDB must open it read-only, the file must be as long as
the blocks it records (a truncated copy fails here) and every block must read with a valid
checksum. A store that fails is never opened for writing, so it stays byte-identical, and every
command stops with the same "cannot open store" error.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.data.schema import table_schemas
from raremap.errors import RaremapError
from raremap.files import write_text_atomic

if TYPE_CHECKING:  # DuckDB is imported where a store is opened: `raremap simulate` without --db never pays for it
    import duckdb

DEFAULT_PATH = Path("raremap.duckdb")
WRITE_WAIT_SECONDS = 120.0
"""How long a writer waits for another process to release the store before saving elsewhere."""
READ_WAIT_SECONDS = 30.0
"""How long a command-line reader waits; the web server waits `SERVER_READ_WAIT_SECONDS`."""
SERVER_READ_WAIT_SECONDS = 1.0
FILE_HEADER_BYTES = 3 * 4096
"""DuckDB's main header and its two database headers precede the data blocks."""



class StoreBusyError(RaremapError):
    """The store is locked by another process for longer than this caller may wait."""

    retry_after_seconds = 2


class StoreDamagedError(RaremapError):
    """The store file fails the integrity check; it has not been changed."""
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


def _lock_conflict(error: duckdb.Error) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def _open(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """A connection, waiting (with growing, jittered pauses) while another process holds the lock."""
    import duckdb

    deadline = time.monotonic() + wait_seconds
    pause = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=OFFLINE_CONFIG)
        except duckdb.IOException as error:
            if not _lock_conflict(error):
                raise
            if time.monotonic() + pause > deadline:
                raise StoreBusyError(
                    f"store {path} is in use by another raremap process (waited {wait_seconds:g} s); "
                    "try again when it has finished"
                ) from None
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 1.0)


def _damaged(path: Path, reason: str) -> StoreDamagedError:
    return StoreDamagedError(
        f"cannot open store {path}: {reason}; it was left unchanged. Restore it from a copy, or give "
        "another --db (raremap creates a new store there)"
    )


def check_integrity(path: str | Path, wait_seconds: float = READ_WAIT_SECONDS) -> None:
    """Raise StoreDamagedError unless the store opens, is as long as the blocks it records and every
    block reads with a valid checksum.

    Opens the file read-only, so checking never changes it. A missing or empty file passes (it
    is created by the first write). A store is checked once per state: a file this process has
    checked, or has itself written since, is not read again (about 0.4 s for a store of 40 runs).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    signature = _signature(path)
    if _PASSED.get(str(path.resolve())) == signature:
        return
    import duckdb

    try:
        connection = _open(path, read_only=True, wait_seconds=wait_seconds)
    except duckdb.Error as error:
        raise _damaged(path, f"not a DuckDB file raremap can read ({_first_line(error)})") from None
    try:
        _, _, block_size, _, used_blocks, *_ = connection.execute("PRAGMA database_size").fetchone() or ()
        # Free blocks at the end are cut off the file, so only the blocks in use must fit in it.
        expected = FILE_HEADER_BYTES + int(block_size) * int(used_blocks)
        actual = path.stat().st_size
        if actual < expected:
            raise _damaged(path, f"the file is {actual:,} bytes but the blocks it records need {expected:,} (truncated?)")
        for (table,) in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            # Hashing every column reads every block, and DuckDB verifies each block's checksum.
            connection.execute(f'SELECT sum(hash(COLUMNS(*))) FROM "{table}"').fetchall()
    except duckdb.Error as error:
        raise _damaged(path, f"its content cannot be read ({_first_line(error)})") from None
    finally:
        connection.close()
    _PASSED[str(path.resolve())] = signature


_PASSED: dict[str, tuple[int, int]] = {}
"""Stores that passed the check in this process, with the (size, modification time) they had then."""


def _signature(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def check_writable(path: str | Path) -> Path:
    """Raise a clear error now, before any work, if runs cannot be saved to this store later.

    Checks what can be known in advance: the store is sound (`check_integrity`), the file and its
    folder (where DuckDB writes its journal) are writable. A full disk is found only on writing.
    """
    path = Path(path)
    if path.is_dir():
        raise RaremapError(f"store path {path} is a directory; give a file name such as raremap.duckdb")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RaremapError(f"cannot create store {path}: folder {folder} does not exist; create it or choose another --db")
    if path.exists():
        check_integrity(path)
        if not os.access(path, os.W_OK):
            raise RaremapError(f"store {path} is read-only; make it writable or choose another --db")
    if not os.access(folder, os.W_OK):
        raise RaremapError(
            f"cannot write store {path}: folder {folder} is read-only (DuckDB keeps a journal beside the store); "
            "choose another --db"
        )
    return path


@contextmanager
def connect(
    path: str | Path = DEFAULT_PATH, read_only: bool = False, wait_seconds: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store with network extension loading switched off; remove a file a failed first use created.

    A store that is written to is checked first (`check_integrity`); a locked store is waited for
    (`wait_seconds`, by default `WRITE_WAIT_SECONDS` to write and `READ_WAIT_SECONDS` to read).
    """
    path = Path(path)
    if read_only and not path.exists():
        raise RaremapError(f"store {path} does not exist; create it with `raremap data load --db {path}`")
    if path.exists() and path.is_dir():
        raise RaremapError(f"store path {path} is a directory; give a file name such as raremap.duckdb")
    wait = wait_seconds if wait_seconds is not None else (READ_WAIT_SECONDS if read_only else WRITE_WAIT_SECONDS)
    check_integrity(path, wait)
    import duckdb

    created = not path.exists()
    try:
        connection = _open(path, read_only, wait)
    except StoreBusyError:
        raise
    except duckdb.Error as error:
        raise _damaged(path, _first_line(error)) from None
    try:
        yield connection
    except BaseException as error:
        connection.close()
        if created:
            path.unlink(missing_ok=True)
            Path(f"{path}.wal").unlink(missing_ok=True)
        if isinstance(error, duckdb.IOException):
            raise RaremapError(
                f"cannot use store {path}: {_first_line(error)}; nothing was changed by this command "
                "(check the free space and permissions of its folder)"
            ) from error
        raise
    connection.close()
    if not read_only and path.exists():
        _PASSED[str(path.resolve())] = _signature(path)  # sound before, and written by DuckDB since


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
            absorbed = _insert_pending(connection, Path(path))
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
    for pending_file in absorbed:
        pending_file.unlink(missing_ok=True)
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
    """Store a run (simulation, risk, plan) with the dataset version it used, all or nothing.

    If the store stays locked by other processes beyond `WRITE_WAIT_SECONDS`, the run is written
    beside it as a pending file and StoreBusyError says where; the next write adds it to the store.
    """
    record = {
        "run_id": run_id,
        "kind": kind,
        "name": name,
        "dataset_version": dataset_version,
        "created_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        "specification": json.dumps(specification, default=str),
        "summary": json.dumps(summary, default=str),
        "results": {result: frame.to_json(orient="records", date_format="iso") for result, frame in results.items()},
    }
    try:
        with connect(path) as connection:
            connection.execute(CATALOG_DDL)
            with transaction(connection):
                _insert_run(connection, record)
                absorbed = _insert_pending(connection, Path(path))
    except StoreBusyError as error:
        pending = _write_pending(Path(path), record)
        raise StoreBusyError(
            f"{error}; the run {run_id} is kept in {pending} and is added to the store by the next "
            "raremap command that writes to it"
        ) from None
    for pending_file in absorbed:
        pending_file.unlink(missing_ok=True)


def pending_directory(path: Path) -> Path:
    """Where runs wait that could not be saved because the store was locked too long."""
    return path.with_name(f"{path.name}.pending")


def _insert_run(connection: duckdb.DuckDBPyConnection, record: dict[str, Any]) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [record["run_id"], record["kind"], record["name"], record["dataset_version"],
         datetime.fromisoformat(record["created_at"]), record["specification"], record["summary"]],
    )
    for result, data in record["results"].items():
        connection.execute("INSERT OR REPLACE INTO run_results VALUES (?, ?, ?)", [record["run_id"], result, data])


def _write_pending(path: Path, record: dict[str, Any]) -> Path:
    directory = pending_directory(path)
    directory.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(directory / f"{record['run_id']}.json", json.dumps(record))


def _insert_pending(connection: duckdb.DuckDBPyConnection, path: Path) -> list[Path]:
    """Add the runs left pending beside the store; return their files, to remove once committed."""
    directory = pending_directory(path)
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.json"))
    for pending_file in files:
        _insert_run(connection, json.loads(pending_file.read_text(encoding="utf-8")))
    return files


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
