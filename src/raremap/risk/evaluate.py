"""Evaluating draws on reused, warm-started HiGHS models (the hot loop of a Monte Carlo run).

The equilibrium LP of the base scenario is built once per demand level with linopy; its matrices
go to HiGHS directly (highspy), once per block. A draw
only tightens bounds: capacity rows get a smaller right-hand side, and the export-controlling
country's flow columns get an upper bound of (1 - cut) x their base value. Between draws the
bounds go back to the base and the solve starts from the base optimal basis (a warm start).

Period blocks: when nothing links periods (no licence delays, no stocks, no substitution, and
the same plants and buyers exist in every period), the LP is block-diagonal by period: checked on
the built matrix, every nonzero must join a row and a column of the same period. Each period is
then its own small model, a draw solves only the periods it disrupts, and a period's pattern
recurs far more often than a whole draw's, so the pattern cache does most of the work. Otherwise
the whole horizon stays one model.

Determinism: every solve starts from a cleared solver and the base basis, never from the previous
draw's state, so a draw's result does not depend on which draws a worker solved before; runs are
bit-identical whatever the chunking or the number of workers.

Skipping: if every tightened bound still admits the base solution's value, the base solution stays
feasible and, the feasible set having only shrunk, optimal; such a block is not solved.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import highspy
import linopy
import numpy as np

from raremap.errors import RaremapError
from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import solver_positions
from raremap.model.supply_chain import SupplyChain
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import Pattern

CAPACITY_CONSTRAINTS = {
    "mining": "Mining-capacity-upper",
    "separation": "Separation-capacity-upper",
    "metal": "Metal-capacity-upper",
    "magnet": "Magnet-capacity-upper",
}
BINDING_TOLERANCE = 1e-7
"""A tightened bound binds when the base value exceeds it by more than this share of max(1, bound)."""
CACHE_LIMIT = 50_000
"""Block patterns remembered per worker (least recently used dropped first), so memory stays bounded."""
SMALL_SHORTFALL = 1e-6
DEVEX_PRICING = 1
"""HiGHS's code for Devex dual edge weights (option simplex_dual_edge_weight_strategy)."""

EVALUATION_BASE = 0
EVALUATION_CACHED = 1
EVALUATION_SOLVED = 2
EVALUATION_NAMES = {EVALUATION_BASE: "base", EVALUATION_CACHED: "cached", EVALUATION_SOLVED: "solved"}


@dataclass(frozen=True)
class Outcome:
    """The importer's shortfall (sector x element x period, tonnes) and world welfare (USD) of a draw.

    `excess` is the shortfall in excess of the undisrupted base solution at the draw's demand level,
    max(0, shortfall - base shortfall) cell by cell (same shape as `shortfall`).
    """

    shortfall: np.ndarray
    welfare_usd: float
    evaluation: int
    excess: np.ndarray


@dataclass(frozen=True)
class BlockOutcome:
    """Shortfall over one block's periods and the block's welfare."""

    shortfall: np.ndarray
    welfare_usd: float


def periods_are_independent(chain: SupplyChain) -> bool:
    """Whether no input links periods and every period has the same plants, edges and buyers.

    A necessary condition only: the block split is used when, in addition, every nonzero of the
    built constraint matrix joins a row and a column of the same period (checked on the matrix).
    """
    capacity, demand = chain["capacity"] > 0, chain["demand"] > 0
    same_plants = bool((capacity.all("period") | ~capacity.any("period")).all())
    same_buyers = bool((demand.all("period") | ~demand.any("period")).all())
    return same_plants and same_buyers and not chain.links_periods


def _period_of_entries(items: Any, label_to_position: np.ndarray, size: int, periods: list[int]) -> np.ndarray:
    """The period index of every solver column (or row); -1 for entries without a period dimension."""
    period_index = np.full(size, -1, dtype=np.int64)
    for name in items:
        labels = items[name].labels
        if "period" not in labels.dims:
            continue
        order = labels.transpose("period", ...).values.reshape(len(periods), -1)
        for index in range(len(periods)):
            present = order[index][order[index] >= 0]
            period_index[label_to_position[present]] = index
    return period_index


