"""Evaluating draws on reused, warm-started HiGHS models (the hot loop of a Monte Carlo run).

For each demand level, the base scenario's market is the one `simulate` solves
(`simulate.market.scenario_market`, on the data's demand times the level from the horizon on). Its
LP is built once with linopy, handed to HiGHS as arrays and solved. Then two kinds of decisions are
fixed at that solution and become constants (their columns leave the LP, their values move to the
row bounds): the capacity the market chose to build (`New-capacity`), because shocks are not
foreseen by whoever builds plants, and everything in the periods before the horizon, which the
draws do not disrupt (in the default risk file they are the past). The rest, the horizon and the
run-out period, is the LP a draw solves; its base solution is the undisrupted draw and its basis is
where every draw starts.

A draw only changes bounds:

- capacity lost at a country x stage: the capacity row of each disrupted period allows (1 - loss) x
  the capacity in service there (the pipeline's plus the fixed investment: with investment a
  constant, the row's bound is exactly that capacity), and the country's
  calibration supply at that stage (undocumented output, see model/calibration.py) is cut alike;
- an export control: the exporter's flows on the covered edges may carry at most (1 - cut) x their
  base value in the period, and contracts on those edges shrink by the tonnage withheld (force
  majeure for what the control stops, no more).

Determinism: every solve starts from a cleared solver and the level's base basis, never from the
previous draw's state, so a draw's result does not depend on which draws a worker solved before;
runs are bit-identical whatever the chunking or the number of workers.

Skipping: if every tightened bound still admits the base solution, the base solution stays feasible
and, the feasible set having only shrunk, optimal; such a draw is not solved. Patterns: with
severities rounded to `severity_step`, equal patterns are solved once per worker (an LRU cache).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import highspy
import linopy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.equilibrium import CAPACITY_CONSTRAINTS, build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import solver_positions
from raremap.model.supply_chain import SupplyChain
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import Pattern
from raremap.simulate.apply import goods_named
from raremap.simulate.market import scenario_market

BINDING_TOLERANCE = 1e-7
"""A tightened bound binds when the base value exceeds it by more than this share of max(1, bound)."""
CACHE_LIMIT = 50_000
"""Patterns remembered per worker (least recently used dropped first), so memory stays bounded."""
SMALL_SHORTFALL = 1e-6
DEVEX_PRICING = 1
"""HiGHS's code for Devex dual edge weights (option simplex_dual_edge_weight_strategy)."""
CALIBRATED_STAGES = ("separation", "magnet")
"""Stages whose goods calibration supply adds to (oxides at separation, magnets at magnet)."""

EVALUATION_BASE = 0
EVALUATION_CACHED = 1
EVALUATION_SOLVED = 2
EVALUATION_NAMES = {EVALUATION_BASE: "base", EVALUATION_CACHED: "cached", EVALUATION_SOLVED: "solved"}


@dataclass(frozen=True)
class Outcome:
    """The importer's shortfall per sector x horizon period (sector units per period) and world welfare (USD).

    `excess` is the shortfall in excess of the undisrupted base at the draw's demand level,
    max(0, shortfall - base shortfall) cell by cell (same shape as `shortfall`).
    """

    shortfall: np.ndarray
    welfare_usd: float
    evaluation: int
    excess: np.ndarray


@dataclass(frozen=True)
class Solved:
    """What a solve of one level's model gives a draw: shortfall (sector x horizon period) and welfare."""

    shortfall: np.ndarray
    welfare_usd: float


@dataclass(frozen=True)
class Bounds:
    """The bounds a draw changes: rows (new lower, upper) and columns (new upper)."""

    rows: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    columns: np.ndarray
    column_upper: np.ndarray


