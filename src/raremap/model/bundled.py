"""Turning the Dataset's tables into a SupplyChain, filling gaps by the rules in docs/simulation.md.

The work is split by subject: `demand` (buyers, bundles, curves), `supply` (capacity, pipeline,
investment), `trade` (transport, stickiness), `units` (conversions), `end_of_life` (retired magnets
and their recycling tiers) and `calibration` (the base-year solve). This module reads the tables once
and puts the pieces together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model import costs as cost_rules
from raremap.model import demand as demand_rules
from raremap.model import end_of_life, units
from raremap.model import supply as supply_rules
from raremap.model import trade as trade_rules
from raremap.model.calibration import calibrated, solve_base_year
from raremap.model.periods import PeriodGrid
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import STAGES, WORLD

NDPR_POOL = ("Nd", "Pr")
"""Elements interchangeable in NdFeB magnets (didymium practice): their total content is fixed by
the recipe; Nd may replace Pr, Pr may not replace Nd."""

TABLES = ("production", "capacity", "projects", "country_deposits", "ore_composition", "deposits", "trade", "demand",
          "sectors", "magnet_grades", "recipes", "conversions", "costs", "lead_times", "prices", "parameters")


@dataclass(frozen=True)
class BuildOptions:
    """What to build: the periods, the demand path and the gap-filling settings."""

    grid: PeriodGrid
    demand_path: str = "stated-policies"
    production_series: str = "main"
    supply: supply_rules.SupplyOptions = field(default_factory=supply_rules.SupplyOptions)
    ndpr_pool: bool = True
    calibration: bool = True
    sticky_trade: bool = True
    importer: str = "IND"
    extra_countries: Sequence[str] = field(default_factory=tuple)
    standing_bans: Sequence[tuple[str, tuple[str, ...]]] = field(default_factory=tuple)
    """(country, stages) export bans already in force in the base year: the base-year solve (calibration
    and base flows) must see them, or the base year would count on trade that did not happen."""


def read_tables(dataset: object) -> dict[str, pd.DataFrame]:
    """The tables the model reads, once each."""
    return {name: dataset[name] for name in TABLES}  # type: ignore[index]


def supply_chain_from_dataset(dataset: object, options: BuildOptions) -> SupplyChain:
    """The SupplyChain of the bundled (or user) dataset for the given periods and settings."""
    tables = read_tables(dataset)
    grid = options.grid
    base_year = int(grid.starts[0])
    composition = mining_composition(tables)
    production = base_production(tables, base_year, options.production_series)
    rare_earths = sorted(set(composition.columns))
    recipes = units.recipe_table(tables["recipes"], rare_earths)
    factors = units.metal_factors(tables["conversions"], rare_earths)
    buyers = _buyers(tables, options, production, recipes, factors)
    products = sorted(set(buyers.bundle["element"]) - set(rare_earths))
    countries = _countries(tables, composition, production, buyers, options)
    prices = reference_prices(tables, base_year, rare_earths, products, recipes, factors)
    observed = base_output_with_exports(tables, production, base_year)
    costs = _operating_costs(tables, countries, composition, prices, recipes, factors, base_year,
                             supply_rules.output_at(observed, "mining"))
    capacity = supply_rules.capacity_array(tables, observed, composition, countries, grid, options.supply)
    capacity = supply_rules.base_year_as_reported(capacity, observed, options.supply.capacity_headroom)
    arrays: dict[str, Any] = {
        **magnet_pool(rare_earths, options.ndpr_pool),
        **_buyer_arrays(buyers, prices, countries, grid, products),
        **_holding_costs(tables, prices),
        "scrap_share": xr.DataArray(
            np.full(len(countries), supply_rules.parameter(tables["parameters"], "ndfeb_process_scrap_share")),
            coords={"country": list(countries)}, dims="country",
        ),
        **(_investment(tables, countries, capacity, production, options) if options.supply.investment else {}),
    }
    chain = SupplyChain.from_arrays(
        countries=countries,
        elements=rare_earths,
        products=products,
        sectors=sorted(buyers.sectors.index.intersection(list(buyers.quantity["sector"].unique()))),
        periods=grid,
        step_shares=demand_rules.STEP_SHARES,
        capacity=capacity,
        operating_cost=costs,
        transport_cost=trade_rules.transport_costs(),
        route_cost=trade_rules.route_costs(countries),
        concentrate_route=trade_rules.concentrate_routes(tables["trade"], countries, base_year,
                                                         _separating(capacity)),
        handling_cost=trade_rules.value_costs(_on_goods(prices, rare_earths, products)),
        reference_price=_on_goods(prices, rare_earths, products),
        composition=_frame_array(composition.reindex(index=countries).fillna(0.0), "country", "element"),
        thorium_per_reo=thorium_per_reo(tables).reindex(countries).fillna(0.0).rename_axis("country").to_xarray(),
        metal_factor=factors.rename_axis("element").to_xarray(),
        recipe=_frame_array(recipes.reindex(index=products, columns=rare_earths).fillna(0.0), "element", "ingredient"),
        **arrays,
    )
    if options.supply.end_of_life_recycling:
        magnet_sectors = tables["sectors"].loc[tables["sectors"]["kind"] == "magnet", "sector"].tolist()
        chain = end_of_life.with_end_of_life_recycling(chain, tables["demand"], tables["parameters"], magnet_sectors)
    chain = with_standing_bans(chain, options.standing_bans)
    base = solve_base_year(chain, calibrate=options.calibration)
    if options.calibration:
        chain = calibrated(chain, base)
    if options.sticky_trade:
        chain = with_sticky_trade(chain, tables, prices, base.flows)
    return chain


def with_standing_bans(chain: SupplyChain, bans: Sequence[tuple[str, tuple[str, ...]]]) -> SupplyChain:
    """No exports from a country at the stages its standing bans cover, in every period."""
    upper = chain["flow_upper"]
    for country, stages in bans:
        if country in chain.countries:
            covered = (upper["exporter"] == country) & upper["stage"].isin(list(stages)) & (upper["importer"] != country)
            upper = xr.where(covered, 0.0, upper)
    return chain.replace(flow_upper=upper.transpose(*chain["flow_upper"].dims))


def with_sticky_trade(chain: SupplyChain, tables: dict[str, pd.DataFrame], prices: pd.Series, base: xr.DataArray) -> SupplyChain:
    """The chain with contracts and route growth anchored on its own base-year flows."""
    parameters = tables["parameters"]
    sticky = trade_rules.stickiness(
        base,
        chain.data["period"],
        supply_rules.parameter(parameters, "contract_share"),
        supply_rules.parameter(parameters, "route_growth_share_per_year"),
        xr.DataArray(prices.reindex(chain.elements).fillna(0.0).to_numpy(), coords={"element": chain.elements}, dims="element"),
        chain.magnet_products,
    )
    return chain.replace(base_flow=base, **sticky)


def _buyers(tables: dict[str, pd.DataFrame], options: BuildOptions, production: pd.DataFrame, recipes: pd.DataFrame,
            factors: pd.Series) -> demand_rules.Buyers:
    base_year = int(options.grid.starts[0])
    goods = demand_rules.goods_demand(tables, options.demand_path, list(options.grid.starts), recipes, factors)
    consumption = {
        "magnet": demand_rules.apparent_consumption(production, tables["trade"], "magnet", base_year),
        "oxide": demand_rules.apparent_consumption(production, tables["trade"], "separation", base_year),
    }
    kinds = tables["sectors"].set_index("sector")["kind"]
    return demand_rules.buyers(demand_rules.allocate_world(goods, consumption, kinds), tables["sectors"])


def _countries(tables: dict[str, pd.DataFrame], composition: pd.DataFrame, production: pd.DataFrame,
               buyers: demand_rules.Buyers, options: BuildOptions) -> list[str]:
    """Every country with production, capacity, a deposit mix, demand or a named role in the scenario."""
    facilities = set(tables["capacity"].loc[tables["capacity"]["stage"].isin(STAGES), "country"])
    facilities |= set(tables["projects"].loc[tables["projects"]["stage"].isin(STAGES), "country"])
    named = set(production["country"]) | set(composition.index) | set(buyers.quantity["country"]) | facilities
    return sorted((named | set(options.extra_countries) | {options.importer}) - {WORLD})


def _buyer_arrays(buyers: demand_rules.Buyers, prices: pd.Series, countries: Sequence[str], grid: PeriodGrid,
                  products: Sequence[str]) -> dict[str, xr.DataArray]:
    """Demand, bundles, demand curves and substitution per country x sector."""
    quantity = buyers.quantity[buyers.quantity["country"].isin(countries)]
    sectors = sorted(quantity["sector"].unique())
    demand = quantity.set_index(["country", "sector", "period"])["value_t"].to_xarray().reindex(
        country=list(countries), sector=sectors, period=list(grid.starts)).fillna(0.0)
    bundle = buyers.bundle[buyers.bundle["country"].isin(countries)].set_index(["country", "sector", "element"])["share"].to_xarray()
    bundle = bundle.reindex(country=list(countries), sector=sectors).fillna(0.0)
    goods = [str(element) for element in bundle["element"].values]
    delivered = trade_rules.delivered_prices(prices.reindex(goods), products)
    reference = (bundle * xr.DataArray(delivered.to_numpy(), coords={"element": goods}, dims="element")).sum("element")
    missing = sorted({good for good in goods if not np.isfinite(prices.get(good, np.nan))})
    if missing:
        raise RaremapError(f"prices has no base-year price for {', '.join(missing)}; add a row per good that is bought")
    table = buyers.sectors.reindex(sectors)
    steps = np.array([demand_rules.curve(1.0, float(row["value_multiple"]), float(row["elasticity"])) for _, row in table.iterrows()])
    multiples = xr.DataArray(steps, coords={"sector": sectors, "step": list(range(steps.shape[1]))}, dims=("sector", "step"))
    value = reference * multiples
    value = lift_priorities(value, table["priority"], table["kind"])
    rate = xr.DataArray(table["substitution_rate"].to_numpy(float), coords={"sector": sectors}, dims="sector")
    cost_multiple = xr.DataArray(table["substitution_cost_multiple"].to_numpy(float), coords={"sector": sectors}, dims="sector")
    return {
        "demand": demand.transpose("country", "sector", "period"),
        "bundle": bundle.transpose("country", "sector", "element"),
        "willingness_to_pay": value.transpose("country", "sector", "step"),
        "substitution_rate": (rate * xr.ones_like(demand)).transpose("country", "sector", "period"),
        "substitution_cost": (reference * cost_multiple).transpose("country", "sector"),
    }


def lift_priorities(value: xr.DataArray, priority: pd.Series, kind: pd.Series) -> xr.DataArray:
    """Sectors of priority 1 (defence) are served first: their curve sits above every other curve of
    their kind (a kg of magnet is compared with magnets, not with a kg of terbium oxide)."""
    sectors = list(priority.index)
    first = xr.DataArray((priority.to_numpy(float) == 1), coords={"sector": sectors}, dims="sector")
    for name in sorted(set(kind[priority == 1])):
        same = xr.DataArray(kind.to_numpy() == name, coords={"sector": sectors}, dims="sector")
        if bool((same & ~first).any()):
            value = value + xr.where(first & same, float(value.where(same & ~first).max()), 0.0)
    return value


PREMIUM_MARKETS = ("europe", "us ")
"""Markets quoted at a premium over China's (delivered Europe, a US price floor): a base-year price
is China's market, so these are used only for a good no other market quotes."""

