
"""Fifty clients at once on loopback: every request answered, none with an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.web.conftest import AUTHORISED, LiveServer, wait_for_job

CLIENTS = 50
READS = (
    "/api/health",
    "/api/scenarios",
    "/api/runs",
    "/api/jobs",
    "/api/datasets",
    "/api/metrics",
    "/runs",
    "/api",
)


def one_client(server: LiveServer, number: int) -> list[int]:
    """A client that reads a few pages, validates a scenario and, for a few clients, starts a run."""
    statuses = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in READS[number % len(READS) :] + READS[: number % len(READS)]:
            statuses.append(client.get(path).status_code)
        statuses.append(
            client.post(
                "/api/scenarios/validate", json={"name": f"client-{number}", "base": "baseline"}
            ).status_code
        )
        if number % 10 == 0:
            started = client.post(
                "/api/runs",
                headers=AUTHORISED,
                json={"scenario": "baseline", "overrides": {"periods": {"start": 2024, "end": 2025}}},
            )
            statuses.append(started.status_code)
    return statuses


@pytest.mark.slow
def test_fifty_concurrent_clients(live_server: LiveServer) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda number: one_client(live_server, number), range(CLIENTS)))
    statuses = [status for client in results for status in client]
    assert len(statuses) == CLIENTS * (len(READS) + 1) + CLIENTS // 10
    assert set(statuses) <= {200, 202}, sorted(set(statuses))
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        jobs = client.get("/api/jobs").json()
        assert len(jobs) == CLIENTS // 10
        assert all(wait_for_job(client, job["job_id"])["status"] == "done" for job in jobs)
