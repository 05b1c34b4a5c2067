"""Turning the Dataset's tables into a SupplyChain, filling gaps by the rules in docs/simulation.md.

Each rule is one small function so that the documentation and the code can be read side by side:
capacity from facilities or from base-year output x headroom, compositions from deposit mixes,
world demand allocated to consuming countries, element demand converted to magnet tonnes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.calibration import calibrated
from raremap.model.supply_chain import MAGNET, SupplyChain
from raremap.vocabulary import STAGE_TOTAL, STAGES, WORLD

DEFAULT_OPERATING_COST = {"mining": 4.0, "separation": 15.0, "metal": 12.0, "magnet": 18.9}
"""USD per kg of stage output where the costs table has no figure for the country or the world."""

TRANSPORT_COST = {"mining": 0.2, "separation": 0.5, "metal": 0.5, "magnet": 1.0}
"""USD per kg moved between countries (freight, insurance, handling) over a typical route, an assumption.

Per route the cost is this figure x (0.5 + great-circle distance between capitals / 10,000 km):
half fixed (handling, insurance), half with distance, so nearer buyers net a supplier more.
"""

DEFAULT_ROUTE_KM = 10_000.0
"""Distance assumed for a route with a country missing from CAPITALS."""

CAPITALS: dict[str, tuple[float, float]] = {
    "ARG": (-34.6, -58.4), "AUS": (-35.3, 149.1), "BDI": (-3.4, 29.9), "BRA": (-15.8, -47.9),
    "CAN": (45.4, -75.7), "CHL": (-33.4, -70.7), "CHN": (39.9, 116.4), "DEU": (52.5, 13.4),
    "EST": (59.4, 24.7), "FRA": (48.9, 2.4), "GBR": (51.5, -0.1), "GRL": (64.2, -51.7),
    "IDN": (-6.2, 106.8), "IND": (28.6, 77.2), "ITA": (41.9, 12.5), "JPN": (35.7, 139.7),
    "KAZ": (51.2, 71.4), "KOR": (37.6, 127.0), "LAO": (18.0, 102.6), "MDG": (-18.9, 47.5),
    "MEX": (19.4, -99.1), "MMR": (19.8, 96.1), "MYS": (3.1, 101.7), "NGA": (9.1, 7.4),
    "NLD": (52.4, 4.9), "NOR": (59.9, 10.8), "PHL": (14.6, 121.0), "RUS": (55.8, 37.6),
    "SWE": (59.3, 18.1), "THA": (13.8, 100.5), "TUR": (39.9, 32.9), "TZA": (-6.2, 35.7),
    "USA": (38.9, -77.0), "VNM": (21.0, 105.8), "ZAF": (-25.7, 28.2),
}
"""Latitude and longitude of capitals (rounded), the proxy for where a country ships from and to."""

DEMAND_STEPS = 40
STEP_SHARES = (1.0 / DEMAND_STEPS,) * DEMAND_STEPS
STEP_VALUES = tuple(round(3.0 - 1.8 * step / (DEMAND_STEPS - 1), 6) for step in range(DEMAND_STEPS))
"""The demand curve of every buyer: forty equal slices of its quantity valued from 3x down to 1.2x
the reference value. The same curve everywhere means that, when supply is short, every buyer loses
its least valued slice before anyone loses a more valued one: shortage is shared pro rata to demand
to within 2.5 % of it; within a slice, the buyer whose delivered cost is higher (farther route,
tariff) is cut first. Ten slices were too coarse: a shock could move a whole tenth of India's
demand between buyers and lower India's shortfall below the baseline's."""

NDPR_POOL = ("Nd", "Pr")
"""Elements interchangeable in NdFeB magnets (didymium practice): their total content is fixed by
the recipe; Pr may replace none of Nd's share and Nd may replace all of Pr's (Pr share of the pool
from 0 to the recipe's)."""

DEFAULT_METAL_FACTOR = 0.85
DEFAULT_OXIDE_VALUE = 50.0
SUBSTITUTION_COST = 30.0


@dataclass(frozen=True)
class BuildOptions:
    """What to build: the periods, the demand path and the gap-filling settings."""

    periods: Sequence[int]
    period_length: int = 1
    demand_path: str = "stated-policies"
    production_series: str = "main"
    capacity_headroom: float = 1.1
    include_announced_capacity: bool = False
    magnet_type: str = "NdFeB sintered generic"
    magnet_value_usd_per_kg: float = 100.0
    oxide_value_multiple: float = 3.0
    stock_holding_cost: float = 0.5
    recycling_cost: float = 20.0
    ndpr_pool: bool = True
    calibration: bool = True
    extra_countries: Sequence[str] = field(default_factory=tuple)


def supply_chain_from_dataset(dataset: object, options: BuildOptions) -> SupplyChain:
    """The SupplyChain of the bundled (or user) dataset for the given periods and settings."""
    tables = _Tables(dataset)
    base_year = int(options.periods[0])
    composition = mining_composition(tables)
    production = base_production(tables, base_year, options.production_series)
    recipe = magnet_recipe(tables, options.magnet_type)
    demand = magnet_demand(tables, options, recipe)
    countries = sorted(
        set(production["country"]) | set(composition.index) | set(demand["country"]) | set(options.extra_countries)
        | set(_facility_countries(tables))
    )
    elements = [*sorted(composition.columns), MAGNET]
    capacity = capacity_array(tables, production, composition, countries, options)
    sectors = sorted(set(demand["sector"])) or ["other"]
    demand_array = _demand_array(demand, countries, sectors, options.periods)
    costs = operating_costs(tables, countries)
    chain = SupplyChain.from_arrays(
        countries=countries,
        elements=elements,
        sectors=sectors,
        periods=options.periods,
        period_length=options.period_length,
        step_shares=STEP_SHARES,
        capacity=capacity,
        operating_cost=costs,
        transport_cost=xr.DataArray(
            [0.5 * value for value in TRANSPORT_COST.values()], coords={"stage": list(TRANSPORT_COST)}, dims="stage"
        ),
        route_cost=route_costs(countries),
        composition=_frame_array(composition.reindex(index=countries).fillna(0.0), "country", "element"),
        thorium_per_reo=thorium_per_reo(tables).reindex(countries).fillna(0.0).rename_axis("country").to_xarray(),
        metal_factor=metal_factors(tables, elements).rename_axis("element").to_xarray(),
        magnet_recipe=recipe.rename_axis("element").to_xarray(),
        demand=demand_array,
        willingness_to_pay=willingness_to_pay(tables, elements, options),
        base_flow=base_flows(tables, base_year, countries),
        recycling_cost=options.recycling_cost,
        stock_holding_cost=options.stock_holding_cost,
        **magnet_pool(recipe, elements, options.ndpr_pool),
    )
    if options.calibration:
        chain = calibrated(chain, costs)
    return chain


def route_costs(countries: Sequence[str]) -> xr.DataArray:
    """USD/kg per stage x route on top of the fixed half: stage cost x great-circle km / 10,000."""
    latitude = np.radians([CAPITALS.get(country, (np.nan, np.nan))[0] for country in countries])
    longitude = np.radians([CAPITALS.get(country, (np.nan, np.nan))[1] for country in countries])
    dlat = latitude[:, None] - latitude[None, :]
    dlon = longitude[:, None] - longitude[None, :]
    haversine = np.sin(dlat / 2) ** 2 + np.cos(latitude[:, None]) * np.cos(latitude[None, :]) * np.sin(dlon / 2) ** 2
    kilometres = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0)))
    kilometres = np.where(np.isnan(kilometres), DEFAULT_ROUTE_KM, kilometres)
    per_stage = np.array([0.5 * TRANSPORT_COST[stage] for stage in STAGES])
    values = per_stage[:, None, None] * kilometres[None, :, :] / 5000.0
    return xr.DataArray(
        values,
        coords={"stage": list(STAGES), "exporter": list(countries), "importer": list(countries)},
        dims=("stage", "exporter", "importer"),
    )


