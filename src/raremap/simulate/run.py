"""Deterministic runs: a Simulation with validate, build, solve and collect steps, and its Result.

``simulate(dataset, scenario)`` runs all four steps. Each step can be called on its own; calling one
before the step it needs raises a clear error naming the missing step.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import linopy
import pandas as pd

from raremap.errors import RaremapError
from raremap.model.bundled import BuildOptions, supply_chain_from_dataset
from raremap.model.chain_cache import cached_chain
from raremap.model.equilibrium import build_model
from raremap.model.periods import label
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import (
    Solution,
    check_mass_balance,
    objective_of_periods,
    read_solution,
    solve_model,
)
from raremap.model.supply import SupplyOptions
from raremap.model.supply_chain import SupplyChain
from raremap.results import check_tables
from raremap.scenario.loading import load_scenario
from raremap.scenario.spec import Scenario
from raremap.simulate.market import scenario_market, standing
from raremap.simulate.tables import result_tables

_CHAIN_CACHE: dict[tuple[str, BuildOptions], SupplyChain] = {}
_STEPS = ("validate", "build", "solve", "collect")


@dataclass(frozen=True)
class Result:
    """What a run produced: tidy tables, the mass-balance residual and timings."""

    scenario: Scenario
    periods: tuple[str, ...]
    tables: dict[str, pd.DataFrame]
    welfare_usd: float
    mass_balance_max_residual: float
    build_seconds: float
    solve_seconds: float
    dataset_version: str = ""
    model_size: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = object.__getattribute__(self, "tables")
        if name in tables:
            return tables[name].copy()
        raise AttributeError(name)

    def to_json(self) -> dict[str, Any]:
        """The summary printed by `raremap simulate --json` (exactly these keys)."""
        return {
            "scenario": self.scenario.name,
            "periods": list(self.periods),
            "shortfall": self.tables["shortfall"].to_dict(orient="records"),
            "prices": self.tables["prices"].to_dict(orient="records"),
            "mass_balance_max_residual": self.mass_balance_max_residual,
            "build_seconds": self.build_seconds,
            "solve_seconds": self.solve_seconds,
        }

    def save(self, path: str | Path) -> str:
        """Store the run in the DuckDB store with the dataset version it used; returns the run id."""
        from raremap.data import store

        run_id = f"simulate-{self.scenario.name}-{uuid.uuid4().hex[:12]}"
        summary = {
            "welfare_usd": self.welfare_usd,
            "mass_balance_max_residual": self.mass_balance_max_residual,
            "build_seconds": self.build_seconds,
            "solve_seconds": self.solve_seconds,
            **self.model_size,
        }
        store.save_run(
            path,
            run_id=run_id,
            kind="simulation",
            name=self.scenario.name,
            dataset_version=self.dataset_version,
            specification=self.scenario.model_dump(mode="json"),
            summary=summary,
            results=self.tables,
        )
        return run_id


def build_options(scenario: Scenario) -> BuildOptions:
    """How to turn the dataset into a supply chain for this scenario."""
    settings = scenario.settings
    named = {scenario.importer}
    named |= {change.country for change in scenario.capacity_changes}
    named |= {stockpile.holder for stockpile in scenario.stockpiles}
    return BuildOptions(
        grid=scenario.periods.grid(),
        demand_path=scenario.demand.path,
        production_series=settings.production_series,
        supply=SupplyOptions(
            capacity_headroom=settings.capacity_headroom,
            pipeline_statuses=tuple(settings.pipeline),
            probability_weighted=settings.probability_weighted,
            investment=settings.investment,
            end_of_life_recycling=settings.end_of_life_recycling,
        ),
        ndpr_pool=settings.ndpr_pool,
        calibration=settings.calibration,
        sticky_trade=settings.sticky_trade,
        importer=scenario.importer,
        extra_countries=tuple(sorted(named)),
        standing_bans=tuple((ban.country, tuple(ban.stages)) for ban in scenario.policies.export_bans if standing(ban, scenario)),
    )


def supply_chain_for(dataset: Any, scenario: Scenario) -> SupplyChain:
    """The dataset's supply chain for the scenario's settings, built once per dataset version."""
    options = build_options(scenario)
    key = (str(dataset.version), options)
    if key not in _CHAIN_CACHE:
        _CHAIN_CACHE[key] = cached_chain(str(dataset.version), repr(options), lambda: supply_chain_from_dataset(dataset, options))
    return _CHAIN_CACHE[key]


class Simulation:
    """One scenario on one dataset (or on a hand-made SupplyChain), run step by step."""

    def __init__(self, scenario: Scenario | str | Path, dataset: Any = None, supply_chain: SupplyChain | None = None):
        if dataset is None and supply_chain is None:
            raise RaremapError("a Simulation needs a dataset (raremap.load()) or a supply_chain")
        self.dataset = dataset
        self._base_chain = supply_chain
        self._scenario_reference = scenario
        self.scenario: Scenario | None = scenario if isinstance(scenario, Scenario) else None
        self.supply_chain: SupplyChain | None = None
        self.model_chain: SupplyChain | None = None  # what the LP is built on: + a run-out period if periods link
        self.model: linopy.Model | None = None
        self.solution: Solution | None = None
        self.build_seconds = 0.0
        self.solve_seconds = 0.0
        self.mass_balance_max_residual = float("nan")
        self._done: set[str] = set()

    def _require(self, step: str) -> None:
        needed = _STEPS[_STEPS.index(step) - 1]
        if needed not in self._done:
            raise RaremapError(f"call {needed}() before {step}() (the steps are {', '.join(_STEPS)}, in order)")

    def validate(self) -> Simulation:
        """Load and check the scenario against the data, and apply it to the supply chain."""
        reference = self._scenario_reference
        if isinstance(reference, Scenario):
            self.scenario = self._checked(reference)
        else:
            self.scenario = load_scenario(reference, self.dataset)
        base = self._base_chain if self._base_chain is not None else supply_chain_for(self.dataset, self.scenario)
        self.supply_chain = scenario_market(base, self.scenario)
        self._done.add("validate")
        return self

    def _checked(self, scenario: Scenario) -> Scenario:
        if self.dataset is not None:
            from raremap.scenario.checks import check_against_dataset

            check_against_dataset(scenario, self.dataset, scenario.name)
        return scenario

    def build(self) -> Simulation:
        """Build the linopy model of the scenario's supply chain."""
        self._require("build")
        assert self.supply_chain is not None
        started = time.perf_counter()
        chain = self.supply_chain
        self.model_chain = chain.with_run_out() if chain.links_periods else chain
        self.model = build_model(self.model_chain)
        self.build_seconds = time.perf_counter() - started
        self._done.add("build")
        return self

    def solve(self) -> Simulation:
        """Solve with HiGHS and check the mass balance of the solution."""
        self._require("solve")
        assert self.model is not None and self.supply_chain is not None and self.model_chain is not None
        started = time.perf_counter()
        with quiet_stdout():
            solve_model(self.model)
        self.solve_seconds = time.perf_counter() - started
        solution = read_solution(self.model)
        self.mass_balance_max_residual = check_mass_balance(self.model_chain, solution)
        periods = self.supply_chain.periods
        if self.model_chain.periods != periods:  # leave the run-out period out of every result
            solution = solution.for_periods(periods, objective_of_periods(self.model, periods))
        self.solution = solution
        self._done.add("solve")
        return self

    def collect(self) -> Result:
        """The Result: tidy tables of flows, production, prices, shortfall, stocks and more."""
        self._require("collect")
        assert self.solution is not None and self.supply_chain is not None and self.scenario is not None
        assert self.model is not None
        self._done.add("collect")
        tables = result_tables(self.supply_chain, self.solution, self.scenario.importer)
        check_tables("simulation", tables)
        return Result(
            scenario=self.scenario,
            periods=tuple(label(start, float(length)) for start, length in zip(self.supply_chain.periods, self.supply_chain.years.values, strict=True)),
            tables=tables,
            welfare_usd=-self.solution.objective * 1000.0,
            mass_balance_max_residual=self.mass_balance_max_residual,
            build_seconds=self.build_seconds,
            solve_seconds=self.solve_seconds,
            dataset_version=str(getattr(self.dataset, "version", "")),
            model_size={"variables": int(self.model.nvars), "constraints": int(self.model.ncons)},
        )

    def run(self) -> Result:
        """validate, build, solve and collect in one call."""
        return self.validate().build().solve().collect()


def simulate(dataset: Any, scenario: Scenario | str | Path) -> Result:
    """Run a scenario (a Scenario, a built-in name or a YAML path) on a dataset."""
    return Simulation(scenario, dataset=dataset).run()
