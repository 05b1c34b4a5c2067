"""Shared fixtures of the risk tests: a small, fast risk file on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

SMALL_RISK = {
    "name": "small",
    "base": "baseline",
    "periods": {"start": 2024, "end": 2026, "length": 1},
    "processes": {"minimum_world_share": 0.05},
    "overrides": [{"country": "MMR", "stage": "mining", "annual_probability": 0.4}],
    "demand": {"levels": [0.9, 1.1], "probabilities": [0.5, 0.5]},
    "severity_step": 0.25,
    "draws": 60,
    "seed": 7,
}
"""The 2024 base year and two disrupted years, a few processes, coarse severities: small enough to build
and solve in seconds."""


def write_risk_file(directory: Path, changes: dict | None = None, name: str = "small.yaml") -> Path:
    document = {**SMALL_RISK, **(changes or {})}
    path = directory / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def small_risk_file(tmp_path: Path) -> Path:
    return write_risk_file(tmp_path)
