"""The warm-started evaluator: an undisrupted draw is the simulator's base, draws are shocks without
hindsight, more disruption never helps, skipped draws are truly unaffected, controls do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from raremap.risk.engine import prepare
from raremap.risk.evaluate import EVALUATION_BASE, EVALUATION_CACHED, EVALUATION_SOLVED, DrawEvaluator
from raremap.risk.program import Block, Certificate, LinearProgram, Positions
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import Pattern, draw_pattern
from raremap.simulate.run import Simulation
from tests.risk.conftest import write_risk_file


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory, dataset) -> DrawEvaluator:
    risk_file = write_risk_file(tmp_path_factory.mktemp("risk"))
    risk, chain = prepare(risk_file, dataset)
    return DrawEvaluator(risk, chain)


def _pattern(risk: ResolvedRisk, level: int, capacity: int = 0, control: int = 0) -> Pattern:
    """A pattern with the same number of steps at every process (and of control) in every horizon period."""
    steps = np.zeros((len(risk.processes), len(risk.periods)), np.uint8)
    steps[:, risk.horizon:] = capacity
    cut = np.zeros(len(risk.periods), np.uint8)
    cut[risk.horizon:] = control
    return Pattern(level, steps, cut)


def _worse(pattern: Pattern, generator: np.random.Generator, maximum: int, horizon: int) -> Pattern:
    """The same draw with more capacity lost and more exports withheld in the horizon, never less."""
    extra_capacity = generator.integers(0, 2, size=pattern.capacity_steps.shape)
    extra_control = generator.integers(0, 2, size=pattern.control_steps.shape)
    extra_capacity[:, :horizon] = 0
    extra_control[:horizon] = 0
    return Pattern(
        demand_level=pattern.demand_level,
        capacity_steps=np.minimum(pattern.capacity_steps + extra_capacity, maximum).astype(np.uint8),
        control_steps=np.minimum(pattern.control_steps + extra_control, maximum).astype(np.uint8),
    )


@pytest.mark.slow
@pytest.mark.parametrize("base", ["baseline", "china-2025-controls"])
def test_an_undisrupted_draw_is_what_simulate_reports_for_the_base(tmp_path: Path, dataset, base: str) -> None:
    """At demand level 1.0 and without disruption, the importer's shortfall per sector x horizon period and
    the world's welfare are those of `simulate` on the base scenario (with the risk file's periods); with
    a shocked base (china-2025-controls) investment is its unshocked twin's in both."""
    changes = {"base": base, "demand": {"levels": [1.0], "probabilities": [1.0]}}
    risk, chain = prepare(write_risk_file(tmp_path, changes), dataset)
    evaluator = DrawEvaluator(risk, chain)
    outcome = evaluator.evaluate(_pattern(risk, 0))
    assert outcome.evaluation == EVALUATION_BASE and not outcome.excess.any()
    result = Simulation(risk.scenario, supply_chain=chain).run()
    table = result.shortfall.query("country == @risk.importer").set_index(["sector", "period"])["tonnes"]
    expected = np.array([[table.get((sector, period), 0.0) for period in risk.horizon_labels] for sector in risk.sectors])
    np.testing.assert_allclose(outcome.shortfall, expected, rtol=1e-7, atol=1e-6)
    assert outcome.welfare_usd == pytest.approx(result.welfare_usd, rel=1e-9)
    units = result.shortfall.query("country == @risk.importer").groupby("sector")["unit"].first()
    assert [units[sector] for sector in risk.sectors] == list(risk.sector_units)


@pytest.mark.slow
def test_more_disruption_never_means_more_welfare(evaluator: DrawEvaluator) -> None:
    generator = np.random.default_rng(3)
    maximum = round(1 / evaluator.risk.model.severity_step)
    strictly_worse = 0
    for draw in range(25):
        pattern = draw_pattern(evaluator.risk, draw)
        worse = _worse(pattern, generator, maximum, evaluator.risk.horizon)
        welfare, worse_welfare = evaluator.evaluate(pattern).welfare_usd, evaluator.evaluate(worse).welfare_usd
        assert worse_welfare <= welfare + 1e-9 * abs(welfare), f"draw {draw}: more disruption raised welfare"
        strictly_worse += worse_welfare < welfare - 1e-6 * abs(welfare)
    assert strictly_worse > 0, "the extra disruptions should cost welfare in some draws"


