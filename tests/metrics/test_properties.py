"""Invariants that must hold for any supplies, checked on many generated cases."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raremap import metrics
from raremap.metrics.concentration import herfindahl_index, shares
from raremap.metrics.coverage import n_minus_one_coverage
from tests.metrics.conftest import tiny_inputs

tonnes = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
supply_lists = st.lists(tonnes, min_size=1, max_size=12)


def as_series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=[f"C{position:02d}" for position in range(len(values))])


@given(supply_lists)
def test_hhi_lies_between_one_over_n_and_one(values: list[float]) -> None:
    hhi = herfindahl_index(as_series(values))
    assert 1 / len(values) - 1e-12 <= hhi <= 1 + 1e-12


@given(supply_lists)
def test_shares_sum_to_one(values: list[float]) -> None:
    assert float(shares(as_series(values)).sum()) == pytest.approx(1.0)


@given(supply_lists, tonnes)
def test_n1_coverage_lies_in_zero_one(values: list[float], demand: float) -> None:
    assert 0.0 <= n_minus_one_coverage(as_series(values), demand) <= 1.0


@given(supply_lists, st.integers(min_value=0, max_value=11), st.floats(min_value=0.01, max_value=0.99))
def test_splitting_a_supplier_never_raises_hhi(values: list[float], which: int, fraction: float) -> None:
    supplies = as_series(values)
    name = supplies.index[which % len(supplies)]
    split = supplies.drop(name)
    split[f"{name}a"] = supplies[name] * fraction
    split[f"{name}b"] = supplies[name] * (1 - fraction)
    assert herfindahl_index(split) <= herfindahl_index(supplies) + 1e-12


@given(supply_lists, tonnes, tonnes)
def test_adding_a_supplier_never_lowers_n1_coverage(values: list[float], added: float, demand: float) -> None:
    supplies = as_series(values)
    more = pd.concat([supplies, pd.Series({"NEW": added})])
    assert n_minus_one_coverage(more, demand) >= n_minus_one_coverage(supplies, demand) - 1e-12


@settings(deadline=None)  # each case builds a whole MetricInputs: its time is not the property (2 shared cores)
@given(st.lists(st.tuples(st.sampled_from(["AAA", "BBB", "CCC", "DDD"]), tonnes), min_size=1, max_size=8))
def test_supplier_shares_of_any_trade_sum_to_one(flows: list[tuple[str, float]]) -> None:
    trade = pd.DataFrame(
        [
            {
                "exporter": exporter,
                "importer": "IMP",
                "stage": "metal",
                "element": "REO",
                "year": 2024,
                "value_t": value,
            }
            for exporter, value in flows
        ]
    )
    inputs = tiny_inputs(trade=trade)
    table = metrics.supplier_shares(inputs, importer="IMP", year=2024, stage="metal")
    assert float(table["share"].sum()) == pytest.approx(1.0)
    hhi = metrics.sourcing(inputs, importer="IMP", year=2024, stage="metal")["supplier_hhi"].iloc[0]
    assert 1 / len(table) - 1e-12 <= hhi <= 1 + 1e-12