PRICE_PROXIES = {"Pr": "Nd"}
"""A good with no quote up to the base year takes its proxy's price times the ratio of the two in the
earliest market that quotes both (Argus Europe, September 2025: Pr oxide 93.25, Nd oxide 92.5 USD/kg).
The proxy is Nd, not NdPr: magnet makers choose between Nd and Pr (the NdPr pool) by their price ratio,
so the two must be priced on one basis; NdPr's China ex-VAT quote put Pr 11 % below Nd's FOB price and
magnets then took all the Pr, leaving its other buyers to the calibration supply."""


def nearest_prices(prices: pd.DataFrame, form: str, base_year: int) -> pd.Series:
    """USD/kg per element in the base year: the mean of the latest year's rows up to it, else of the
    earliest year after it (a good first quoted later still needs a price); premium markets only
    where no other market quotes the good that year."""
    rows = prices[prices["form"] == form]
    rows = rows.assign(premium=rows["market"].astype(str).str.lower().str.startswith(PREMIUM_MARKETS))
    rows = rows[~rows["premium"] | ~rows.groupby(["element", "year"])["premium"].transform("min").eq(False)]
    before = rows[rows["year"] <= base_year]
    after = rows[rows["year"] > base_year]
    chosen = pd.concat([
        before[before["year"] == before.groupby("element")["year"].transform("max")],
        after[(after["year"] == after.groupby("element")["year"].transform("min")) & ~after["element"].isin(before["element"])],
    ])
    values = chosen.groupby("element")["usd_per_kg"].mean()
    quoted_by_then = set(before["element"])
    for good, proxy in PRICE_PROXIES.items():
        if good in quoted_by_then or proxy not in quoted_by_then:
            continue
        ratio = _price_ratio(rows, good, proxy)
        if ratio is not None:
            values[good] = values[proxy] * ratio
    return values