def test_total_loss_costs_more_than_no_loss(evaluator: DrawEvaluator) -> None:
    maximum = round(1 / evaluator.risk.model.severity_step)
    everything, nothing = _pattern(evaluator.risk, 1, maximum, maximum), _pattern(evaluator.risk, 1)
    assert evaluator.evaluate(everything).shortfall.sum() > evaluator.evaluate(nothing).shortfall.sum()


def test_draws_neither_build_plants_nor_change_the_years_before_the_horizon(evaluator: DrawEvaluator) -> None:
    """Investment and every decision before the horizon are constants of the draws' LP: its columns are
    the horizon's and the run-out period's, without New-capacity."""
    whole = evaluator.level(0).whole
    risk = evaluator.risk
    positions = whole.positions
    assert (positions.capacity_rows[:, : risk.horizon] == -1).all()
    assert (positions.control_columns[: risk.horizon] == -1).all()
    assert (positions.capacity_rows[:, risk.horizon:] >= 0).any(axis=1).all()
    assert positions.capacity_rows.shape[1] == len(risk.periods) + 1, "the base links periods: the LP looks one period ahead"
    assert whole.fixed_cost != 0.0


def test_periods_are_solved_apart_and_give_the_whole_horizon_result(evaluator: DrawEvaluator) -> None:
    """With investment fixed and no substitution adopted in the base, each period (from the horizon on, the
    run-out included) is its own block; draw by draw, the blocks give the whole-horizon LP's optimum."""
    risk = evaluator.risk
    assert sorted(evaluator.level(0).periods) == list(range(risk.horizon, len(risk.periods) + 1))
    whole = DrawEvaluator(risk, evaluator.chain)
    whole.split = False
    for draw in range(12):
        pattern = draw_pattern(risk, draw)
        split, joint = evaluator.evaluate(pattern), whole.evaluate(pattern)
        assert split.welfare_usd == pytest.approx(joint.welfare_usd, rel=1e-9)
        np.testing.assert_allclose(split.shortfall, joint.shortfall, rtol=1e-7, atol=1e-6)
    assert whole.whole_solves > 0 and evaluator.whole_solves == 0


def test_a_block_is_accepted_only_where_holding_the_linking_columns_stays_optimal() -> None:
    """min -x1 + c2 x2 with x1 + x2 <= 1, x2 held at 0 while x1 is solved alone: the row's dual is -1, so
    holding x2 stays optimal exactly when its reduced cost c2 + 1 is not negative."""
    program = LinearProgram(scipy.sparse.csr_array(np.array([[1.0]])), np.array([-np.inf]), np.array([1.0]),
                            np.zeros(1), np.full(1, np.inf), np.array([-1.0]))
    positions = Positions(*(np.full((1, 1), -1) for _ in range(2)), np.full((1, 1, 1), -1), np.full((1, 1), -1),
                          np.full((1, 1, 0), -1))
    for held_cost, optimal in ((-0.5, True), (-2.0, False)):
        certificate = Certificate(np.array([held_cost]), scipy.sparse.csr_array(np.array([[1.0]])))
        block = Block.solved(program, positions, np.zeros(0, dtype=np.int64), np.zeros((1, 0)), program.cost, 0.0, certificate)
        assert block.base_certified == optimal


