"""What one server holds while it runs: settings, the dataset, the store, the jobs and small caches.

The caches hold only what cannot change while the server runs: the dataset's metrics and figures
(the dataset is fixed at start) and stored runs with their rendered sections (a stored run is
never changed). They are what keeps reads fast under many clients: a page is computed once, not
once per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import HTTPException, Request

from raremap.data.dataset import Dataset
from raremap.report.runs import StoredRun
from raremap.web.jobs import JobManager
from raremap.web.settings import WebSettings
from raremap.web.storage import Storage

CACHED_RUNS = 32
CACHED_PAGES = 64
Value = TypeVar("Value")


@dataclass
class ServerState:
    """Shared by every request; the caches hold immutable things (metrics of a dataset, stored runs)."""

    settings: WebSettings
    dataset: Dataset
    storage: Storage
    jobs: JobManager
    lock: threading.Lock = field(default_factory=threading.Lock)
    runs_cache: OrderedDict[str, StoredRun] = field(default_factory=OrderedDict)
    pages_cache: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    building: dict[Hashable, threading.Lock] = field(default_factory=dict)

    def cached_page(self, key: Hashable, build: Callable[[], Value]) -> Value:
        """`build()` computed once per key (concurrent requests for the same key wait for the first)."""
        with self.lock:
            if key in self.pages_cache:
                self.pages_cache.move_to_end(key)
                return self.pages_cache[key]
            building = self.building.setdefault(key, threading.Lock())
        with building:
            with self.lock:
                if key in self.pages_cache:
                    return self.pages_cache[key]
            try:
                value = build()
            finally:
                with self.lock:
                    self.building.pop(key, None)
            with self.lock:
                self.pages_cache[key] = value
                while len(self.pages_cache) > CACHED_PAGES:
                    self.pages_cache.popitem(last=False)
        return value

    def world_sections(self) -> Any:
        """The home page's map and value chain of this dataset, built once."""
        return self.cached_page(("world",), self._build_world_sections)

    def _build_world_sections(self) -> Any:
        from raremap.overview import latest_common_year
        from raremap.report.figure import Section
        from raremap.report.world import share_map, value_chain_sankey
        from raremap.web.pages import sections_html

        year = latest_common_year(self.dataset)
        importer = self.settings.importer
        world = [
            share_map(self.dataset, "separation", year, importer),
            value_chain_sankey(self.dataset, year, importer),
        ]
        section = Section(
            "world",
            "Where the value chain sits",
            f"Separation shares and the value chain, {year}; {importer}'s flows in red.",
            figures=tuple(world),
        )
        return sections_html([section])

    def metrics_summary(self, importer: str, year: int | None, element: str) -> dict[str, Any]:
        """`raremap metrics --json` for this dataset, computed once per argument set."""
        from raremap import metrics

        def build() -> dict[str, Any]:
            return metrics.summary(self.dataset, importer=importer, year=year, element=element)

        return self.cached_page(("metrics", importer, year, element), build)

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
