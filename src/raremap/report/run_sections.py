"""Figures of stored runs: scenario comparisons, risk distributions and plans.

Each builder takes the runs of one family and returns the figures it can draw from the results
those runs saved; a result that is absent simply yields no figure, so a report is never blocked by
an engine that saves less than another. Column names are matched from short candidate lists
(documented in docs/report.md) because the engines name their value columns themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from raremap.report.figure import Evidence, Figure, Section, Table
from raremap.report.runs import StoredRun, value_column

TONNES = ("tonnes", "shortfall_t", "value_t", "t", "value")
PRICE = ("usd_per_kg", "usd_per_t", "price_usd_per_kg", "price", "value")
PERIOD = ("period", "year")
SECTOR_COLOURS = {
    "ev": "#b91c1c",
    "wind": "#1d4ed8",
    "defence": "#047857",
    "electronics": "#b45309",
    "industrial": "#6d28d9",
    "other": "#64748b",
}
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOTAL_SECTOR = "all"
"""The sector label the risk engine gives the sum over sectors in its `exceedance` result."""


def run_evidence(run: StoredRun, result: str, frame: pd.DataFrame) -> Evidence:
    """A run's result as evidence: the run id names the stored rows; its dataset version names the data."""
    return Evidence(
        table=f"run {run.run_id}",
        rows=len(frame),
        selection=f"result {result} of {run.kind} run '{run.name}' on dataset {run.dataset_version[:12]}",
    )


def importer_rows(frame: pd.DataFrame, importer: str) -> pd.DataFrame:
    return frame[frame["country"] == importer] if "country" in frame.columns else frame


def shortfall_by_sector(run: StoredRun) -> pd.DataFrame | None:
    """The importer's shortfall in tonnes by sector and period (columns sector, period, tonnes)."""
    frame = run.results.get("shortfall")
    if frame is None or frame.empty:
        return None
    tonnes, period = value_column(frame, TONNES), value_column(frame, PERIOD)
    if tonnes is None or period is None:
        return None
    rows = importer_rows(frame, run.importer)
    sector = "sector" if "sector" in rows.columns else None
    keys = [period] if sector is None else [sector, period]
    grouped = rows.groupby(keys)[tonnes].sum().reset_index()
    grouped.columns = pd.Index([*("sector" if key == sector else "period" for key in keys), "tonnes"])
    if sector is None:
        grouped["sector"] = "all"
    return grouped


def shortfall_comparison(runs: Sequence[StoredRun]) -> list[Figure]:
    """Shortfall by sector over time, one line per run and sector (dash = run, colour = sector)."""
    data: list[dict[str, Any]] = []
    evidence = []
    for position, run in enumerate(runs):
        frame = shortfall_by_sector(run)
        if frame is None:
            continue
        evidence.append(run_evidence(run, "shortfall", run.results["shortfall"]))
        for sector, rows in frame.groupby("sector"):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{run.name}: {sector}",
                    "x": [int(value) for value in rows["period"]],
                    "y": [float(value) for value in rows["tonnes"]],
                    "line": {
                        "color": SECTOR_COLOURS.get(str(sector), "#0f172a"),
                        "dash": RUN_DASHES[position % len(RUN_DASHES)],
                    },
                }
            )
    if not data:
        return []
    importers = sorted({run.importer for run in runs})
    layout = {
        "xaxis": {"title": {"text": "period"}, "dtick": 1},
        "yaxis": {"title": {"text": "shortfall (t)"}, "rangemode": "tozero"},
        "height": 440,
    }
    caption = (
        f"Unmet demand of {', '.join(importers)} by sector (colour) and run (line style), in tonnes of "
        "the product short (the `element` column of each run's `shortfall` result)."
    )
    return [
        Figure("scenario-shortfall", "Shortfall by sector over time", data, layout, caption, tuple(evidence))
    ]


