"""Small stored runs of every kind, in the layouts the engines declare (raremap/results.csv).

The report and dashboard tests need runs in a store whatever the state of the engines, so these
are written directly with `store.save_run`: simulations with every declared table (quarters in
2025, so years are summed from them), a lever that changes nothing against its base, a risk run
in the risk engine's declared layout and a plan from the planner on staging (with a decision below
the materiality threshold and a partly signed technology deal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raremap import results
from raremap.data import store

MAGNET_SECTORS = ("ev", "wind", "defence", "electronics", "industrial")
PERIODS = (("2024", "2024-01-01", 1.0), ("2025-Q1", "2025-01-01", 0.25), ("2025-Q2", "2025-04-01", 0.25),
           ("2025-Q3", "2025-07-01", 0.25), ("2025-Q4", "2025-10-01", 0.25), ("2026", "2026-01-01", 1.0),
           ("2027", "2027-01-01", 1.0), ("2028", "2028-01-01", 1.0), ("2029", "2029-01-01", 1.0),
           ("2030", "2030-01-01", 1.0))
MAGNETS = ("NdFeB N42 standard", "NdFeB GBD EV-grade (Dy+Tb)")
LOCAL_FOLDER = "/home/analyst/private/risk-draws"
"""A local path the engines store in a run's specification or summary; the report must not show it."""


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in results.columns("simulation", table)})


def simulation_frames(severity: float, oxide_short: bool = False) -> dict[str, pd.DataFrame]:
    """Every declared simulation table; IND short of magnets growing with `severity` (t magnet) and,
    when `oxide_short`, of catalysts too (t REO, which must never be added to t magnet)."""
    shortfall_rows = []
    for index, sector in enumerate((*MAGNET_SECTORS, "catalysts")):
        unit = "t REO" if sector == "catalysts" else "t magnet"
        for period, start, years in PERIODS:
            demand = 1000.0 * (index + 1) * years
            tonnes = 0.0
            if unit == "t magnet":
                tonnes = years * (10.0 * (index + 1) + severity * 100.0 * (index + 1) * (period.startswith("2025")))
            elif oxide_short:
                tonnes = 40.0 * years
            shortfall_rows.append({"country": "IND", "sector": sector, "period": period, "period_start": start,
                                   "period_years": years, "unit": unit, "demand_t": demand,
                                   "served_t": demand - tonnes, "tonnes": tonnes, "share": tonnes / demand,
                                   "substituted_t": 0.0, "unmet_t": tonnes})
    prices = pd.DataFrame(
        [
            {"stage": stage, "country": "IND", "element": element, "period": period, "period_start": start,
             "period_years": years,
             "usd_per_kg": base * (1 + (severity * 20 if period.startswith("2025-Q") and stage == "magnet" else 0))}
            for stage, element, base in (("magnet", MAGNETS[0], 50.0), ("magnet", MAGNETS[1], 60.0),
                                         ("separation", "Nd", 70.0), ("separation", "Dy", 250.0),
                                         ("metal", "Tb", 900.0), ("separation", "La", 0.0))
            for period, start, years in PERIODS
        ]
    )
    binding = pd.DataFrame(
        [
            {"period": period, "period_start": start, "period_years": years, "rank": rank, "kind": kind,
             "constraint": constraint, "country": country, "partner": partner, "stage": stage, "element": element,
             "shadow_usd_per_kg": shadow, "description": description}
            for period, start, years in PERIODS
            for rank, (kind, constraint, country, partner, stage, element, shadow, description) in enumerate(
                [
                    ("scarcity", "Magnet-balance", "IND", "", "magnet", MAGNETS[0], 12.0,
                     "NdFeB N42 standard costs 57 USD/kg in IND, 1.3 times its base-year price"),
                    ("capacity", "Mining-capacity-upper", "AUS", "", "mining", "", 8.0,
                     "mining plants in AUS at capacity"),
                    *([("export control", "Flow-upper", "IND", "CHN", "metal", "Tb", 243000.0,
                        "CHN's export control caps Tb (metal) shipments to IND")]
                      if severity > 0 and period.startswith("2025-Q") else []),
                ],
                start=1,
            )
        ]
    )
    calibration = pd.DataFrame(
        [
            {"country": "CHN", "element": element, "period": period, "period_start": start, "period_years": years,
             "value_t": rate * years, "share_of_market": share,
             "reason": "documented base-year supply cannot serve documented base-year demand of this good"}
            for element, rate, share in (("Nd", 64836.0, 0.64), ("La", 12265.0, 0.13))
            for period, start, years in PERIODS
        ]
    )
    utilisation = pd.DataFrame(
        [
            {"country": "IND", "stage": "magnet", "period": period, "period_start": start, "period_years": years,
             "production_t": 3.0 * years, "capacity_t": 3.0 * years, "utilisation": 1.0}
            for period, start, years in PERIODS
        ]
    )
    frames = {table: _empty(table) for table in results.tables("simulation")}
    frames.update(shortfall=pd.DataFrame(shortfall_rows), prices=prices, binding=binding,
                  calibration=calibration, utilisation=utilisation)
    return {table: frame[results.columns("simulation", table)] for table, frame in frames.items()}


