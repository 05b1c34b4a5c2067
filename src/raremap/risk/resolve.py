"""Turning a risk file into numbers: the processes, their probabilities and the copula's correlations.

Defaults come from the dataset, by rules stated in docs/risk.md:

- the horizon: the periods the draws disrupt and the outcomes cover, from `horizon_start` (default:
  the first period after the calibrated base year) to the last period;
- which processes exist: every country x stage whose capacity in the first horizon period is at
  least `processes.minimum_world_share` of the world's at that stage;
- annual probability: WGI political stability of the country (latest year before the horizon)
  through the logistic `probability_mapping`; countries without a score get the midpoint score's
  probability;
- China's export controls: the share of years from `history_from` to the year before the horizon
  with a new quota, licensing or ban in the policies table;
- the importer's buyers: every sector with demand in the horizon, with its unit (t magnet for magnet
  sectors, t REO for oxide applications; never summed across units);
- correlations: `same_country` between processes of one country, `shared_bloc` between countries
  that share a listed bloc, explicit `pairs` on top; the matrix must be positive semi-definite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raremap.data.dataset import Dataset
from raremap.model.periods import label
from raremap.model.supply_chain import SupplyChain
from raremap.risk.loading import RiskFileError
from raremap.risk.spec import ALL, Duration, ProbabilityMapping, RiskModel, Severity
from raremap.scenario.loading import load_scenario, override
from raremap.scenario.spec import Scenario
from raremap.simulate.apply import goods_named

EXPORT_CONTROL = "export_control"
"""Name of the export-control process in correlation pairs, features and outputs."""

CONTROL_TYPES = ("quota", "licensing", "ban")
"""Policy types that count as a new export control in the history-based probability."""

PSD_TOLERANCE = 1e-9

MAGNET_UNIT = "t magnet"
OXIDE_UNIT = "t REO"
UNIT_TOTALS = {MAGNET_UNIT: "all magnet sectors", OXIDE_UNIT: "all oxide applications"}
"""The importer's total over the sectors of one unit (magnets and oxides are never summed together)."""


@dataclass(frozen=True)
class Process:
    """One disruption process: a country x stage, its annual probability and its distributions."""

    country: str
    stage: str
    annual_probability: float
    severity: Severity
    duration: Duration

    @property
    def name(self) -> str:
        return f"{self.country}/{self.stage}"


@dataclass(frozen=True)
class ResolvedRisk:
    """A risk file with every default filled in from the data: what the sampler and the engine read.

    `periods` (starts in fractional years) and `period_years` are the run's periods, the calibrated
    base year first; the draws disrupt, and the outcomes cover, the periods from `horizon` on.
    `sectors` are the importer's buyers over the horizon and `sector_units` their units.
    """

    model: RiskModel
    scenario: Scenario
    processes: tuple[Process, ...]
    control_probability: float
    correlation: np.ndarray
    copula_factor: np.ndarray
    periods: tuple[float, ...]
    period_years: tuple[float, ...]
    horizon: int
    sectors: tuple[str, ...]
    sector_units: tuple[str, ...]
    data_directory: str | None

    @property
    def process_names(self) -> list[str]:
        names = [process.name for process in self.processes]
        return [*names, EXPORT_CONTROL] if self.model.export_control.enabled else names

    @property
    def horizon_periods(self) -> tuple[float, ...]:
        """Starts of the periods the draws disrupt and the outcomes cover."""
        return self.periods[self.horizon:]

    @property
    def horizon_labels(self) -> tuple[str, ...]:
        """The horizon's periods as people name them ("2030", "2025-Q2")."""
        return tuple(label(start, years) for start, years in zip(self.periods, self.period_years, strict=True))[self.horizon:]

    @property
    def horizon_label(self) -> str:
        """The horizon in words, e.g. "2027 to 2031"."""
        labels = self.horizon_labels
        return labels[0] if len(labels) == 1 else f"{labels[0]} to {labels[-1]}"

    @property
    def horizon_years(self) -> float:
        return float(sum(self.period_years[self.horizon:]))

    @property
    def importer(self) -> str:
        return self.scenario.importer

    def unit_of(self, sector: str) -> str:
        return self.sector_units[self.sectors.index(sector)]

    def fingerprint(self) -> dict[str, Any]:
        """Everything that decides the draws, as JSON: a resumed run must match it exactly."""
        return {
            "model": self.model.model_dump(mode="json", exclude={"draws"}),
            "scenario": self.scenario.model_dump(mode="json"),
            "processes": [
                [process.name, round(process.annual_probability, 12)] for process in self.processes
            ],
            "control_probability": round(self.control_probability, 12),
            "data_directory": self.data_directory,
        }


def political_stability_probability(score: float, mapping: ProbabilityMapping) -> float:
    """Annual disruption probability for a WGI political-stability score (about -2.5 to +2.5)."""
    logistic = 1.0 / (1.0 + math.exp(mapping.steepness * (score - mapping.midpoint)))
    return mapping.minimum + (mapping.maximum - mapping.minimum) * logistic


