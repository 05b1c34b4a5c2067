"""What one server holds while it runs: settings, the dataset, the store, the jobs and small caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from raremap.data.dataset import Dataset
from raremap.report.runs import StoredRun
from raremap.web.jobs import JobManager
from raremap.web.settings import WebSettings
from raremap.web.storage import Storage

CACHED_RUNS = 32


@dataclass
class ServerState:
    """Shared by every request; the caches hold immutable things (metrics of a dataset, stored runs)."""

    settings: WebSettings
    dataset: Dataset
    storage: Storage
    jobs: JobManager
    lock: threading.Lock = field(default_factory=threading.Lock)
    metrics_cache: dict[tuple[str, int | None, str], dict[str, Any]] = field(default_factory=dict)
    runs_cache: OrderedDict[str, StoredRun] = field(default_factory=OrderedDict)

    def metrics_summary(self, importer: str, year: int | None, element: str) -> dict[str, Any]:
        """`raremap metrics --json` for this dataset, computed once per argument set."""
        from raremap import metrics

        key = (importer, year, element)
        with self.lock:
            cached = self.metrics_cache.get(key)
        if cached is None:
            cached = metrics.summary(self.dataset, importer=importer, year=year, element=element)
            with self.lock:
                self.metrics_cache[key] = cached
        return cached

    def stored_run(self, run_id: str) -> StoredRun:
        """A stored run with its results, from a small cache (runs do not change once stored)."""
        with self.lock:
            if run_id in self.runs_cache:
                self.runs_cache.move_to_end(run_id)
                return self.runs_cache[run_id]
        try:
            run = self.storage.run(run_id)
        except KeyError:
            raise HTTPException(
                status_code=404, detail=f"no stored run {run_id!r}; list runs at /api/runs"
            ) from None
        with self.lock:
            self.runs_cache[run_id] = run
            while len(self.runs_cache) > CACHED_RUNS:
                self.runs_cache.popitem(last=False)
        return run


def server_state(request: Request) -> ServerState:
    """FastAPI dependency: the state of the app serving this request."""
    state: ServerState = request.app.state.server
    return state