@dataclass(frozen=True)
class LevelMatrices:
    """The whole LP of one demand level as arrays, with the period of every row and column."""

    matrix: Any  # scipy.sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    cost: np.ndarray
    row_period: np.ndarray
    column_period: np.ndarray
    capacity_rows: np.ndarray
    control_columns: np.ndarray
    served_columns: np.ndarray
    share_columns: np.ndarray

    def is_block_diagonal(self) -> bool:
        """Whether every constraint touches only columns of its own period."""
        coordinates = self.matrix.tocoo()
        rows, columns = self.row_period[coordinates.row], self.column_period[coordinates.col]
        return bool((rows >= 0).all() and (columns >= 0).all() and (rows == columns).all())


@dataclass
class Block:
    """One HiGHS model (a demand level x a group of periods), its base solution and its index maps."""

    periods: np.ndarray
    solver: Any  # highspy.Highs; its type stubs lack the bound-changing methods used here
    basis: Any
    column_values: np.ndarray
    row_values: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    capacity_rows: np.ndarray
    control_columns: np.ndarray
    served_columns: np.ndarray
    share_columns: np.ndarray
    run_out_cost: np.ndarray  # objective coefficients of the run-out period's columns, 0 elsewhere
    base: BlockOutcome


def _local(full_positions: np.ndarray, local_of: np.ndarray) -> np.ndarray:
    """Positions in a block's model of entries given by their position in the whole model."""
    local = np.full(full_positions.shape, -1, dtype=np.int64)
    present = full_positions >= 0
    local[present] = local_of[full_positions[present]]
    return local


