"""The warm-started evaluator: more disruption never raises welfare; skipped draws are truly unaffected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from raremap.risk.engine import prepare
from raremap.risk.evaluate import EVALUATION_BASE, EVALUATION_CACHED, EVALUATION_SOLVED, DrawEvaluator
from raremap.risk.sampling import Pattern, draw_pattern
from raremap.simulate.run import Simulation
from tests.risk.conftest import write_risk_file


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory, dataset) -> DrawEvaluator:
    risk_file = write_risk_file(tmp_path_factory.mktemp("risk"))
    risk, chain = prepare(risk_file, dataset)
    return DrawEvaluator(risk, chain)


def _worse(pattern: Pattern, generator: np.random.Generator, maximum: int) -> Pattern:
    """The same draw with more capacity lost and more exports withheld, never less."""
    extra_capacity = generator.integers(0, 2, size=pattern.capacity_steps.shape)
    extra_control = generator.integers(0, 2, size=pattern.control_steps.shape)
    return Pattern(
        demand_level=pattern.demand_level,
        capacity_steps=np.minimum(pattern.capacity_steps + extra_capacity, maximum).astype(np.uint8),
        control_steps=np.minimum(pattern.control_steps + extra_control, maximum).astype(np.uint8),
    )


def test_more_disruption_never_means_more_welfare(evaluator: DrawEvaluator) -> None:
    generator = np.random.default_rng(3)
    maximum = round(1 / evaluator.risk.model.severity_step)
    strictly_worse = 0
    for draw in range(25):
        pattern = draw_pattern(evaluator.risk, draw)
        worse = _worse(pattern, generator, maximum)
        welfare, worse_welfare = evaluator.evaluate(pattern).welfare_usd, evaluator.evaluate(worse).welfare_usd
        assert worse_welfare <= welfare + 1e-9 * abs(welfare), f"draw {draw}: more disruption raised welfare"
        strictly_worse += worse_welfare < welfare - 1e-6 * abs(welfare)
    assert strictly_worse > 0, "the extra disruptions should cost welfare in some draws"


def test_total_loss_costs_more_than_no_loss(evaluator: DrawEvaluator) -> None:
    processes, periods = len(evaluator.risk.processes), len(evaluator.risk.periods)
    maximum = round(1 / evaluator.risk.model.severity_step)
    everything = Pattern(1, np.full((processes, periods), maximum, np.uint8), np.full(periods, maximum, np.uint8))
    nothing = Pattern(1, np.zeros((processes, periods), np.uint8), np.zeros(periods, np.uint8))
    assert evaluator.evaluate(everything).shortfall.sum() > evaluator.evaluate(nothing).shortfall.sum()


def test_periods_split_into_separate_models_when_nothing_links_them(evaluator: DrawEvaluator) -> None:
    assert evaluator.independent and len(evaluator.groups) == len(evaluator.risk.periods)
    assert evaluator.matrices(0).is_block_diagonal()


def test_split_models_give_the_whole_model_welfare(evaluator: DrawEvaluator) -> None:
    """Draw by draw, the period models together must reach the welfare of the whole-horizon model."""
    whole = DrawEvaluator(evaluator.risk, evaluator.chain)
    whole.independent = False
    for draw in range(8):
        pattern = draw_pattern(evaluator.risk, draw)
        split, joint = evaluator.evaluate(pattern).welfare_usd, whole.evaluate(pattern).welfare_usd
        assert split == pytest.approx(joint, rel=1e-9)


def test_skipped_draw_equals_its_full_solve(evaluator: DrawEvaluator) -> None:
    """A loss that leaves capacity above the base solution's use must give the base result when solved."""
    evaluator = DrawEvaluator(evaluator.risk, evaluator.chain)  # an empty pattern cache
    block = evaluator.block(0, 0)
    step = evaluator.risk.model.severity_step
    rows = block.capacity_rows
    upper, used = block.row_upper[rows], block.row_values[rows]
    slack_steps = np.floor((1 - used / np.where(upper > 0, upper, 1)) / step + 1e-12)
    candidates = np.argwhere((slack_steps >= 1) & (rows >= 0))
    assert len(candidates) > 0, "some plant must run below capacity in the base solution"
    process, _ = candidates[0]
    steps = np.zeros((len(evaluator.risk.processes), len(evaluator.risk.periods)), np.uint8)
    steps[process, 0] = 1
    pattern = Pattern(0, steps, np.zeros(steps.shape[1], np.uint8))
    skipped = evaluator.evaluate(pattern)
    assert skipped.evaluation == EVALUATION_BASE
    bounds = evaluator.tightened(block, steps[:, [0]], pattern.control_steps[[0]])
    solved = evaluator.solve(block, 0, *bounds)
    assert solved.welfare_usd == pytest.approx(block.base.welfare_usd, rel=1e-9)


