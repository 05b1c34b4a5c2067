"""Supply from the tables: capacity in service by period, the project pipeline, and what investment costs.

Capacity per stage x country x period (t/yr; REO at mining and separation, metal at metal, magnets at
magnet) is the base-year capacity plus the pipeline:

- base-year capacity = the larger of the facilities in service in the base year (``projects`` and
  ``capacity`` rows) and the base-year output x headroom (output raised to reported exports, and at
  separation to output + concentrate imports);
- projects that start after the base year are added on top, ramping up linearly over their
  ``ramp_up_years``, if their status is among the chosen ones (operating and construction by
  default; committed, announced and speculative by a setting), weighted by their probability where a
  source gives one and the setting asks for it;
- a national total in ``capacity`` measured after the base year (with a chosen status) lifts the
  capacity to its level from its year: it counts every plant built by then, so it is not added.

Capacity measured in an element group (NdPr, ...) is converted to REO fed by the share of that group
in the plant's feed: the country's own ore, else the ore it imported in the base year, else the
world's average. A separation row in heavy rare earths (HREE, Dy, Tb, ...) is a heavy circuit beside
a light one that already takes the plant's feed, so it adds none.

Investment: the LP may add capacity at a stage in a country that has, or plans, capacity there
(mines: China, and elsewhere only the listed mine projects not yet in capacity, up to their capacity;
`mine_pipeline`), paying the world's annualised capital cost of the stage (``costs`` WLD row x the
annuity of ``discount_rate`` over ``asset_life_years``) from ``lead_times`` after the base year on.
China's additions per year are bounded by its quota growth; everybody else's together by
``non_china_rampup_rate`` x the stage's world output per year (Sprecher et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.periods import PeriodGrid
from raremap.vocabulary import NATIONAL_TOTAL, STAGE_TOTAL, STAGES, WORLD

ELEMENT_GROUPS = {"NdPr": ("Nd", "Pr"), "HREE": ("Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y")}
HEAVY_CIRCUIT_ELEMENTS = frozenset({"HREE", *ELEMENT_GROUPS["HREE"]})
"""Separation rows in these units are heavy circuits (Lynas Malaysia, Arafura Nolans, Energy Fuels White Mesa)
beside a light circuit that already takes the plant's whole feed: they add no REO fed."""
MAGNET_UNITS = ("NdFeB", "SmCo")
DEFAULT_STATUSES = ("operating", "construction")
PLANNED_STATUSES = ("committed", "announced")
"""Project statuses with a plan behind them: a listed mine the LP may choose to build (a speculative
one has no firm plan)."""
CHINA = "CHN"
CHINA_GROWTH_PARAMETERS = {
    "mining": "china_capacity_growth_per_year",
    "separation": "china_separation_quota_growth_per_year",
    "metal": "china_separation_quota_growth_per_year",
    "magnet": "china_separation_quota_growth_per_year",
}
"""China's growth per year at each stage: its mining quota's growth, and at the processing stages its
separation quota's (no metal or magnet figure is published; processing follows separation)."""
CHINA_QUOTA_LEAD_YEARS = 1.0
"""China raises its quotas by annual decision on capacity that mostly exists: its processing capacity
runs well above output (sintered magnets 513 kt for 300 kt made in 2025, capacity table), so new output
follows a decision within a year."""


@dataclass(frozen=True)
class SupplyOptions:
    """Which pipeline to count and how freely capacity may grow."""

    capacity_headroom: float = 1.1
    pipeline_statuses: Sequence[str] = DEFAULT_STATUSES
    probability_weighted: bool = False
    investment: bool = True
    end_of_life_recycling: bool = True


def parameter(parameters: pd.DataFrame, name: str) -> float:
    """One value of the `parameters` table, or a clear error naming the row to add."""
    rows = parameters[parameters["parameter"] == name]
    if rows.empty:
        raise RaremapError(f"parameters.csv has no row {name!r}; add it (value, unit, description, source)")
    return float(rows["value"].iloc[0])


def group_share(composition: pd.DataFrame, feed: pd.Series, element: str) -> float:
    """Share of an element or group in a plant's REO feed (feed: composition weights by origin)."""
    members = [e for e in ELEMENT_GROUPS.get(element, (element,)) if e in composition.columns]
    if not members or feed.sum() <= 0:
        return 0.0
    mix = composition.reindex(feed.index).fillna(0.0).mul(feed, axis=0).sum() / feed.sum()
    return float(mix[members].sum())


