"""Buyers from the tables: each country x sector's quantity per year, its bundle of goods, its curve.

A magnet sector (``sectors.kind = magnet``) buys tonnes of magnet, split into magnet products by its
grade mix (``magnet_grades``); its demand rows are magnet mass (t magnet) or the REO content of its
magnets, converted to magnet mass through the NdPr content (see `units`). An application sector
(``kind = oxide``) buys tonnes of REO of each separated oxide in its rows, one buyer per element
(``catalysts/La``, ``catalysts/Ce``): a glass polisher's cerium is worth what cerium is worth to it,
whatever neodymium costs. Magnet sectors keep one buyer each: a motor needs its grade mix whole.

Projections: each country x sector x element follows the scenario's path (else the first other
path alphabetically), linear between years. Outside the years its rows cover, a named country keeps
its share of the world's path, sector by sector (forward when it has no projection, backward for a
base year before its first row). The
world rows minus the named countries ("rest of world") go to other countries in proportion to their
base-year apparent consumption at the stage where the sector buys (magnets, or separated oxides).
When a country's own projection grows faster than the world's path (India's), the difference is
taken from every buyer without its own projection in proportion to what it would have bought, not
from the rest of the world alone (which would shrink it by half or more by 2035).

Demand curves: slices of each buyer's demand (1 % slices for the last tenth) valued on a constant-elasticity curve through
the reference point (the sector's reference price at its full demand), capped at the sector's value
multiple; priority sectors (defence) are lifted above every other curve of their kind (see bundled.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from raremap.errors import RaremapError
from raremap.model import units
from raremap.vocabulary import WORLD

STEP_SHARES = (0.85, 0.05, *([0.01] * 10))
"""Slices of each buyer's demand, most valued first: 1 % slices for the last tenth of demand (where
the price forms in all but the deepest shortages). The first 85 % is one slice: on the bundled
sectors every slice there sits at the choke value (the most elastic, -0.3, is capped at 1.5x from
a midpoint of 0.825 down), so finer slices (40, 30, 10, 5 %, before 2026-12-06) add variables, not
information. A sector with elasticity below about -0.6 would want them back."""

NDPR_BASIS = ("Nd", "Pr")
"""The elements that measure NdFeB magnet mass: every grade contains them in a known total share."""

BUYER_SEPARATOR = "/"
"""An oxide application's buyer of one element is named application/element (``catalysts/La``)."""

MAGNET_PRODUCTS = ("NdFeB", "SmCo")
"""Element codes of magnet mass in the demand, production and trade tables."""


@dataclass(frozen=True)
class Buyers:
    """Demand per country x sector x year (sector units), each sector's kind, bundle and curve inputs."""

    quantity: pd.DataFrame  # country, sector, period, value_t (t magnet or t REO per year)
    bundle: pd.DataFrame  # country, sector, element, share (goods per sector unit)
    sectors: pd.DataFrame  # indexed by sector: kind, value_multiple, elasticity, priority, substitution_*


def interpolate(rows: pd.DataFrame, starts: Sequence[float]) -> pd.Series:
    """The yearly rate at each period: linear between data points, flat before the first and after the last.

    A year's figure is its rate at mid-year, so a year-long period gets exactly its year's figure and
    quarters follow a smooth line instead of jumping each January.
    """
    series = rows.groupby("year")["value_t"].sum().sort_index()
    return pd.Series(rates_at(_middles(starts), series.index.to_numpy(float), series.to_numpy(float)), index=list(starts))


