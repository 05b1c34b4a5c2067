"""Scenario specifications (pydantic), their loading, merging and checks, and the built-in scenarios."""

from raremap.scenario.loading import (
    ScenarioError,
    builtin_names,
    json_schema,
    load_scenario,
    override,
    validate_document,
)
from raremap.scenario.spec import Scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "json_schema",
    "load_scenario",
    "override",
    "validate_document",
]
