"""Stored risk runs: expected shortfall, VaR and CVaR with their horizon and unit, the exceedance
curve, the spread per period, and what drives the worst draws.

Columns are the risk engine's declared result columns (results.csv, engine `risk`); a run saved
without them is left out with a note that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from raremap.report.figure import Figure, Section, Table
from raremap.report.palette import run_style
from raremap.report.runs import StoredRun
from raremap.report.scenario_figures import labels, run_evidence
from raremap.results import columns, tables

SUMMARY = ("sector", "unit", "horizon", "expected_shortfall_t", "var95_t", "cvar95_t", "var99_t", "cvar99_t",
           "p_exceed_10pct")
EXCEEDANCE = ("sector", "unit", "shortfall_t", "probability")
SPREAD = ("sector", "unit", "period", "period_start", "shortfall_p05_t", "shortfall_p25_t", "shortfall_p50_t",
          "shortfall_p75_t", "shortfall_p95_t")
DRIVERS = ("sector", "unit", "rank", "uncertainty", "standardized_difference")
READ = {"summary": SUMMARY, "exceedance": EXCEEDANCE, "shortfall": SPREAD, "drivers": DRIVERS}
SHOWN = {
    "expected_shortfall_t": "expected shortfall",
    "var95_t": "VaR 95%",
    "cvar95_t": "CVaR 95%",
    "var99_t": "VaR 99%",
    "cvar99_t": "CVaR 99%",
    "p_exceed_10pct": "P(shortfall > 10% of demand)",
}
DEFINITIONS = (
    "Figures are sums over the horizon, per draw, in the sector's unit (t magnet for magnet sectors, t REO for "
    "oxide applications; never added). Expected shortfall: the mean over the draws. VaR 95%: the shortfall "
    "that 95% of draws stay at or below. CVaR 95%: the mean of the worst 5% of draws. P(> 10%): the share "
    "of draws whose shortfall exceeds 10% of their demand."
)


def declared(engine: str, table: str, names: Sequence[str]) -> tuple[str, ...]:
    """`names`, checked against the result contract when it declares the table (a rename is an error)."""
    if table in tables(engine):
        missing = [name for name in names if name not in columns(engine, table)]
        if missing:
            raise AssertionError(f"{engine} {table} does not declare {missing}; the report reads them")
    return tuple(names)


def is_total(sector: str) -> bool:
    """The engine's sum over sectors of one unit ('all magnet sectors', 'all oxide applications', 'all')."""
    return sector == "all" or sector.startswith("all ")


def _has(run: StoredRun, table: str) -> bool:
    frame = run.results.get(table)
    return frame is not None and not frame.empty and set(declared("risk", table, READ[table])) <= set(frame.columns)


def usable(runs: Sequence[StoredRun]) -> tuple[list[StoredRun], list[str]]:
    chosen, notes = [], []
    for run in runs:
        if _has(run, "summary"):
            chosen.append(run)
        else:
            notes.append(f"Risk run {run.run_id} ({run.name}) is left out: it was saved by an older raremap "
                         f"without the summary columns {', '.join(SUMMARY)}; run it again to include it.")
    return chosen, notes


def metrics_table(run: StoredRun, label: str) -> Table:
    """Expected shortfall, VaR and CVaR per sector and unit total, over the run's horizon."""
    summary = run.results["summary"]
    frame = summary[list(SUMMARY)].rename(columns=SHOWN)
    horizon = str(summary["horizon"].iloc[0])
    draws = run.summary.get("draws")
    return Table(
        f"risk-metrics-{run.run_id}",
        f"Risk of {run.importer}'s shortfall over {horizon}: {label}"
        + (f" ({int(draws):,} draws)" if isinstance(draws, int | float) else ""),
        frame,
        DEFINITIONS,
        (run_evidence(run, "summary", summary),),
        units={SHOWN["p_exceed_10pct"]: "fraction"},
    )


