"""The server's view of the DuckDB store: stored runs, its own job and scenario tables, one lock.

DuckDB lets one process open a file many times only with the same configuration, and the store
helpers open it read-only for reads and read-write for writes. The server therefore serialises
every store access behind one lock; each access opens and closes the file, so the command line
can still use the same store between requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from raremap.data import store
from raremap.errors import RaremapError
from raremap.report.runs import StoredRun, read_runs

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


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Storage:
    """Serialised access to one store file for the server's threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.RLock()
        with self.connection() as connection:
            connection.execute(store.CATALOG_DDL)
            connection.execute(WEB_DDL)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock, store.connect(self.path) as connection:
            yield connection

    def save_job(self, job: dict[str, Any]) -> None:
        values = [json.dumps(job[column]) if column == "request" else job[column] for column in JOB_COLUMNS]
        with self.connection() as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO web_jobs VALUES ({', '.join('?' * len(JOB_COLUMNS))})", values
            )

    def jobs(self) -> list[dict[str, Any]]:
        with self.connection() as connection:
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
        with self.connection() as connection:
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
        with self.connection() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO web_scenarios VALUES (?, ?, ?)",
                [name, json.dumps(document, default=str), now()],
            )

    def scenarios(self) -> dict[str, dict[str, Any]]:
        with self.connection() as connection:
            rows = connection.execute("SELECT name, document FROM web_scenarios ORDER BY name").fetchall()
        return {str(name): json.loads(document) for name, document in rows}

    def run_catalog(self) -> pd.DataFrame:
        """Every stored run (from the CLI or the server), newest first, without its results."""
        with self.connection() as connection:
            return connection.execute(
                "SELECT run_id, kind, name, dataset_version, CAST(created_at AS VARCHAR) AS created_at, "
                "CAST(summary AS VARCHAR) AS summary FROM runs ORDER BY created_at DESC, run_id"
            ).df()

    def run(self, run_id: str) -> StoredRun:
        with self.lock:
            runs = read_runs(self.path, [run_id]) if self._run_exists(run_id) else []
        if not runs:
            raise KeyError(run_id)
        return runs[0]

    def _run_exists(self, run_id: str) -> bool:
        with self.connection() as connection:
            return connection.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone() is not None

    def save_result(self, saver: Any) -> str:
        """Call `saver(path)` (an engine's own save method) while holding the store lock."""
        with self.lock:
            try:
                return str(saver(self.path))
            except duckdb.Error as error:
                raise RaremapError(f"cannot save the run to {self.path}: {error}") from error