def feed_of(country: str, composition: pd.DataFrame, trade_in: pd.DataFrame,
            own_output: float | None = None) -> pd.Series:
    """Where a separator's feed comes from (weights by origin).

    Without `own_output`: its own ore, else its base-year concentrate imports, else the world. With it
    (t REO the country mined in the base year): its own ore and its imports by tonnage, so Malaysia's
    feed is Mount Weld's 31 kt, not its 0.1 kt of tin-tailing monazite.
    """
    imports = trade_in[(trade_in["importer"] == country) & (trade_in["exporter"] != country)].groupby("exporter")["value_t"].sum()
    imports = imports[imports.index.isin(composition.index) & (imports > 0)]
    if own_output is not None:
        own = pd.Series({country: own_output}) if country in composition.index and own_output > 0 else pd.Series(dtype=float)
        feed = pd.concat([own, imports])
        if feed.sum() > 0:
            return feed
    if country in composition.index:
        return pd.Series({country: 1.0})
    if imports.sum() > 0:
        return imports
    return pd.Series(1.0, index=composition.index)


def is_stage_total(stage: str, element: str) -> bool:
    """Whether a production or capacity row measures its stage's whole output (REO, or magnets of either family)."""
    return element == STAGE_TOTAL[stage] or (stage == "magnet" and element in MAGNET_UNITS)


def in_stage_units(row: pd.Series, composition: pd.DataFrame, trade_in: pd.DataFrame,
                   mined: pd.Series | None = None) -> float:
    """A capacity row's t/yr in its stage's total unit (element groups at separation converted to REO by
    the plant's feed; `mined`, t REO per country in the base year, weighs own ore against imports)."""
    stage, element, value = str(row["stage"]), str(row["element"]), float(row["value_t"])
    if is_stage_total(stage, element):
        return value
    if stage == "separation" and element in HEAVY_CIRCUIT_ELEMENTS:
        return 0.0  # a heavy circuit splits the heavy fraction of feed its plant's light circuit already takes
    if stage in ("mining", "separation"):
        country = str(row["country"])
        own = None if mined is None or stage == "mining" else float(mined.get(country, 0.0))
        share = group_share(composition, feed_of(country, composition, trade_in, own), element)
        return value / share if share > 0 else 0.0
    return value


def ramp(periods: np.ndarray, start: float, ramp_years: float) -> np.ndarray:
    """Share of full capacity in each period: linear from the start year over the ramp-up, full after.

    A period counts in the calendar year it starts in, as a scenario's capacity changes do
    (`simulate.apply`): counting from the period's middle put 2025's third and fourth quarters in 2026."""
    year = np.floor(periods + 1e-9)
    return np.clip((year - start + 1) / (ramp_years + 1), 0.0, 1.0)


def projects_frame(projects: pd.DataFrame, options: SupplyOptions) -> pd.DataFrame:
    """The chosen projects with a start year, a ramp and a weight."""
    chosen = projects[projects["status"].isin(list(options.pipeline_statuses))].copy()
    chosen["weight"] = chosen["probability"].fillna(1.0) if options.probability_weighted else 1.0
    chosen["ramp_up_years"] = chosen["ramp_up_years"].fillna(0.0)
    return chosen.rename(columns={"capacity_t": "value_t"})


def mine_pipeline(projects: pd.DataFrame, options: SupplyOptions, countries: Sequence[str]) -> pd.Series:
    """t REO/yr per country of the listed mine projects outside China with a plan (committed or
    announced) that are not already capacity under the pipeline setting: the most new mining the LP may
    build there (0 where none is listed)."""
    investable = set(PLANNED_STATUSES) - set(options.pipeline_statuses)
    rows = projects[(projects["stage"] == "mining") & (projects["element"] == STAGE_TOTAL["mining"])
                    & projects["status"].isin(investable) & (projects["country"] != CHINA)]
    return rows.groupby("country")["capacity_t"].sum().reindex(list(countries), fill_value=0.0).astype(float)


