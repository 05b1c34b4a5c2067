"""Sections of stored runs: scenario comparisons, risk and plans, in that order.

Each family has its own module (scenario_figures, risk_figures, plan_figures), which reads the
engine's result tables by the columns the result contract declares (results.csv) and says, in a
note, when a stored run lacks them rather than drawing less in silence.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from raremap.report import explain
from raremap.report.figure import Section
from raremap.report.plan_figures import plan_section
from raremap.report.risk_figures import is_total, risk_section
from raremap.report.runs import StoredRun
from raremap.report.scenario_figures import contract_problems, run_evidence, scenario_section

__all__ = ["exceedance_curve", "plan_section", "risk_section", "run_evidence", "run_sections", "scenario_section",
           "shortfall_by_sector"]


def shortfall_by_sector(run: StoredRun) -> pd.DataFrame | None:
    """The importer's magnet shortfall per calendar year by sector (columns sector, period, tonnes)."""
    if contract_problems(run, "simulation", ("shortfall",)):
        return None
    shortfall = run.results["shortfall"]
    rows = shortfall[(shortfall["country"] == run.importer) & (shortfall["unit"] == explain.MAGNET_UNIT)]
    if rows.empty:
        return None
    rows = rows.assign(period=explain.calendar_period(rows))
    order = list(dict.fromkeys(rows.sort_values("period_start")["period"]))
    grouped = pd.DataFrame(rows.groupby(["sector", "period"], as_index=False)["tonnes"].sum())
    grouped["_order"] = grouped["period"].map(order.index)
    return grouped.sort_values(["sector", "_order"]).drop(columns="_order").reset_index(drop=True)


def exceedance_curve(run: StoredRun) -> tuple[list[float], list[float], str] | None:
    """Shortfall levels of the magnet total and the share of draws exceeding each, with the unit."""
    frame = run.results.get("exceedance")
    if frame is None or frame.empty or not {"sector", "unit", "shortfall_t", "probability"} <= set(frame.columns):
        return None
    totals = frame[[is_total(str(sector)) for sector in frame["sector"]]]
    if totals.empty:
        return None
    unit = str(totals["unit"].iloc[0])
    ordered = totals[totals["unit"] == unit].sort_values("shortfall_t")
    return [float(v) for v in ordered["shortfall_t"]], [float(v) for v in ordered["probability"]], unit


def run_sections(runs: Sequence[StoredRun]) -> list[Section]:
    """The scenario, risk and plan sections for the runs given, in that order, skipping empty families."""
    by_family = {
        family: [run for run in runs if run.family == family] for family in ("simulate", "risk", "plan")
    }
    sections = (
        scenario_section(by_family["simulate"]),
        risk_section(by_family["risk"]),
        plan_section(by_family["plan"]),
    )
    return [section for section in sections if section is not None]
