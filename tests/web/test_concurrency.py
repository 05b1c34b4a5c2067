"""Fourteen `raremap simulate --db` at once on one store while the server reads it: no run is lost,
and every read is answered 200 or 503 with Retry-After (never a 4xx with the wrong advice)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import raremap
from raremap.data import store
from raremap.web.app import create_app
from tests.web.conftest import running, settings_for

WRITERS = 14
SHORT = "name: short\nbase: baseline\nperiods: {start: 2024, end: 2025}\n"


@pytest.mark.slow
def test_fourteen_writers_lose_no_run_and_readers_get_200_or_503(tmp_path: Path, dataset: raremap.Dataset) -> None:
    database = tmp_path / "shared.duckdb"
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT, encoding="utf-8")
    application = create_app(settings_for(database), dataset)
    statuses: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def read(url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                runs = client.get("/api/runs")
                statuses.append((runs.status_code, runs.headers.get("retry-after")))
                if runs.status_code == 200 and runs.json():
                    one = client.get(f"/api/runs/{runs.json()[0]['run_id']}")
                    statuses.append((one.status_code, one.headers.get("retry-after")))
                time.sleep(0.05)

    with running(application) as server:
        readers = [threading.Thread(target=read, args=(server.url,)) for _ in range(4)]
        for reader in readers:
            reader.start()
        writers = [
            subprocess.Popen(
                [sys.executable, "-m", "raremap", "simulate", str(scenario), "--db", str(database)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(WRITERS)
        ]
        results = [writer.communicate(timeout=900) for writer in writers]
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    failures = [error for writer, (_, error) in zip(writers, results, strict=True) if writer.returncode != 0]
    assert failures == []
    saved = {line.split()[2] for output, _ in results for line in output.splitlines() if line.startswith("saved run")}
    assert len(saved) == WRITERS
    assert saved <= set(store.list_runs(database)["run_id"])
    assert statuses and {status for status, _ in statuses} <= {200, 503}
    assert all(retry is not None for status, retry in statuses if status == 503)