def _price_series(run: StoredRun) -> pd.DataFrame | None:
    frame = run.results.get("prices")
    if frame is None or frame.empty:
        return None
    price, period = value_column(frame, PRICE), value_column(frame, PERIOD)
    if price is None or period is None:
        return None
    keys = [column for column in ("stage", "element") if column in frame.columns]
    if "country" in frame.columns:
        frame = importer_rows(frame, run.importer) if run.importer in set(frame["country"]) else frame
    grouped = frame.groupby([*keys, period])[price].mean().reset_index()
    grouped.columns = pd.Index([*keys, "period", "price"])
    labels = grouped[keys].astype(str).apply(lambda row: " ".join(row), axis=1) if keys else "price"
    grouped["series"] = labels
    return grouped


def price_comparison(runs: Sequence[StoredRun]) -> list[Figure]:
    """Prices by period for each run: one line per run and stage-element series (at most eight per run)."""
    data: list[dict[str, Any]] = []
    evidence = []
    for position, run in enumerate(runs):
        frame = _price_series(run)
        if frame is None:
            continue
        evidence.append(run_evidence(run, "prices", run.results["prices"]))
        leading = frame.groupby("series")["price"].mean().sort_values(ascending=False).index[:8]
        for series in leading:
            rows = frame[frame["series"] == series]
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{run.name}: {series}",
                    "x": [int(value) for value in rows["period"]],
                    "y": [float(value) for value in rows["price"]],
                    "line": {"dash": RUN_DASHES[position % len(RUN_DASHES)]},
                }
            )
    if not data:
        return []
    layout = {
        "xaxis": {"title": {"text": "period"}, "dtick": 1},
        "yaxis": {"title": {"text": "price"}, "type": "log"},
        "height": 440,
    }
    caption = (
        "Market-clearing prices (duals of the balance constraints) by stage and element, from each run's "
        "`prices` result; log scale."
    )
    return [Figure("scenario-prices", "Prices by period", data, layout, caption, tuple(evidence))]


def summary_table(runs: Sequence[StoredRun], family: str) -> Table:
    """One row per run with its stored summary's plain values."""
    rows = []
    for run in runs:
        plain = {
            key: value for key, value in run.summary.items() if isinstance(value, str | int | float | bool)
        }
        rows.append(
            {
                "run": run.run_id,
                "name": run.name,
                "kind": run.kind,
                "created": run.created_at[:19],
                "dataset": run.dataset_version[:12],
                **plain,
            }
        )
    evidence = tuple(
        Evidence(f"run {run.run_id}", f"summary of {run.kind} run '{run.name}'", 1) for run in runs
    )
    return Table(f"{family}-runs", f"Stored {family} runs", pd.DataFrame(rows), "", evidence)


def scenario_section(runs: Sequence[StoredRun]) -> Section | None:
    if not runs:
        return None
    figures = (*shortfall_comparison(runs), *price_comparison(runs))
    return Section(
        "scenarios",
        "Scenario comparison",
        "What each stored scenario does to the importer's factories: tonnes of demand left unmet, by "
        "sector and year, and the prices the market clears at.",
        figures=figures,
        tables=(summary_table(runs, "simulation"),),
    )


def draw_totals(run: StoredRun) -> pd.DataFrame | None:
    """Total shortfall per draw (and per period when the draws have one): columns draw, [period,] tonnes."""
    frame = run.results.get("draws")
    if frame is None or frame.empty or "draw" not in frame.columns:
        return None
    tonnes = value_column(frame, TONNES)
    if tonnes is None:
        return None
    rows = importer_rows(frame, run.importer)
    period = value_column(rows, PERIOD)
    keys = ["draw"] if period is None else ["draw", period]
    totals = rows.groupby(keys)[tonnes].sum().reset_index()
    totals.columns = pd.Index(["draw", "tonnes"] if period is None else ["draw", "period", "tonnes"])
    return totals