@dataclass(frozen=True)
class LinearProgram:
    """min cost @ x subject to row_lower <= matrix @ x <= row_upper and column bounds, as arrays."""

    matrix: Any  # scipy.sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, model: linopy.Model) -> LinearProgram:
        """The arrays of a linopy model (in the order of its label indexes)."""
        matrices = model.matrices
        if matrices.A is None:
            raise RaremapError("the equilibrium model has no constraints; nothing for a risk run to disrupt")
        if not (matrices.var_scaling == 1).all():
            raise RaremapError("the equilibrium model uses solver scaling, which the risk engine does not support")
        sense, rhs = matrices.sense, matrices.b
        return cls(
            matrix=matrices.A.tocsr(),
            row_lower=np.where(sense != "<", rhs, -np.inf),
            row_upper=np.where(sense != ">", rhs, np.inf),
            column_lower=np.asarray(matrices.lb, dtype=float),
            column_upper=np.asarray(matrices.ub, dtype=float),
            cost=np.asarray(matrices.c, dtype=float),
        )

    def with_fixed(self, fixed: np.ndarray, values: np.ndarray) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
        """The program with the `fixed` columns held at `values`: they leave, their activity moves into the
        row bounds, and rows left without a column go too. Also the new position of every old column and
        row (-1 where gone)."""
        shift = self.matrix[:, fixed] @ values[fixed]
        kept_columns = ~fixed
        matrix = self.matrix[:, kept_columns].tocsr()
        kept_rows = np.diff(matrix.indptr) > 0
        column_map = np.where(kept_columns, np.cumsum(kept_columns) - 1, -1)
        row_map = np.where(kept_rows, np.cumsum(kept_rows) - 1, -1)
        reduced = LinearProgram(
            matrix=matrix[kept_rows],
            row_lower=(self.row_lower - shift)[kept_rows],
            row_upper=(self.row_upper - shift)[kept_rows],
            column_lower=self.column_lower[kept_columns],
            column_upper=self.column_upper[kept_columns],
            cost=self.cost[kept_columns],
        )
        return reduced, column_map, row_map

    def solver(self) -> Any:
        """A silent HiGHS model of this program."""
        return _highs(self.matrix, self.cost, self.column_lower, self.column_upper, self.row_lower, self.row_upper)


@dataclass
class LevelModel:
    """One demand level's LP in HiGHS with investment fixed, its base solution and the positions a draw uses.

    Positions are solver rows or columns, -1 where the entry does not exist. Periods run over the
    model's periods (the run's, plus the run-out period where periods link).
    """

    solver: Any  # highspy.Highs; its type stubs lack the bound-changing methods used here
    basis: Any
    column_values: np.ndarray
    row_values: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    capacity_rows: np.ndarray  # [process, period]; the upper bound is the capacity in service (fixed investment in)
    calibration_columns: np.ndarray  # [process, good, period]
    control_columns: np.ndarray  # [period, edge]
    contract_rows: np.ndarray  # [period, edge], aligned with control_columns
    served_columns: np.ndarray  # [sector, step, horizon period]
    demand: np.ndarray  # [sector, horizon period]: t per period at this level
    reported_cost: np.ndarray  # objective coefficients, 0 for the run-out period's columns
    fixed_cost: float  # objective of the fixed columns (investment, periods before the horizon) outside the run-out
    base: Solved = field(default_factory=lambda: Solved(np.empty(0), 0.0))


def level_market(chain: SupplyChain, risk: ResolvedRisk, level: int) -> SupplyChain:
    """The base scenario's market at a demand level: the data's demand times the level from the horizon
    on, then the scenario applied by `scenario_market`, as `simulate` applies it."""
    multiplier = risk.model.demand.levels[level]
    if multiplier != 1.0:
        in_horizon = chain.data["period"] >= risk.periods[risk.horizon] - 1e-9
        chain = chain.replace(demand=chain["demand"] * xr.where(in_horizon, multiplier, 1.0))
    return scenario_market(chain, risk.scenario)


def _period_of_columns(model: linopy.Model, label_to_position: np.ndarray, size: int, periods: list[float]) -> np.ndarray:
    """The period index of every solver column (every variable has a period)."""
    period_index = np.full(size, -1, dtype=np.int64)
    for name in model.variables:
        labels = model.variables[name].labels
        order = labels.transpose("period", ...).values.reshape(len(periods), -1)
        for index in range(len(periods)):
            present = order[index][order[index] >= 0]
            period_index[label_to_position[present]] = index
    return period_index