def rates_at(middles: np.ndarray, years: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Yearly figures as rates at the periods' middles: each year's figure is its rate at mid-year."""
    return np.interp(middles, years + 0.5, values)


def demand_rows(demand: pd.DataFrame, path: str) -> pd.DataFrame:
    """Historical rows plus, per country x sector x element, the chosen projection path (else any other)."""
    historical = demand[demand["path"] == "historical"]
    projections = demand[demand["path"] != "historical"].copy()
    projections["preference"] = (projections["path"] != path).astype(int)
    keys = ["country", "sector", "element"]
    chosen = projections.sort_values(["preference", "path"]).groupby(keys)["path"].first().rename("chosen")
    projections = projections.merge(chosen, left_on=keys, right_index=True)
    projections = projections[projections["path"] == projections["chosen"]]
    return pd.concat([historical, projections[demand.columns]], ignore_index=True)


def curve(reference: float, choke_multiple: float, elasticity: float) -> np.ndarray:
    """Willingness to pay of each slice (USD/kg) on a constant-elasticity curve through (full demand, reference).

    A slice whose midpoint is a share m of the buyer's demand is worth reference x m^(1/elasticity),
    capped at `choke_multiple` x reference (the sector's `value_multiple`: beyond it buyers go without).
    """
    if elasticity >= 0:
        raise RaremapError(f"sectors.elasticity = {elasticity}: a demand curve must slope down; give a negative elasticity")
    if choke_multiple < 1:
        raise RaremapError(f"sectors.value_multiple = {choke_multiple}: buyers must value their demand at least at the price; give 1 or more")
    upper = np.cumsum(STEP_SHARES)
    middle = upper - np.asarray(STEP_SHARES) / 2
    return reference * np.minimum(middle ** (1.0 / elasticity), choke_multiple)


def apparent_consumption(production: pd.DataFrame, trade: pd.DataFrame, stage: str, base_year: int) -> pd.Series:
    """Base-year output plus imports minus exports at a stage, per country (never below zero)."""
    output = production[production["stage"] == stage].groupby("country")["value_t"].sum()
    rows = trade[(trade["stage"] == stage) & (trade["year"] <= base_year)]
    if not rows.empty:
        rows = rows[rows["year"] == rows["year"].max()]
    imports = rows.groupby("importer")["value_t"].sum()
    exports = rows.groupby("exporter")["value_t"].sum()
    return output.add(imports, fill_value=0.0).sub(exports, fill_value=0.0).clip(lower=0.0)


PRODUCT_BASIS = {"NdFeB": NDPR_BASIS, "SmCo": ("Sm",)}
"""Elements whose content measures each magnet product's mass (grade-independent shares)."""


def grade_shares(grades: pd.DataFrame) -> dict[tuple[str, str, str], pd.Series]:
    """The `magnet_grades` table as (country, sector, product) -> share per magnet type, grouped once."""
    shares = grades.groupby(["country", "sector", "product", "magnet_type"])["share"].sum()
    mixes: dict[tuple[str, str, str], pd.Series] = {}
    for key, group in shares.groupby(level=["country", "sector", "product"]):
        country, sector, product = cast(tuple[str, str, str], key)
        mixes[(str(country), str(sector), str(product))] = group.droplevel(["country", "sector", "product"])
    return mixes


def grade_mixes(shares: dict[tuple[str, str, str], pd.Series], country: str, sector: str) -> dict[str, pd.Series]:
    """Per magnet product, the shares of its grades (magnet types) in a sector: the country's, else the world's."""
    mixes = {}
    for product in MAGNET_PRODUCTS:
        chosen = shares.get((country, sector, product), shares.get((WORLD, sector, product)))
        if chosen is not None:
            mixes[product] = chosen
    return mixes


Rates = dict[tuple[str, str], np.ndarray]
"""One country x sector's rows as yearly rates per period, by (element, unit) (see `yearly_rates`)."""


def yearly_rates(rows: pd.DataFrame, starts: Sequence[float]) -> dict[tuple[str, str], Rates]:
    """Every country x sector x element x unit of the demand rows as its rate per period (`interpolate`),
    the whole table summed per year in one step rather than group by group."""
    totals = rows.groupby(["country", "sector", "element", "unit", "year"])["value_t"].sum()
    middles = _middles(starts)
    keys = cast(pd.MultiIndex, totals.index).droplevel("year").to_numpy()
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])  # where each key's years begin (sorted)
    years = totals.index.get_level_values("year").to_numpy(float)
    values = totals.to_numpy(float)
    rates: dict[tuple[str, str], Rates] = {}
    for begin, end in itertools.pairwise(bounds if len(keys) else []):
        country, sector, element, unit = keys[begin]
        rate = rates_at(middles, years[begin:end], values[begin:end])
        rates.setdefault((str(country), str(sector)), {})[(str(element), str(unit))] = rate
    return rates