def _price_ratio(rows: pd.DataFrame, good: str, proxy: str) -> float | None:
    """`good`'s price over `proxy`'s in the earliest year and market quoting both, else None."""
    paired = rows[rows["element"].isin([good, proxy])].pivot_table(index=["year", "market"], columns="element", values="usd_per_kg")
    if good not in paired.columns or proxy not in paired.columns:
        return None
    both = paired.dropna().sort_index()
    return None if both.empty else float(both[good].iloc[0] / both[proxy].iloc[0])


def reference_prices(tables: dict[str, pd.DataFrame], base_year: int, rare_earths: Sequence[str], products: Sequence[str],
                     recipes: pd.DataFrame, factors: pd.Series) -> pd.Series:
    """USD/kg of every good in the base year: oxides from `prices`; a magnet type from the NdFeB (or SmCo)
    price, adjusted by the value of the metal its recipe holds beyond the generic grade's."""
    oxide = nearest_prices(tables["prices"], "oxide", base_year)
    magnet = nearest_prices(tables["prices"], "magnet", base_year)
    metal_value = (oxide.reindex(list(rare_earths)) / factors.reindex(list(rare_earths))).fillna(0.0)
    values = dict(oxide.reindex(list(rare_earths)).items())
    magnet_prices = {str(family): float(price) for family, price in magnet.items()}
    values.update(magnet_prices)
    for product in products:
        family = "SmCo" if product.startswith("Sm") else "NdFeB"
        generic = recipes.loc[[p for p in recipes.index if p.startswith(family[:2])]].mean()
        content = float((recipes.loc[[product]].iloc[0] * metal_value.reindex(recipes.columns).fillna(0.0)).sum())
        base = float((generic * metal_value.reindex(recipes.columns).fillna(0.0)).sum())
        if family in magnet.index:
            values[product] = magnet_prices[family] + content - base
        elif "NdFeB" in magnet.index:
            # No market price for this family: the NdFeB margin over its metal plus this recipe's metal.
            ndfeb = recipes.loc[[p for p in recipes.index if p.startswith("Nd")]].mean()
            margin = magnet_prices["NdFeB"] - float((ndfeb * metal_value.reindex(recipes.columns).fillna(0.0)).sum())
            # A magnet is worth at least its metal: a negative margin comes from quotes of different
            # years (2010's magnet price against Nd's first quote, of 2011's peak).
            values[product] = max(margin, 0.0) + content
    return pd.Series(values, dtype=float)