def magnet_pool(recipe: pd.Series, elements: Sequence[str], enabled: bool) -> dict[str, xr.DataArray]:
    """The NdPr pool: members marked 1; Nd at least its recipe share, Pr at least zero."""
    members = [e for e in NDPR_POOL if e in elements and float(recipe.get(e, 0.0)) > 0] if enabled else []
    if len(members) < 2:
        return {}
    pool = xr.DataArray([1.0 if e in members else 0.0 for e in elements], coords={"element": list(elements)}, dims="element")
    minimum = pool * 0.0
    minimum.loc["Nd"] = float(recipe["Nd"])
    return {"magnet_pool": pool, "magnet_recipe_min": minimum}


class _Tables:
    """The dataset's tables, read once each."""

    def __init__(self, dataset: object):
        self._dataset = dataset
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = self._dataset[name]  # type: ignore[index]
        return self._cache[name]


def _frame_array(frame: pd.DataFrame, rows: str, columns: str) -> xr.DataArray:
    return xr.DataArray(
        frame.to_numpy(dtype=float),
        coords={rows: list(frame.index), columns: list(frame.columns)},
        dims=(rows, columns),
    )


def mining_composition(tables: _Tables) -> pd.DataFrame:
    """Element shares of each country's mine output: deposit mix x deposit composition, rows sum to 1.

    Countries that mine but have no deposit mix get the output-weighted average of those that have.
    """
    mixes = tables["country_deposits"][["country", "deposit_type", "share"]]
    ores = tables["ore_composition"][["deposit_type", "element", "share"]]
    merged = mixes.merge(ores, on="deposit_type", suffixes=("_deposit", "_element"))
    merged["share"] = merged["share_deposit"] * merged["share_element"]
    composition = merged.pivot_table(index="country", columns="element", values="share", aggfunc="sum", fill_value=0.0)
    composition = composition.div(composition.sum(axis=1), axis=0)
    production = tables["production"]
    miners = production[(production["stage"] == "mining") & (production["country"] != WORLD)]
    missing = sorted(set(miners["country"]) - set(composition.index))
    if missing:
        weights = miners.groupby("country")["value_t"].max().reindex(composition.index).fillna(0.0)
        average = composition.mul(weights, axis=0).sum() / max(float(weights.sum()), 1e-9)
        for country in missing:
            composition.loc[country] = average
    return composition.sort_index()


