"""docs/metrics/*.md are generated from the current dataset (and the baseline projection) and up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import raremap

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("metrics_docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rules_page_names_every_rule_and_the_series_used(dataset: raremap.Dataset) -> None:
    page = generator().rules_page(dataset)
    for heading in ("series rule", "gap filling", "One world total", "Reported beats estimated", "Trade complete"):
        assert heading in page
    assert "MYS (lynas_fy)" in page


@pytest.mark.slow
def test_docs_metrics_are_current(dataset: raremap.Dataset) -> None:
    module = generator()
    assert (DOCS / "rules.md").read_text(encoding="utf-8") == module.rules_page(dataset), (
        "docs/metrics is stale: run python docs/metrics/generate.py"
    )
    for name in module.PAGES:
        assert (DOCS / f"{name}.md").read_text(encoding="utf-8") == module.page(dataset, name), (
            f"docs/metrics/{name}.md is stale: run python docs/metrics/generate.py"
        )
