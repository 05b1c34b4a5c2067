"""Hostile and careless requests: refused with a documented 4xx, never a 5xx, never a blocked server."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from raremap.data import store
from raremap.web import api
from raremap.web.storage import Storage
from tests.data.test_store_safety import held_by_another_process
from tests.web.conftest import AUTHORISED, LiveServer

YAML = {"content-type": "application/yaml"}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_documents_only_in_documented_types(client: TestClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    answer = client.post("/api/scenarios/validate", content=b'{"name": "x"}', headers=headers)
    assert answer.status_code == 415 and "application/json" in answer.json()["detail"]


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000])
def test_deep_json_is_refused_without_a_token_or_a_crash(client: TestClient, body: bytes) -> None:
    answer = client.post("/api/scenarios/validate", content=body, headers=JSON)
    assert answer.status_code == 400 and "nests deeper than 32 levels" in answer.json()["detail"]
    assert client.post("/api/runs", content=body, headers={**JSON, **AUTHORISED}).status_code == 400


def test_deep_yaml_is_refused(client: TestClient) -> None:
    answer = client.post("/api/scenarios/validate", content=b"name: x\ndescription: " + b"[" * 30_000, headers=YAML)
    assert answer.status_code == 400 and "nests deeper" in answer.json()["detail"]


def test_repeated_keys_and_bad_bytes_are_refused(client: TestClient) -> None:
    repeated = client.post("/api/scenarios/validate", content=b'{"name": "a", "name": "b"}', headers=JSON)
    assert repeated.status_code == 400 and "appears twice" in repeated.json()["detail"]
    latin = client.post("/api/scenarios/validate", content="name: café\n".encode("latin-1"), headers=YAML)
    assert latin.status_code == 400 and "0xE9 is not UTF-8" in latin.json()["detail"]


def test_nan_is_refused_in_documents_and_overrides(client: TestClient) -> None:
    document = (b'{"name": "n", "capacity_changes": [{"country": "IND", "stage": "magnet", '
                b'"capacity_t": NaN, "online_year": 2028}]}')
    answer = client.post("/api/scenarios/validate", content=document, headers=JSON).json()
    assert answer["valid"] is False and "not a finite number" in answer["problems"][0]
    run = client.post(
        "/api/runs",
        content=b'{"scenario": "baseline", "overrides": {"capacity_changes": [{"country": "IND", "stage": "magnet", '
                b'"capacity_t": Infinity, "online_year": 2028}]}}',
        headers={**JSON, **AUTHORISED},
    )
    assert run.status_code == 422 and "not a finite number" in str(run.json()["problems"])


def test_every_error_has_the_documented_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
    answer = client.post("/api/runs", json={"scenario": "baseline", "draws": 0}, headers=AUTHORISED)
    assert answer.status_code == 422 and isinstance(answer.json()["detail"], str) and answer.json()["problems"]


def test_the_schema_states_this_servers_limits(client: TestClient) -> None:
    run_body = client.get("/openapi.json").json()["components"]["schemas"]["RunBody"]["properties"]
    draws = next(option for option in run_body["draws"]["anyOf"] if option.get("type") == "integer")
    assert draws["maximum"] == 20_000


def test_a_wrong_method_gets_allow(client: TestClient) -> None:
    answer = client.request("OPTIONS", "/api/runs")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"


def test_pages_run_no_inline_script_and_the_policy_says_so(client: TestClient) -> None:
    policy = client.get("/api/health").headers["content-security-policy"]
    script_policy = re.search(r"script-src ([^;]*)", policy)
    assert script_policy is not None and script_policy.group(1).strip() == "'self'"
    for path in ("/", "/scenarios/baseline", "/login", "/api", "/runs"):
        page = client.get(path).text
        for tag in re.findall(r"<script[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert " on" not in "".join(re.findall(r"<[^>]+ on\w+=", page)), path
    assert "startRun" in client.get("/static/dashboard.js").text
    assert client.get("/static/..%2Fapi.py").status_code == 404


def test_text_from_people_is_escaped_on_pages(client: TestClient) -> None:
    document = {"name": "escaped", "base": "baseline", "description": "<script>alert(1)</script>"}
    assert client.post("/api/scenarios", json=document, headers=AUTHORISED).status_code == 201
    page = client.get("/scenarios/escaped").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_busy_store_answers_503_with_retry_after(client: TestClient, tmp_path: Path) -> None:
    path = client.app.state.settings.db_path  # type: ignore[attr-defined]
    store.save_run(path, run_id="run-1", kind="simulate", name="x", dataset_version="v",
                   specification={}, summary={}, results={"shortfall": pd.DataFrame({"tonnes": [1.0]})})
    assert client.get("/api/runs").status_code == 200  # the catalog, read while free
    with held_by_another_process(path, 2.5):
        busy = client.get("/api/runs/run-1")
        catalog = client.get("/api/runs")
    assert busy.status_code == 503 and busy.headers["retry-after"] and "try again" in busy.json()["detail"]
    assert catalog.status_code == 200 and catalog.json()[0]["run_id"] == "run-1"  # as it was before the write
    assert client.get("/api/runs/run-1").status_code == 200


def test_a_busy_store_gives_a_person_a_page_that_tries_again(client: TestClient) -> None:
    path = client.app.state.settings.db_path  # type: ignore[attr-defined]
    store.save_run(path, run_id="run-1", kind="simulate", name="x", dataset_version="v",
                   specification={}, summary={}, results={"shortfall": pd.DataFrame({"tonnes": [1.0]})})
    with held_by_another_process(path, 2.5):
        busy = client.get("/runs/run-1")
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert busy.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh"' in busy.text and "tries again by itself" in busy.text


def test_a_first_read_queues_behind_the_servers_own_requests(tmp_path: Path) -> None:
    """Fifty first-time readers at once on a busy machine once got 503 after a second in the queue:
    the server's own requests each hold the store briefly, so a read waits its turn."""
    storage = Storage(tmp_path / "queue.duckdb")
    held, release = threading.Event(), threading.Event()

    def slow_read() -> None:
        with storage.connection():
            held.set()
            release.wait(30)

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(slow_read)
        assert held.wait(30)
        threading.Timer(store.SERVER_READ_WAIT_SECONDS + 0.5, release.set).start()
        assert storage.scenarios() == {}  # waited for the slow read instead of raising StoreBusyError
        holder.result()


def test_validation_runs_off_the_event_loop(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()
    original = api.scenarios.validate_new

    def slow_validation(*arguments: object) -> object:
        started.set()
        release.wait(30)
        return original(*arguments)

    monkeypatch.setattr(api.scenarios, "validate_new", slow_validation)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(
            httpx.post, f"{live_server.url}/api/scenarios/validate", json={"name": "slow", "base": "baseline"}, timeout=60
        )
        assert started.wait(30)
        health = httpx.get(f"{live_server.url}/api/health", timeout=10)  # answered while validation waits
        release.set()
        assert health.status_code == 200 and pending.result().json()["valid"] is True