def base_production(tables: _Tables, base_year: int, series: str) -> pd.DataFrame:
    """Each country x stage total output in the latest year up to the base year on the chosen series."""
    production = tables["production"]
    totals = production[
        (production["country"] != WORLD)
        & (production["series"] == series)
        & (production["year"] <= base_year)
        & (production["element"] == production["stage"].map(STAGE_TOTAL))
    ]
    latest = totals.sort_values("year").groupby(["country", "stage"], as_index=False).last()
    return latest[["country", "stage", "value_t"]]


def _facility_countries(tables: _Tables) -> list[str]:
    capacity = tables["capacity"]
    return sorted(set(capacity.loc[capacity["stage"].isin(STAGES), "country"]))


def _facility_capacity(tables: _Tables, composition: pd.DataFrame, options: BuildOptions) -> pd.DataFrame:
    """Facility rows as country x stage x year capacity in the stage's total unit.

    Rows for an element group (NdPr, Nd, HREE) count only where the country has no total row for
    that stage; they are converted to total REO by the country's share of that group.
    """
    capacity = tables["capacity"]
    statuses = {"operating", "construction"} | ({"announced"} if options.include_announced_capacity else set())
    capacity = capacity[capacity["status"].isin(statuses) & capacity["stage"].isin(STAGES)].copy()
    is_total = capacity["element"] == capacity["stage"].map(STAGE_TOTAL)
    with_total = set(zip(capacity.loc[is_total, "country"], capacity.loc[is_total, "stage"], strict=True))
    groups = {"NdPr": ["Nd", "Pr"], "HREE": ["Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y"]}
    rows = []
    for record in capacity.to_dict(orient="records"):
        country, stage, element = str(record["country"]), str(record["stage"]), str(record["element"])
        value = float(record["value_t"])
        if element == STAGE_TOTAL[stage]:
            rows.append((country, stage, int(record["year"]), str(record["facility"]), value))
        elif (country, stage) not in with_total and stage in ("mining", "separation"):
            members = [e for e in groups.get(element, [element]) if e in composition.columns]
            share = float(composition.reindex(index=[country], columns=members).fillna(0.0).to_numpy().sum())
            if share > 0:
                rows.append((country, stage, int(record["year"]), str(record["facility"]), value / share))
    return pd.DataFrame(rows, columns=["country", "stage", "year", "facility", "value_t"])


