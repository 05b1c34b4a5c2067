"""Shared fixtures: the bundled dataset, loaded and checked once per test session."""

from __future__ import annotations

import pytest

import raremap


@pytest.fixture(scope="session")
def dataset() -> raremap.Dataset:
    return raremap.load()