class DrawEvaluator:
    """Evaluates draw patterns on warm-started HiGHS blocks, built when first needed."""

    def __init__(self, risk: ResolvedRisk, chain: SupplyChain):
        self.risk = risk
        # Where periods link, the LP looks one period past the horizon, as the simulator does
        # (SupplyChain.with_run_out); draws repeat their last period there, and no result reports it.
        self.reported_periods = len(chain.periods)
        self.chain = chain.with_run_out() if chain.links_periods else chain
        chain = self.chain
        importer = chain["demand"].sel(country=risk.scenario.importer)
        self.sectors = [str(sector) for sector in importer["sector"].values]
        self.elements = [str(element) for element in importer["element"].values if float(importer.sel(element=element).max()) > 0]
        ordered = importer.sel(element=self.elements).transpose("sector", "element", "period")
        self.base_demand = np.asarray(ordered.values, dtype=float) * risk.period_length
        self.independent = periods_are_independent(chain)
        self._matrices: dict[int, LevelMatrices] = {}
        self._blocks: dict[tuple[int, int], Block] = {}
        self._cache: OrderedDict[bytes, BlockOutcome] = OrderedDict()
        self._base_shortfall: dict[int, np.ndarray] = {}
        self.solved = 0

    @property
    def reported_demand(self) -> np.ndarray:
        """The importer's base demand (sector x element x period, tonnes) over the reported periods."""
        return self.base_demand[:, :, : self.reported_periods]

    @property
    def groups(self) -> list[np.ndarray]:
        """The period groups solved as separate models: one per period where the LP splits, else one."""
        periods = len(self.chain.periods)
        if self.independent:
            return [np.array([period]) for period in range(periods)]
        return [np.arange(periods)]

    # Building -------------------------------------------------------------------------------

    def matrices(self, level: int) -> LevelMatrices:
        """The whole LP of a demand level (built with linopy once per level and worker)."""
        if level not in self._matrices:
            multiplier = self.risk.model.demand.levels[level]
            chain = self.chain.replace(demand=self.chain["demand"] * multiplier)
            model = build_model(chain)
            self._matrices[level] = self._level_matrices(model, chain)
            if self.independent and not self._matrices[level].is_block_diagonal():
                self.independent = False
        return self._matrices[level]

    def _level_matrices(self, model: linopy.Model, chain: SupplyChain) -> LevelMatrices:
        matrices = model.matrices
        if not (matrices.var_scaling == 1).all():
            raise RaremapError("the equilibrium model uses solver scaling, which the risk engine does not support")
        variables, constraints = model.variables.label_index, model.constraints.label_index
        sense, rhs = matrices.sense, matrices.b
        periods = chain.periods
        if matrices.A is None:
            raise RaremapError("the equilibrium model has no constraints; nothing for a risk run to disrupt")
        return LevelMatrices(
            matrix=matrices.A.tocsr(),
            row_lower=np.where(sense != "<", rhs, -np.inf),
            row_upper=np.where(sense != ">", rhs, np.inf),
            column_lower=np.asarray(matrices.lb, dtype=float),
            column_upper=np.asarray(matrices.ub, dtype=float),
            cost=np.asarray(matrices.c, dtype=float),
            row_period=_period_of_entries(model.constraints, constraints.label_to_pos, len(rhs), periods),
            column_period=_period_of_entries(model.variables, variables.label_to_pos, len(matrices.lb), periods),
            **self._index_maps(model, chain),
        )

    def _index_maps(self, model: linopy.Model, chain: SupplyChain) -> dict[str, np.ndarray]:
        """Solver positions of the rows and columns a draw changes (capacity, exports) or reads (demand served)."""
        variables, constraints = model.variables.label_index, model.constraints.label_index
        rows = np.full((len(self.risk.processes), len(chain.periods)), -1, dtype=np.int64)
        for index, process in enumerate(self.risk.processes):
            labels = model.constraints[CAPACITY_CONSTRAINTS[process.stage]].labels.sel(country=process.country)
            rows[index] = solver_positions(constraints.label_to_pos, labels.transpose("period").values)
        importer = self.risk.scenario.importer
        served = model.variables["Served"].labels.sel(country=importer, element=self.elements)
        share = model.variables["Substitution-share"].labels.sel(country=importer, element=self.elements)
        return {
            "capacity_rows": rows,
            "control_columns": self._control_columns(model, chain, variables.label_to_pos),
            "served_columns": solver_positions(variables.label_to_pos, served.transpose("sector", "element", "step", "period").values),
            "share_columns": solver_positions(variables.label_to_pos, share.transpose("sector", "element", "period").values),
        }

    def _control_columns(self, model: linopy.Model, chain: SupplyChain, label_to_position: np.ndarray) -> np.ndarray:
        """Flow columns (period x edges) of the export-controlling country that a control cuts."""
        settings = self.risk.model.export_control
        labels = model.variables["Flow"].labels.sel(stage=list(settings.stages), exporter=settings.exporter)
        if "all" not in settings.elements:
            labels = labels.sel(element=[element for element in settings.elements if element in chain.elements])
        if "all" not in settings.destinations:
            labels = labels.sel(importer=[country for country in settings.destinations if country in chain.countries])
        ordered = labels.transpose("period", ...).values.reshape(len(chain.periods), -1)
        return solver_positions(label_to_position, ordered)

    def block(self, level: int, group: int) -> Block:
        """The model of one demand level and period group, built and solved on first use."""
        whole = self.matrices(level)
        key = (level, group)
        if key not in self._blocks:
            self._blocks[key] = self._build_block(whole, level, self.groups[group])
        return self._blocks[key]

    def _build_block(self, whole: LevelMatrices, level: int, periods: np.ndarray) -> Block:
        columns = np.flatnonzero(np.isin(whole.column_period, periods)) if self.independent else np.arange(len(whole.cost))
        rows = np.flatnonzero(np.isin(whole.row_period, periods)) if self.independent else np.arange(len(whole.row_lower))
        local_column = np.full(len(whole.cost), -1, dtype=np.int64)
        local_column[columns] = np.arange(len(columns))
        local_row = np.full(len(whole.row_lower), -1, dtype=np.int64)
        local_row[rows] = np.arange(len(rows))
        solver = _highs(whole.matrix[rows][:, columns], whole.cost[columns], whole.column_lower[columns],
                        whole.column_upper[columns], whole.row_lower[rows], whole.row_upper[rows])
        solver.run()
        self._require_optimal(solver)
        solution = solver.getSolution()
        block = Block(
            periods=periods, solver=solver, basis=solver.getBasis(),
            column_values=np.asarray(solution.col_value), row_values=np.asarray(solution.row_value),
            row_lower=whole.row_lower[rows], row_upper=whole.row_upper[rows],
            column_lower=whole.column_lower[columns], column_upper=whole.column_upper[columns],
            capacity_rows=_local(whole.capacity_rows[:, periods], local_row),
            control_columns=_local(whole.control_columns[periods], local_column),
            served_columns=_local(whole.served_columns[..., periods], local_column),
            share_columns=_local(whole.share_columns[..., periods], local_column),
            run_out_cost=np.where(whole.column_period[columns] >= self.reported_periods, whole.cost[columns], 0.0),
            base=BlockOutcome(np.empty(0), 0.0),
        )
        block.base = self._block_outcome(block, block.column_values, level)
        return block

    # Evaluating -----------------------------------------------------------------------------

    @staticmethod
    def _require_optimal(solver: highspy.Highs) -> None:
        status = solver.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RaremapError(
                f"a Monte Carlo draw was not solved to optimality ({solver.modelStatusToString(status)}); "
                "this is a model bug, please report it with the risk file"
            )

    def _block_outcome(self, block: Block, columns: np.ndarray, level: int) -> BlockOutcome:
        """Importer shortfall = demand - served - substituted (never below zero), as in simulate's table."""
        demand = self.base_demand[:, :, block.periods] * self.risk.model.demand.levels[level]
        values = np.append(columns, 0.0)
        served = values[block.served_columns].sum(axis=2)
        shortfall = np.clip(demand - served - demand * values[block.share_columns], 0.0, None)
        shortfall[shortfall < SMALL_SHORTFALL] = 0.0
        objective = float(block.solver.getInfo().objective_function_value) - float(block.run_out_cost @ columns)
        return BlockOutcome(shortfall, -objective * 1000.0)

    def tightened(self, block: Block, capacity_steps: np.ndarray, control_steps: np.ndarray) -> tuple[np.ndarray, ...]:
        """Rows with their new upper bounds and columns with their new upper bounds, for one block."""
        step = self.risk.model.severity_step
        row_mask = (capacity_steps > 0) & (block.capacity_rows >= 0)
        rows = block.capacity_rows[row_mask]
        row_upper = block.row_upper[rows] * np.clip(1.0 - capacity_steps[row_mask] * step, 0.0, 1.0)
        column_mask = (control_steps[:, None] > 0) & (block.control_columns >= 0)
        columns = block.control_columns[column_mask]
        kept = np.broadcast_to(1.0 - control_steps[:, None] * step, block.control_columns.shape)[column_mask]
        column_upper = block.column_values[columns] * np.clip(kept, 0.0, 1.0)
        return rows, row_upper, columns, column_upper

    @staticmethod
    def binds(block: Block, rows: np.ndarray, row_upper: np.ndarray, columns: np.ndarray, column_upper: np.ndarray) -> bool:
        """Whether the base solution breaks any tightened bound (if not, it is still optimal)."""
        row_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(row_upper))
        column_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(column_upper))
        return bool(
            (row_upper - block.row_values[rows] < -row_tolerance).any()
            or (column_upper - block.column_values[columns] < -column_tolerance).any()
        )

    def evaluate(self, pattern: Pattern) -> Outcome:
        """The outcome of one draw: each period block reused from the base or the cache where sound, else solved."""
        parts, evaluation = [], 0
        capacity_steps, control_steps = self._over_model_periods(pattern)
        for group, periods in enumerate(self.groups):
            part, how = self._evaluate_block(pattern.demand_level, group, capacity_steps[:, periods], control_steps[periods])
            parts.append((periods, part))
            evaluation = max(evaluation, how)
        shortfall = np.zeros(self.base_demand.shape)
        for periods, part in parts:
            shortfall[:, :, periods] = part.shortfall
        shortfall = shortfall[:, :, : self.reported_periods]
        excess = np.clip(shortfall - self.base_shortfall(pattern.demand_level), 0.0, None)
        excess[excess < SMALL_SHORTFALL] = 0.0
        return Outcome(shortfall, float(sum(part.welfare_usd for _, part in parts)), evaluation, excess)

    def _over_model_periods(self, pattern: Pattern) -> tuple[np.ndarray, np.ndarray]:
        """The draw's steps per model period: the run-out period, if any, repeats the last one."""
        extra = len(self.chain.periods) - self.reported_periods
        capacity, control = pattern.capacity_steps, pattern.control_steps
        if extra:
            capacity = np.concatenate([capacity, np.repeat(capacity[:, -1:], extra, axis=1)], axis=1)
            control = np.concatenate([control, np.repeat(control[-1:], extra)])
        return capacity, control

    def base_shortfall(self, level: int) -> np.ndarray:
        """The undisrupted shortfall (sector x element x reported period) of a demand level, from its blocks."""
        if level not in self._base_shortfall:
            shortfall = np.zeros(self.base_demand.shape)
            for group, periods in enumerate(self.groups):
                shortfall[:, :, periods] = self.block(level, group).base.shortfall
            self._base_shortfall[level] = shortfall[:, :, : self.reported_periods]
        return self._base_shortfall[level]

    def _evaluate_block(self, level: int, group: int, capacity_steps: np.ndarray, control_steps: np.ndarray) -> tuple[BlockOutcome, int]:
        block = self.block(level, group)
        if not capacity_steps.any() and not control_steps.any():
            return block.base, EVALUATION_BASE
        key = bytes([level, group]) + capacity_steps.tobytes() + control_steps.tobytes()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached, EVALUATION_CACHED
        bounds = self.tightened(block, capacity_steps, control_steps)
        if self.binds(block, *bounds):
            outcome, how = self.solve(block, level, *bounds), EVALUATION_SOLVED
        else:
            outcome, how = block.base, EVALUATION_BASE
        self._cache[key] = outcome
        if len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        return outcome, how

    def solve(self, block: Block, level: int, rows: np.ndarray, row_upper: np.ndarray, columns: np.ndarray,
              column_upper: np.ndarray) -> BlockOutcome:
        """Solve a block with tightened bounds from the base basis, then restore its bounds."""
        solver = block.solver
        row_positions, column_positions = rows.astype(np.int32), columns.astype(np.int32)
        solver.changeRowsBounds(len(rows), row_positions, block.row_lower[rows], row_upper)
        solver.changeColsBounds(len(columns), column_positions, block.column_lower[columns], column_upper)
        solver.clearSolver()
        solver.setBasis(block.basis)
        try:
            solver.run()
            self._require_optimal(solver)
            outcome = self._block_outcome(block, np.asarray(solver.getSolution().col_value), level)
        finally:
            solver.changeRowsBounds(len(rows), row_positions, block.row_lower[rows], block.row_upper[rows])
            solver.changeColsBounds(len(columns), column_positions, block.column_lower[columns], block.column_upper[columns])
        self.solved += 1
        return outcome


def _highs(matrix: Any, cost: np.ndarray, column_lower: np.ndarray, column_upper: np.ndarray,
           row_lower: np.ndarray, row_upper: np.ndarray) -> Any:
    """A silent HiGHS model of min cost @ x subject to row bounds on matrix @ x and column bounds."""
    with quiet_stdout():
        solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    # Devex pricing: every draw starts from a cleared solver, where HiGHS's default steepest-edge
    # pricing would first recompute its edge weights; Devex needs none and is about 25 % faster here.
    solver.setOptionValue("simplex_dual_edge_weight_strategy", DEVEX_PRICING)
    solver.addVars(len(cost), column_lower, column_upper)
    solver.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    matrix = matrix.tocsr()
    solver.addRows(matrix.shape[0], row_lower, row_upper, matrix.nnz, matrix.indptr, matrix.indices, matrix.data)
    return solver