def capacity_array(
    tables: _Tables,
    production: pd.DataFrame,
    composition: pd.DataFrame,
    countries: Sequence[str],
    options: BuildOptions,
) -> xr.DataArray:
    """Capacity per stage x country x period: the larger of the facilities in service and base output x headroom."""
    periods = list(options.periods)
    facilities = _facility_capacity(tables, composition, options)
    floor = base_output_with_exports(tables, production, int(periods[0])) * options.capacity_headroom
    index = pd.MultiIndex.from_product([list(STAGES), list(countries)], names=["stage", "country"])
    in_service = pd.DataFrame(0.0, index=index, columns=periods)
    if not facilities.empty:
        # Each facility's latest row up to the period counts: a step function of the year.
        ordered = facilities.sort_values("year")
        for period in periods:
            latest = ordered[ordered["year"] <= period].groupby(["stage", "country", "facility"])["value_t"].last()
            totals = latest.groupby(level=["stage", "country"]).sum()
            in_service[period] = totals.reindex(index).fillna(0.0).to_numpy()
    floors = floor.reorder_levels([1, 0]).groupby(level=[0, 1]).max()
    minimum = floors.reindex(index).fillna(0.0).to_numpy(dtype=float)
    values = np.maximum(in_service.to_numpy(), minimum[:, None]).reshape(len(STAGES), len(countries), len(periods))
    return xr.DataArray(
        values, coords={"stage": list(STAGES), "country": list(countries), "period": periods}, dims=("stage", "country", "period")
    )


def base_output_with_exports(tables: _Tables, production: pd.DataFrame, base_year: int) -> pd.Series:
    """Base-year output per country x stage, raised to its reported exports where those are larger.

    Separation also counts imported concentrate on top of reported output: China's separation quota
    covers domestic ore, and imported Myanmar and Laos feed is processed outside it.
    """
    output = production.set_index(["country", "stage"])["value_t"].astype(float)
    trade = tables["trade"]
    latest_year = trade.loc[trade["year"] <= base_year, "year"].max()
    latest = trade[trade["year"] == latest_year]
    exported = latest.groupby(["exporter", "stage"])["value_t"].sum()
    exported.index = exported.index.set_names(["country", "stage"])
    concentrate = latest[latest["stage"] == "mining"].groupby("importer")["value_t"].sum()
    separated = output.xs("separation", level="stage") if "separation" in output.index.get_level_values("stage") else pd.Series(dtype=float)
    fed = separated.add(concentrate, fill_value=0.0)
    fed.index = pd.MultiIndex.from_product([fed.index, ["separation"]], names=["country", "stage"])
    combined = pd.concat([output, exported, fed], axis=1).fillna(0.0).max(axis=1)
    return combined


def operating_costs(tables: _Tables, countries: Sequence[str]) -> xr.DataArray:
    """Operating cost per stage x country in USD/kg: the country's figure, else the world's, else the default."""
    costs = tables["costs"]
    values = np.zeros((len(STAGES), len(countries)))
    for stage_index, stage in enumerate(STAGES):
        rows = costs[costs["stage"] == stage].set_index("region")["opex_usd_per_t"] / 1000.0
        world = float(rows.get(WORLD, DEFAULT_OPERATING_COST[stage]))
        for country_index, country in enumerate(countries):
            values[stage_index, country_index] = float(rows.get(country, world))
    return xr.DataArray(values, coords={"stage": list(STAGES), "country": list(countries)}, dims=("stage", "country"))


def thorium_per_reo(tables: _Tables) -> pd.Series:
    """Tonnes of ThO2 in the concentrate per tonne of REO mined: deposit mix x (ThO2 share / REO share)."""
    mixes = tables["country_deposits"]
    deposits = tables["deposits"].set_index("deposit_type")
    ratio = (deposits["tho2_share"] / deposits["reo_share"]).rename("ratio")
    merged = mixes.merge(ratio, left_on="deposit_type", right_index=True)
    return (merged["share"] * merged["ratio"]).groupby(merged["country"]).sum()


def metal_factors(tables: _Tables, elements: Sequence[str]) -> pd.Series:
    """Tonnes of metal per tonne of oxide by element (default 0.85 where the conversions table has none)."""
    conversions = tables["conversions"]
    rows = conversions[(conversions["from_form"] == "oxide") & (conversions["to_form"] == "metal")]
    factors = rows.set_index("element")["factor"].astype(float)
    return factors.reindex(list(elements)).fillna(DEFAULT_METAL_FACTOR)