def test_binding_draw_is_solved_then_cached_with_the_same_result(evaluator: DrawEvaluator) -> None:
    maximum = round(1 / evaluator.risk.model.severity_step)
    steps = np.full((len(evaluator.risk.processes), len(evaluator.risk.periods)), maximum, np.uint8)
    pattern = Pattern(0, steps, np.zeros(steps.shape[1], np.uint8))
    first, second = evaluator.evaluate(pattern), evaluator.evaluate(pattern)
    assert (first.evaluation, second.evaluation) == (EVALUATION_SOLVED, EVALUATION_CACHED)
    assert first.welfare_usd == second.welfare_usd
    np.testing.assert_array_equal(first.shortfall, second.shortfall)


def test_draw_patterns_depend_only_on_seed_and_index(tmp_path: Path, dataset) -> None:
    risk, _ = prepare(write_risk_file(tmp_path), dataset)
    forward = [draw_pattern(risk, draw).key() for draw in range(40)]
    backward = [draw_pattern(risk, draw).key() for draw in reversed(range(40))][::-1]
    assert forward == backward
    assert len(set(forward)) > 1


def test_undisrupted_draw_has_no_excess_shortfall(tmp_path: Path, dataset) -> None:
    """No disruption at the base demand level (1.0, and every other level): the draw is the base, excess 0."""
    risk, chain = prepare(write_risk_file(tmp_path, {"demand": {"levels": [0.9, 1.0, 1.1],
                                                                "probabilities": [0.25, 0.5, 0.25]}}), dataset)
    evaluator = DrawEvaluator(risk, chain)
    processes, periods = len(risk.processes), len(risk.periods)
    for level in range(3):
        nothing = Pattern(level, np.zeros((processes, periods), np.uint8), np.zeros(periods, np.uint8))
        outcome = evaluator.evaluate(nothing)
        assert outcome.evaluation == EVALUATION_BASE
        np.testing.assert_array_equal(outcome.shortfall, evaluator.base_shortfall(level))
        assert not outcome.excess.any()
    assert evaluator.base_shortfall(1).sum() > 0, "the base itself is short, so shortfall and excess must differ"


def test_excess_is_the_shortfall_beyond_the_base_cell_by_cell(evaluator: DrawEvaluator) -> None:
    maximum = round(1 / evaluator.risk.model.severity_step)
    steps = np.full((len(evaluator.risk.processes), len(evaluator.risk.periods)), maximum, np.uint8)
    for level in (0, 1):
        outcome = evaluator.evaluate(Pattern(level, steps, np.full(steps.shape[1], maximum, np.uint8)))
        expected = np.clip(outcome.shortfall - evaluator.base_shortfall(level), 0.0, None)
        expected[expected < 1e-6] = 0.0
        np.testing.assert_array_equal(outcome.excess, expected)
        assert outcome.excess.sum() > 0


def test_a_base_that_links_periods_gives_the_simulator_results_without_its_run_out(tmp_path: Path, dataset) -> None:
    """With a licence delay in the base, the evaluator solves one more period, as the simulator does, and
    an undisrupted draw at demand level 1.0 reports the simulator's shortfall and welfare."""
    changes = {"base": "china-2025-controls", "demand": {"levels": [1.0], "probabilities": [1.0]}}
    risk, chain = prepare(write_risk_file(tmp_path, changes), dataset)
    evaluator = DrawEvaluator(risk, chain)
    assert not evaluator.independent and len(evaluator.chain.periods) == len(risk.periods) + 1
    processes, periods = len(risk.processes), len(risk.periods)
    outcome = evaluator.evaluate(Pattern(0, np.zeros((processes, periods), np.uint8), np.zeros(periods, np.uint8)))
    simulation = Simulation(risk.scenario, supply_chain=chain)
    result = simulation.run()
    table = result.shortfall.query("country == @risk.scenario.importer").set_index(["sector", "element", "period"])
    expected = np.array([[[table["tonnes"].get((sector, element, period), 0.0) for period in risk.periods]
                          for element in evaluator.elements] for sector in evaluator.sectors])
    np.testing.assert_allclose(outcome.shortfall, expected, atol=1e-6)
    assert outcome.welfare_usd == pytest.approx(result.welfare_usd, rel=1e-9)
