"""Summaries against brute force: sorting and counting with numpy, for small N; PRIM on a planted cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raremap.risk.drivers import drivers, prim_box, worst_draws
from raremap.risk.engine import RunOptions, run_risk
from raremap.risk.summary import conditional_value_at_risk, exceedance_table, summary_table, value_at_risk
from tests.risk.helpers import read_run


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
    for sector in ("ev", "wind"):
        cells = draws.filter(like=f"shortfall_t:{sector}:").to_numpy()
        losses = cells.sum(axis=1)
        demand = draws[f"demand_t:{sector}"].to_numpy()
        row = run.summary.set_index("sector").loc[sector]
        ordered = np.sort(losses)
        assert row["expected_shortfall_t"] == pytest.approx(losses.mean(), rel=1e-12)
        assert row["var95_t"] == pytest.approx(ordered[94], rel=1e-12)
        assert row["cvar95_t"] == pytest.approx(ordered[-5:].mean(), rel=1e-12)
        assert row["var99_t"] == pytest.approx(ordered[98], rel=1e-12)
        assert row["p_exceed_10pct"] == pytest.approx(np.mean(losses > 0.1 * demand))
    assert run.to_json()["draws"] == 100


def test_exceedance_curve_counts_draws_above_each_level() -> None:
    totals = pd.DataFrame({"draw": range(5), "total_shortfall_t:ev": [0.0, 1.0, 2.0, 3.0, 4.0],
                           "demand_t:ev": [10.0] * 5})
    curve = exceedance_table(totals, points=5)
    ev = curve[curve["sector"] == "ev"]
    assert list(ev["shortfall_t"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(ev["probability"]) == [0.8, 0.6, 0.4, 0.2, 0.0]
    summary = summary_table(totals).set_index("sector")
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
