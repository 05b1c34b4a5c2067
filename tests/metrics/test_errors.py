"""Unknown arguments fail with one RaremapError that lists the values that would work."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from raremap import metrics
from raremap.errors import RaremapError
from raremap.metrics.inputs import MetricInputs

METRICS = [
    metrics.production_concentration,
    metrics.sourcing,
    metrics.supplier_shares,
    metrics.n1_coverage,
    metrics.geopolrisk,
    metrics.supply_risk,
    metrics.economic_importance,
    metrics.crma_scorecard,
    metrics.leverage,
]


@pytest.mark.parametrize("metric", METRICS)
def test_unknown_importer_lists_countries(metric: Callable[..., pd.DataFrame], inputs: MetricInputs) -> None:
    with pytest.raises(RaremapError, match=r"unknown importer 'ZZZ'.*AAA, BBB, CCC, IMP"):
        metric(inputs, importer="ZZZ", year=2024)


def test_unknown_stage_lists_stages(inputs: MetricInputs) -> None:
    with pytest.raises(RaremapError, match=r"unknown stage 'smelting'.*mining, separation, metal, magnet"):
        metrics.sourcing(inputs, importer="IMP", year=2024, stage="smelting")


def test_unknown_element_lists_elements_and_suggests(inputs: MetricInputs) -> None:
    with pytest.raises(RaremapError, match=r"unknown element 'Dyy' \(did you mean Dy\?\).*NdPr, HREE"):
        metrics.geopolrisk(inputs, importer="IMP", year=2024, element="Dyy")


def test_unknown_year_lists_years(inputs: MetricInputs) -> None:
    with pytest.raises(RaremapError, match=r"unknown year for the data 1999; valid values are 2024; fix: "):
        metrics.production_concentration(inputs, importer="IMP", year=1999)


def test_unknown_criticality_option_is_named(inputs: MetricInputs) -> None:
    with pytest.raises(RaremapError, match=r"unknown option substitution_index"):
        metrics.criticality(inputs, importer="IMP", year=2024, substitution_index=0.9)


def test_source_of_wrong_type_is_refused() -> None:
    with pytest.raises(RaremapError, match=r"not str"):
        metrics.sourcing("IND")