def test_fixing_columns_moves_their_activity_into_the_row_bounds() -> None:
    """A hand-checkable program: x0 + x1 <= 4, x1 + x2 >= 1, x0 <= 3 (one-column row); x0 fixed at 3."""
    matrix = scipy.sparse.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    program = LinearProgram(matrix, np.array([-np.inf, 1.0, -np.inf]), np.array([4.0, np.inf, 3.0]),
                            np.zeros(3), np.full(3, np.inf), np.array([1.0, 2.0, 3.0]))
    reduced, column_map, row_map = program.part(np.ones(3, dtype=bool), np.array([False, True, True]), np.array([3.0, 0.0, 0.0]))
    assert list(column_map) == [-1, 0, 1] and list(row_map) == [0, 1, -1]
    np.testing.assert_array_equal(reduced.matrix.toarray(), [[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(reduced.row_upper, [1.0, np.inf])
    np.testing.assert_array_equal(reduced.row_lower, [-np.inf, 1.0])
    np.testing.assert_array_equal(reduced.cost, [2.0, 3.0])


def test_skipped_draw_equals_its_full_solve(evaluator: DrawEvaluator) -> None:
    """A loss that leaves capacity above the base solution's use must give the base result when solved."""
    evaluator = DrawEvaluator(evaluator.risk, evaluator.chain)  # an empty pattern cache
    whole = evaluator.level(0).whole
    step = evaluator.risk.model.severity_step
    rows = whole.positions.capacity_rows
    upper = np.where(rows >= 0, whole.program.row_upper[rows], 1.0)
    used = np.where(rows >= 0, whole.row_values[rows], 0.0)
    slack_steps = np.floor((1 - used / np.where(upper > 0, upper, 1)) / step + 1e-12)
    candidates = np.argwhere((slack_steps >= 1) & (rows >= 0))
    candidates = candidates[candidates[:, 1] < len(evaluator.risk.periods)]
    assert len(candidates) > 0, "some plant must run below capacity in the base solution"
    process, period = candidates[0]
    pattern = _pattern(evaluator.risk, 0)
    pattern.capacity_steps[process, period] = 1
    evaluator.split = False
    skipped = evaluator.evaluate(pattern)
    assert skipped.evaluation == EVALUATION_BASE
    solved = evaluator.solve(whole, evaluator.tightened(whole, *evaluator.over_model_periods(pattern)))
    assert solved.welfare_usd == pytest.approx(whole.base.welfare_usd, rel=1e-9)
    np.testing.assert_allclose(solved.shortfall, whole.base.shortfall, atol=1e-6)


def test_binding_draw_is_solved_then_cached_with_the_same_result(evaluator: DrawEvaluator) -> None:
    maximum = round(1 / evaluator.risk.model.severity_step)
    pattern = _pattern(evaluator.risk, 0, capacity=maximum)
    first, second = evaluator.evaluate(pattern), evaluator.evaluate(pattern)
    assert (first.evaluation, second.evaluation) == (EVALUATION_SOLVED, EVALUATION_CACHED)
    assert first.welfare_usd == second.welfare_usd
    np.testing.assert_array_equal(first.shortfall, second.shortfall)


def test_an_export_control_withholds_its_share_of_every_covered_flow(evaluator: DrawEvaluator) -> None:
    """With half of China's exports withheld in the horizon, no covered flow carries more than half its base."""
    whole = evaluator.level(1).whole
    half = round(0.5 / evaluator.risk.model.severity_step)
    pattern = _pattern(evaluator.risk, 1, control=half)
    evaluator.solve(whole, evaluator.tightened(whole, *evaluator.over_model_periods(pattern)))
    values = np.asarray(whole.solver.getSolution().col_value)
    covered = whole.positions.control_columns >= 0
    base = whole.control_reference[covered]
    assert base.sum() > 0
    assert (values[whole.positions.control_columns[covered]] <= 0.5 * base + 1e-6 * np.maximum(1.0, base)).all()
    assert evaluator.evaluate(pattern).shortfall.sum() >= whole.base.shortfall.sum() - 1e-6


def test_draw_patterns_depend_only_on_seed_and_index(tmp_path: Path, dataset) -> None:
    risk, _ = prepare(write_risk_file(tmp_path), dataset)
    forward = [draw_pattern(risk, draw).key() for draw in range(40)]
    backward = [draw_pattern(risk, draw).key() for draw in reversed(range(40))][::-1]
    assert forward == backward
    assert len(set(forward)) > 1
    assert not any(draw_pattern(risk, draw).capacity_steps[:, : risk.horizon].any() for draw in range(40))


def test_undisrupted_draw_has_no_excess_shortfall(evaluator: DrawEvaluator) -> None:
    """No disruption at any demand level: the draw is the level's base, excess 0."""
    for level in range(len(evaluator.risk.model.demand.levels)):
        outcome = evaluator.evaluate(_pattern(evaluator.risk, level))
        assert outcome.evaluation == EVALUATION_BASE
        np.testing.assert_array_equal(outcome.shortfall, evaluator.base_shortfall(level))
        assert not outcome.excess.any()


def test_excess_is_the_shortfall_beyond_the_base_cell_by_cell(evaluator: DrawEvaluator) -> None:
    maximum = round(1 / evaluator.risk.model.severity_step)
    for level in (0, 1):
        outcome = evaluator.evaluate(_pattern(evaluator.risk, level, maximum, maximum))
        expected = np.clip(outcome.shortfall - evaluator.base_shortfall(level), 0.0, None)
        expected[expected < 1e-6] = 0.0
        np.testing.assert_array_equal(outcome.excess, expected)
        assert outcome.excess.sum() > 0


def test_demand_levels_multiply_the_horizon_demand(evaluator: DrawEvaluator) -> None:
    low, high = evaluator.risk.model.demand.levels
    np.testing.assert_allclose(evaluator.demand(1) / high, evaluator.demand(0) / low, rtol=1e-12)


def test_a_block_staged_from_its_control_alone_reaches_the_same_optimum(evaluator: DrawEvaluator) -> None:
    """A period with a control and a capacity loss is solved from the control's own optimal basis: the
    same optimum as from the base basis, and the control alone is then cached too."""
    staged = DrawEvaluator(evaluator.risk, evaluator.chain)
    pattern = _pattern(evaluator.risk, 1, capacity=0, control=3)
    pattern.capacity_steps[:, -1] = 2
    pattern.control_steps[: len(evaluator.risk.periods) - 1] = 0
    outcome = staged.evaluate(pattern)
    assert outcome.evaluation == EVALUATION_SOLVED and staged.solved >= 2
    direct = DrawEvaluator(evaluator.risk, evaluator.chain)
    direct.split = False
    expected = direct.evaluate(pattern)
    assert outcome.welfare_usd == pytest.approx(expected.welfare_usd, rel=1e-9)
    np.testing.assert_allclose(outcome.shortfall, expected.shortfall, rtol=1e-7, atol=1e-6)
    control_only = _pattern(evaluator.risk, 1)
    control_only.control_steps[-1] = 3
    assert staged.evaluate(control_only).evaluation == EVALUATION_CACHED


class _FirstRunUnproven:
    """A HiGHS model whose first run reports no proven optimum (as numerical trouble near the end of a warm
    start does), then behaves."""

    def __init__(self, solver: object) -> None:
        self.solver, self.runs = solver, 0

    def run(self) -> object:
        self.runs += 1
        return self.solver.run()  # type: ignore[attr-defined]

    def getModelStatus(self) -> object:  # noqa: N802 (HiGHS's name)
        import highspy

        return highspy.HighsModelStatus.kUnknown if self.runs == 1 else self.solver.getModelStatus()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.solver, name)


def test_a_solve_without_a_proven_optimum_is_solved_again(evaluator: DrawEvaluator) -> None:
    from dataclasses import replace

    block = evaluator.level(0).whole
    flaky = replace(block, solver=_FirstRunUnproven(block.solver))
    maximum = round(1 / evaluator.risk.model.severity_step)
    bounds = evaluator.tightened(block, *evaluator.over_model_periods(_pattern(evaluator.risk, 0, capacity=maximum)))
    expected = evaluator.solve(block, bounds)
    again = evaluator.solve(flaky, bounds)
    assert flaky.solver.runs == 2
    assert again.welfare_usd == pytest.approx(expected.welfare_usd, rel=1e-9)
