
"""Runs as jobs with the real simulation engine: progress, results, and a restart that keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import raremap
from raremap.web.app import create_app
from raremap.web.jobs import JobManager, RunRequest
from raremap.web.storage import Storage, now
from tests.web.conftest import AUTHORISED, HANG_SECONDS, settings_for, wait_for_job

SHORT = {"periods": {"start": 2024, "end": 2027}}


@pytest.mark.slow
def test_a_run_finishes_and_survives_a_restart(tmp_path: Path, dataset: raremap.Dataset) -> None:
    path = tmp_path / "restart.duckdb"
    with TestClient(create_app(settings_for(path), dataset)) as client:
        started = client.post(
            "/api/runs", json={"scenario": "china-2025-controls", "overrides": SHORT}, headers=AUTHORISED
        )
        assert started.status_code == 202
        job = wait_for_job(client, started.json()["job_id"])
        assert job["status"] == "done", job
        run_id = str(job["run_id"])
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["results"]["shortfall"] > 0
        rows = client.get(f"/api/runs/{run_id}/results/shortfall", params={"limit": 5}).json()
        assert len(rows["rows"]) == 5 and {"country", "sector", "period", "tonnes"} <= set(rows["rows"][0])
        assert client.get(f"/api/runs/{run_id}/results/nothing").status_code == 404
        page = client.get(f"/runs/{run_id}")
        assert page.status_code == 200 and "scenario-shortfall" in page.text
    with TestClient(create_app(settings_for(path), dataset)) as restarted:
        assert run_id in {row["run_id"] for row in restarted.get("/api/runs").json()}
        assert restarted.get(f"/api/jobs/{job['job_id']}").json()["status"] == "done"
        compared = restarted.get("/compare", params={"run": [run_id, run_id]})
        assert compared.status_code == 200 and "scenario-prices" in compared.text


def test_jobs_cut_off_by_a_stop_are_marked_interrupted(tmp_path: Path, dataset: raremap.Dataset) -> None:
    path = tmp_path / "cut.duckdb"
    Storage(path).save_job(
        {
            "job_id": "cut-off",
            "kind": "simulate",
            "scenario": "baseline",
            "status": "running",
            "progress": 0.4,
            "message": "solving",
            "run_id": None,
            "created_at": now(),
            "finished_at": None,
            "request": {"scenario": "baseline"},
        }
    )
    with TestClient(create_app(settings_for(path), dataset)) as client:
        job = client.get("/api/jobs/cut-off").json()
    assert job["status"] == "interrupted" and "start it again" in job["message"]


def test_a_job_is_done_for_clients_only_once_its_status_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client told "done" opens the run's page at once; the job's own write must be over by then,
    or the page finds the store busy (the dashboard test once timed out on exactly that)."""
    manager = JobManager(settings_for(tmp_path / "jobs.duckdb"), Storage(tmp_path / "jobs.duckdb"))
    seen_while_saving: list[tuple[str, str]] = []
    original = manager.storage.save_job

    def save_job(job: dict[str, object], wait_seconds: float = 0.0) -> None:
        seen_while_saving.append((str(job["status"]), manager.get(str(job["job_id"]))["status"]))
        original(job, wait_seconds)

    monkeypatch.setattr(manager.storage, "save_job", save_job)
    job = manager.submit(RunRequest("simulate", "baseline", {}), lambda progress: "run-1")
    manager.executor.shutdown(wait=True)
    stored = {row["job_id"]: row for row in manager.storage.jobs()}
    assert stored[job["job_id"]]["status"] == "done" and manager.get(job["job_id"])["status"] == "done"
    assert ("done", "running") in seen_while_saving, seen_while_saving


def test_a_failing_run_reports_why(client: TestClient) -> None:
    impossible = {"periods": {"start": 2024, "end": 2025}, "demand": {"path": "no-such-path"}}
    started = client.post(
        "/api/runs", json={"scenario": "baseline", "overrides": impossible}, headers=AUTHORISED
    )
    if started.status_code == 422:
        assert "no-such-path" in started.text
        return
    job = wait_for_job(client, started.json()["job_id"])
    assert job["status"] == "failed" and "no-such-path" in str(job["message"])


@pytest.mark.slow
def test_a_risk_run_from_the_server(client: TestClient) -> None:
    started = client.post(
        "/api/runs", json={"kind": "risk", "scenario": "default", "draws": 40, "seed": 1}, headers=AUTHORISED
    )
    assert started.status_code == 202
    job = wait_for_job(client, started.json()["job_id"], HANG_SECONDS)
    assert job["status"] == "done", job
    page = client.get(f"/runs/{job['run_id']}")
    assert page.status_code == 200 and "risk-exceedance" in page.text


@pytest.mark.slow
def test_a_plan_run_from_the_server(tmp_path: Path, dataset: raremap.Dataset) -> None:
    path = tmp_path / "plan.duckdb"
    with TestClient(create_app(settings_for(path), dataset)) as client:
        started = client.post(
            "/api/runs",
            json={"kind": "plan", "scenario": "default", "scenarios": 5, "frontier": 2},
            headers=AUTHORISED,
        )
        assert started.status_code == 202, started.text
        assert started.json()["request"]["scenarios"] == 5
        job = wait_for_job(client, started.json()["job_id"], HANG_SECONDS)
        assert job["status"] == "done", job
        run_id = str(job["run_id"])
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["kind"] == "plan" and run["summary"]["scenarios"] == 5
        assert run["results"]["frontier"] == 2 and run["results"]["options"] > 0
        assert run["results"]["sourcing_shares"] > 0 and run["results"]["strategies"] == 4
        shares = client.get(f"/api/runs/{run_id}/results/sourcing_shares", params={"limit": 3}).json()
        assert {"stage", "partner", "expected_share"} <= set(shares["rows"][0])
        page = client.get(f"/runs/{run_id}")
        assert page.status_code == 200
        for identifier in ("plan-frontier", f"plan-sourcing-{run_id}", f"plan-portfolio-{run_id}"):
            assert identifier in page.text
        assert f"plan-options-{run_id}" in page.text and f"plan-strategies-{run_id}" in page.text
    with TestClient(create_app(settings_for(path), dataset)) as restarted:
        assert restarted.get(f"/api/jobs/{job['job_id']}").json()["run_id"] == run_id
        assert run_id in {row["run_id"] for row in restarted.get("/api/runs").json()}