def magnet_recipe(tables: _Tables, magnet_type: str) -> pd.Series:
    """Rare-earth metal per tonne of magnet by element; iron, boron and other metals are not modelled."""
    recipes = tables["recipes"]
    rows = recipes[recipes["magnet_type"] == magnet_type]
    if rows.empty:
        known = ", ".join(sorted(set(recipes["magnet_type"])))
        raise RaremapError(f"settings.magnet_type = {magnet_type!r}: no such recipe; use one of: {known}")
    return rows.set_index("element")["share"].astype(float)


def _interpolate(rows: pd.DataFrame, years: Sequence[int]) -> pd.Series:
    """Linear in the year between data points, flat before the first and after the last."""
    series = rows.groupby("year")["value_t"].mean().sort_index()
    return pd.Series(np.interp(list(years), series.index.to_numpy(float), series.to_numpy(float)), index=list(years))


def _demand_rows(tables: _Tables, path: str) -> pd.DataFrame:
    """Historical rows plus, per country x sector x element, the chosen projection path (else any other)."""
    demand = tables["demand"]
    historical = demand[demand["path"] == "historical"]
    projections = demand[demand["path"] != "historical"].copy()
    projections["preference"] = (projections["path"] != path).astype(int)
    keys = ["country", "sector", "element"]
    chosen = projections.sort_values(["preference", "path"]).groupby(keys)["path"].first().rename("chosen")
    projections = projections.merge(chosen, left_on=keys, right_index=True)
    projections = projections[projections["path"] == projections["chosen"]]
    return pd.concat([historical, projections[demand.columns]], ignore_index=True)


def magnet_demand(tables: _Tables, options: BuildOptions, recipe: pd.Series) -> pd.DataFrame:
    """Demand in tonnes of magnet per country x sector x year.

    Element demand (t of Nd, Pr, Dy ... in magnets) becomes magnet tonnes by dividing by the recipe
    shares of the same elements. Countries with only base-year rows follow the world path's growth;
    the world remainder (world minus named countries) goes to the countries that make or import
    magnets, in proportion to their base-year apparent consumption.
    """
    rows = _demand_rows(tables, options.demand_path)
    magnets = rows[rows["element"] == MAGNET]
    elemental = rows[rows["element"].isin(recipe.index)]
    frames = []
    for (country, sector), group in magnets.groupby(["country", "sector"]):
        frames.append(_yearly(str(country), str(sector), _interpolate(group, options.periods)))
    for (country, sector), group in elemental.groupby(["country", "sector"]):
        present = sorted(set(group["element"]))
        content = sum((_interpolate(group[group["element"] == e], options.periods) for e in present), start=pd.Series(0.0, index=list(options.periods)))
        frames.append(_yearly(str(country), str(sector), content / float(recipe[present].sum())))
    combined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["country", "sector", "period", "value_t"])
    demand = combined.groupby(["country", "sector", "period"])["value_t"].sum().reset_index()
    projected = set(rows.loc[rows["path"] != "historical", "country"])
    demand = _grow_with_world(demand, projected, int(options.periods[0]))
    return _allocate_world(tables, demand, int(options.periods[0]), options.production_series)


def _grow_with_world(demand: pd.DataFrame, projected: set[str], base_year: int) -> pd.DataFrame:
    """Countries with base-year demand but no projection keep their share of the world, sector by sector.

    Without this they would stay flat at the base year while the world path grows, and all growth
    would fall on the countries that only receive the world remainder.
    """
    world = demand[demand["country"] == WORLD]
    if world.empty:
        return demand
    by_sector = world.pivot_table(index="sector", columns="period", values="value_t", aggfunc="sum")
    if base_year not in by_sector.columns:
        return demand
    ratios = by_sector.div(by_sector[base_year].where(by_sector[base_year] > 0), axis=0).fillna(1.0)
    growth = ratios.reset_index().melt(id_vars="sector", var_name="period", value_name="growth")
    static = demand[(demand["country"] != WORLD) & ~demand["country"].isin(projected)]
    base = static[static["period"] == base_year][["country", "sector", "value_t"]]
    grown = base.merge(growth, on="sector")
    grown = grown.assign(value_t=grown["value_t"] * grown["growth"])[["country", "sector", "period", "value_t"]]
    keep = demand[(demand["country"] == WORLD) | demand["country"].isin(projected)]
    return pd.concat([keep, grown], ignore_index=True)


def _yearly(country: str, sector: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"country": country, "sector": sector, "period": values.index, "value_t": values.to_numpy()})