def capacity_array(
    tables: dict[str, pd.DataFrame],
    base_floor: pd.Series,
    composition: pd.DataFrame,
    countries: Sequence[str],
    grid: PeriodGrid,
    options: SupplyOptions,
) -> xr.DataArray:
    """Capacity per stage x country x period: base-year capacity plus the pipeline that starts later."""
    base_year = int(grid.starts[0])
    periods = np.array(grid.starts)
    imports = concentrate_imports(tables["trade"], base_year)
    values = np.zeros((len(STAGES), len(countries), len(periods)))
    index = {country: position for position, country in enumerate(countries)}
    facilities = _facilities_in_base_year(tables, projects_frame(tables["projects"], options), base_year)
    mined = output_at(base_floor, "mining")
    for position, stage in enumerate(STAGES):
        for country, column in index.items():
            rows = _counted(facilities[(facilities["stage"] == stage) & (facilities["country"] == country)])
            in_service = sum(in_stage_units(row, composition, imports, mined) for _, row in rows.iterrows())
            values[position, column, :] = max(in_service, float(base_floor.get((country, stage), 0.0)) * options.capacity_headroom)
    for kind, year, row in _later_events(tables, options, base_year):
        if row["country"] not in index or row["stage"] not in STAGES:
            continue
        place = (STAGES.index(row["stage"]), index[row["country"]])
        amount = in_stage_units(row, composition, imports, mined) * float(row["weight"])
        if kind == "project":
            values[place] += amount * ramp(periods, year, float(row["ramp_up_years"]))
        else:  # a later national total is the level of everything built by its year, not an addition
            from_then = periods >= year
            values[place][from_then] = np.maximum(values[place][from_then], amount)
    return xr.DataArray(values, coords={"stage": list(STAGES), "country": list(countries), "period": list(grid.starts)},
                        dims=("stage", "country", "period"))


def _later_events(tables: dict[str, pd.DataFrame], options: SupplyOptions,
                  base_year: int) -> list[tuple[str, float, pd.Series]]:
    """Projects starting after the base year and national totals measured after it, in time order.

    A national total measured later (China's sintered-magnet industry in 2025) counts every plant
    built by then, so at its year it lifts capacity to its level; projects of the same year come first
    so that the total includes them, and projects starting later add on top.
    """
    later = projects_frame(tables["projects"], options)
    later = later[later["expected_start"].fillna(base_year) > base_year]
    events = [("project", float(row["expected_start"]), row) for _, row in later.iterrows()]
    capacity = tables["capacity"]
    totals = capacity[(capacity["year"] > base_year) & capacity["status"].isin(list(options.pipeline_statuses))
                      & capacity["facility"].astype(str).str.contains(NATIONAL_TOTAL, case=False, regex=False)]
    events += [("total", float(row["year"]), row) for _, row in totals.assign(weight=1.0).iterrows()]
    return sorted(events, key=lambda event: (event[1], event[0] == "total"))


def base_year_as_reported(capacity: xr.DataArray, observed: pd.Series, headroom: float) -> xr.DataArray:
    """In the base year a country produces at most what it reported (with the capacity headroom).

    The base year is history: without this bound a plant that ran at a fraction of its capacity (India
    separated about 1,400 t in 2024 with 7,500 t installed) would run full in the model's base year,
    and its invented exports would become the base flows trade sticks to. Countries with no reported
    output at a stage keep their capacity.
    """
    first = capacity.isel(period=0).copy()
    for (country, stage), value in zip(observed.index.tolist(), observed.to_numpy(), strict=True):
        if value > 0 and country in first["country"] and stage in first["stage"]:
            first.loc[{"stage": stage, "country": country}] = min(float(first.sel(stage=stage, country=country)), value * headroom)
    bounded = capacity.copy()
    bounded[{"period": 0}] = first
    return bounded