def latest_scores(dataset: Dataset, year: int) -> pd.Series:
    """Each country's latest political-stability score in or before `year`."""
    governance = dataset["governance"]
    rows = governance[(governance["indicator"] == "political_stability") & (governance["year"] <= year)]
    return rows.sort_values("year").groupby("country")["value"].last().astype(float)


def export_control_probability(dataset: Dataset, exporter: str, first_year: int, last_year: int) -> float:
    """Share of years in [first_year, last_year] in which `exporter` started a quota, licensing or ban."""
    policies = dataset["policies"]
    rows = policies[(policies["country"] == exporter) & policies["type"].isin(CONTROL_TYPES)]
    years = {int(str(start)[:4]) for start in rows["start"].astype(str)}
    active = {year for year in years if first_year <= year <= last_year}
    span = max(last_year - first_year + 1, 1)
    return len(active) / span


def _scenario(model: RiskModel, dataset: Dataset) -> Scenario:
    scenario = load_scenario(model.base, dataset)
    changes: dict[str, Any] = {}
    if model.periods is not None:
        changes["periods"] = model.periods.model_dump()
    if model.importer is not None:
        changes["importer"] = model.importer
    return override(scenario, changes) if changes else scenario


def _capacity_processes(model: RiskModel, chain: SupplyChain, horizon: int) -> list[tuple[str, str]]:
    """Country x stage pairs with at least the minimum share of world capacity in the first horizon period."""
    capacity = chain["capacity"].isel(period=horizon)
    chosen: list[tuple[str, str]] = []
    settings = model.processes
    for stage in settings.stages:
        row = capacity.sel(stage=stage)
        total = float(row.sum())
        for country in chain.countries:
            value = float(row.sel(country=country))
            wanted = ALL in settings.countries or country in settings.countries
            if wanted and value > 0 and total > 0 and value / total >= settings.minimum_world_share:
                chosen.append((country, stage))
    return chosen if settings.from_capacity else []


def _unknown_country_problems(model: RiskModel, chain: SupplyChain) -> list[str]:
    known = set(chain.countries)
    problems = [
        f"overrides[{index}].country = {item.country!r}: not a country of the supply chain; "
        f"use one of {', '.join(sorted(known))}"
        for index, item in enumerate(model.overrides)
        if item.country not in known
    ]
    problems += [
        f"processes.countries[{index}] = {country!r}: not a country of the supply chain; use ISO3 codes or 'all'"
        for index, country in enumerate(model.processes.countries)
        if country != ALL and country not in known
    ]
    control = model.export_control
    if control.enabled:
        if control.exporter not in known:
            problems.append(f"export_control.exporter = {control.exporter!r}: not a country of the supply chain")
        problems += [
            f"export_control.destinations[{index}] = {country!r}: not a country of the supply chain"
            for index, country in enumerate(control.destinations)
            if country != ALL and country not in known
        ]
        problems += [
            f"export_control.elements[{index}] = {element!r}: not an element or magnet type of the supply chain; "
            f"use one of {', '.join(chain.separated_elements)}, NdFeB, SmCo, a magnet type or 'all'"
            for index, element in enumerate(control.elements)
            if element != ALL and not goods_named(chain, [element])
        ]
    return problems


def _processes(model: RiskModel, chain: SupplyChain, scores: pd.Series, horizon: int, label: str) -> tuple[Process, ...]:
    problems = _unknown_country_problems(model, chain)
    if problems:
        raise RiskFileError(label, problems)
    pairs = _capacity_processes(model, chain, horizon)
    for item in model.overrides:
        stages = model.processes.stages if item.stage == ALL else (item.stage,)
        pairs += [(item.country, stage) for stage in stages if (item.country, stage) not in pairs]
    middle = political_stability_probability(model.probability_mapping.midpoint, model.probability_mapping)
    processes = []
    for country, stage in pairs:
        probability = (
            political_stability_probability(float(scores[country]), model.probability_mapping)
            if country in scores.index
            else middle
        )
        severity, duration = model.default_severity, model.default_duration
        for item in model.overrides:
            if item.country == country and item.stage in (ALL, stage):
                probability = item.annual_probability if item.annual_probability is not None else probability
                severity = item.severity or severity
                duration = item.duration or duration
        processes.append(Process(country, stage, probability, severity, duration))
    return tuple(processes)


def bloc_members(dataset: Dataset, blocs: tuple[str, ...]) -> dict[str, set[str]]:
    """Each country's memberships among the listed blocs."""
    table = dataset["blocs"]
    table = table[table["bloc"].isin(blocs)]
    members: dict[str, set[str]] = {}
    for row in table.itertuples(index=False):
        members.setdefault(str(row.country), set()).add(str(row.bloc))
    return members