def exceedance_figures(runs: Sequence[StoredRun]) -> list[Figure]:
    """One chart per unit: P(shortfall over the horizon > x) for the unit's total, one line per run."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    evidence: dict[str, list[Any]] = {}
    horizons: dict[str, set[str]] = {}
    for position, (run, label) in enumerate(zip(runs, labels(runs), strict=True)):
        if not _has(run, "exceedance"):
            continue
        frame = run.results["exceedance"]
        horizon = str(run.results["summary"]["horizon"].iloc[0])
        for (sector, unit), rows in frame.groupby(["sector", "unit"], sort=False):
            if not is_total(str(sector)):
                continue
            ordered = rows.sort_values("shortfall_t")
            style = run_style(position)
            by_unit.setdefault(str(unit), []).append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": label,
                    "x": [round(float(value), 3) for value in ordered["shortfall_t"]],
                    "y": [float(value) for value in ordered["probability"]],
                    "line": {"shape": "hv", "color": style["color"], "dash": style["dash"], "width": style["width"]},
                    "hovertemplate": f"{label}<br>P(shortfall > %{{x:,.0f}} {unit}) = %{{y:.1%}}<extra></extra>",
                }
            )
            evidence.setdefault(str(unit), []).append(run_evidence(run, "exceedance", frame))
            horizons.setdefault(str(unit), set()).add(horizon)
    figures = []
    for unit, data in by_unit.items():
        horizon = ", ".join(sorted(horizons[unit]))
        figures.append(
            Figure(
                "risk-exceedance" + ("" if unit == "t magnet" else "-reo"),
                f"How likely each shortfall is, {horizon} ({unit})",
                data,
                {
                    "xaxis": {"title": {"text": f"shortfall summed over {horizon} ({unit})"}, "rangemode": "tozero",
                              "tickformat": ",~g"},
                    "yaxis": {"title": {"text": "share of draws exceeding it"}, "tickformat": ".0%",
                              "range": [0, 1.02]},
                    "height": 420,
                },
                f"Share of draws in which the importer's shortfall, summed over {horizon} and over all its "
                f"{'magnet sectors' if unit == 't magnet' else 'buyers in this unit'}, exceeds each level.",
                tuple(evidence[unit]),
            )
        )
    return figures


def fan_chart(run: StoredRun, label: str) -> Figure | None:
    """The spread of the importer's shortfall per period over the draws: 5-95 % and 25-75 % bands, median."""
    if not _has(run, "shortfall"):
        return None
    frame = run.results["shortfall"]
    totals = frame[[is_total(str(sector)) for sector in frame["sector"]]]
    if totals.empty:
        return None
    unit = str(totals["unit"].iloc[0])
    rows = totals[totals["unit"] == unit].sort_values("period_start")
    periods = list(rows["period"].astype(str))
    data: list[dict[str, Any]] = []
    for low, high, colour, name in (
        ("shortfall_p05_t", "shortfall_p95_t", "rgba(185, 28, 28, 0.18)", "90% of draws (5th to 95th percentile)"),
        ("shortfall_p25_t", "shortfall_p75_t", "rgba(185, 28, 28, 0.35)", "half of draws (25th to 75th)"),
    ):
        data.append({"type": "scatter", "x": periods, "y": [float(v) for v in rows[low]], "mode": "lines",
                     "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"})
        data.append({"type": "scatter", "x": periods, "y": [float(v) for v in rows[high]], "mode": "lines",
                     "fill": "tonexty", "fillcolor": colour, "line": {"width": 0},
                     "name": name})
    data.append({"type": "scatter", "x": periods, "y": [float(v) for v in rows["shortfall_p50_t"]],
                 "mode": "lines+markers", "line": {"color": "#7f1d1d"}, "name": "median"})
    return Figure(
        f"risk-fan-{run.run_id}",
        f"Spread of the shortfall per period: {label} ({unit} per period)",
        data,
        {
            "xaxis": {"title": {"text": "period"}, "type": "category"},
            "yaxis": {"title": {"text": f"shortfall ({unit} per period)"}, "rangemode": "tozero",
                      "tickformat": ",~g"},
            "height": 400,
        },
        f"The importer's shortfall in each period across the draws, all {'magnet sectors' if unit == 't magnet' else 'buyers'} "
        "together: half of the draws fall in the dark band, 90% in the light one.",
        (run_evidence(run, "shortfall", frame),),
    )


def drivers_table(run: StoredRun, label: str) -> Table | None:
    if not _has(run, "drivers"):
        return None
    frame = run.results["drivers"][list(DRIVERS)]
    return Table(
        f"risk-drivers-{run.run_id}",
        f"What drives the worst draws: {label}",
        frame.rename(columns={"standardized_difference": "difference in the worst draws (sd)"}),
        "Uncertainties whose values in the worst 5% of draws differ most from all draws, in standard deviations.",
        (run_evidence(run, "drivers", run.results["drivers"]),),
        folded=True,
    )


def runs_table(runs: Sequence[StoredRun]) -> Table:
    rows = [
        {
            "run": run.run_id,
            "risk file": label,
            "importer": run.importer,
            "horizon": str(run.results["summary"]["horizon"].iloc[0]),
            "draws": run.summary.get("draws"),
            "seed": run.summary.get("seed"),
            "created": run.created_at[:16],
            "dataset": run.dataset_version[:12],
        }
        for run, label in zip(runs, labels(runs), strict=True)
    ]
    return Table("risk-runs", "Stored risk runs", pd.DataFrame(rows))


def risk_section(runs: Sequence[StoredRun]) -> Section | None:
    if not runs:
        return None
    chosen, notes = usable(runs)
    names = labels(chosen)
    figures = exceedance_figures(chosen)
    figures += [figure for run, label in zip(chosen, names, strict=True) if (figure := fan_chart(run, label))]
    tables: list[Table] = [metrics_table(run, label) for run, label in zip(chosen, names, strict=True)]
    tables += [table for run, label in zip(chosen, names, strict=True) if (table := drivers_table(run, label))]
    if chosen:
        tables.append(runs_table(chosen))
    return Section(
        "risk",
        "Risk",
        "How likely a shortfall of each size is once disruptions strike at random, with correlations "
        "through blocs: expected shortfall, VaR and CVaR over each run's horizon, in t magnet (magnet "
        "sectors) or t REO (oxide applications).",
        figures=tuple(figures),
        tables=tuple(tables),
        notes=tuple(notes),
    )
