"""A server on a temporary store: in-process (TestClient) for the API, on a loopback port for browsers."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette 1.x asks for its httpx fork; the test client works the same with httpx itself.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

import raremap
from raremap.web.app import create_app
from raremap.web.settings import LOOPBACK_HOSTS, WebSettings

TOKEN = "test-token-0123456789"
AUTHORISED = {"Authorization": f"Bearer {TOKEN}"}


def settings_for(path: Path, **changes: object) -> WebSettings:
    values: dict[str, object] = {
        "db_path": path,
        "token": TOKEN,
        "allowed_hosts": (*LOOPBACK_HOSTS, "testserver"),
    }
    values.update(changes)
    return WebSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(tmp_path: Path, dataset: raremap.Dataset) -> FastAPI:
    return create_app(settings_for(tmp_path / "web.duckdb"), dataset)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class LiveServer:
    url: str
    app: FastAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path, dataset: raremap.Dataset) -> Iterator[LiveServer]:
    """uvicorn on a free loopback port in a thread, stopped at the end of the test."""
    with running(create_app(settings_for(tmp_path / "live.duckdb"), dataset)) as server:
        yield server


@contextmanager
def running(application: FastAPI) -> Iterator[LiveServer]:
    """`application` served by uvicorn on a free loopback port in a thread while the block runs."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield LiveServer(url, application)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


HANG_SECONDS = 600.0
"""Deadline for a risk or plan job: several times its usual 1-2 minutes on 2 cores, so only a hung job
fails; how fast jobs run is measured in benchmarks/, not here (a plan job took 106-135 s on a busy
evening and failed a 120 s deadline)."""


def wait_for_job(client: TestClient | httpx.Client, job_id: str, seconds: float = 90) -> dict[str, object]:
    """The job once it has finished; an AssertionError if it is still queued or running after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")
