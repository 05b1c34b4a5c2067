"""Evaluating draws on one reused HiGHS model per demand level (the hot loop of a Monte Carlo run).

The equilibrium LP of the base scenario is built once with linopy and handed to HiGHS once. A draw
only tightens bounds: capacity rows get a smaller right-hand side, and the export-controlling
country's flow columns get an upper bound of (1 - cut) x their base value. Between draws the
bounds go back to the base and the solve starts from the base optimal basis (a warm start).

Starting every draw from the same basis, rather than from the previous draw's, makes a draw's
result independent of which draws the worker solved before, so runs are bit-identical whatever
the chunking or the number of workers.

A draw that binds nothing is not solved: if every tightened bound still admits the base
solution's value, the base solution stays feasible and, the feasible set having only shrunk, it
stays optimal. Draws with an already seen pattern reuse that result.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import highspy
import linopy
import numpy as np
from linopy.config import LinopySemanticsWarning

from raremap.errors import RaremapError
from raremap.model.equilibrium import build_model
from raremap.model.supply_chain import SupplyChain
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import Pattern
from raremap.simulate.run import quiet_stdout

CAPACITY_CONSTRAINTS = {
    "mining": "Mining-capacity-upper",
    "separation": "Separation-capacity-upper",
    "metal": "Metal-capacity-upper",
    "magnet": "Magnet-capacity-upper",
}
BINDING_TOLERANCE = 1e-7
"""A tightened bound binds when the base value exceeds it by more than this share of max(1, bound)."""
CACHE_LIMIT = 20_000
"""Patterns remembered per worker (least recently used dropped first), so memory stays bounded."""

EVALUATION_BASE = 0
EVALUATION_CACHED = 1
EVALUATION_SOLVED = 2
EVALUATION_NAMES = {EVALUATION_BASE: "base", EVALUATION_CACHED: "cached", EVALUATION_SOLVED: "solved"}


@dataclass(frozen=True)
class Outcome:
    """The importer's shortfall (sector x element x period, tonnes) and world welfare (USD) of a draw."""

    shortfall: np.ndarray
    welfare_usd: float
    evaluation: int


