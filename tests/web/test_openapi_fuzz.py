"""schemathesis against the OpenAPI spec: generated requests (with the token) never get a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

import raremap
from raremap.web.app import create_app
from tests.web.conftest import AUTHORISED, settings_for

DATASET = raremap.load()
STORE = Path(__import__("tempfile").mkdtemp(prefix="raremap-fuzz-")) / "fuzz.duckdb"
APP = create_app(settings_for(STORE, max_periods=3), DATASET)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={**AUTHORISED, "Host": "testserver"}, checks=[not_a_server_error])