def product_mass(rates: Rates, product: str, mix: pd.Series, recipes: pd.DataFrame, factors: pd.Series,
                 periods: int) -> np.ndarray:
    """t per year of one magnet product for one country x sector: magnet mass rows, or REO content rows."""
    direct = rates.get((product, "t magnet"))
    if direct is not None:
        return direct
    basis = PRODUCT_BASIS[product]
    content = [element for element in basis if (element, "t REO") in rates]
    if not content:
        return np.zeros(periods)
    share = sum(float(mix[grade]) * float(recipes.loc[grade, [e for e in basis if e in recipes.columns]].sum()) for grade in mix.index)
    metal = np.zeros(periods)
    for element in content:
        metal = metal + rates[(element, "t REO")] * float(factors.get(element, units.DEFAULT_METAL_FACTOR))
    return metal / share


def sector_goods(rates: Rates, kind: str, country: str, sector: str, grades: dict[tuple[str, str, str], pd.Series],
                 recipes: pd.DataFrame, factors: pd.Series, periods: int) -> list[tuple[str, np.ndarray]]:
    """One country x sector's demand per good (t per year, per period): magnet types for magnet
    sectors, oxides otherwise."""
    goods = []
    if kind == "magnet":
        for product, mix in grade_mixes(grades, country, sector).items():
            mass = product_mass(rates, product, mix, recipes, factors, periods)
            goods += [(str(grade), mass * share) for grade, share in mix.items()]
    else:
        goods += [(element, rate) for (element, unit), rate in sorted(rates.items()) if unit == "t REO"]
    return goods


def goods_demand(tables: dict[str, pd.DataFrame], path: str, years: Sequence[float], recipes: pd.DataFrame,
                 factors: pd.Series) -> pd.DataFrame:
    """Demand per country x sector x good x period (t/yr): named countries and the world, before allocation."""
    rows = demand_rows(tables["demand"], path)
    kinds = tables["sectors"].set_index("sector")["kind"]
    grades = grade_shares(tables["magnet_grades"])
    periods = len(years)
    columns: dict[str, list[object]] = {"country": [], "sector": [], "element": []}
    values = []
    for (country, sector), rates in sorted(yearly_rates(rows, years).items()):
        for element, rate in sector_goods(rates, str(kinds.get(sector, "oxide")), country, sector, grades, recipes, factors, periods):
            columns["country"].append(country)
            columns["sector"].append(sector)
            columns["element"].append(element)
            values.append(rate)
    count = len(values)
    goods = pd.DataFrame({
        **{name: np.repeat(np.asarray(column, dtype=object), periods) for name, column in columns.items()},
        "period": np.tile(np.asarray(years, dtype=float), count),
        "value_t": np.concatenate(values) if values else np.zeros(0),
    })
    return follow_world(goods, rows, years)


def follow_world(goods: pd.DataFrame, rows: pd.DataFrame, starts: Sequence[float]) -> pd.DataFrame:
    """Outside the years its own rows cover, a named country's sector keeps its share of the world.

    A country with only base-year rows grows with the world's path after them (otherwise it would
    stay flat while the world grows, and all growth would fall on the rest of the world); a base year
    before a country's first row (a back-test from 2010) scales it back with the world's series.
    """
    world_rows = rows[rows["country"] == WORLD]
    if world_rows.empty:
        return goods
    middles = _middles(starts)
    years = np.asarray(starts, dtype=float).astype(int)
    world = {sector: interpolate(group, starts).to_numpy() for sector, group in world_rows.groupby("sector")}
    spans = rows[rows["country"] != WORLD].groupby(["country", "sector"])["year"].agg(["min", "max"])
    per_buyer = []
    for (country, sector), first, last in spans.itertuples(name=None):
        if sector not in world:
            continue
        series = world[sector]
        at_anchor = np.interp(np.clip(middles, float(first) + 0.5, float(last) + 0.5), middles, series)
        scale = np.divide(series, at_anchor, out=np.ones_like(series), where=at_anchor > 0)
        outside = (years < int(first)) | (years > int(last))
        per_buyer.append(pd.DataFrame({"country": country, "sector": sector, "period": list(starts), "scale": scale, "follows": outside}))
    if not per_buyer:
        return goods.assign(follows=False)
    factors = pd.concat(per_buyer, ignore_index=True)
    matched = goods[["country", "sector", "period"]].merge(factors, on=["country", "sector", "period"], how="left")
    # Rows of the world and of buyers without a span of their own match nothing: unscaled, not following.
    return goods.assign(value_t=goods["value_t"] * matched["scale"].fillna(1.0).to_numpy(),
                        follows=matched["follows"].eq(True).to_numpy())