def _positions(label_to_position: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Solver column or row index of each linopy label (-1 where the entry does not exist)."""
    positions = np.full(labels.shape, -1, dtype=np.int64)
    present = labels >= 0
    positions[present] = label_to_position[labels[present]]
    return positions


@dataclass
class _LevelModel:
    """The HiGHS model of one demand level with its base solution, basis and outcome."""

    solver: Any  # highspy.Highs; its type stubs lack the bound-changing methods used here
    basis: Any
    column_values: np.ndarray
    row_values: np.ndarray
    outcome: Outcome
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray


class DrawEvaluator:
    """Evaluates patterns on warm-started HiGHS models: one per demand level, built when first needed."""

    def __init__(self, risk: ResolvedRisk, chain: SupplyChain):
        self.risk = risk
        self.chain = chain
        self._levels: dict[int, _LevelModel] = {}
        self._cache: OrderedDict[bytes, Outcome] = OrderedDict()
        self.solved = 0
        self.sectors: list[str] = []
        self.elements: list[str] = []

    # Building -------------------------------------------------------------------------------

    def _level_chain(self, level: int) -> SupplyChain:
        multiplier = self.risk.model.demand.levels[level]
        return self.chain.replace(demand=self.chain["demand"] * multiplier)

    def _index_model(self, model: linopy.Model, chain: SupplyChain) -> None:
        """Solver positions of the rows and columns a draw changes or reads (the same at every level)."""
        variables, constraints = model.variables.label_index, model.constraints.label_index
        rows = np.full((len(self.risk.processes), len(chain.periods)), -1, dtype=np.int64)
        for index, process in enumerate(self.risk.processes):
            name = CAPACITY_CONSTRAINTS[process.stage]
            labels = model.constraints[name].labels.sel(country=process.country).values
            rows[index] = _positions(constraints.label_to_pos, labels)
        self.capacity_rows = rows
        self.control_columns = self._control_columns(model, chain, variables.label_to_pos)
        importer = self.risk.scenario.importer
        demand = self.chain["demand"].sel(country=importer)  # unscaled: levels multiply it in _outcome
        self.elements = [str(element) for element in demand["element"].values if float(demand.sel(element=element).max()) > 0]
        self.sectors = [str(sector) for sector in demand["sector"].values]
        ordered = demand.sel(element=self.elements).transpose("sector", "element", "period")
        self.base_demand = np.asarray(ordered.values, dtype=float) * self.risk.period_length
        served = model.variables["Served"].labels.sel(country=importer, element=self.elements)
        self.served_columns = _positions(variables.label_to_pos, served.transpose("sector", "element", "step", "period").values)
        share = model.variables["Substitution-share"].labels.sel(country=importer, element=self.elements)
        self.share_columns = _positions(variables.label_to_pos, share.transpose("sector", "element", "period").values)

    def _control_columns(self, model: linopy.Model, chain: SupplyChain, label_to_position: np.ndarray) -> np.ndarray:
        """Flow columns (period x edges) of the export-controlling country that a control cuts."""
        settings = self.risk.model.export_control
        labels = model.variables["Flow"].labels.sel(stage=list(settings.stages), exporter=settings.exporter)
        if "all" not in settings.elements:
            labels = labels.sel(element=[element for element in settings.elements if element in chain.elements])
        if "all" not in settings.destinations:
            labels = labels.sel(importer=[country for country in settings.destinations if country in chain.countries])
        ordered = labels.transpose("period", ...).values.reshape(len(chain.periods), -1)
        return _positions(label_to_position, ordered)

    def _build_level(self, level: int) -> _LevelModel:
        chain = self._level_chain(level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LinopySemanticsWarning)
            model = build_model(chain)
            if not self._levels:
                self._index_model(model, chain)
            with quiet_stdout():
                solver = linopy.io.to_highspy(model)
            solver.setOptionValue("output_flag", False)
        self._run(solver)
        solution = solver.getSolution()
        columns, rows = np.asarray(solution.col_value), np.asarray(solution.row_value)
        outcome = self._outcome(solver, columns, level, EVALUATION_BASE)
        lp = solver.getLp()
        return _LevelModel(
            solver, solver.getBasis(), columns, rows, outcome,
            row_lower=np.asarray(lp.row_lower_), row_upper=np.asarray(lp.row_upper_),
            column_lower=np.asarray(lp.col_lower_), column_upper=np.asarray(lp.col_upper_),
        )

    def level(self, level: int) -> _LevelModel:
        if level not in self._levels:
            self._levels[level] = self._build_level(level)
        return self._levels[level]

    # Evaluating -----------------------------------------------------------------------------

    def _run(self, solver: highspy.Highs) -> None:
        solver.run()
        status = solver.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RaremapError(
                f"a Monte Carlo draw was not solved to optimality ({solver.modelStatusToString(status)}); "
                "this is a model bug, please report it with the risk file"
            )

    def _outcome(self, solver: highspy.Highs, columns: np.ndarray, level: int, evaluation: int) -> Outcome:
        """Importer shortfall = demand - served - substituted (never below zero), as in simulate's table."""
        demand = self.base_demand * self.risk.model.demand.levels[level]
        values = np.append(columns, 0.0)
        served = values[self.served_columns].sum(axis=2)
        substituted = demand * values[self.share_columns]
        shortfall = np.clip(demand - served - substituted, 0.0, None)
        shortfall[shortfall < 1e-6] = 0.0
        welfare = -float(solver.getInfo().objective_function_value) * 1000.0
        return Outcome(shortfall=shortfall, welfare_usd=welfare, evaluation=evaluation)

    def _tightened(self, base: _LevelModel, pattern: Pattern) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows with their new upper bounds and columns with their new upper bounds."""
        step = self.risk.model.severity_step
        row_mask = (pattern.capacity_steps > 0) & (self.capacity_rows >= 0)
        rows = self.capacity_rows[row_mask]
        remaining = 1.0 - pattern.capacity_steps[row_mask] * step
        row_upper = base.row_upper[rows] * np.clip(remaining, 0.0, 1.0)
        column_mask = (pattern.control_steps[:, None] > 0) & (self.control_columns >= 0)
        columns = self.control_columns[column_mask]
        kept = np.broadcast_to(1.0 - pattern.control_steps[:, None] * step, self.control_columns.shape)[column_mask]
        column_upper = base.column_values[columns] * np.clip(kept, 0.0, 1.0)
        return rows, row_upper, columns, column_upper

    @staticmethod
    def binds(base: _LevelModel, rows: np.ndarray, row_upper: np.ndarray, columns: np.ndarray,
              column_upper: np.ndarray) -> bool:
        """Whether the base solution breaks any tightened bound (if not, it is still optimal)."""
        row_slack = row_upper - base.row_values[rows]
        column_slack = column_upper - base.column_values[columns]
        row_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(row_upper))
        column_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(column_upper))
        return bool((row_slack < -row_tolerance).any() or (column_slack < -column_tolerance).any())

    def evaluate(self, pattern: Pattern) -> Outcome:
        """The outcome of one pattern: reused from the base or the cache where sound, else solved."""
        base = self.level(pattern.demand_level)
        if pattern.is_undisrupted():
            return base.outcome
        key = pattern.key()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return Outcome(cached.shortfall, cached.welfare_usd, EVALUATION_CACHED)
        rows, row_upper, columns, column_upper = self._tightened(base, pattern)
        if not self.binds(base, rows, row_upper, columns, column_upper):
            outcome = base.outcome
        else:
            outcome = self._solve(base, pattern.demand_level, rows, row_upper, columns, column_upper)
        self._remember(key, outcome)
        return outcome

    def _solve(self, base: _LevelModel, level: int, rows: np.ndarray, row_upper: np.ndarray, columns: np.ndarray,
               column_upper: np.ndarray) -> Outcome:
        solver = base.solver
        row_lower, original_upper = base.row_lower[rows], base.row_upper[rows]
        column_lower, original_column_upper = base.column_lower[columns], base.column_upper[columns]
        solver.changeRowsBounds(len(rows), rows.astype(np.int32), row_lower, row_upper)
        solver.changeColsBounds(len(columns), columns.astype(np.int32), column_lower, column_upper)
        solver.clearSolver()
        solver.setBasis(base.basis)
        try:
            self._run(solver)
            outcome = self._outcome(solver, np.asarray(solver.getSolution().col_value), level, EVALUATION_SOLVED)
        finally:
            solver.changeRowsBounds(len(rows), rows.astype(np.int32), row_lower, original_upper)
            solver.changeColsBounds(len(columns), columns.astype(np.int32), column_lower, original_column_upper)
        self.solved += 1
        return outcome

    def _remember(self, key: bytes, outcome: Outcome) -> None:
        self._cache[key] = outcome
        if len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