def _separating(capacity: xr.DataArray) -> list[str]:
    """Countries that can separate in the base year: reported output, or plants in service without a
    reported figure for that year (India's IREL with a 2023 base year, whose only output row is 2024)."""
    first = capacity.sel(stage="separation").isel(period=0)
    return sorted(str(country) for country in first["country"].values[first.values > 0])


def _operating_costs(tables: dict[str, pd.DataFrame], countries: Sequence[str], composition: pd.DataFrame, prices: pd.Series,
                     recipes: pd.DataFrame, factors: pd.Series, base_year: int, mined: pd.Series) -> xr.DataArray:
    """Costs calibrated to base-year prices (see `costs`): margins of metal over oxide and magnet over metal."""
    metal = cost_rules.metal_margin(tables["prices"], base_year, factors)
    oxides = prices.reindex(list(composition.columns))
    metal_prices = oxides / factors.reindex(oxides.index) + (metal or 0.0)
    generic = recipes.loc[[p for p in recipes.index if p.startswith("Nd")]].mean()
    magnet_price = float(prices["NdFeB"]) if "NdFeB" in prices.index else None
    margins = {"metal": metal, "magnet": cost_rules.magnet_margin(magnet_price, generic, metal_prices)}
    return cost_rules.operating_costs(tables, countries, composition, oxides.fillna(0.0), margins, base_year, mined)