def _counted(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that measure a place's capacity: totals where there are any, else element-group rows.

    A group row (NdPr, HREE) beside a total is part of that total (China's ionic-clay quota is part of
    its mining quota), and converting it to REO by a feed share would count it again, inflated.
    """
    is_total = [is_stage_total(stage, element) for stage, element in zip(rows["stage"], rows["element"], strict=True)]
    return rows[is_total] if any(is_total) else rows


def _facilities_in_base_year(tables: dict[str, pd.DataFrame], projects: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Facilities in service in the base year: projects started by then, and `capacity` rows up to it."""
    started = projects[projects["expected_start"].fillna(base_year) <= base_year]
    capacity = tables["capacity"]
    totals = capacity[(capacity["year"] <= base_year) & capacity["status"].isin(["operating", "construction"])]
    latest = totals.sort_values("year").groupby(["country", "stage", "facility"], as_index=False).last()
    # A facility listed in both tables (Lynas Kalgoorlie and Kuantan) is counted once, from `capacity`.
    listed = set(zip(latest["country"], latest["stage"], latest["facility"], strict=True))
    started = started[[(country, stage, name) not in listed
                       for country, stage, name in zip(started["country"], started["stage"], started["project"], strict=True)]]
    columns = ["country", "stage", "element", "value_t"]
    frames = [started[columns], latest[columns]]
    # A national total in `capacity` stands for every facility of its country and stage.
    combined = pd.concat(frames, ignore_index=True)
    national = set(zip(latest.loc[latest["element"] == latest["stage"].map(STAGE_TOTAL), "country"],
                       latest.loc[latest["element"] == latest["stage"].map(STAGE_TOTAL), "stage"], strict=True))
    keep = [(country, stage) not in national or source == "capacity"
            for country, stage, source in zip(combined["country"], combined["stage"],
                                              ["projects"] * len(started) + ["capacity"] * len(latest), strict=True)]
    return combined[keep]


def concentrate_imports(trade: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Reported concentrate trade rows, each importer's latest year up to the base year."""
    rows = trade[(trade["stage"] == "mining") & (trade["year"] <= base_year)]
    return rows[rows["year"] == rows.groupby("importer")["year"].transform("max")]


def output_at(observed: pd.Series, stage: str) -> pd.Series:
    """Base-year output per country at one stage (t/yr; empty where no country reports it)."""
    if stage not in observed.index.get_level_values("stage"):
        return pd.Series(dtype=float)
    return observed.xs(stage, level="stage")


def annuity(discount_rate: float, life_years: float) -> float:
    """Share of a capital cost paid each year over an asset's life at a discount rate."""
    if discount_rate <= 0:
        return 1.0 / life_years
    return discount_rate / (1 - (1 + discount_rate) ** -life_years)


def by_region(table: pd.DataFrame, column: str, stage: str, country: str) -> float | None:
    """A country's figure for a stage (its latest row), else the world's (WLD row), else None."""
    return RegionFigures(table, column)(stage, country)


class RegionFigures:
    """`by_region` for every stage and country of one table column, each stage's rows sorted once:
    for many look-ups (some eighty a chain) rather than filtering and sorting the table each time."""

    def __init__(self, table: pd.DataFrame, column: str):
        order = "year" if "year" in table.columns else "stage"
        self.latest: dict[tuple[str, str], float] = {}
        for stage in table["stage"].unique():
            rows = table[table["stage"] == stage].sort_values(order).drop_duplicates("region", keep="last")
            self.latest.update({(str(stage), str(region)): float(value) for region, value in zip(rows["region"], rows[column], strict=True)})

    def __call__(self, stage: str, country: str) -> float | None:
        return self.latest.get((stage, country), self.latest.get((stage, WORLD)))


def investment_arrays(
    tables: dict[str, pd.DataFrame],
    countries: Sequence[str],
    candidates: dict[str, set[str]],
    base_capacity: xr.DataArray,
    world_output: pd.Series,
    grid: PeriodGrid,
) -> dict[str, xr.DataArray]:
    """Cost, lead time and growth limits of new capacity per stage x country (absent where not allowed)."""
    parameters = tables["parameters"]
    factor = annuity(parameter(parameters, "discount_rate"), parameter(parameters, "asset_life_years"))
    shape = (len(STAGES), len(countries))
    cost, lead, rate, pooled = np.zeros(shape), np.full(shape, np.inf), np.full(shape, np.inf), np.zeros(shape)
    capexes, lead_times = RegionFigures(tables["costs"], "capex_usd_per_tpa"), RegionFigures(tables["lead_times"], "lead_time_years")
    for row, stage in enumerate(STAGES):
        for column, country in enumerate(countries):
            if country not in candidates.get(stage, set()):
                continue
            # One world cost per stage: the data's country rows mix subsidies and full costs, so a
            # country's own row would decide where the model builds for the wrong reason.
            capex = capexes(stage, WORLD)
            years = lead_times(stage, country)
            if capex is None or years is None:
                raise RaremapError(f"costs or lead_times has no row for stage {stage} (country {country} or WLD); add one")
            cost[row, column] = capex * factor / 1000.0
            lead[row, column] = years
            if country == CHINA and stage in CHINA_GROWTH_PARAMETERS:
                lead[row, column] = CHINA_QUOTA_LEAD_YEARS
                base = float(base_capacity.sel(stage=stage, country=country).isel(period=0))
                rate[row, column] = parameter(parameters, CHINA_GROWTH_PARAMETERS[stage]) * base
            elif country != CHINA:
                pooled[row, column] = 1.0
    pool_rate = parameter(parameters, "non_china_rampup_rate")
    pool_limit = np.array([[pool_rate * float(world_output.get(stage, 0.0))] * len(grid.starts) for stage in STAGES])
    coords = {"stage": list(STAGES), "country": list(countries)}
    dims = ("stage", "country")
    return {
        "investment_cost": xr.DataArray(cost, coords=coords, dims=dims),
        "investment_lead_years": xr.DataArray(lead, coords=coords, dims=dims),
        "investment_rate_limit": xr.DataArray(rate, coords=coords, dims=dims),
        "investment_pooled": xr.DataArray(pooled, coords=coords, dims=dims),
        "investment_pool_limit": xr.DataArray(pool_limit, coords={"stage": list(STAGES), "period": list(grid.starts)},
                                               dims=("stage", "period")),
    }
