"""A portfolio (the plan's first-stage decisions) written as the simulator reads it, and run there.

The same portfolio the planner evaluates in its reduced second stage is, for the full engine:

- domestic builds: ``capacity_changes`` at the importer (online after the lead time, the partnership's
  cut and the scenario's slip; ramping up as the data say);
- offtakes: term contracts on the partner -> importer edge for the contracted goods (the supply
  chain's ``contract`` array, added before the scenario is applied, so export controls shrink them
  as they shrink any contract); joint ventures add ``capacity_changes`` at the partner too;
- stockpiles: ``stockpiles`` held by the importer, released when its price is above the release price;
- `keep_at_home`: an export ban on the importer's magnets, or on the metal or oxide they hold, from
  the horizon's start.

`simulate_portfolio` runs the simulator on that chain and scenario; the planner's out-of-sample
check and the differential test (tests/plan) use it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.plan.options import Options
from raremap.plan.scenarios import Draw
from raremap.scenario.spec import CapacityChange, ExportBan, Policies, ReleaseRule, Scenario, Stockpile
from raremap.simulate.run import Result, Simulation
from raremap.vocabulary import TRADED_STAGES

SMALL_T = 1e-6
"""Tonnes below which a decision is taken as none (solver noise)."""


@dataclass(frozen=True)
class Portfolio:
    """First-stage decisions by name: t/yr built [unit, start], t/yr contracted [option, start], t stocked
    [stockpile], and the technology partnerships signed."""

    build: xr.DataArray
    contract: xr.DataArray
    stock: xr.DataArray
    signed: frozenset[str] = frozenset()
    keep_at_home: tuple[str, ...] = ()

    def values(self) -> dict[str, xr.DataArray]:
        """The first-stage values by LP variable name."""
        return {"Build": self.build, "Contract": self.contract, "Stock": self.stock}

    def is_empty(self) -> bool:
        return not any(float(np.nansum(array.values)) > SMALL_T for array in self.values().values())

    def of(self, name: str) -> xr.DataArray:
        """The volumes of one option by name (per start year; a stockpile's size), zero if it was not open."""
        for array, dimension in ((self.build, "unit"), (self.contract, "option"), (self.stock, "stockpile")):
            names = [str(value) for value in array[dimension].values]
            if name in names:
                return array.isel({dimension: names.index(name)}, drop=True)
        return xr.DataArray(0.0)


def empty_portfolio(options: Options, starts: Sequence[int]) -> Portfolio:
    """Nothing committed (the status quo)."""
    def zeros(names: list[str], dimension: str, with_start: bool = True) -> xr.DataArray:
        if with_start:
            return xr.DataArray(np.zeros((len(names), len(starts))), coords={dimension: names, "start": list(starts)},
                                dims=(dimension, "start"))
        return xr.DataArray(np.zeros(len(names)), coords={dimension: names}, dims=dimension)

    return Portfolio(zeros([item.name for item in options.builds], "unit"),
                     zeros([item.name for item in options.offtakes], "option"),
                     zeros([item.name for item in options.stockpiles], "stockpile", with_start=False))


def portfolio_chain(chain: SupplyChain, portfolio: Portfolio, options: Options, importer: str) -> SupplyChain:
    """The supply chain with the portfolio's offtakes as term contracts into the importer (t/yr)."""
    contracts = portfolio.contract.fillna(0.0)
    if float(contracts.sum()) <= SMALL_T:
        return chain
    contract = chain["contract"].copy()
    period = chain.data["period"]
    for item in options.offtakes:
        volumes = portfolio.of(item.name)
        if volumes.ndim == 0:
            continue
        in_force = sum((period >= float(start) + item.spec.lead_time_years) * float(volume)
                       for start, volume in zip(volumes["start"].values, volumes.values, strict=True) if volume > SMALL_T)
        if isinstance(in_force, int):
            continue
        edge = ((contract["stage"] == item.spec.stage) & (contract["exporter"] == item.spec.partner)
                & (contract["importer"] == importer))
        contract = contract + edge * item.mix.reindex(element=chain.elements, fill_value=0.0) * in_force
    return chain.replace(contract=contract.transpose("stage", "exporter", "importer", "element", "period"))


def portfolio_scenario(scenario: Scenario, portfolio: Portfolio, options: Options, draw: Draw | None,
                       horizon_start: int) -> Scenario:
    """The scenario with the portfolio's builds, joint ventures, stockpiles and export bans added."""
    changes: list[CapacityChange] = []
    for build in options.builds:
        signed = build.signed(portfolio.signed)
        slip = draw.slips.get(build.name, 0) if draw is not None else 0
        volumes = portfolio.of(build.name)
        if volumes.ndim == 0:
            continue
        changes += [CapacityChange(country=scenario.importer, stage=build.spec.stage, capacity_t=float(volume),
                                   online_year=int(start) + signed.lead_time_years + slip,
                                   ramp_up_years=signed.ramp_up_years, note=build.name)
                    for start, volume in zip(volumes["start"].values, volumes.values, strict=True) if volume > SMALL_T]
    for item in options.offtakes:
        if item.spec.kind != "joint_venture":
            continue
        volumes = portfolio.of(item.name)
        if volumes.ndim == 0:
            continue
        changes += [CapacityChange(country=item.spec.partner, stage=item.spec.stage, capacity_t=float(volume),
                                   online_year=int(start) + item.spec.lead_time_years, note=item.name)
                    for start, volume in zip(volumes["start"].values, volumes.values, strict=True) if volume > SMALL_T]
    stocks = []
    for stockpile in options.stockpiles:
        size = float(portfolio.of(stockpile.name))
        if size <= SMALL_T:
            continue
        for good, share in stockpile.mix.to_series().items():
            if share > 0:
                rule = ReleaseRule(price_threshold_usd_per_kg=float(stockpile.release_usd_per_kg.sel(element=good)),
                                   max_release_share_per_year=stockpile.spec.max_release_share_per_year)
                stocks.append(Stockpile(holder=scenario.importer, stage=stockpile.spec.stage, element=str(good),
                                        size_t=size * float(share), release=rule))
    policies = scenario.policies
    if portfolio.keep_at_home:
        bans = [ExportBan(country=scenario.importer, stages=(stage,), elements=tuple(options.kept_goods[stage]),  # type: ignore[arg-type]
                          start=datetime.date(horizon_start, 1, 1)) for stage in portfolio.keep_at_home
                if stage in TRADED_STAGES]
        policies = Policies(export_bans=(*policies.export_bans, *bans), domestic_priority=policies.domestic_priority,
                            tariffs=policies.tariffs)
    return scenario.model_copy(update={
        "capacity_changes": (*scenario.capacity_changes, *changes),
        "stockpiles": (*scenario.stockpiles, *stocks),
        "policies": policies,
    })


def simulate_portfolio(chain: SupplyChain, scenario: Scenario, portfolio: Portfolio, options: Options,
                       draw: Draw | None, horizon_start: int) -> Result:
    """The simulator's run of a scenario with the portfolio in it (the full engine, nothing reduced)."""
    market = portfolio_chain(chain, portfolio, options, scenario.importer)
    written = portfolio_scenario(scenario, portfolio, options, draw, horizon_start)
    return Simulation(written, supply_chain=market).run()
