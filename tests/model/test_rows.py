"""Plain sums make the same constraint as linopy's own arithmetic."""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from raremap.model.rows import Plain


def _model() -> linopy.Model:
    model = linopy.Model(force_dim_names=True)
    exporter = pd.Index(["A", "B", "C"], name="exporter")
    importer = pd.Index(["A", "B", "C"], name="importer")
    period = pd.Index([2024.0, 2025.0], name="period")
    country = pd.Index(["A", "B", "C"], name="country")
    edges = xr.DataArray(~np.eye(3, dtype=bool), coords=[exporter, importer]).expand_dims(period=period).transpose(
        "exporter", "importer", "period"
    )
    model.add_variables(0, coords=[exporter, importer, period], name="Flow", mask=edges)
    model.add_variables(0, coords=[country, period], name="Production", mask=xr.DataArray([True, False, True], coords=[country]))
    return model


def _rows(model: linopy.Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    matrices = model.matrices
    return matrices.A.toarray(), matrices.b, matrices.sense


def test_constraint_equals_linopy_arithmetic() -> None:
    share = xr.DataArray([0.5, 2.0, 3.0], coords={"exporter": ["A", "B", "C"]}, dims="exporter")
    limit = xr.DataArray([[1.0, -2.0], [2.0, 3.0], [0.0, 4.0]], coords={"country": ["A", "B", "C"], "period": [2024.0, 2025.0]})

    reference = _model()
    flow, production = reference.variables["Flow"].fillna(0), reference.variables["Production"].fillna(0)
    exports = (flow * share).sum("importer").rename(exporter="country")
    imports = flow.sum("exporter").rename(importer="country")
    lhs = linopy.merge([production, -exports, imports], cls=linopy.LinearExpression)
    reference.add_constraints(lhs <= limit, name="Balance")
    reference.constraints.sanitize_zeros()

    model = _model()
    flow_plain = Plain.of(model, "Flow")
    plain = Plain.of(model, "Production") - (flow_plain * share).rename(exporter="country") + flow_plain.rename(importer="country")
    model.add_constraints(plain.constraint(model, ["country", "period"], "<=", limit), name="Balance")
    model.constraints.sanitize_zeros()

    for expected, got in zip(_rows(reference), _rows(model), strict=True):
        np.testing.assert_array_equal(expected, got)
    assert np.array_equal(np.signbit(reference.matrices.b), np.signbit(model.matrices.b))


def test_a_right_hand_side_without_a_number_is_refused() -> None:
    model = _model()
    limit = xr.DataArray([1.0, np.nan, 2.0], coords={"country": ["A", "B", "C"]})
    with pytest.raises(ValueError, match="no number"):
        Plain.of(model, "Production").constraint(model, ["country", "period"], "<=", limit)


def test_previous_is_one_period_earlier() -> None:
    model = _model()
    production = Plain.of(model, "Production")
    expression = (production - production.previous()).expression(model, ["country", "period"])
    first = expression.data.sel(country="A", period=2024.0)
    later = expression.data.sel(country="A", period=2025.0)
    labels = model.variables["Production"].labels.sel(country="A")
    assert list(first.vars.values[first.vars.values >= 0]) == [labels.sel(period=2024.0)]
    assert list(later.vars.values) == [labels.sel(period=2025.0), labels.sel(period=2024.0)]
    assert list(later.coeffs.values) == [1.0, -1.0]


def test_a_term_outside_the_rows_is_refused() -> None:
    model = _model()
    production = Plain.of(model, "Production")
    flows = Plain.of(model, "Flow").rename(exporter="country").sel(country=["A", "B"])
    with pytest.raises(ValueError, match="outside the rows"):
        (flows + production).expression(model, ["country", "period"])
