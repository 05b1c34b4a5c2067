"""End-of-life NdFeB magnets: what retires each year from the magnets put into use before, and the
collection tiers that offer its rare earths back to the oxide market as prices rise.

Retirements follow a cohort model (as in flodym's dynamic stock models): the magnets a sector puts
into use in a year retire over the following years by a normal lifetime distribution (mean from
``magnet_lifetime_years_<sector>``, spread ``magnet_lifetime_spread`` of the mean). Magnets put into
use are each country's modelled magnet demand from the base year on, and before it the country's
base-year demand scaled by the world's use of that sector in that year (``demand``'s WLD historical
NdFeB rows, linear between rows, and before the first row falling back at
``ndfeb_growth_before_history`` a year to ``ndfeb_history_first_year``).

The rare earths of retired magnets (recipe x (1 - process scrap share): a magnet leaves its maker
without its swarf) are offered in three price tiers, each recovering every element of the magnets it
takes (``Recycling-joint-equal``), as oxide: the recyclers whose costs set the tiers leach and
separate magnets (long-loop recycling; Ionic's cost is per kg REO, and China's recyclers sell PrNd
oxide), so recovered rare earths are reduced to metal again like mined ones. Tiers are counted in t
of metal the oxide holds:

0. what is collected today (``eol_collection_rate_base`` of retirements) at the processing cost;
1. and 2. the collection above it, up to a ceiling that rises ``eol_collection_growth_per_year``
   points a year from the base year to each sector's ``eol_collection_limit_<sector>``, in two equal
   halves. Each costs the base-year value of the recovered metal times the ratio of the NdPr oxide
   price a commercial recycler's case is built on (``eol_incentive_price_low`` and ``_high``) to the
   price at which recyclers' margins were squeezed (``eol_margin_price``): they run when magnet rare
   earths sell at that multiple of their base-year price.

Only NdFeB is covered (SmCo magnets have no history before 2023 in the data, and no source on their
recycling was found).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtr

from raremap.errors import RaremapError
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import WORLD

HISTORY_ELEMENT = "NdFeB"
"""The magnet whose world use by sector and year (the demand table's WLD historical rows) dates the
magnets in use."""

TIER_NAMES = ("collected today", "more collection, first half", "more collection, second half")


@dataclass(frozen=True)
class EndOfLifeRules:
    """The parameters of retirement and collection (rows of the parameters table)."""

    lifetime_years: pd.Series  # by magnet sector
    lifetime_spread: float  # standard deviation as a share of the mean
    collection_limit: pd.Series  # by magnet sector, share of retirements
    base_rate: float  # share of retirements collected in the base year
    growth_per_year: float  # points of collection added per year at most
    recovery_yield: float  # share of the collected rare earths recovered
    processing_cost_per_kg_reo: float  # USD
    incentive_prices: tuple[float, float]  # NdPr oxide USD/kg at which tiers 1 and 2 pay
    margin_price: float  # NdPr oxide USD/kg at which today's collection just pays
    growth_before_history: float  # yearly growth of world NdFeB use before the first history row
    first_year: int  # no magnets in use before it


def _value(parameters: pd.DataFrame, name: str, low: float, high: float, meaning: str) -> float:
    """One parameter row, checked against its range, or an error naming the row and the fix."""
    rows = parameters[parameters["parameter"] == name]
    if rows.empty:
        raise RaremapError(f"parameters.csv has no row {name!r} ({meaning}); add it (value, unit, description, source), "
                           "or run without end-of-life recycling (settings.end_of_life_recycling: false)")
    value = float(rows["value"].iloc[0])
    if not low <= value <= high:
        raise RaremapError(f"parameters.csv, row {name!r}: value {value:g} is outside {low:g}-{high:g} ({meaning}); "
                           f"correct the value")
    return value


def rules_from(parameters: pd.DataFrame, sectors: list[str]) -> EndOfLifeRules:
    """The end-of-life rules of the magnet `sectors`, read and checked."""
    lifetimes = {sector: _value(parameters, f"magnet_lifetime_years_{sector}", 0.5, 60, f"mean life of {sector} magnets")
                 for sector in sectors}
    limits = {sector: _value(parameters, f"eol_collection_limit_{sector}", 0, 1, f"collectable share of {sector} magnets")
              for sector in sectors}
    base_rate = _value(parameters, "eol_collection_rate_base", 0, 1, "share of retired magnets collected in the base year")
    low = _value(parameters, "eol_incentive_price_low", 0, 1e5, "NdPr oxide price at which more collection starts to pay")
    high = _value(parameters, "eol_incentive_price_high", low, 1e5, "NdPr oxide price at which the collection ceiling pays")
    return EndOfLifeRules(
        lifetime_years=pd.Series(lifetimes, dtype=float),
        lifetime_spread=_value(parameters, "magnet_lifetime_spread", 0.01, 1, "lifetime standard deviation over mean"),
        collection_limit=pd.Series(limits, dtype=float).clip(lower=base_rate),
        base_rate=base_rate,
        growth_per_year=_value(parameters, "eol_collection_growth_per_year", 0, 1, "collection points added per year"),
        recovery_yield=_value(parameters, "eol_recovery_yield", 0, 1, "share of collected rare earths recovered"),
        processing_cost_per_kg_reo=_value(parameters, "eol_processing_cost", 0, 1e4, "USD per kg REO recovered"),
        incentive_prices=(low, high),
        margin_price=_value(parameters, "eol_margin_price", 1e-6, 1e5, "NdPr oxide price at which today's recycling pays"),
        growth_before_history=_value(parameters, "ndfeb_growth_before_history", 0, 2, "yearly growth of NdFeB use"),
        first_year=int(_value(parameters, "ndfeb_history_first_year", 1900, 2100, "first year of NdFeB use counted")),
    )


def world_use(demand: pd.DataFrame, sectors: list[str], rules: EndOfLifeRules, years: np.ndarray) -> pd.DataFrame:
    """World NdFeB use (t magnet/yr) per year x sector from the WLD historical rows."""
    rows = demand[(demand["country"] == WORLD) & (demand["path"] == "historical") & (demand["element"] == HISTORY_ELEMENT)]
    columns = {}
    for sector in sectors:
        series = rows[rows["sector"] == sector].groupby("year")["value_t"].sum().sort_index()
        if series.empty:
            raise RaremapError(f"demand.csv has no WLD historical {HISTORY_ELEMENT} row for sector {sector!r}; "
                               "end-of-life recycling needs the world's magnet use by sector (add rows, or set "
                               "settings.end_of_life_recycling: false)")
        first = int(series.index[0])
        before = series.iloc[0] * (1 + rules.growth_before_history) ** (years - first)
        used = np.where(years < first, before, np.interp(years, series.index.to_numpy(float), series.to_numpy(float)))
        columns[sector] = np.where(years < rules.first_year, 0.0, used)
    return pd.DataFrame(columns, index=years)


def retirement_shares(mean: float, spread: float, ages: np.ndarray) -> np.ndarray:
    """Share of a year's magnets retiring at each age (years after the year of use), normal lifetimes:
    age k takes the lives from k - 0.5 to k + 0.5, the mass before age 0 or after the last age spread
    over the ages kept."""
    deviation = spread * mean
    edges = ndtr((np.append(ages - 0.5, ages[-1] + 0.5) - mean) / deviation)
    shares = np.diff(edges)
    return shares / shares.sum() if shares.sum() > 0 else shares


def inflows(chain: SupplyChain, sectors: list[str], history: pd.DataFrame, years: np.ndarray) -> xr.DataArray:
    """Magnets put into use (t magnet/yr) [country, sector, year]: the chain's demand in its periods, the
    base-year demand scaled by the world's history before."""
    demand = chain["demand"].sel(sector=sectors)
    starts = np.array(chain.periods)
    base = float(starts[0])
    position = np.clip(np.searchsorted(starts, years, side="right") - 1, 0, len(starts) - 1)
    modelled = demand.isel(period=xr.DataArray(position, dims="year")).drop_vars("period")
    first = demand.isel(period=0, drop=True)
    used, in_base = history[sectors].to_numpy(), history.loc[base, sectors].to_numpy(float)
    scale = np.divide(used, in_base, out=np.zeros_like(used), where=in_base > 0)
    scaled = first * xr.DataArray(scale, dims=("year", "sector"), coords={"sector": sectors})
    return xr.where(xr.DataArray(years < base, dims="year"), scaled, modelled).assign_coords(year=years)


def retirements(inflow: xr.DataArray, rules: EndOfLifeRules) -> xr.DataArray:
    """Magnets retired (t magnet/yr) [country, sector, year], each sector by its lifetime distribution."""
    ages = np.arange(inflow.sizes["year"])
    out = []
    for sector in inflow["sector"].values:
        shares = retirement_shares(float(rules.lifetime_years[sector]), rules.lifetime_spread, ages)
        used = inflow.sel(sector=sector).transpose("country", "year").to_numpy()
        retired = np.stack([np.convolve(row, shares)[: len(ages)] for row in used])
        out.append(xr.DataArray(retired, coords={"country": inflow["country"].values, "year": inflow["year"].values},
                                dims=("country", "year")))
    return xr.concat(out, dim=pd.Index(inflow["sector"].values, name="sector"))


def collection_shares(rules: EndOfLifeRules, sectors: list[str], years: np.ndarray, base_year: float) -> xr.DataArray:
    """Share of each sector's retirements in each tier [tier, sector, year]."""
    limit = rules.collection_limit.reindex(sectors).to_numpy()[:, None]
    ceiling = np.minimum(limit, rules.base_rate + rules.growth_per_year * np.clip(years - base_year, 0, None)[None, :])
    more = (ceiling - rules.base_rate) / 2
    shares = np.stack([np.full_like(ceiling, rules.base_rate), more, more])
    return xr.DataArray(shares, coords={"tier": list(range(len(TIER_NAMES))), "sector": sectors, "year": years},
                        dims=("tier", "sector", "year"))


def with_end_of_life_recycling(chain: SupplyChain, demand: pd.DataFrame, parameters: pd.DataFrame,
                               sectors: list[str]) -> SupplyChain:
    """The chain with the end-of-life tiers of its NdFeB magnet `sectors` (see the module docstring).

    Retirements come from the dataset's demand path, so a scenario's demand changes (applied later)
    do not change what retires.
    """
    sectors = [sector for sector in sectors if sector in chain.sectors]
    products = neodymium_magnets(chain)
    if not sectors or not products:
        return chain
    rules = rules_from(parameters, sectors)
    base_year = float(chain.periods[0])
    if base_year < rules.first_year:
        return chain
    years = np.arange(rules.first_year, int(np.ceil(chain.periods[-1] + float(chain.years.values[-1]))), dtype=float)
    retired = retirements(inflows(chain, sectors, world_use(demand, sectors, rules, years), years), rules)
    recipe = chain["recipe"].sel(element=products).rename(element="product", ingredient="element")
    bundle = chain["bundle"].sel(sector=sectors, element=products).rename(element="product")
    # t metal/yr [sector, country, element, year]: a finished magnet holds its recipe less the maker's swarf.
    metal = (retired * bundle * recipe).sum("product") * (1 - chain["scrap_share"])
    offered = (metal * collection_shares(rules, sectors, years, base_year)).sum("sector") * rules.recovery_yield
    available = _per_period(offered, chain).reindex(element=chain.data["element"].values, fill_value=0.0)
    return chain.with_recycling_tiers(available.fillna(0.0), tier_costs(chain, metal, rules, base_year))


def neodymium_magnets(chain: SupplyChain) -> list[str]:
    """The chain's magnet products without samarium (NdFeB grades, China's cerium-iron-boron)."""
    if "Sm" not in chain.elements:
        return chain.magnet_products
    samarium = chain["recipe"].sel(ingredient="Sm")
    return [product for product in chain.magnet_products if float(samarium.sel(element=product)) == 0]


def _per_period(yearly: xr.DataArray, chain: SupplyChain) -> xr.DataArray:
    """The yearly rates averaged over each period's years (a part-year period takes its year's rate)."""
    values = []
    for start, length in zip(chain.periods, chain.years.values, strict=True):
        inside = (yearly["year"] >= np.floor(start)) & (yearly["year"] < max(start + float(length), np.floor(start) + 1))
        values.append(yearly.where(inside, drop=True).mean("year"))
    return xr.concat(values, dim=pd.Index(chain.periods, name="period"))


def tier_costs(chain: SupplyChain, metal: xr.DataArray, rules: EndOfLifeRules, base_year: float) -> xr.DataArray:
    """USD per kg of metal recovered (sold as its oxide) per tier: processing for today's collection, then
    the base-year value of the recovered mix of oxides at the incentive price multiples."""
    mix = metal.sel(year=base_year).sum(["sector", "country"])
    mix = mix / float(mix.sum()) if float(mix.sum()) > 0 else xr.ones_like(mix) / mix.sizes["element"]
    factor = chain["metal_factor"].sel(element=mix["element"].values)
    value = float((mix * chain["reference_price"].sel(element=mix["element"].values) / factor).sum())
    processing = rules.processing_cost_per_kg_reo * float((mix / factor).sum())
    low, high = rules.incentive_prices
    costs = [processing, value * low / rules.margin_price, value * high / rules.margin_price]
    return xr.DataArray(costs, coords={"tier": list(range(len(costs)))}, dims="tier")
