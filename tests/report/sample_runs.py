"""Small stored runs of every kind, in the result layout the engines announce (docs/report.md).

The report and dashboard tests need runs in a store whatever the state of the engines, so these
are written directly with `store.save_run`: two simulations, one risk run and one plan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from raremap.data import store

SECTORS = ("ev", "wind", "defence", "electronics")
PERIODS = tuple(range(2024, 2031))


def simulation_frames(severity: float) -> dict[str, pd.DataFrame]:
    """Shortfall by sector and period for IND (growing with `severity`) and magnet prices."""
    shortfall = pd.DataFrame(
        [
            {
                "country": "IND",
                "sector": sector,
                "element": "Nd",
                "period": period,
                "tonnes": severity * (index + 1) * max(0, period - 2024),
                "share": min(1.0, severity * 0.05),
            }
            for index, sector in enumerate(SECTORS)
            for period in PERIODS
        ]
    )
    prices = pd.DataFrame(
        [
            {
                "stage": stage,
                "element": "Nd",
                "period": period,
                "usd_per_kg": base * (1 + severity * (period - 2024) / 10),
            }
            for stage, base in (("separation", 60.0), ("metal", 80.0), ("magnet", 100.0))
            for period in PERIODS
        ]
    )
    return {"shortfall": shortfall, "prices": prices}


def risk_frames(draws: int = 200, seed: int = 7) -> dict[str, pd.DataFrame]:
    generator = np.random.default_rng(seed)
    rows = [
        {
            "draw": draw,
            "country": "IND",
            "sector": "ev",
            "period": period,
            "tonnes": float(generator.exponential(50.0) * (generator.random() < 0.3)),
        }
        for draw in range(draws)
        for period in PERIODS
    ]
    return {"draws": pd.DataFrame(rows)}


def plan_frames() -> dict[str, pd.DataFrame]:
    """The tables `raremap plan --db` stores (raremap.plan.planner.PlanRun.tables), in miniature."""
    frontier = pd.DataFrame(
        {
            "lambda": [0.0, 0.25, 1.0, 4.0],
            "cost": [100.0, 130.0, 170.0, 240.0],
            "cvar_shortfall_t": [900.0, 500.0, 300.0, 220.0],
        }
    )
    option_rows: list[dict[str, object]] = [
        {
            "name": "offtake-AUS-separation",
            "kind": "offtake",
            "partner": "AUS",
            "stage": "separation",
            "elements": ["Nd", "Pr"],
            "volume_t": 1500.0,
            "start": 2027,
        },
        {
            "name": "magnet-plant",
            "kind": "domestic",
            "partner": None,
            "stage": "magnet",
            "elements": [],
            "volume_t": 6000.0,
            "start": 2026,
        },
        {
            "name": "metal-know-how-JPN",
            "kind": "technology",
            "partner": "JPN",
            "stage": None,
            "elements": [],
            "volume_t": None,
            "start": 2026,
            "signed_share": 0.6,
        },
        {
            "name": "stockpile-NdPr-separation",
            "kind": "stockpile",
            "partner": None,
            "stage": "separation",
            "elements": ["NdPr"],
            "volume_t": 800.0,
            "start": 2026,
        },
    ]
    sourcing = pd.DataFrame(
        [
            {
                "period": period,
                "stage": stage,
                "partner": partner,
                "expected_share": share * (1.0 if period == PERIODS[-1] else 0.5),
                "max_share": min(1.0, share * 1.5),
            }
            for period in PERIODS
            for stage in ("separation", "metal", "magnet")
            for partner, share in (("CHN", 0.4), ("AUS", 0.3), ("JPN", 0.2))
        ]
    )
    strategies = pd.DataFrame(
        {
            "name": ["status quo", "concentrated (AUS)", "multi-vector", "domestic only"],
            "cost": [300.0, 220.0, 170.0, 190.0],
            "expected_shortfall_t": [600.0, 400.0, 150.0, 250.0],
            "cvar_shortfall_t": [1500.0, 1000.0, 300.0, 700.0],
        }
    )
    costs = pd.DataFrame(
        {"part": ["commitments_usd_million", "operation_usd_million"], "usd_million": [60.0, 110.0]}
    )
    return {
        "frontier": frontier,
        "options": pd.DataFrame(option_rows),
        "sourcing_shares": sourcing,
        "strategies": strategies,
        "costs": costs,
    }


def save_sample_runs(path: Path, dataset_version: str) -> list[str]:
    """Write the four sample runs to the store at `path`; return their ids."""
    runs = [
        ("sim-baseline-0001", "simulate", "baseline", simulation_frames(0.0)),
        ("sim-china-2025-0002", "simulate", "china-2025-controls", simulation_frames(1.0)),
        ("risk-default-0003", "risk", "default", risk_frames()),
        ("plan-default-0004", "plan", "default", plan_frames()),
    ]
    for run_id, kind, name, frames in runs:
        store.save_run(
            path,
            run_id=run_id,
            kind=kind,
            name=name,
            dataset_version=dataset_version,
            specification={"importer": "IND", "name": name},
            summary={"importer": "IND"},
            results=frames,
        )
    return [run_id for run_id, *_ in runs]
