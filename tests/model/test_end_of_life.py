"""End-of-life magnets: retirements by cohort, collection tiers, and their parameters (hand-solved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.end_of_life import collection_shares, retirement_shares, retirements, rules_from

SECTORS = ["ev", "electronics"]


def parameters(**changes: float) -> pd.DataFrame:
    values = {
        "magnet_lifetime_years_ev": 10, "magnet_lifetime_years_electronics": 4, "magnet_lifetime_spread": 0.3,
        "eol_collection_limit_ev": 0.5, "eol_collection_limit_electronics": 0.2, "eol_collection_rate_base": 0.01,
        "eol_collection_growth_per_year": 0.02, "eol_recovery_yield": 0.97, "eol_processing_cost": 27.5,
        "eol_incentive_price_low": 80, "eol_incentive_price_high": 100, "eol_margin_price": 53.6,
        "ndfeb_growth_before_history": 0.25, "ndfeb_history_first_year": 1990,
    } | changes
    return pd.DataFrame({"parameter": list(values), "value": list(values.values())})


def cohort(inflow: list[float], sector: str = "ev") -> xr.DataArray:
    years = np.arange(2000, 2000 + len(inflow), dtype=float)
    return xr.DataArray(np.array(inflow)[None, None, :], coords={"country": ["USR"], "sector": [sector], "year": years},
                        dims=("country", "sector", "year"))


def test_a_year_of_magnets_retires_at_its_lifetime() -> None:
    rules = rules_from(parameters(magnet_lifetime_spread=0.01), SECTORS)
    # 100 t put into use in 2001 with a 10-year life (spread 0.1 year) all retire in 2011.
    retired = retirements(cohort([0, 100] + [0] * 14), rules).sel(country="USR", sector="ev")
    assert float(retired.sel(year=2011.0)) == pytest.approx(100, rel=1e-6)
    assert float(retired.sum()) == pytest.approx(100, rel=1e-6)


def test_a_steady_inflow_retires_at_the_same_rate_once_the_stock_is_full() -> None:
    rules = rules_from(parameters(), SECTORS)
    retired = retirements(cohort([50.0] * 40), rules).sel(country="USR", sector="ev")
    assert float(retired.sel(year=2035.0)) == pytest.approx(50, rel=1e-6)
    assert float(retired.sel(year=2001.0)) < 1  # a 10-year life: almost nothing retires after one year


def test_retirement_shares_spread_around_the_mean() -> None:
    shares = retirement_shares(10, 0.3, np.arange(40))
    assert shares.sum() == pytest.approx(1, rel=1e-9)
    assert int(np.argmax(shares)) in (9, 10)
    assert shares[5] == pytest.approx(shares[15], rel=1e-9)  # symmetric about 10


def test_collection_rises_by_its_growth_to_each_sectors_limit() -> None:
    rules = rules_from(parameters(), SECTORS)
    shares = collection_shares(rules, SECTORS, np.array([2024.0, 2029.0, 2054.0]), 2024.0)
    # Base year: 1 % collected today, nothing more. Five years on: the ceiling is 1 + 5 x 2 = 11 %, the
    # 10 points above today split in two halves. Thirty years on (61 %): EV capped at 50 %, electronics at 20 %.
    assert shares.sel(year=2024.0).values.ravel().tolist() == pytest.approx([0.01, 0.01, 0, 0, 0, 0])
    assert shares.sel(year=2029.0, sector="ev").values.tolist() == pytest.approx([0.01, 0.05, 0.05])
    assert shares.sel(year=2054.0, sector="ev").values.tolist() == pytest.approx([0.01, 0.245, 0.245])
    assert shares.sel(year=2054.0, sector="electronics").values.tolist() == pytest.approx([0.01, 0.095, 0.095])


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("magnet_lifetime_years_ev", -3, r"row 'magnet_lifetime_years_ev': value -3 is outside 0.5-60"),
    ("eol_collection_limit_electronics", 1.5, r"row 'eol_collection_limit_electronics': value 1.5 is outside 0-1"),
    ("eol_incentive_price_high", 50, r"row 'eol_incentive_price_high': value 50 is outside 80-100000"),
])
def test_a_bad_end_of_life_parameter_is_named_with_its_value_and_range(name: str, value: float, expected: str) -> None:
    with pytest.raises(RaremapError, match=rf"parameters\.csv, {expected}"):
        rules_from(parameters(**{name: value}), SECTORS)


def test_a_missing_lifetime_names_the_row_to_add() -> None:
    table = parameters()
    table = table[table["parameter"] != "magnet_lifetime_years_electronics"]
    with pytest.raises(RaremapError, match=r"parameters\.csv has no row 'magnet_lifetime_years_electronics'.*add it"):
        rules_from(table, SECTORS)
