"""hypothesis: hostile request bodies get a documented 4xx (or 2xx), never a 5xx, and a validation
never writes to the store."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import raremap
from raremap.web.app import create_app
from tests.hostile.strategies import VALUES, mutated_text, scenario_documents
from tests.hostile.tally import TALLY
from tests.web.conftest import AUTHORISED, settings_for

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow
STORE = Path(tempfile.mkdtemp(prefix="raremap-hostile-json-")) / "fuzz.duckdb"
APP = create_app(settings_for(STORE, max_periods=2, max_pending_jobs=0), raremap.load())
CLIENT = TestClient(APP)
DOCUMENTED = {200, 201, 202, 400, 404, 413, 415, 422, 429}
CONTENT_TYPES = st.sampled_from(["application/json", "application/yaml", "text/yaml", "text/plain", "", "application/json; charset=utf-8"])


def body_of(document: Any, content_type: str) -> str:
    if "yaml" in content_type:
        return yaml.safe_dump(document, allow_unicode=True)
    return json.dumps(document, default=str)  # NaN and Infinity written as JSON's extensions


def saved_scenarios() -> int:
    return len(APP.state.server.storage.scenarios())


def post(source: str, path: str, raw: bytes, content_type: str, headers: dict[str, str] | None = None) -> int:
    all_headers = {**({"content-type": content_type} if content_type else {}), **(headers or {})}
    status = CLIENT.post(path, content=raw, headers=all_headers).status_code
    if status >= 500 or status not in DOCUMENTED:
        TALLY.record(source, "crash", f"{status} for {raw[:200]!r}")
    else:
        TALLY.record(source, "accepted" if status < 300 else "clean error")
    return status


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), content_type=CONTENT_TYPES)
def test_documents_to_validate(data: st.DataObject, content_type: str) -> None:
    document = data.draw(st.one_of(scenario_documents(), VALUES))
    raw = data.draw(mutated_text(body_of(document, content_type)))
    before = saved_scenarios()
    status = post("hypothesis body: /api/scenarios/validate", "/api/scenarios/validate", raw, content_type)
    assert status in DOCUMENTED
    if saved_scenarios() != before:
        TALLY.record("hypothesis body: /api/scenarios/validate", "unexpected write", repr(raw[:200]))
    assert saved_scenarios() == before


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), content_type=CONTENT_TYPES)
def test_documents_to_save(data: st.DataObject, content_type: str) -> None:
    document = data.draw(scenario_documents())
    raw = data.draw(mutated_text(body_of(document, content_type)))
    before = saved_scenarios()
    status = post("hypothesis body: /api/scenarios", "/api/scenarios", raw, content_type, AUTHORISED)
    assert status in DOCUMENTED
    if status != 201 and saved_scenarios() != before:
        TALLY.record("hypothesis body: /api/scenarios", "unexpected write", repr(raw[:200]))
    assert status == 201 or saved_scenarios() == before


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_run_requests(data: st.DataObject) -> None:
    body = data.draw(st.fixed_dictionaries(
        {"scenario": st.sampled_from(["baseline", "default", "nope", "../x", ""])},
        optional={
            "kind": st.sampled_from(["simulate", "risk", "plan", "other"]),
            "overrides": st.one_of(scenario_documents(), VALUES),
            "draws": st.one_of(st.integers(-5, 10**12), st.floats(), st.text(max_size=5)),
            "seed": st.one_of(st.integers(-5, 2**40), st.none()),
            "scenarios": st.integers(-1, 1000),
            "frontier": st.integers(-1, 100),
        },
    ))
    raw = data.draw(mutated_text(json.dumps(body, default=str)))
    status = post("hypothesis body: /api/runs", "/api/runs", raw, "application/json", AUTHORISED)
    assert status in DOCUMENTED
