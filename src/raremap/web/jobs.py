"""Runs as background jobs: queued, running with progress, then done (with a stored run) or failed.

Requests return at once with a job id; a small thread pool runs the engines, which release the GIL
inside the solver. Each change of status is written to the store, so a restarted server still
lists every job (those cut off by the stop are marked interrupted) and every finished run.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from raremap.data.store import StoreBusyError
from raremap.errors import RaremapError
from raremap.web.settings import WebSettings
from raremap.web.storage import Storage, now

Progress = Callable[[float, str], None]
PROGRESS_WAIT_SECONDS = 0.5
STATUS_WAIT_SECONDS = 120.0


class JobLimitError(RaremapError):
    """Too many jobs waiting: the client should retry later."""


@dataclass(frozen=True)
class RunRequest:
    """What a client asked to run, after validation: the kind, the scenario (or risk/plan file) and its changes."""

    kind: str
    scenario: str
    overrides: dict[str, Any]
    draws: int | None = None
    seed: int | None = None
    scenarios: int | None = None
    frontier: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scenario": self.scenario,
            "overrides": self.overrides,
            "draws": self.draws,
            "seed": self.seed,
            "scenarios": self.scenarios,
            "frontier": self.frontier,
        }


class JobManager:
    """Runs jobs on a thread pool and keeps their status in memory and in the store."""

    def __init__(self, settings: WebSettings, storage: Storage):
        self.settings = settings
        self.storage = storage
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=settings.job_workers, thread_name_prefix="raremap-job")
        storage.interrupt_unfinished_jobs()
        self.jobs: dict[str, dict[str, Any]] = {job["job_id"]: job for job in storage.jobs()}

    def submit(self, request: RunRequest, execute: Callable[[Progress], str]) -> dict[str, Any]:
        """Queue `execute` (which returns the stored run id) as a new job and return the job."""
        with self.lock:
            pending = sum(known["status"] in ("queued", "running") for known in self.jobs.values())
            if pending >= self.settings.max_pending_jobs:
                raise JobLimitError(
                    f"{pending} jobs are already waiting or running; retry when some have finished"
                )
            job_id = uuid.uuid4().hex
            job: dict[str, Any] = {
                "job_id": job_id,
                "kind": request.kind,
                "scenario": request.scenario,
                "status": "queued",
                "progress": 0.0,
                "message": "waiting for a worker",
                "run_id": None,
                "created_at": now(),
                "finished_at": None,
                "request": request.as_json(),
            }
            self.jobs[job_id] = job
        self.storage.save_job(job)
        self.executor.submit(self._execute, job_id, execute)
        return dict(job)

    def _update(self, job_id: str, **changes: Any) -> None:
        """Record a change of a job in the store, then show it to clients (they read memory).

        In that order because a client told "done" opens the run's page at once: the store must
        not still be busy with this job's own write then. A progress step is not worth waiting for
        a store another process is writing: it is skipped there (the next step or the final status
        records it). A final status waits as a run does; if the store is still locked after that,
        clients still read it from memory, and only a restarted server would list the job as
        interrupted.
        """
        with self.lock:
            snapshot = {**self.jobs[job_id], **changes}
        final = snapshot["status"] not in ("queued", "running")
        with contextlib.suppress(StoreBusyError):
            self.storage.save_job(snapshot, STATUS_WAIT_SECONDS if final else PROGRESS_WAIT_SECONDS)
        with self.lock:
            self.jobs[job_id].update(changes)

    def _execute(self, job_id: str, execute: Callable[[Progress], str]) -> None:
        self._update(job_id, status="running", message="starting", progress=0.01)

        def progress(fraction: float, message: str) -> None:
            self._update(job_id, progress=round(min(max(fraction, 0.0), 1.0), 3), message=message)

        try:
            run_id = execute(progress)
        except RaremapError as error:
            self._update(job_id, status="failed", message=str(error), finished_at=now())
        except Exception as error:
            self._update(
                job_id,
                status="failed",
                message=f"internal error: {type(error).__name__}: {error}",
                finished_at=now(),
            )
        else:
            self._update(
                job_id, status="done", progress=1.0, message="finished", run_id=run_id, finished_at=now()
            )

    def get(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            if job_id not in self.jobs:
                raise KeyError(job_id)
            return dict(self.jobs[job_id])

    def listing(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (dict(job) for job in self.jobs.values()), key=lambda job: job["created_at"], reverse=True
            )

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