class DrawEvaluator:
    """Evaluates draw patterns on warm-started HiGHS models, one per demand level, built when first needed.

    `chain` is the data's supply chain for the base scenario, before the scenario is applied.
    """

    def __init__(self, risk: ResolvedRisk, chain: SupplyChain):
        self.risk = risk
        self.chain = chain
        self.sectors = list(risk.sectors)
        self.horizon = risk.horizon
        self.reported_periods = len(risk.periods)
        self._levels: dict[int, LevelModel] = {}
        self._cache: OrderedDict[bytes, Solved] = OrderedDict()
        self.solved = 0

    # Building -------------------------------------------------------------------------------

    def level(self, level: int) -> LevelModel:
        """The model of a demand level, built and solved on first use (once per level and worker)."""
        if level not in self._levels:
            market = level_market(self.chain, self.risk, level)
            model_chain = market.with_run_out() if market.links_periods else market
            self._levels[level] = self._build(build_model(model_chain), model_chain)
        return self._levels[level]

    def _build(self, model: linopy.Model, chain: SupplyChain) -> LevelModel:
        """Solve the level's whole LP, fix investment and the periods before the horizon, keep the rest."""
        program = LinearProgram.of(model)
        columns, rows = model.variables.label_index.label_to_pos, model.constraints.label_index.label_to_pos
        whole = program.solver()
        whole.run()
        _require_optimal(whole)
        values = np.asarray(whole.getSolution().col_value)
        del whole
        period_of_column = _period_of_columns(model, columns, len(program.cost), chain.periods)
        fixed = period_of_column < self.horizon
        fixed[_present(solver_positions(columns, model.variables["New-capacity"].labels.values))] = True
        reduced, column_map, row_map = program.with_fixed(fixed, values)
        solver = reduced.solver()
        solver.run()
        _require_optimal(solver)
        solution = solver.getSolution()
        capacity_rows = _mapped(self._capacity_rows(model, rows, len(chain.periods)), row_map)
        control_columns, contract_rows = self._control_positions(model, chain, columns, rows)
        reported = period_of_column < self.reported_periods
        horizon = slice(self.horizon, self.reported_periods)
        built = LevelModel(
            solver=solver, basis=solver.getBasis(),
            column_values=np.asarray(solution.col_value), row_values=np.asarray(solution.row_value),
            row_lower=reduced.row_lower, row_upper=reduced.row_upper,
            column_lower=reduced.column_lower, column_upper=reduced.column_upper,
            capacity_rows=capacity_rows,
            calibration_columns=_mapped(self._calibration_columns(model, chain, columns), column_map),
            control_columns=_mapped(control_columns, column_map),
            contract_rows=_mapped(contract_rows, row_map),
            served_columns=_mapped(self._served_columns(model, columns)[..., horizon], column_map),
            demand=self._importer_demand(chain)[:, horizon],
            reported_cost=np.where(reported[~fixed], reduced.cost, 0.0),
            fixed_cost=float(program.cost[fixed & reported] @ values[fixed & reported]),
        )
        built.base = self._solved(built, built.column_values)
        return built

    def _capacity_rows(self, model: linopy.Model, rows: np.ndarray, periods: int) -> np.ndarray:
        positions = np.full((len(self.risk.processes), periods), -1, dtype=np.int64)
        for index, process in enumerate(self.risk.processes):
            labels = model.constraints[CAPACITY_CONSTRAINTS[process.stage]].labels.sel(country=process.country)
            positions[index] = solver_positions(rows, labels.transpose("period").values)
        return positions

    def _calibration_columns(self, model: linopy.Model, chain: SupplyChain, columns: np.ndarray) -> np.ndarray:
        """Calibration supply of each process's country and stage (oxides at separation, magnets at magnet)."""
        labels = model.variables["Calibration-supply"].labels.transpose("country", "element", "period")
        positions = np.full((len(self.risk.processes), len(chain.elements), len(chain.periods)), -1, dtype=np.int64)
        goods = {"separation": chain.separated_elements, "magnet": chain.magnet_products}
        for index, process in enumerate(self.risk.processes):
            if process.stage not in CALIBRATED_STAGES:
                continue
            own = np.isin(chain.elements, goods[process.stage])
            positions[index] = np.where(own[:, None], solver_positions(columns, labels.sel(country=process.country).values), -1)
        return positions

    def _control_positions(self, model: linopy.Model, chain: SupplyChain, columns: np.ndarray,
                           rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow columns (period x edge) of the exports a control cuts, and the contract rows on the same edges."""
        settings = self.risk.model.export_control
        selection: dict[str, Any] = {"stage": list(settings.stages), "exporter": settings.exporter}
        selection["element"] = goods_named(chain, list(settings.elements))
        if "all" not in settings.destinations:
            selection["importer"] = [country for country in settings.destinations if country in chain.countries]
        periods = len(chain.periods)

        def positions(labels: xr.DataArray, index: np.ndarray) -> np.ndarray:
            ordered = labels.sel(selection).transpose("period", ...).values.reshape(periods, -1)
            return solver_positions(index, ordered)

        flows = positions(model.variables["Flow"].labels, columns)
        if "Contract-lower" in model.constraints:
            contract = model.constraints["Contract-lower"].labels.reindex_like(model.variables["Flow"].labels, fill_value=-1)
            contracts = positions(contract, rows)
        else:
            contracts = np.full(flows.shape, -1, dtype=np.int64)
        return flows, contracts

    def _served_columns(self, model: linopy.Model, columns: np.ndarray) -> np.ndarray:
        served = model.variables["Served"].labels.sel(country=self.risk.importer, sector=self.sectors)
        return solver_positions(columns, served.transpose("sector", "step", "period").values)

    def _importer_demand(self, chain: SupplyChain) -> np.ndarray:
        demand = (chain["demand"] * chain.years).sel(country=self.risk.importer, sector=self.sectors)
        return np.asarray(demand.transpose("sector", "period").values, dtype=float)

    # Evaluating -----------------------------------------------------------------------------

    def demand(self, level: int) -> np.ndarray:
        """The importer's demand per sector x horizon period (sector units per period) at a level."""
        return self.level(level).demand

    def base_shortfall(self, level: int) -> np.ndarray:
        """The undisrupted shortfall (sector x horizon period) of a demand level."""
        return self.level(level).base.shortfall

    def _solved(self, built: LevelModel, columns: np.ndarray) -> Solved:
        """Importer shortfall = demand - served (substituted demand is part of it), and welfare without the
        run-out period, as `simulate` reports them."""
        values = np.append(columns, 0.0)
        served = values[built.served_columns].sum(axis=1)
        shortfall = np.clip(built.demand - served, 0.0, None)
        shortfall[shortfall < SMALL_SHORTFALL] = 0.0
        return Solved(shortfall, -(float(built.reported_cost @ columns) + built.fixed_cost) * 1000.0)

    def tightened(self, built: LevelModel, capacity_steps: np.ndarray, control_steps: np.ndarray) -> Bounds:
        """The rows and columns a pattern (over the model's periods) changes, with their new bounds."""
        step = self.risk.model.severity_step
        lost = capacity_steps * step
        capacity = (lost > 0) & (built.capacity_rows >= 0)
        rows = built.capacity_rows[capacity]
        row_upper = built.row_upper[rows] * (1.0 - lost[capacity])
        calibration = (lost[:, None, :] > 0) & (built.calibration_columns >= 0)
        calibrated = built.calibration_columns[calibration]
        calibrated_upper = built.column_upper[calibrated] * (1.0 - np.broadcast_to(lost[:, None, :], calibration.shape)[calibration])
        cut = np.broadcast_to((control_steps * step)[:, None], built.control_columns.shape)
        control = (cut > 0) & (built.control_columns >= 0)
        flows = built.control_columns[control]
        withheld = built.column_values[flows] * cut[control]
        contracts = built.contract_rows[control]
        has_contract = contracts >= 0
        contracts = contracts[has_contract]
        contract_lower = np.maximum(built.row_lower[contracts] - withheld[has_contract], 0.0)
        all_rows = np.concatenate([rows, contracts])
        return Bounds(
            rows=all_rows,
            row_lower=np.concatenate([built.row_lower[rows], contract_lower]),
            row_upper=np.concatenate([row_upper, built.row_upper[contracts]]),
            columns=np.concatenate([calibrated, flows]),
            column_upper=np.concatenate([calibrated_upper, built.column_values[flows] - withheld]),
        )

    @staticmethod
    def binds(built: LevelModel, bounds: Bounds) -> bool:
        """Whether the base solution breaks any tightened bound (if not, it is still optimal).

        Contract rows are only relaxed where a control withholds a positive flow, which binds itself.
        """
        row_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(bounds.row_upper))
        column_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(bounds.column_upper))
        return bool(
            (bounds.row_upper - built.row_values[bounds.rows] < -row_tolerance).any()
            or (bounds.column_upper - built.column_values[bounds.columns] < -column_tolerance).any()
        )

    def evaluate(self, pattern: Pattern) -> Outcome:
        """The outcome of one draw: the base where the pattern changes nothing that binds, else cached or solved."""
        built = self.level(pattern.demand_level)
        solved, evaluation = self._evaluate(built, pattern)
        excess = np.clip(solved.shortfall - built.base.shortfall, 0.0, None)
        excess[excess < SMALL_SHORTFALL] = 0.0
        return Outcome(solved.shortfall, solved.welfare_usd, evaluation, excess)

    def over_model_periods(self, pattern: Pattern) -> tuple[np.ndarray, np.ndarray]:
        """The draw's steps per model period: the run-out period, if any, repeats the last one."""
        extra = len(self.level(pattern.demand_level).capacity_rows[0]) - self.reported_periods
        capacity, control = pattern.capacity_steps, pattern.control_steps
        if extra:
            capacity = np.concatenate([capacity, np.repeat(capacity[:, -1:], extra, axis=1)], axis=1)
            control = np.concatenate([control, np.repeat(control[-1:], extra)])
        return capacity, control

    def _evaluate(self, built: LevelModel, pattern: Pattern) -> tuple[Solved, int]:
        if pattern.is_undisrupted():
            return built.base, EVALUATION_BASE
        key = pattern.key()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached, EVALUATION_CACHED
        bounds = self.tightened(built, *self.over_model_periods(pattern))
        if self.binds(built, bounds):
            outcome, how = self.solve(built, bounds), EVALUATION_SOLVED
        else:
            outcome, how = built.base, EVALUATION_BASE
        self._cache[key] = outcome
        if len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        return outcome, how

    def solve(self, built: LevelModel, bounds: Bounds) -> Solved:
        """Solve a level's model with a draw's bounds from the base basis, then restore its bounds."""
        solver = built.solver
        rows, columns = bounds.rows.astype(np.int32), bounds.columns.astype(np.int32)
        solver.changeRowsBounds(len(rows), rows, bounds.row_lower, bounds.row_upper)
        solver.changeColsBounds(len(columns), columns, built.column_lower[columns], bounds.column_upper)
        solver.clearSolver()
        solver.setBasis(built.basis)
        try:
            solver.run()
            _require_optimal(solver)
            outcome = self._solved(built, np.asarray(solver.getSolution().col_value))
        finally:
            solver.changeRowsBounds(len(rows), rows, built.row_lower[rows], built.row_upper[rows])
            solver.changeColsBounds(len(columns), columns, built.column_lower[columns], built.column_upper[columns])
        self.solved += 1
        return outcome


