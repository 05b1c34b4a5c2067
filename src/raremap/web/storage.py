"""The server's view of the DuckDB store: stored runs, its own job and scenario tables.

The command line may write to the same store while the server runs, so the server never keeps
the file open: each access opens and closes it. Opening is what costs, so what the server reads
(the run catalog, saved scenarios, stored datasets) is kept in memory with the store file's size
and modification time, and read again only when the file has changed. Under many clients a read
is then a `stat()`, not a DuckDB open; while another process writes, it is the state before that
write.

Within the process, DuckDB allows one configuration per file at a time, so every open happens
under one lock. A read queues for that lock behind the server's other requests
(`QUEUE_WAIT_SECONDS`) and waits for another process's write lock at most
`SERVER_READ_WAIT_SECONDS`, then gets StoreBusyError, which the API answers with 503 and
Retry-After. Runs are saved with the store's own bounded wait and pending-file fallback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from raremap.data import store
from raremap.errors import RaremapError
from raremap.report.runs import StoredRun

WEB_DDL = """
CREATE TABLE IF NOT EXISTS web_jobs (
    job_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    scenario VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    progress DOUBLE NOT NULL,
    message VARCHAR NOT NULL,
    run_id VARCHAR,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    request JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS web_scenarios (
    name VARCHAR PRIMARY KEY,
    document JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);
"""
JOB_COLUMNS = (
    "job_id",
    "kind",
    "scenario",
    "status",
    "progress",
    "message",
    "run_id",
    "created_at",
    "finished_at",
    "request",
)
SERVER_WRITE_WAIT_SECONDS = 10.0
"""A request that writes (saving a scenario) waits this long for the store, then gets 503."""
QUEUE_WAIT_SECONDS = 10.0
"""How long a read waits for this server's requests ahead of it. Each holds the store for one short
read (or for its own bounded wait on another process), so the queue empties; a queue wait of
`SERVER_READ_WAIT_SECONDS` turned a burst of fifty first-time readers on a busy two-core machine into
503s. Another process's write lock is still waited for `SERVER_READ_WAIT_SECONDS` only."""
REFRESH_WAIT_SECONDS = 0.0
"""How long a read that has an older result waits to refresh it: not at all. If the store is in
use (by another request refreshing it, or by another process writing), it answers with what it
has, and the request that holds the store brings the cache up to date."""
Value = TypeVar("Value")
Signature = tuple[tuple[int, int], ...]


def _mapping(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Storage:
    """Access to one store file for the server's threads: serialised opens, reads cached by file state."""

    def __init__(self, path: Path, read_wait_seconds: float = store.SERVER_READ_WAIT_SECONDS):
        self.path = Path(path)
        self.read_wait_seconds = read_wait_seconds
        self.lock = threading.RLock()
        self.cache: dict[str, tuple[Signature, Any]] = {}
        with self.connection(wait_seconds=store.WRITE_WAIT_SECONDS) as connection:
            connection.execute(store.CATALOG_DDL)
            connection.execute(WEB_DDL)

    def signature(self) -> Signature:
        """Size and modification time of the store and its journal: they change with every write."""
        parts = []
        for candidate in (self.path, Path(f"{self.path}.wal")):
            try:
                status = candidate.stat()
            except FileNotFoundError:
                parts.append((0, 0))
            else:
                parts.append((status.st_size, status.st_mtime_ns))
        return tuple(parts)

    @contextmanager
    def connection(self, wait_seconds: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open store under the server's lock; StoreBusyError if either is not free within the wait.

        A read (no `wait_seconds`) queues behind this server's other requests for `QUEUE_WAIT_SECONDS`
        and waits for another process `read_wait_seconds`; otherwise both waits are `wait_seconds`.
        """
        wait = self.read_wait_seconds if wait_seconds is None else wait_seconds
        if not self.lock.acquire(timeout=QUEUE_WAIT_SECONDS if wait_seconds is None else wait):
            raise store.StoreBusyError(f"store {self.path} is busy with another request; retry shortly")
        try:
            with store.connect(self.path, wait_seconds=wait) as connection:
                yield connection
        finally:
            self.lock.release()

    def cached(self, name: str, read: Callable[[duckdb.DuckDBPyConnection], Value]) -> Value:
        """`read(connection)`, or its last result while the store file has not changed since.

        When the file has changed but another process is still writing it, the last result read is
        returned (the store as it was before that write): a reader then sees slightly old data
        rather than an error. Only a reader with nothing read before gets StoreBusyError (503).
        """
        signature = self.signature()
        hit = self.cache.get(name)
        if hit is not None and hit[0] == signature:
            return hit[1]
        try:
            with self.connection(REFRESH_WAIT_SECONDS if hit is not None else None) as connection:
                fresher = self.cache.get(name)
                if fresher is not None and fresher is not hit and fresher[0] == self.signature():
                    return fresher[1]  # another request refreshed it while this one waited
                value = read(connection)
        except store.StoreBusyError:
            if hit is None:
                raise
            return hit[1]
        self.cache[name] = (signature, value)
        return value

    def save_job(self, job: dict[str, Any], wait_seconds: float = store.WRITE_WAIT_SECONDS) -> None:
        values = [json.dumps(job[column]) if column == "request" else job[column] for column in JOB_COLUMNS]
        with self.connection(wait_seconds) as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO web_jobs VALUES ({', '.join('?' * len(JOB_COLUMNS))})", values
            )

    def jobs(self) -> list[dict[str, Any]]:
        with self.connection(store.WRITE_WAIT_SECONDS) as connection:
            frame = connection.execute(
                f"SELECT {', '.join(JOB_COLUMNS)} FROM web_jobs ORDER BY created_at, job_id"
            ).df()
        rows: list[dict[str, Any]] = []
        for record in frame.astype(object).where(frame.notna(), None).to_dict("records"):
            row = {str(key): value for key, value in record.items()}
            row["request"] = json.loads(row["request"])
            rows.append(row)
        return rows

    def interrupt_unfinished_jobs(self) -> int:
        """Jobs queued or running when the server stopped can never finish: say so in the store."""
        with self.connection(store.WRITE_WAIT_SECONDS) as connection:
            unfinished = connection.execute(
                "SELECT count(*) FROM web_jobs WHERE status IN ('queued', 'running')"
            ).fetchone()
            connection.execute(
                "UPDATE web_jobs SET status = 'interrupted', message = 'the server stopped before the run finished; "
                "start it again', finished_at = ? WHERE status IN ('queued', 'running')",
                [now()],
            )
        return int(unfinished[0]) if unfinished else 0

    def save_scenario(self, name: str, document: dict[str, Any]) -> None:
        with self.connection(SERVER_WRITE_WAIT_SECONDS) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO web_scenarios VALUES (?, ?, ?)",
                [name, json.dumps(document, default=str), now()],
            )

    def scenarios(self) -> dict[str, dict[str, Any]]:
        def read(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
            rows = connection.execute("SELECT name, document FROM web_scenarios ORDER BY name").fetchall()
            return {str(name): json.loads(document) for name, document in rows}

        return dict(self.cached("scenarios", read))

    def run_catalog(self) -> pd.DataFrame:
        """Every stored run (from the CLI or the server), newest first, without its results."""

        def read(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            return connection.execute(
                "SELECT run_id, kind, name, dataset_version, CAST(created_at AS VARCHAR) AS created_at, "
                "CAST(summary AS VARCHAR) AS summary FROM runs ORDER BY created_at DESC, run_id"
            ).df()

        return self.cached("runs", read).copy()

    def datasets(self) -> pd.DataFrame:
        """The dataset versions held in the store."""

        def read(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            return connection.execute(
                "SELECT version, origin, CAST(loaded_at AS VARCHAR) AS loaded_at, row_count "
                "FROM datasets ORDER BY loaded_at"
            ).df()

        return self.cached("datasets", read).copy()

    def run(self, run_id: str) -> StoredRun:
        """One stored run with every result frame, read in one open of the store."""
        if run_id not in set(self.run_catalog()["run_id"]):
            raise KeyError(run_id)
        with self.connection() as connection:
            row = connection.execute(
                "SELECT run_id, kind, name, dataset_version, CAST(created_at AS VARCHAR), "
                "CAST(specification AS VARCHAR), CAST(summary AS VARCHAR) FROM runs WHERE run_id = ?",
                [run_id],
            ).fetchone()
            results = connection.execute(
                "SELECT result, data FROM run_results WHERE run_id = ? ORDER BY result", [run_id]
            ).fetchall()
        if row is None:
            raise KeyError(run_id)
        return StoredRun(
            run_id=str(row[0]),
            kind=str(row[1]),
            name=str(row[2]),
            dataset_version=str(row[3]),
            created_at=str(row[4]),
            specification=_mapping(row[5]),
            summary=_mapping(row[6]),
            results={str(name): pd.DataFrame(json.loads(data)) for name, data in results},
        )

    def save_result(self, saver: Callable[[Path], Any]) -> str:
        """Call `saver(path)` (an engine's own save method) while holding the store lock."""
        with self.lock:
            try:
                return str(saver(self.path))
            except duckdb.Error as error:
                raise RaremapError(f"cannot save the run to {self.path}: {error}") from error
