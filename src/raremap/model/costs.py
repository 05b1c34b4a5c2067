"""Operating costs per stage and country, calibrated so the base year reproduces observed prices.

An LP's prices are marginal costs where capacity is spare, so costs decide whether the model's prices
look like the market's. The rule, per stage:

- mining: the `costs` table (the country's row, else the world's);
- separation: the country's row where a source gives one (China: Baotou REO at 7-10 USD/kg all in,
  Adamas Intelligence via SCMP 2019, less mining); elsewhere the *zero-profit* rule: separation's
  full cost is what the separated feed is worth at base-year prices minus the mining cost, so
  producers outside China just break even in the base year, as reported for Lynas and MP in 2024.
  A built plant's capital is sunk, so its running cost is that full cost less the capital charge
  (the world's separation capex x the annuity): a plant keeps running while prices cover the rest,
  rather than stopping whenever prices fall back to the base year's (where it would be indifferent).
  The running cost never falls below the lowest documented one (China's): a feed worth less than
  mining plus the capital charge would otherwise make a free separator, and the LP would build the
  world's cheapest separation there (77 kt/yr in the USA by 2035 on the bundled data);
- metal: the base-year margin of NdPr metal over its oxide (metal price - oxide price / metal factor);
- magnet: the base-year margin of NdFeB over its rare-earth metal (magnet price - recipe metal value).
Each derived margin is a single world figure; the `costs` table's own figure is used where prices
lack the two sides of a margin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.supply import RegionFigures, annuity, by_region, concentrate_imports, feed_of, parameter
from raremap.vocabulary import STAGES, WORLD


def basket_value(composition: pd.DataFrame, feed: pd.Series, prices: pd.Series) -> float:
    """USD per kg of REO of a feed, each element at its base-year oxide price (unpriced elements at 0)."""
    mix = composition.reindex(feed.index).fillna(0.0).mul(feed, axis=0).sum() / feed.sum()
    return float((mix * prices.reindex(mix.index).fillna(0.0)).sum())


def metal_margin(prices: pd.DataFrame, base_year: int, factors: pd.Series) -> float | None:
    """USD per kg of metal for turning oxide into metal: NdPr metal price - NdPr oxide price / factor."""
    latest = prices[(prices["year"] <= base_year) & (prices["element"] == "NdPr")].sort_values("year")
    metal = latest[latest["form"] == "metal"]["usd_per_kg"]
    oxide = latest[latest["form"] == "oxide"]["usd_per_kg"]
    if metal.empty or oxide.empty:
        return None
    factor = float(np.mean([factors.get("Nd", 0.857), factors.get("Pr", 0.828)]))
    return max(float(metal.iloc[-1]) - float(oxide.mean()) / factor, 0.0)


def magnet_margin(magnet_price: float | None, generic_recipe: pd.Series, metal_prices: pd.Series) -> float | None:
    """USD per kg of magnet for turning metal into magnets: magnet price - the recipe's metal value."""
    if magnet_price is None:
        return None
    content = float((generic_recipe * metal_prices.reindex(generic_recipe.index).fillna(0.0)).sum())
    return max(magnet_price - content, 0.0)


def operating_costs(
    tables: dict[str, pd.DataFrame],
    countries: Sequence[str],
    composition: pd.DataFrame,
    oxide_prices: pd.Series,
    margins: dict[str, float | None],
    base_year: int,
    mined: pd.Series | None = None,
) -> xr.DataArray:
    """USD/kg per stage x country (REO mined, REO fed to separation, metal made, magnet made).

    `mined`: t REO each country mined in the base year, which weighs its own ore against its imported
    concentrate in a separator's feed."""
    costs = tables["costs"]
    imports = concentrate_imports(tables["trade"], base_year)
    sunk = capital_charge(tables, "separation")
    floor = lowest_documented_separation_cost(costs)
    values = np.zeros((len(STAGES), len(countries)))
    opex = RegionFigures(costs, "opex_usd_per_t")
    separating = costs[costs["stage"] == "separation"]
    for column, country in enumerate(countries):
        mining = _required(opex("mining", country), "mining", country) / 1000.0
        own = separating[separating["region"] == country]
        if not own.empty:
            separation = float(own["opex_usd_per_t"].iloc[-1]) / 1000.0
        else:
            feed = feed_of(country, composition, imports,
                           None if mined is None else float(mined.get(country, 0.0)))
            separation = max(basket_value(composition, feed, oxide_prices) - mining - sunk, floor)
        values[:, column] = [
            mining,
            separation,
            margins["metal"] if margins["metal"] is not None else _required(opex("metal", country), "metal", country) / 1000.0,
            margins["magnet"] if margins["magnet"] is not None else _required(opex("magnet", country), "magnet", country) / 1000.0,
        ]
    return xr.DataArray(values, coords={"stage": list(STAGES), "country": list(countries)}, dims=("stage", "country"))


def lowest_documented_separation_cost(costs: pd.DataFrame) -> float:
    """USD/kg REO fed: the lowest separation running cost a country row documents (0 without one)."""
    rows = costs[(costs["stage"] == "separation") & (costs["region"] != WORLD)]["opex_usd_per_t"].dropna()
    return float(rows.min()) / 1000.0 if not rows.empty else 0.0


def capital_charge(tables: dict[str, pd.DataFrame], stage: str) -> float:
    """USD per kg a year of the world's capex of a stage, annualised (0 without a world capex row)."""
    capex = by_region(tables["costs"], "capex_usd_per_tpa", stage, WORLD)
    if capex is None or not np.isfinite(capex):
        return 0.0
    parameters = tables["parameters"]
    return capex * annuity(parameter(parameters, "discount_rate"), parameter(parameters, "asset_life_years")) / 1000.0


def _required(value: float | None, stage: str, country: str) -> float:
    if value is None:
        raise RaremapError(f"costs has no operating cost for stage {stage} (country {country} or WLD); add a WLD row")
    return value