def _present(positions: np.ndarray) -> np.ndarray:
    flat = positions.ravel()
    return flat[flat >= 0]


def _mapped(positions: np.ndarray, new_position: np.ndarray) -> np.ndarray:
    """Positions in the reduced program of entries given by their position in the whole one (-1 stays -1)."""
    return np.where(positions >= 0, new_position[np.where(positions >= 0, positions, 0)], -1)


def _require_optimal(solver: highspy.Highs) -> None:
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RaremapError(
            f"a Monte Carlo draw was not solved to optimality ({solver.modelStatusToString(status)}); "
            "this is a model bug, please report it with the risk file"
        )


def _highs(matrix: Any, cost: np.ndarray, column_lower: np.ndarray, column_upper: np.ndarray,
           row_lower: np.ndarray, row_upper: np.ndarray) -> Any:
    """A silent HiGHS model of min cost @ x subject to row bounds on matrix @ x and column bounds."""
    with quiet_stdout():
        solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    # Devex pricing: every draw starts from a cleared solver, where HiGHS's default steepest-edge
    # pricing would first recompute its edge weights; Devex needs none and is faster here.
    solver.setOptionValue("simplex_dual_edge_weight_strategy", DEVEX_PRICING)
    solver.addVars(len(cost), column_lower, column_upper)
    solver.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    matrix = matrix.tocsr()
    solver.addRows(matrix.shape[0], row_lower, row_upper, matrix.nnz, matrix.indptr, matrix.indices, matrix.data)
    return solver
