
"""Fifty clients at once on loopback: every request answered, none with an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.web.conftest import AUTHORISED, HANG_SECONDS, LiveServer, wait_for_job

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


def one_client(server: LiveServer, number: int) -> list[tuple[str, int, str]]:
    """A client that reads a few pages, validates a scenario and, for a few clients, starts a run:
    (path, status, the start of the body) per request."""
    answers = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in READS[number % len(READS) :] + READS[: number % len(READS)]:
            answers.append(client.get(path))
        answers.append(client.post("/api/scenarios/validate", json={"name": f"client-{number}", "base": "baseline"}))
        if number % 10 == 0:
            answers.append(
                client.post(
                    "/api/runs",
                    headers=AUTHORISED,
                    json={"scenario": "baseline", "overrides": {"periods": {"start": 2024, "end": 2025}}},
                )
            )
    return [(answer.request.url.path, answer.status_code, answer.text[:200]) for answer in answers]


@pytest.mark.slow
def test_fifty_concurrent_clients(live_server: LiveServer) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda number: one_client(live_server, number), range(CLIENTS)))
    answers = [answer for client in results for answer in client]
    assert len(answers) == CLIENTS * (len(READS) + 1) + CLIENTS // 10
    failed = [answer for answer in answers if answer[1] not in {200, 202}]
    assert not failed, failed
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        jobs = client.get("/api/jobs").json()
        assert len(jobs) == CLIENTS // 10
        # Five runs queued behind one another on a machine busy with fifty clients: only a hung one fails.
        assert all(wait_for_job(client, job["job_id"], HANG_SECONDS)["status"] == "done" for job in jobs)
