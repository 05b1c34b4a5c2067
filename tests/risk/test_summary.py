"""Summaries against brute force: sorting and counting with numpy, for small N; units kept apart; PRIM on a
planted cause."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raremap.risk.drivers import drivers, prim_box, worst_draws
from raremap.risk.engine import RunOptions, prepare, run_risk
from raremap.risk.evaluate import DrawEvaluator
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.spec import RiskModel
from raremap.risk.summary import conditional_value_at_risk, exceedance_table, summary_table, value_at_risk
from raremap.scenario.spec import Scenario
from tests.risk.helpers import read_run

FAKE_RISK = ResolvedRisk(
    model=RiskModel(name="fake"), scenario=Scenario(name="fake"), processes=(), control_probability=0.0,
    correlation=np.eye(1), copula_factor=np.eye(1), periods=(2024.0, 2025.0), period_years=(1.0, 1.0), horizon=1,
    sectors=("ev", "catalysts"), sector_units=("t magnet", "t REO"), data_directory=None,
)
"""A resolved risk with one magnet sector and one oxide application, for the summaries alone."""


@pytest.mark.parametrize("size", [20, 100, 400])
def test_value_at_risk_and_tail_mean_by_brute_force(size: int) -> None:
    losses = np.random.default_rng(size).gamma(2.0, 100.0, size)
    ordered = np.sort(losses)
    for level in (0.90, 0.95, 0.99):
        tail = round((1 - level) * size, 9)
        if tail != int(tail) or tail == 0:
            continue
        assert value_at_risk(losses, level) == ordered[int(np.ceil(level * size)) - 1]
        assert conditional_value_at_risk(losses, level) == pytest.approx(ordered[-int(tail):].mean(), rel=1e-12)


def test_run_summary_equals_numpy_over_the_draws(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    options = RunOptions(out=tmp_path / "run", store_path=None, progress=False, chunk_size=25)
    run = run_risk(small_risk_file, options, draws=100, dataset=dataset)
    draws = read_run(tmp_path / "run")
    summary, periods = run.summary.set_index("sector"), run.tables["shortfall"].set_index(["sector", "period"])
    for sector in ("ev", "wind"):
        cells = draws.filter(regex=f"^shortfall_t:{sector}:").to_numpy()
        assert cells.shape[1] == 2  # the horizon: 2025 and 2026
        losses = cells.sum(axis=1)
        demand = draws[f"demand_t:{sector}"].to_numpy()
        row = summary.loc[sector]
        ordered = np.sort(losses)
        assert row["unit"] == "t magnet" and row["horizon"] == "2025 to 2026" and row["horizon_years"] == 2.0
        assert row["expected_shortfall_t"] == pytest.approx(losses.mean(), rel=1e-12)
        assert row["var95_t"] == pytest.approx(ordered[94], rel=1e-12)
        assert row["cvar95_t"] == pytest.approx(ordered[-5:].mean(), rel=1e-12)
        assert row["var99_t"] == pytest.approx(ordered[98], rel=1e-12)
        assert row["p_exceed_10pct"] == pytest.approx(np.mean(losses > 0.1 * demand))
        for column, period in enumerate(("2025", "2026")):
            per_period = np.sort(cells[:, column])
            assert periods.loc[(sector, period), "expected_shortfall_t"] == pytest.approx(per_period.mean(), rel=1e-12)
            assert periods.loc[(sector, period), "shortfall_p95_t"] == per_period[94]
            assert periods.loc[(sector, period), "shortfall_p50_t"] == per_period[49]
    magnets = draws.filter(regex="^total_shortfall_t:").sum(axis=1).to_numpy()
    assert summary.loc["all magnet sectors", "expected_shortfall_t"] == pytest.approx(magnets.mean(), rel=1e-12)
    assert run.to_json()["draws"] == 100


@pytest.mark.slow
def test_excess_summary_equals_numpy_over_cells_minus_the_base(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    """Excess recomputed from the stored shortfall cells and a fresh base solve per demand level."""
    options = RunOptions(out=tmp_path / "run", store_path=None, progress=False, chunk_size=25)
    run = run_risk(small_risk_file, options, draws=100, dataset=dataset)
    draws = read_run(tmp_path / "run")
    risk, chain = prepare(small_risk_file, dataset, draws=100)
    evaluator = DrawEvaluator(risk, chain)
    levels = [risk.model.demand.levels.index(value) for value in draws["feature:demand level"]]
    base = {level: evaluator.base_shortfall(level) for level in set(levels)}
    excess_all = np.zeros(len(draws))
    summary = run.summary.set_index("sector")
    for position, sector in enumerate(evaluator.sectors):
        cells = draws.filter(regex=f"^shortfall_t:{sector}:").to_numpy()
        base_cells = np.array([base[level][position] for level in levels])
        excess_cells = np.clip(cells - base_cells, 0.0, None)
        excess_cells = np.where(excess_cells < 1e-6, 0.0, excess_cells)
        np.testing.assert_allclose(draws.filter(regex=f"^excess_t:{sector}:").to_numpy(), excess_cells, rtol=1e-12, atol=1e-9)
        excess = excess_cells.sum(axis=1)
        np.testing.assert_allclose(draws[f"total_excess_t:{sector}"], excess, rtol=1e-12, atol=1e-9)
        excess_all += excess
        demand = draws[f"demand_t:{sector}"].to_numpy()
        ordered, row = np.sort(excess), summary.loc[sector]
        assert row["expected_excess_shortfall_t"] == pytest.approx(excess.mean(), rel=1e-12, abs=1e-12)
        assert row["var95_excess_t"] == pytest.approx(ordered[94], rel=1e-12, abs=1e-12)
        assert row["cvar95_excess_t"] == pytest.approx(ordered[-5:].mean(), rel=1e-12, abs=1e-12)
        assert row["p_excess_exceed_10pct"] == pytest.approx(np.mean(excess > 0.1 * demand))
        assert row["expected_excess_shortfall_t"] <= row["expected_shortfall_t"]
    assert summary.loc["all magnet sectors", "expected_excess_shortfall_t"] == pytest.approx(excess_all.mean(), rel=1e-12)
    assert excess_all.sum() > 0
    undisrupted = (draws.filter(like="loss-years").to_numpy() == 0).all(axis=1)
    assert undisrupted.any() and (draws.filter(like="total_excess_t:").to_numpy()[undisrupted] == 0).all()
    assert set(run.drivers) == {"all magnet sectors"} and run.drivers["all magnet sectors"]["basis"] == "total_excess_t"
    payload = run.to_json()["summary"]["all magnet sectors"]
    assert payload["cvar95_excess_t"] == summary.loc["all magnet sectors", "cvar95_excess_t"]
    assert payload["unit"] == "t magnet"


def test_unit_totals_never_mix_magnets_and_oxides() -> None:
    """A sector in t magnet and one in t REO: each unit has its own total, and no row sums both."""
    totals = pd.DataFrame({
        "draw": range(4),
        "total_shortfall_t:ev": [0.0, 10.0, 20.0, 30.0], "total_excess_t:ev": [0.0, 5.0, 10.0, 15.0],
        "demand_t:ev": [100.0] * 4,
        "total_shortfall_t:catalysts": [1000.0] * 4, "total_excess_t:catalysts": [0.0] * 4,
        "demand_t:catalysts": [5000.0] * 4,
    })
    summary = summary_table(totals, FAKE_RISK).set_index("sector")
    assert summary.loc["all magnet sectors", "unit"] == "t magnet"
    assert summary.loc["all magnet sectors", "expected_shortfall_t"] == pytest.approx(15.0)
    assert summary.loc["all oxide applications", "unit"] == "t REO"
    assert summary.loc["all oxide applications", "expected_shortfall_t"] == pytest.approx(1000.0)
    assert len(summary) == 4
    units = exceedance_table(totals, FAKE_RISK).groupby("sector")["unit"].first().to_dict()
    assert units == {"ev": "t magnet", "all magnet sectors": "t magnet", "catalysts": "t REO",
                     "all oxide applications": "t REO"}


def test_exceedance_curve_counts_draws_above_each_level() -> None:
    totals = pd.DataFrame({"draw": range(5), "total_shortfall_t:ev": [0.0, 1.0, 2.0, 3.0, 4.0],
                           "total_excess_t:ev": [0.0] * 5, "demand_t:ev": [10.0] * 5})
    risk = replace(FAKE_RISK, sectors=("ev",), sector_units=("t magnet",))
    curve = exceedance_table(totals, risk, points=5)
    ev = curve[curve["sector"] == "ev"]
    assert list(ev["shortfall_t"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(ev["probability"]) == [0.8, 0.6, 0.4, 0.2, 0.0]
    summary = summary_table(totals, risk).set_index("sector")
    assert summary.loc["ev", "p_exceed_10pct"] == pytest.approx(0.6)


def test_prim_finds_the_planted_cause() -> None:
    generator = np.random.default_rng(0)
    features = pd.DataFrame({
        "noise": generator.random(2000),
        "cause": generator.random(2000),
        "other": generator.integers(0, 3, 2000).astype(float),
    })
    losses = features["cause"].to_numpy() ** 4 + 0.01 * generator.random(2000)
    worst = worst_draws(losses)
    box = prim_box(features, worst)
    restricted = {item["uncertainty"]: item for item in box["box"]}
    assert "cause" in restricted and restricted["cause"]["lower"] > 0.5
    assert box["density"] > 0.2 and box["coverage"] >= 0.5
    assert drivers(features, losses)["ranking"][0]["uncertainty"] == "cause"