def exceedance_curve(run: StoredRun) -> tuple[list[float], list[float], str] | None:
    """Shortfall levels and the probability each is exceeded, from `exceedance` or from the draws."""
    stored = run.results.get("exceedance")
    if stored is not None and not stored.empty:
        level = value_column(stored, ("threshold_t", "shortfall_t", "threshold", "tonnes", "value"))
        probability = value_column(stored, ("probability", "exceedance_probability", "p_exceed"))
        if level and probability:
            if "sector" in stored.columns and TOTAL_SECTOR in set(stored["sector"]):
                stored = stored[stored["sector"] == TOTAL_SECTOR]
            ordered = stored.sort_values(level)
            return [float(v) for v in ordered[level]], [float(v) for v in ordered[probability]], "exceedance"
    totals = draw_totals(run)
    if totals is None:
        return None
    per_draw = np.sort(totals.groupby("draw")["tonnes"].sum().to_numpy())
    probabilities = 1.0 - np.arange(1, len(per_draw) + 1) / len(per_draw)
    return [float(v) for v in per_draw], [float(v) for v in probabilities], "draws"


def risk_figures(runs: Sequence[StoredRun]) -> list[Figure]:
    """Exceedance curves (all runs on one chart) and one fan chart per run with draws by period."""
    curves, evidence = [], []
    for run in runs:
        curve = exceedance_curve(run)
        if curve is None:
            continue
        levels, probabilities, result = curve
        curves.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": run.name,
                "x": levels,
                "y": probabilities,
                "line": {"shape": "hv"},
            }
        )
        evidence.append(run_evidence(run, result, run.results[result]))
    figures = []
    if curves:
        layout = {
            "xaxis": {"title": {"text": "total shortfall (t)"}},
            "yaxis": {"title": {"text": "probability of exceeding"}, "type": "log"},
            "height": 420,
        }
        figures.append(
            Figure(
                "risk-exceedance",
                "Exceedance curves",
                curves,
                layout,
                "Probability that the importer's total shortfall exceeds each level, over all draws.",
                tuple(evidence),
            )
        )
    figures += [figure for run in runs if (figure := fan_chart(run)) is not None]
    return figures


def fan_chart(run: StoredRun) -> Figure | None:
    """Quantile bands of shortfall per period over the draws (5-95 % and 25-75 %, median line)."""
    totals = draw_totals(run)
    if totals is None or "period" not in totals.columns:
        return None
    by_period = totals.groupby("period")["tonnes"]
    bands = pd.DataFrame({quantile: by_period.quantile(quantile) for quantile in QUANTILES})
    periods = [int(value) for value in bands.index]
    data: list[dict[str, Any]] = []
    for low, high, colour in (
        (0.05, 0.95, "rgba(185, 28, 28, 0.18)"),
        (0.25, 0.75, "rgba(185, 28, 28, 0.35)"),
    ):
        data.append(
            {
                "type": "scatter",
                "x": periods,
                "y": [float(v) for v in bands[low]],
                "mode": "lines",
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": periods,
                "y": [float(v) for v in bands[high]],
                "mode": "lines",
                "fill": "tonexty",
                "fillcolor": colour,
                "line": {"width": 0},
                "name": f"{low:.0%}-{high:.0%} of draws",
            }
        )
    data.append(
        {
            "type": "scatter",
            "x": periods,
            "y": [float(v) for v in bands[0.5]],
            "mode": "lines",
            "line": {"color": "#7f1d1d"},
            "name": "median",
        }
    )
    layout = {
        "xaxis": {"title": {"text": "period"}, "dtick": 1},
        "yaxis": {"title": {"text": "shortfall (t)"}, "rangemode": "tozero"},
        "height": 400,
    }
    return Figure(
        f"risk-fan-{run.run_id}",
        f"Shortfall fan chart: {run.name}",
        data,
        layout,
        "Spread of the importer's shortfall across draws, per period.",
        (run_evidence(run, "draws", run.results["draws"]),),
    )


def risk_section(runs: Sequence[StoredRun]) -> Section | None:
    if not runs:
        return None
    return Section(
        "risk",
        "Risk",
        "How likely a shortfall of each size is once disruptions strike at random, "
        "with correlations through blocs: the question behind diversification.",
        figures=tuple(risk_figures(runs)),
        tables=(summary_table(runs, "risk"),),
    )


