"""The warm-started evaluator: more disruption never raises welfare; skipped draws are truly unaffected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from raremap.risk.engine import prepare
from raremap.risk.evaluate import EVALUATION_BASE, EVALUATION_CACHED, EVALUATION_SOLVED, DrawEvaluator
from raremap.risk.sampling import Pattern, draw_pattern
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
    processes, periods = evaluator.capacity_rows.shape
    maximum = round(1 / evaluator.risk.model.severity_step)
    everything = Pattern(1, np.full((processes, periods), maximum, np.uint8), np.full(periods, maximum, np.uint8))
    nothing = Pattern(1, np.zeros((processes, periods), np.uint8), np.zeros(periods, np.uint8))
    assert evaluator.evaluate(everything).shortfall.sum() > evaluator.evaluate(nothing).shortfall.sum()


def test_skipped_draw_equals_its_full_solve(evaluator: DrawEvaluator) -> None:
    """A loss that leaves capacity above the base solution's use must give the base result when solved."""
    base = evaluator.level(0)
    step = evaluator.risk.model.severity_step
    rows = evaluator.capacity_rows
    upper, used = base.row_upper[rows], base.row_values[rows]
    slack_steps = np.floor((1 - used / np.where(upper > 0, upper, 1)) / step + 1e-12)
    candidates = np.argwhere((slack_steps >= 1) & (rows >= 0))
    assert len(candidates) > 0, "some plant must run below capacity in the base solution"
    process, period = candidates[0]
    steps = np.zeros(rows.shape, np.uint8)
    steps[process, period] = 1
    pattern = Pattern(0, steps, np.zeros(rows.shape[1], np.uint8))
    skipped = evaluator.evaluate(pattern)
    assert skipped.evaluation == EVALUATION_BASE
    tightened = evaluator._tightened(base, pattern)
    solved = evaluator._solve(base, 0, *tightened)
    assert solved.welfare_usd == pytest.approx(skipped.welfare_usd, rel=1e-9)


def test_binding_draw_is_solved_then_cached_with_the_same_result(evaluator: DrawEvaluator) -> None:
    rows = evaluator.capacity_rows
    maximum = round(1 / evaluator.risk.model.severity_step)
    steps = np.zeros(rows.shape, np.uint8)
    steps[:, :] = maximum
    pattern = Pattern(0, steps, np.zeros(rows.shape[1], np.uint8))
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
