"""hypothesis: scenario, risk and plan files of hostile YAML are read or refused cleanly, never crash."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import raremap
from raremap.errors import RaremapError
from raremap.plan.loading import load_plan
from raremap.risk.loading import load_risk_model
from raremap.scenario import load_scenario
from tests.hostile.strategies import mutated_text, scenario_documents
from tests.hostile.tally import TALLY

pytestmark = pytest.mark.slow
DATASET = raremap.load()
FOLDER = Path(tempfile.mkdtemp(prefix="raremap-hostile-yaml-"))
LOADERS: dict[str, Callable[[Path], Any]] = {
    "scenario": lambda path: load_scenario(path, DATASET),
    "risk file": lambda path: load_risk_model(path),
    "plan": lambda path: load_plan(path, DATASET),
}
EXAMPLES = 120


def yaml_text(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def read_as(kind: str, raw: bytes) -> None:
    """Load `raw` as a file of `kind`; a clean refusal or a model is fine, anything else fails the test."""
    path = FOLDER / f"fuzzed-{kind.replace(' ', '-')}.yaml"
    path.write_bytes(raw)
    source = f"hypothesis YAML: {kind}"
    try:
        LOADERS[kind](path)
    except RaremapError as error:
        assert "\n" not in str(error).strip() or kind == "dataset", str(error)
        TALLY.record(source, "clean error")
        return
    except Exception as error:
        TALLY.record(source, "crash", f"{type(error).__name__}: {error}")
        raise
    TALLY.record(source, "accepted")


@pytest.mark.parametrize("kind", sorted(LOADERS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_yaml_is_read_or_refused_cleanly(kind: str, data: st.DataObject) -> None:
    document = data.draw(scenario_documents())
    raw = data.draw(mutated_text(yaml_text(document)))
    read_as(kind, raw)
