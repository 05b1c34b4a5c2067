"""The one number helper: what a person reads in every output."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from raremap import formatting
from raremap.formatting import cell, clean, number, share, year


def test_doctests() -> None:
    assert doctest.testmod(formatting).failed == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (1, "1"), (np.int64(7), "7"), (21.83, "21.8"), (120.04, "120"),
        (3156.53, "3,157"), (1_234_567.8, "1,234,568"), (0.14286, "0.143"), (0.1 + 0.2, "0.3"),
        (1.5e-10, "1.50e-10"), (float("nan"), ""), (None, ""), (True, "yes"), (float("inf"), "∞"),
    ],
)
def test_numbers(value: object, text: str) -> None:
    assert number(value) == text


def test_years_and_periods_never_get_separators() -> None:
    assert year(2025) == year(2025.0) == "2025" and year("2025-Q2") == "2025-Q2"
    for column in ("year", "start", "online", "payback_year", "period"):
        assert cell(2029.0, column) == "2029"
    assert cell(2029.0, "t per year") == "2,029", "a tonnage is not a year"
    assert cell(2029, "value", unit="year") == "2029"


def test_shares_lists_and_mappings() -> None:
    assert share(0.4523) == "45%" and share(0.0712) == "7.1%" and share(0.00123) == "0.12%"
    assert cell(0.4523, "share of demand", "fraction") == "45%"
    assert cell(["Nd", "Pr", "Dy"]) == "Nd, Pr, Dy" and cell(np.array([1.0, 2.5])) == "1, 2.5"
    assert cell({"Nd": 0.5}) == "Nd: 0.5"


def test_json_has_no_float_noise() -> None:
    payload = clean({"a": 0.1 + 0.2, "b": np.float64(1 / 3), "c": [float("nan"), np.int32(4)], "d": math.inf})
    assert payload == {"a": 0.3, "b": 0.333333333333, "c": [None, 4], "d": None}