def _allocate_world(tables: _Tables, demand: pd.DataFrame, base_year: int, series: str) -> pd.DataFrame:
    world = demand[demand["country"] == WORLD]
    named = demand[demand["country"] != WORLD]
    if world.empty:
        return named
    named_total = named.groupby(["sector", "period"])["value_t"].sum()
    remainder = world.set_index(["sector", "period"])["value_t"].sub(named_total, fill_value=0.0).clip(lower=0.0)
    shares = apparent_magnet_consumption(tables, base_year, series).drop(labels=list(set(named["country"])), errors="ignore")
    shares = shares[shares > 0]
    if shares.empty:
        raise RaremapError("world magnet demand cannot be allocated: no country makes magnets in the base year")
    shares = shares / shares.sum()
    allocated = [
        pd.DataFrame({"country": country, "sector": remainder.index.get_level_values("sector"),
                      "period": remainder.index.get_level_values("period"), "value_t": remainder.to_numpy() * share})
        for country, share in shares.items()
    ]
    return pd.concat([named, *allocated], ignore_index=True)


def apparent_magnet_consumption(tables: _Tables, base_year: int, series: str) -> pd.Series:
    """Magnet output plus imports minus exports per country in the base year (never below zero)."""
    production = base_production(tables, base_year, series)
    output = production[production["stage"] == "magnet"].set_index("country")["value_t"].astype(float)
    trade = tables["trade"]
    magnets = trade[(trade["stage"] == "magnet") & (trade["year"] <= base_year)]
    if not magnets.empty:
        magnets = magnets[magnets["year"] == magnets["year"].max()]
    imports = magnets.groupby("importer")["value_t"].sum()
    exports = magnets.groupby("exporter")["value_t"].sum()
    return output.add(imports, fill_value=0.0).sub(exports, fill_value=0.0).clip(lower=0.0)


def _demand_array(demand: pd.DataFrame, countries: Sequence[str], sectors: Sequence[str], periods: Sequence[int]) -> xr.DataArray:
    rows = demand[demand["country"].isin(list(countries)) & demand["period"].isin(list(periods))]
    totals = rows.groupby(["country", "sector", "period"])["value_t"].sum()
    index = pd.MultiIndex.from_product([list(countries), list(sectors), list(periods)], names=["country", "sector", "period"])
    values = totals.reindex(index).fillna(0.0).to_numpy().reshape(len(countries), len(sectors), 1, len(periods))
    return xr.DataArray(
        values,
        coords={"country": list(countries), "sector": list(sectors), "element": [MAGNET], "period": list(periods)},
        dims=("country", "sector", "element", "period"),
    )


def willingness_to_pay(tables: _Tables, elements: Sequence[str], options: BuildOptions) -> xr.DataArray:
    """USD/kg per element x step: the reference value (magnets: a setting; oxides: a multiple of the latest price) x step multiple."""
    prices = tables["prices"]
    oxides = prices[prices["form"] == "oxide"].sort_values("year").groupby("element")["usd_per_kg"].last()
    reference = [
        options.magnet_value_usd_per_kg if element == MAGNET
        else float(oxides.get(element, DEFAULT_OXIDE_VALUE)) * options.oxide_value_multiple
        for element in elements
    ]
    steps = list(range(len(STEP_SHARES)))
    values = np.outer(reference, STEP_VALUES)
    return xr.DataArray(values, coords={"element": list(elements), "step": steps}, dims=("element", "step"))


def base_flows(tables: _Tables, base_year: int, countries: Sequence[str]) -> xr.DataArray:
    """Reported trade per stage x exporter x importer in the latest year up to the base year (all elements)."""
    trade = tables["trade"]
    trade = trade[(trade["year"] <= base_year) & trade["exporter"].isin(countries) & trade["importer"].isin(countries)]
    array = xr.DataArray(
        np.zeros((len(STAGES), len(countries), len(countries))),
        coords={"stage": list(STAGES), "exporter": list(countries), "importer": list(countries)},
        dims=("stage", "exporter", "importer"),
    )
    if trade.empty:
        return array
    latest = trade[trade["year"] == trade.groupby("stage")["year"].transform("max")]
    totals = latest[latest["stage"].isin(STAGES)].groupby(["stage", "exporter", "importer"])["value_t"].sum()
    index = pd.MultiIndex.from_product([list(STAGES), list(countries), list(countries)])
    values = totals.reindex(index).fillna(0.0).to_numpy().reshape(array.shape)
    return array.copy(data=values)