def _on_goods(prices: pd.Series, rare_earths: Sequence[str], products: Sequence[str]) -> xr.DataArray:
    goods = [*rare_earths, *products]
    return xr.DataArray(prices.reindex(goods).fillna(0.0).to_numpy(), coords={"element": goods}, dims="element")


def _holding_costs(tables: dict[str, pd.DataFrame], prices: pd.Series) -> dict[str, xr.DataArray]:
    """Holding a tonne in stock for a year costs `stock_holding_cost` (a share per year) of its reference value."""
    share = supply_rules.parameter(tables["parameters"], "stock_holding_cost")
    per_good = xr.DataArray(prices.to_numpy() * share, coords={"element": list(prices.index)}, dims="element")
    return {"stock_holding_cost": per_good}


def _investment(tables: dict[str, pd.DataFrame], countries: Sequence[str], capacity: xr.DataArray, production: pd.DataFrame,
                options: BuildOptions) -> dict[str, xr.DataArray]:
    """Where capacity may be built: plants where they exist or are planned at that stage; mines in
    China (at its quota growth) and elsewhere only as listed mine projects not yet in capacity, up to
    their capacity (`investment_ceiling`). The importer's own plans are scenario levers
    (capacity_changes), not chosen here.

    Outside China a new mine is a known project: mines take six years, so what can produce by 2035 is
    in the pipeline. Letting any country that mined in 2024 build without limit put every new mine
    outside China in Madagascar (68 kt/yr by 2035; every new mine costs the world capex).
    """
    planned = pd.concat([tables["capacity"][["country", "stage"]], tables["projects"][["country", "stage"]]])
    candidates = {stage: set(planned.loc[planned["stage"] == stage, "country"]) for stage in STAGES}
    existing = capacity.isel(period=0) > 0
    for stage in STAGES:
        candidates[stage] |= {country for country in countries if bool(existing.sel(stage=stage, country=country))}
    pipeline = supply_rules.mine_pipeline(tables["projects"], options.supply, countries)
    listed = pipeline[pipeline > 0]
    candidates["mining"] = ({supply_rules.CHINA} & set(countries)) | set(listed.index)
    world = production.groupby("stage")["value_t"].sum()
    arrays = supply_rules.investment_arrays(tables, countries, candidates, capacity, world, options.grid)
    ceiling = xr.full_like(capacity, np.inf)
    ceiling.loc[{"stage": "mining", "country": list(listed.index)}] = listed.to_numpy()[:, np.newaxis]
    return {**arrays, "investment_ceiling": ceiling}