def correlation_matrix(model: RiskModel, countries: list[str], names: list[str], members: dict[str, set[str]],
                       label: str) -> np.ndarray:
    """Latent correlations between processes (countries[i] is the country of names[i])."""
    settings = model.correlation
    size = len(names)
    matrix = np.eye(size)
    for first in range(size):
        for second in range(first + 1, size):
            if countries[first] == countries[second]:
                value = settings.same_country
            elif members.get(countries[first], set()) & members.get(countries[second], set()):
                value = settings.shared_bloc
            else:
                value = 0.0
            matrix[first, second] = matrix[second, first] = value
    problems = []
    for index, pair in enumerate(settings.pairs):
        missing = [name for name in (pair.first, pair.second) if name not in names]
        if missing or pair.first == pair.second:
            problems.append(
                f"correlation.pairs[{index}] = {pair.first} ~ {pair.second}: "
                + (f"unknown process {missing[0]!r}; processes are {', '.join(names)}" if missing
                   else "a process with itself; name two different processes")
            )
            continue
        first, second = names.index(pair.first), names.index(pair.second)
        matrix[first, second] = matrix[second, first] = pair.value
    if problems:
        raise RiskFileError(label, problems)
    return matrix


def copula_factor(matrix: np.ndarray, label: str) -> np.ndarray:
    """A factor F with F @ F.T == matrix; refuses a matrix that is not positive semi-definite."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    smallest = float(eigenvalues.min()) if eigenvalues.size else 0.0
    if smallest < -PSD_TOLERANCE:
        raise RiskFileError(
            label,
            [
                f"correlation: the process correlation matrix is not positive semi-definite (smallest eigenvalue "
                f"{smallest:.4g}); lower correlation.same_country or correlation.shared_bloc, or fix correlation.pairs"
            ],
        )
    return np.asarray(eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None)))


def horizon_index(model: RiskModel, chain: SupplyChain, label: str) -> int:
    """Index of the first period the draws disrupt: `horizon_start`, else the period after the base year."""
    periods = chain.periods
    if len(periods) < 2:
        raise RiskFileError(label, [f"periods: only the base year {periods[0]:g}; add periods after it for the draws to disrupt"])
    if model.horizon_start is None:
        return 1
    later = [index for index, start in enumerate(periods) if start >= model.horizon_start - 1e-9]
    if later and later[0] > 0:
        return later[0]
    where = "is after the last period" if not later else "would disrupt the calibrated base year"
    raise RiskFileError(label, [
        f"horizon_start = {model.horizon_start}: {where}; give a year from {int(periods[1])} to {int(periods[-1])}"
    ])


def importer_sectors(chain: SupplyChain, importer: str, horizon: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The importer's sectors with demand over the horizon, and each one's unit."""
    demand = chain["demand"].sel(country=importer).isel(period=slice(horizon, None)).sum("period")
    magnet = chain["bundle"].sel(country=importer, element=chain.magnet_products).sum("element") > 0
    sectors = [str(sector) for sector in demand["sector"].values if float(demand.sel(sector=sector)) > 0]
    units = [MAGNET_UNIT if bool(magnet.sel(sector=sector)) else OXIDE_UNIT for sector in sectors]
    return tuple(sectors), tuple(units)


def resolve(model: RiskModel, dataset: Dataset, chain: SupplyChain, scenario: Scenario, label: str = "(in memory)",
            data_directory: str | Path | None = None) -> ResolvedRisk:
    """Fill every default of `model` from the dataset and the scenario's supply chain."""
    horizon = horizon_index(model, chain, label)
    first_year = int(np.floor(chain.periods[horizon] + 1e-9))
    scores = latest_scores(dataset, first_year - 1)
    processes = _processes(model, chain, scores, horizon, label)
    control = model.export_control
    control_probability = control.annual_probability
    if control_probability is None:
        control_probability = export_control_probability(dataset, control.exporter, control.history_from, first_year - 1)
    names = [process.name for process in processes]
    countries = [process.country for process in processes]
    if control.enabled:
        names.append(EXPORT_CONTROL)
        countries.append(control.exporter)
    matrix = correlation_matrix(model, countries, names, bloc_members(dataset, model.correlation.blocs), label)
    sectors, units = importer_sectors(chain, scenario.importer, horizon)
    return ResolvedRisk(
        model=model,
        scenario=scenario,
        processes=processes,
        control_probability=float(control_probability),
        correlation=matrix,
        copula_factor=copula_factor(matrix, label),
        periods=tuple(chain.periods),
        period_years=tuple(float(years) for years in chain.years.values),
        horizon=horizon,
        sectors=sectors,
        sector_units=units,
        data_directory=None if data_directory is None else str(data_directory),
    )


def scenario_for(model: RiskModel, dataset: Dataset) -> Scenario:
    """The base scenario with the risk file's periods and importer."""
    return _scenario(model, dataset)