def _middles(starts: Sequence[float]) -> np.ndarray:
    starts_array = np.asarray(starts, dtype=float)
    lengths = np.diff(np.append(starts_array, starts_array[-1] + 1.0)) if len(starts_array) > 1 else np.ones(1)
    return starts_array + np.minimum(lengths, 1.0) / 2


REST_OF_WORLD = "ROW"
"""Buyers that receive less than `SMALL_SHARE` of the world remainder are pooled as one rest-of-world buyer."""

SMALL_SHARE = 0.01


def allocate_world(goods: pd.DataFrame, consumption: dict[str, pd.Series], kinds: pd.Series) -> pd.DataFrame:
    """World rows minus the named countries go to other countries by base-year apparent consumption.

    `consumption` has the shares per kind of sector (magnet: magnets; oxide: separated oxides).
    Countries with less than 1 % of the remainder are pooled as the rest of the world (ROW), so the
    model does not carry a hundred buyers of a few tonnes each.
    """
    columns = ["country", "sector", "element", "period", "value_t"]
    world = goods[goods["country"] == WORLD]
    named = goods[goods["country"] != WORLD]
    if world.empty:
        return named[columns]
    named, left = share_the_squeeze(world, named)
    remainder = left[left > 0].reset_index()
    frames = [named[columns]]
    sector_kind = named["sector"].map(kinds).fillna("oxide")
    for kind, shares in consumption.items():
        # A named country keeps its own rows for a kind of use and takes a share of the rest of the
        # world's demand for the kinds it has no rows for (China's magnet rows leave it an oxide buyer).
        shares = shares.drop(labels=list(set(named.loc[sector_kind == kind, "country"])), errors="ignore")
        shares = shares[shares > 0]
        part = remainder[remainder["sector"].map(kinds).fillna("oxide") == kind]
        if part.empty:
            continue
        if shares.empty:
            raise RaremapError(f"world {kind} demand cannot be allocated: no other country uses {kind}s in the base year")
        shares = shares / shares.sum()
        small = shares < SMALL_SHARE
        shares = pd.concat([shares[~small], pd.Series({REST_OF_WORLD: float(shares[small].sum())})])
        for country, share in shares[shares > 0].items():
            frames.append(part.assign(country=country, value_t=part["value_t"] * share))
    return pd.concat(frames, ignore_index=True)[columns]


