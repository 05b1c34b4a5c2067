"""Benchmark: 50 concurrent clients reading from `raremap serve`; prints JSON with latency percentiles.

The server runs in its own process (as a person runs it) on a temporary store holding two stored
simulations; clients are threads in this process, each reading the API and dashboard pages in a
different order. The peer, measured in the same run, is one client alone: the gap between the two
is what concurrency costs. While the clients read, a second process writes a run to the same
store, run after run, so reads meet the write lock (503 with Retry-After is the documented answer
and is counted; the latency percentiles are of answered reads), and every run it saved must be in
the store at the end. Issue 18 asks for read p99 under 1 s with 50 clients.

Usage: python benchmarks/web_load.py [--clients 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import raremap
from raremap.scenario import load_scenario, override
from raremap.simulate import simulate

TOKEN = "benchmark-token-0123456789"
READS = (
    "/api/health",
    "/api/scenarios",
    "/api/runs",
    "/api/jobs",
    "/api/datasets",
    "/api/metrics",
    "/api/runs/{run}",
    "/api/runs/{run}/results/shortfall?limit=100",
    "/",
    "/runs",
    "/runs/{run}",
    "/scenarios/baseline",
    "/api",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stored_runs(store: Path, dataset: raremap.Dataset) -> list[str]:
    runs = []
    for name in ("baseline", "china-2025-controls"):
        scenario = override(load_scenario(name, dataset), {"periods": {"start": 2024, "end": 2027}})
        runs.append(simulate(dataset, scenario).save(store))
    return runs


def start_server(store: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "RAREMAP_TOKEN": TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "raremap", "serve", "--db", str(store), "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")


def one_client(url: str, number: int, rounds: int, runs: list[str]) -> list[tuple[str, int, float]]:
    """Every read path `rounds` times, starting at a different path per client."""
    timings = []
    paths = READS[number % len(READS):] + READS[:number % len(READS)]
    with httpx.Client(base_url=url, timeout=60) as client:
        for round_number in range(rounds):
            run = runs[(number + round_number) % len(runs)]
            for path in paths:
                target = path.format(run=run)
                began = time.perf_counter()
                status = client.get(target).status_code
                timings.append((path, status, time.perf_counter() - began))
    return timings


WRITER = """
import sys, pathlib, raremap
from raremap.scenario import load_scenario, override
from raremap.simulate import simulate
store, stop = sys.argv[1], pathlib.Path(sys.argv[2])
dataset = raremap.load()
result = simulate(dataset, override(load_scenario("baseline", dataset), {"periods": {"start": 2024, "end": 2025}}))
print("ready", flush=True)
saved = 0
while not stop.exists():
    result.save(store)
    saved += 1
print(saved, flush=True)
"""


def start_writer(store: Path, stop: Path) -> subprocess.Popen[str]:
    """A separate process that saves runs to the store, one after another, until `stop` exists."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), str(stop)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    return writer


def stored_run_count(url: str) -> int:
    return len(httpx.get(f"{url}/api/runs", timeout=60).json())


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 3),
            "mean": round(statistics.fmean(ordered), 3)}


def measure(url: str, clients: int, rounds: int, runs: list[str]) -> dict[str, object]:
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda number: one_client(url, number, rounds, runs), range(clients)))
    seconds = time.perf_counter() - began
    timings = [timing for client in results for timing in client]
    statuses: dict[str, int] = {}
    for _, status, _ in timings:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    by_path = {
        path: percentiles([seconds for name, _, seconds in timings if name == path])["p99"] for path in READS
    }
    return {
        "clients": clients,
        "requests": len(timings),
        "seconds": round(seconds, 1),
        "statuses": statuses,
        "read_latency_s": percentiles([seconds for _, status, seconds in timings if status == 200]),
        "p99_by_path_s": by_path,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    dataset = raremap.load()
    with tempfile.TemporaryDirectory(prefix="raremap-load-") as folder:
        store = Path(folder) / "load.duckdb"
        runs = stored_runs(store, dataset)
        port = free_port()
        server = start_server(store, port)
        url = f"http://127.0.0.1:{port}"
        try:
            for path in READS:  # warm every page once (first-request imports and caches)
                httpx.get(url + path.format(run=runs[0]), timeout=120)
            alone = measure(url, 1, arguments.rounds, runs)
            stop = Path(folder) / "stop"
            writer = start_writer(store, stop)
            loaded = measure(url, arguments.clients, arguments.rounds, runs)
            stop.touch()
            written = int(writer.communicate(timeout=300)[0].strip())
            time.sleep(1)
            stored = stored_run_count(url)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps({
        "benchmark": "web_load",
        "cores": os.cpu_count(),
        "concurrent": loaded,
        "peer_one_client": alone,
        "runs_saved_by_another_process_meanwhile": written,
        "runs_lost": len(runs) + written - stored,
        "read_p99_under_1s": loaded["read_latency_s"]["p99"] < 1.0,  # type: ignore[index]
    }, indent=2))


if __name__ == "__main__":
    main()