COST = ("cost", "cost_usd_million", "cost_usd")
CVAR = ("cvar_shortfall_t", "cvar", "cvar_t")
SHARE = ("expected_share", "share")
SOURCING_RESULTS = ("sourcing_shares", "sourcing", "partner_shares")


def _strategy_trace(run: StoredRun) -> dict[str, Any] | None:
    """The planner's four strategies (status quo, one partner, multi-vector, domestic) as labelled points."""
    frame = run.results.get("strategies")
    if frame is None or frame.empty or "name" not in frame.columns:
        return None
    cost, risk = value_column(frame, COST), value_column(frame, CVAR)
    if cost is None or risk is None:
        return None
    rows = frame.dropna(subset=[cost, risk])
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": f"{run.name}: strategies",
        "x": [float(v) for v in rows[risk]],
        "y": [float(v) for v in rows[cost]],
        "text": [str(v) for v in rows["name"]],
        "textposition": "top center",
        "marker": {"size": 10, "symbol": "diamond"},
    }


def frontier_figure(runs: Sequence[StoredRun]) -> Figure | None:
    """Cost against CVaR of shortfall along each plan's lambda sweep, with its strategies as points."""
    data, points, evidence = [], [], []
    for run in runs:
        frame = run.results.get("frontier")
        cost = value_column(frame, COST) if frame is not None else None
        risk = value_column(frame, CVAR) if frame is not None else None
        if frame is not None and cost is not None and risk is not None:
            ordered = frame.dropna(subset=[cost, risk]).sort_values(risk)
            text = [f"lambda {value}" for value in ordered["lambda"]] if "lambda" in ordered.columns else None
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{run.name}: frontier",
                    "x": [float(v) for v in ordered[risk]],
                    "y": [float(v) for v in ordered[cost]],
                    "text": text,
                }
            )
            evidence.append(run_evidence(run, "frontier", frame))
        strategies = _strategy_trace(run)
        if strategies is not None:
            points.append(strategies)
            evidence.append(run_evidence(run, "strategies", run.results["strategies"]))
    # Strategies first, so the frontier is drawn on top: its points often sit on the multi-vector plan.
    data = points + data
    if not data:
        return None
    layout = {
        "xaxis": {"title": {"text": "CVaR of shortfall (t)"}},
        "yaxis": {"title": {"text": "expected cost (USD million)"}},
        "height": 420,
    }
    return Figure(
        "plan-frontier",
        "Cost against risk: the frontier and the strategies",
        data,
        layout,
        "Each line point is the best plan for one risk aversion (lambda); diamonds are the planner's "
        "strategies on the same scenarios. Left is safer, lower is cheaper.",
        tuple(evidence),
    )


def portfolio_figure(run: StoredRun) -> Figure | None:
    """The chosen options' volumes, one bar each (technology deals, which have no volume, are in the table)."""
    frame = run.results.get("options")
    volume = value_column(frame, ("volume_t", "capacity_t", "size_t", "value")) if frame is not None else None
    if frame is None or frame.empty or volume is None:
        return None
    rows = frame[pd.to_numeric(frame[volume], errors="coerce").notna()]
    if rows.empty:
        return None
    rows = rows.assign(
        label=rows["name"].astype(str) if "name" in rows.columns else rows.index.astype(str),
        group=rows["kind"].astype(str) if "kind" in rows.columns else "option",
    )
    traces = [
        {
            "type": "bar",
            "name": str(kind),
            "x": list(group["label"]),
            "y": [float(v) for v in group[volume]],
            "hovertemplate": f"%{{x}}: %{{y:,.0f}} t ({kind})<extra></extra>",
        }
        for kind, group in rows.groupby("group", sort=False)
    ]
    layout = {"yaxis": {"title": {"text": "volume (t/yr)"}}, "xaxis": {"automargin": True}, "height": 440}
    return Figure(
        f"plan-portfolio-{run.run_id}",
        f"Chosen portfolio: {run.name}",
        traces,
        layout,
        "Options the plan commits to, with their volumes.",
        (run_evidence(run, "options", frame),),
    )