def share_the_squeeze(world: pd.DataFrame, named: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Named buyers following the world and the rest of the world share what projections leave.

    Per sector x element x period: what the world's path leaves after the countries with their own
    projection for the period is split between the named countries following the world and the rest
    of the world (the base period's remainder grown with the world's path), in proportion to what
    each would buy if everyone followed the world. Returns the named rows and the rest of the world.
    """
    keys = ["sector", "element", "period"]
    follows = named["follows"] if "follows" in named else pd.Series(False, index=named.index)
    total = world.groupby(keys)["value_t"].sum()
    projected = named[~follows].groupby(keys)["value_t"].sum().reindex(total.index, fill_value=0.0)
    following = named[follows].groupby(keys)["value_t"].sum().reindex(total.index, fill_value=0.0)
    base_period = min(world["period"])
    base = total.xs(base_period, level="period")
    base_named = named[named["period"] == base_period].groupby(["sector", "element"])["value_t"].sum()
    base_left = (base - base_named.reindex(base.index, fill_value=0.0)).clip(lower=0.0)
    pairs = cast(pd.MultiIndex, total.index).droplevel("period")
    world_base = pd.Series(base.reindex(pairs).to_numpy(), index=total.index)
    rest = pd.Series(base_left.reindex(pairs).to_numpy(), index=total.index) * (total / world_base).where(world_base > 0, 1.0)
    wanted = following + rest
    factor = ((total - projected).clip(lower=0.0) / wanted).where(wanted > 0, 1.0)
    scaled = named.join(factor.rename("factor"), on=keys)["factor"].where(follows, 1.0).fillna(1.0)
    named = named.assign(value_t=named["value_t"] * scaled)
    left = (total - projected - following * factor).clip(lower=0.0).rename("value_t")
    return named, left


def application(buyer: str) -> str:
    """The sector a buyer belongs to: ``catalysts`` for ``catalysts/La``, ``ev`` for ``ev``."""
    return buyer.split(BUYER_SEPARATOR, 1)[0]


def one_buyer_per_element(goods: pd.DataFrame, sectors: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oxide applications split into one buyer per element, each with its application's curve and
    substitution (the `sectors` row copied under the buyer's name).

    With one bundle per application, a rise in NdPr priced the cerium and lanthanum users of that
    application out with it (64 % of China's other applications in 2030 on the bundled data).
    """
    named = [str(sector) for sector in sectors["sector"] if BUYER_SEPARATOR in str(sector)]
    if named:
        raise RaremapError(f"sectors.csv, column sector: {', '.join(named)} contains '{BUYER_SEPARATOR}', which names an "
                           f"oxide application's buyer of one element; rename the sector without '{BUYER_SEPARATOR}'")
    kinds = sectors.set_index("sector")["kind"]
    oxide = goods["sector"].map(kinds).fillna("oxide").eq("oxide").to_numpy()
    if not oxide.any():
        return goods, sectors
    goods = goods.copy()
    goods.loc[oxide, "sector"] = goods.loc[oxide, "sector"] + BUYER_SEPARATOR + goods.loc[oxide, "element"]
    rows = sectors.set_index("sector")
    buyers = sorted(set(goods.loc[oxide, "sector"]))
    known = [buyer for buyer in buyers if application(buyer) in rows.index]
    split = rows.loc[[application(buyer) for buyer in known]].set_axis(known)
    applications = sorted({application(buyer) for buyer in known})
    return goods, pd.concat([rows.drop(index=applications), split]).rename_axis("sector").reset_index()


def buyers(demand: pd.DataFrame, sectors: pd.DataFrame) -> Buyers:
    """Per country x buyer: quantity per period and the bundle of goods (shares in the base period)."""
    goods = pd.DataFrame(demand.groupby(["country", "sector", "element", "period"], as_index=False)["value_t"].sum())
    goods, sectors = one_buyer_per_element(goods, sectors)
    quantity = pd.DataFrame(goods.groupby(["country", "sector", "period"], as_index=False)["value_t"].sum())
    first = goods["period"].min()
    base = goods[goods["period"] == first]
    totals = base.groupby(["country", "sector"])["value_t"].transform("sum")
    bundle = base.assign(share=base["value_t"] / totals.where(totals > 0))[["country", "sector", "element", "share"]]
    # Buyers with no base-year demand take their first year's mix.
    missing = quantity.groupby(["country", "sector"])["value_t"].sum().index.difference(bundle.set_index(["country", "sector"]).index.unique())
    if len(missing):
        later = goods.set_index(["country", "sector"]).loc[missing].reset_index()
        later = later[later["period"] == later.groupby(["country", "sector"])["period"].transform(lambda p: p[later.loc[p.index, "value_t"] > 0].min())]
        totals = later.groupby(["country", "sector"])["value_t"].transform("sum")
        bundle = pd.concat([bundle, later.assign(share=later["value_t"] / totals)[["country", "sector", "element", "share"]]])
    return Buyers(quantity=quantity, bundle=bundle.dropna(), sectors=sectors.set_index("sector"))