def risk_frames(draws: int = 200, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The risk engine's declared tables (summary, exceedance, shortfall, drivers) for IND, 2027 to 2031."""
    generator = np.random.default_rng(seed)
    sectors = ("ev", "wind", "all magnet sectors")
    losses = {sector: generator.exponential(500.0, draws) * (generator.random(draws) < 0.4) for sector in sectors[:2]}
    losses["all magnet sectors"] = losses["ev"] + losses["wind"]
    common = {"country": "IND", "unit": "t magnet"}
    summary = pd.DataFrame(
        [
            {**common, "sector": sector, "horizon": "2027 to 2031", "horizon_years": 5.0,
             "expected_demand_t": 50000.0, "expected_shortfall_t": float(values.mean()),
             **{f"var{level}_t": float(np.quantile(values, level / 100)) for level in (90, 95, 99)},
             **{f"cvar{level}_t": float(np.sort(values)[int(draws * level / 100):].mean()) for level in (90, 95, 99)},
             "p_exceed_10pct": float((values > 5000.0).mean()),
             "expected_excess_shortfall_t": float(values.mean()) * 0.8, "var95_excess_t": 0.0,
             "cvar95_excess_t": 0.0, "p_excess_exceed_10pct": 0.0}
            for sector, values in losses.items()
        ]
    )
    exceedance = pd.DataFrame(
        [
            {**common, "sector": sector, "shortfall_t": float(level), "probability": float((values > level).mean())}
            for sector, values in losses.items()
            for level in np.linspace(0.0, float(values.max()), 21)
        ]
    )
    spread = pd.DataFrame(
        [
            {**common, "sector": "all magnet sectors", "period": str(year), "period_start": f"{year}-01-01",
             "period_years": 1.0, "expected_demand_t": 10000.0, "expected_shortfall_t": 300.0,
             "shortfall_p05_t": 0.0, "shortfall_p25_t": 50.0, "shortfall_p50_t": 200.0, "shortfall_p75_t": 500.0,
             "shortfall_p95_t": 1500.0, "expected_excess_shortfall_t": 250.0, "p_excess": 0.4}
            for year in range(2027, 2032)
        ]
    )
    drivers = pd.DataFrame(
        [
            {**common, "sector": "all magnet sectors", "basis": "total_excess_t", "rank": 1,
             "uncertainty": "CHN/metal loss-years", "mean_in_worst": 1.3, "mean_overall": 0.26,
             "standardized_difference": 2.13},
        ]
    )
    return {"summary": summary, "exceedance": exceedance, "shortfall": spread, "drivers": drivers}


def plan_frames() -> dict[str, pd.DataFrame]:
    """The tables the planner stores, in the columns results.csv declares for it, in miniature,
    with a 0.16 t offtake and a technology deal signed to 59 %, neither of them a decision."""
    frontier = pd.DataFrame(
        {
            "lambda": [0.0, 0.25, 1.0, 4.0],
            "cost_usd_million": [100.0, 130.0, 170.0, 240.0],
            "cvar_shortfall_t": [900.0, 500.0, 300.0, 220.0],
        }
    )
    option_rows: list[dict[str, object]] = [
        {"name": "offtake-AUS-separation", "kind": "offtake", "partner": "AUS", "stage": "separation",
         "goods": "Nd, Pr", "volume_t": 1500.0, "start": 2027},
        {"name": "offtake-VNM-separation", "kind": "offtake", "partner": "VNM", "stage": "separation",
         "goods": "Nd", "volume_t": 0.16, "start": 2027},
        {"name": "magnet-plant", "kind": "domestic", "partner": None, "stage": "magnet", "goods": "",
         "volume_t": 6000.0, "start": 2026},
        {"name": "metal-know-how-JPN", "kind": "technology", "partner": "JPN", "stage": None, "goods": "",
         "volume_t": None, "start": 2026, "signed_share": 0.5928},
        {"name": "stockpile-NdPr-separation", "kind": "stockpile", "partner": None, "stage": "separation",
         "goods": "NdPr", "volume_t": 800.0, "start": 2026},
    ]
    sourcing = pd.DataFrame(
        [
            {"period": period, "stage": stage, "partner": partner,
             "expected_share": share * (1.0 if period == 2030 else 0.5), "max_share": min(1.0, share * 1.5)}
            for period in range(2024, 2031)
            for stage in ("separation", "metal", "magnet")
            for partner, share in (("CHN", 0.4), ("AUS", 0.3), ("VNM", 0.1), ("JPN", 0.1))
        ]
    )
    strategies = pd.DataFrame(
        {
            "name": ["status quo", "concentrated (AUS)", "multi-vector", "domestic only"],
            "cost_usd_million": [300.0, 220.0, 170.0, 190.0],
            "expected_shortfall_t": [600.0, 400.0, 150.0, 250.0],
            "cvar_shortfall_t": [1500.0, 1000.0, 300.0, 700.0],
        }
    )
    costs = pd.DataFrame({"part": ["commitments_usd_million", "operation_usd_million"], "usd_million": [60.0, 110.0]})
    economics = pd.DataFrame({"plant": ["magnet-plant"], "payback_year": [2029.0], "npv_usd_million": [12.5]})
    return {"frontier": frontier, "options": pd.DataFrame(option_rows), "sourcing_shares": sourcing,
            "strategies": strategies, "costs": costs, "plant_economics": economics}


LEVER = {"capacity_changes": [{"country": "IND", "stage": "magnet", "capacity_t": 6000.0, "online_year": 2029,
                               "ramp_up_years": 1, "note": ""}]}


def simulation_run(run_id: str, name: str, severity: float, base: str | None = None,
                   extra: dict[str, Any] | None = None, oxide_short: bool = False) -> tuple[Any, ...]:
    specification = {"name": name, "base": base, "importer": "IND", **(extra or {})}
    summary = {"welfare_usd": 6.8e11, "mass_balance_max_residual": 1.5e-10, "build_seconds": 5.2,
               "solve_seconds": 3.1, "variables": 87281, "constraints": 33872}
    return run_id, "simulation", name, simulation_frames(severity, oxide_short), specification, summary


def save_sample_runs(path: Path, dataset_version: str, simulations: int = 0) -> list[str]:
    """Write the sample runs to the store at `path`; return their ids.

    Three simulations (baseline, china-2025-controls and india-magnet-scheme, which changes nothing
    against baseline), a risk run and a plan; `simulations` more baseline variants for the tests of
    ten runs on one chart.
    """
    runs = [
        simulation_run("sim-baseline-0001", "baseline", 0.0),
        simulation_run("sim-china-2025-0002", "china-2025-controls", 1.0, base="baseline", oxide_short=True,
                       extra={"export_controls": [{"exporter": "CHN", "form": "licence_delay", "start": "2025-04-04",
                                                   "stages": ["metal"]}]}),
        simulation_run("sim-india-magnet-scheme-0003", "india-magnet-scheme", 0.0, base="baseline", extra=LEVER),
        *(simulation_run(f"sim-variant-{index:04d}", f"variant-{index}", 0.1 * index, base="baseline")
          for index in range(1, simulations + 1)),
        ("risk-default-0003", "risk", "default", risk_frames(),
         {"importer": "IND", "draws_folder": LOCAL_FOLDER, "horizon": "2027 to 2031"},
         {"importer": "IND", "horizon": "2027 to 2031", "horizon_years": 5.0, "draws": 200, "seed": 1}),
        ("plan-default-0004", "plan", "default", plan_frames(), {"importer": "IND", "name": "default"},
         {"importer": "IND", "cost": 170.0, "seconds": 12.0, "scenario_source": f"{LOCAL_FOLDER}/plan.yaml"}),
    ]
    for run_id, kind, name, frames, specification, summary in runs:
        store.save_run(path, run_id=run_id, kind=kind, name=name, dataset_version=dataset_version,
                       specification=specification, summary=summary, results=frames)
    return [run[0] for run in runs]