def magnet_pool(elements: Sequence[str], enabled: bool) -> dict[str, xr.DataArray]:
    """The NdPr pool: members marked 1; Nd keeps at least its recipe share (a floor), Pr may fall to zero."""
    members = [e for e in NDPR_POOL if e in elements] if enabled else []
    if len(members) < 2:
        return {}
    pool = xr.DataArray([1.0 if e in members else 0.0 for e in elements], coords={"ingredient": list(elements)}, dims="ingredient")
    floor = xr.DataArray([1.0 if e == NDPR_POOL[0] else 0.0 for e in elements], coords={"ingredient": list(elements)}, dims="ingredient")
    return {"magnet_pool": pool, "pool_floor": floor}


def _frame_array(frame: pd.DataFrame, rows: str, columns: str) -> xr.DataArray:
    return xr.DataArray(frame.to_numpy(dtype=float), coords={rows: list(frame.index), columns: list(frame.columns)}, dims=(rows, columns))


def mining_composition(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
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


def base_production(tables: dict[str, pd.DataFrame], base_year: int, series: str) -> pd.DataFrame:
    """Each country x stage total output in the latest year up to the base year on the chosen series.

    Magnets count both families: a plant's magnet capacity is shared by NdFeB and SmCo (China's
    2,920 t of SmCo beside its 300 kt of NdFeB), each family at its own latest year.
    """
    production = tables["production"]
    is_total = pd.Series([supply_rules.is_stage_total(stage, element)
                          for stage, element in zip(production["stage"], production["element"], strict=True)],
                         index=production.index, dtype=bool)
    totals = production[
        (production["country"] != WORLD)
        & (production["series"] == series)
        & (production["year"] <= base_year)
        & is_total
    ]
    latest = totals.sort_values("year").groupby(["country", "stage", "element"], as_index=False).last()
    return latest.groupby(["country", "stage"], as_index=False).agg(value_t=("value_t", "sum"))


def base_output_with_exports(tables: dict[str, pd.DataFrame], production: pd.DataFrame, base_year: int) -> pd.Series:
    """Base-year output per country x stage, raised to its reported exports where those are larger.

    Exports raise a floor only where the country reports output at that stage: a country that only
    trades compounds (Hong Kong, Singapore) is a trader, not a producer. Separation also counts
    imported concentrate on top of reported output: China's separation quota covers domestic ore,
    and imported Myanmar and Laos feed is processed outside it.
    """
    output = production.set_index(["country", "stage"])["value_t"].astype(float)
    latest = trade_rules.base_flows_table(tables["trade"], base_year)
    exported = latest.groupby(["exporter", "stage"])["value_t"].sum()
    exported.index = exported.index.set_names(["country", "stage"])
    exported = exported[exported.index.isin(output.index)]
    concentrate = latest[latest["stage"] == "mining"].groupby("importer")["value_t"].sum()
    separated = output.xs("separation", level="stage") if "separation" in output.index.get_level_values("stage") else pd.Series(dtype=float)
    fed = separated.add(concentrate, fill_value=0.0)
    fed.index = pd.MultiIndex.from_product([fed.index, ["separation"]], names=["country", "stage"])
    return pd.concat([output, exported, fed], axis=1).fillna(0.0).max(axis=1)


def thorium_per_reo(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Tonnes of ThO2 in the concentrate per tonne of REO mined: deposit mix x (ThO2 share / REO share)."""
    mixes = tables["country_deposits"]
    deposits = tables["deposits"].set_index("deposit_type")
    ratio = (deposits["tho2_share"] / deposits["reo_share"]).rename("ratio")
    merged = mixes.merge(ratio, left_on="deposit_type", right_index=True)
    return (merged["share"] * merged["ratio"]).groupby(merged["country"]).sum()