def sourcing_result(run: StoredRun) -> str | None:
    """The name under which a plan run stored its sourcing shares (the planner uses `sourcing_shares`)."""
    return next((key for key in SOURCING_RESULTS if key in run.results), None)


def sourcing_figure(run: StoredRun) -> Figure | None:
    """Each partner's expected share at each stage under the plan, in the plan's last period."""
    name = sourcing_result(run)
    if name is None:
        return None
    frame = run.results[name]
    partner = value_column(frame, ("partner", "supplier", "exporter", "country"))
    share = value_column(frame, SHARE)
    if partner is None or share is None or "stage" not in frame.columns or frame.empty:
        return None
    period = value_column(frame, PERIOD)
    when = ""
    if period is not None:
        last = frame[period].max()
        frame = frame[frame[period] == last]
        when = f" in {last}"
    worst = "max_share" in frame.columns
    data = []
    for label, rows in frame.groupby(partner):
        trace: dict[str, Any] = {
            "type": "bar",
            "name": str(label),
            "x": list(rows["stage"]),
            "y": [round(float(v) * 100, 2) for v in rows[share]],
        }
        if worst:
            trace["customdata"] = [round(float(v) * 100, 1) for v in rows["max_share"]]
            trace["hovertemplate"] = (
                f"{label} %{{x}}: %{{y:.1f}}% expected, %{{customdata:.1f}}% in the worst scenario<extra></extra>"
            )
        data.append(trace)
    layout = {
        "barmode": "stack",
        "yaxis": {"title": {"text": "% of supply"}, "range": [0, 100]},
        "height": 380,
    }
    return Figure(
        f"plan-sourcing-{run.run_id}",
        f"Sourcing shares per stage{when}: {run.name}",
        data,
        layout,
        f"Each partner's expected share of the importer's supply at each stage under the plan{when}; "
        "the rest up to 100% is the importer's own supply (domestic plants, recycling, stockpiles)"
        + ("; hover for the largest share in any scenario." if worst else "."),
        (run_evidence(run, name, run.results[name]),),
    )


PLAN_TABLES = (
    (
        "options",
        "Options chosen",
        "What the plan commits to: offtakes, domestic plants, technology and stockpiles.",
    ),
    (
        "strategies",
        "Strategies compared",
        "Cost (USD million) and shortfall (t) of each strategy on the same scenarios.",
    ),
    ("costs", "Expected cost by part", "USD million."),
)


YEAR_COLUMNS = ("start", "period", "year", "payback_year")


def plan_tables(run: StoredRun) -> list[Table]:
    """The plan's chosen options, strategies and cost parts, as stored (list cells joined with commas)."""
    tables = []
    for result, title, caption in PLAN_TABLES:
        frame = run.results.get(result)
        if frame is None or frame.empty:
            continue
        shown = frame.apply(
            lambda column: column.map(lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v)
        )
        for column in YEAR_COLUMNS:
            if column in shown.columns:
                shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else str(int(v)))
        tables.append(
            Table(
                f"plan-{result}-{run.run_id}",
                f"{title}: {run.name}",
                shown,
                caption,
                (run_evidence(run, result, frame),),
            )
        )
    return tables


def plan_section(runs: Sequence[StoredRun]) -> Section | None:
    if not runs:
        return None
    figures: list[Figure] = []
    frontier = frontier_figure(runs)
    if frontier is not None:
        figures.append(frontier)
    for run in runs:
        figures += [figure for figure in (portfolio_figure(run), sourcing_figure(run)) if figure is not None]
    tables = [summary_table(runs, "plan")]
    for run in runs:
        tables += plan_tables(run)
    return Section(
        "plan",
        "Diversification plan",
        "Which partners, plants and stockpiles buy the most security per rupee without a new over-reliance.",
        figures=tuple(figures),
        tables=tuple(tables),
    )


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
