"""Stored plans: the cost-risk frontier, the chosen decisions in units a person reads, sourcing
shares, and why the plan wins.

The planner declares its result columns in results.csv (engine `plan`); when it does, they are
read by those names and a rename is an error in the tests. Plans stored by the earlier planner
(columns `cost`, `elements`, `signed_share`) are read by their own names. Decisions below the
materiality threshold (MATERIAL_T_PER_YEAR, MATERIAL_USD_MILLION) are counted, not listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from raremap.formatting import number, share
from raremap.report.figure import Figure, Section, Table
from raremap.report.palette import run_style
from raremap.report.runs import StoredRun
from raremap.report.scenario_figures import labels, run_evidence
from raremap.results import columns, tables

MATERIAL_T_PER_YEAR = 1.0
"""A commitment smaller than this (t/yr, or t for a stockpile) is not a decision a person acts on."""
MATERIAL_USD_MILLION = 1.0
SIGNED = 0.999
"""A technology deal the relaxed planner signs only partly (signed_share below this) is not a decision."""
LOCAL_PATH_PREFIXES = ("/", "~", "\\\\")


def declares(table: str) -> bool:
    return table in tables("plan")


def column(frame: pd.DataFrame, table: str, declared: str, legacy: str) -> str | None:
    """The declared column when the contract declares the table, else the earlier planner's name."""
    if declares(table):
        if declared not in columns("plan", table):
            raise AssertionError(f"plan {table} does not declare {declared}; the report reads it")
        return declared if declared in frame.columns else None
    return legacy if legacy in frame.columns else (declared if declared in frame.columns else None)


def without_paths(value: Any) -> Any:
    """A stored value with local file paths reduced to the file's name (no home folders in a report)."""
    if isinstance(value, str) and (value.startswith(LOCAL_PATH_PREFIXES) or value[1:3] == ":\\"):
        return value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return value


def decisions(run: StoredRun) -> tuple[pd.DataFrame, list[str]]:
    """The material decisions (name, kind, partner, stage, goods, start, volume, unit, outlay) and notes
    on what was left out and why."""
    frame = run.results.get("options")
    if frame is None or frame.empty:
        return pd.DataFrame(), []
    notes = []
    rows = frame.copy()
    if "unit" not in rows.columns:
        kinds = rows["kind"] if "kind" in rows.columns else pd.Series("", index=rows.index)
        volumes = rows["volume_t"] if "volume_t" in rows.columns else pd.Series(float("nan"), index=rows.index)
        rows["unit"] = ["t" if kind == "stockpile" else "t/yr" if pd.notna(volume) else ""
                        for kind, volume in zip(kinds, volumes, strict=True)]
    if "goods" not in rows.columns and "elements" in rows.columns:
        rows["goods"] = rows["elements"]
    partial = rows["signed_share"].fillna(1.0) < SIGNED if "signed_share" in rows.columns else False
    volume = pd.to_numeric(rows["volume_t"] if "volume_t" in rows.columns
                           else pd.Series(float("nan"), index=rows.index), errors="coerce")
    outlay = pd.to_numeric(rows.get("outlay_usd_million", pd.Series(float("nan"), index=rows.index)),
                           errors="coerce")
    small = volume.notna() & (volume < MATERIAL_T_PER_YEAR) & ~(outlay >= MATERIAL_USD_MILLION)
    if bool(small.any()):
        notes.append(f"{int(small.sum())} commitment(s) below {number(MATERIAL_T_PER_YEAR)} t/yr and "
                     f"USD {number(MATERIAL_USD_MILLION)} million left out: "
                     + ", ".join(f"{name} {number(value)} t" for name, value in
                                 zip(rows.loc[small, "name"], volume[small], strict=True)))
    if isinstance(partial, pd.Series) and bool(partial.any()):
        notes.append("Technology deals the planner signs only in part (a relaxation, not a decision) left "
                     "out: " + ", ".join(f"{name} ({share(part)} signed)" for name, part in
                                         zip(rows.loc[partial, "name"], rows.loc[partial, "signed_share"],
                                             strict=True)))
        small = small | partial
    rows = rows[~small]
    shown = [name for name in ("name", "kind", "partner", "stage", "goods", "start", "online", "volume_t", "unit",
                               "outlay_usd_million") if name in rows.columns]
    result = rows[shown].rename(columns={"volume_t": "volume", "outlay_usd_million": "outlay (USD million)"})
    return result.reset_index(drop=True), notes


def frontier_figure(runs: Sequence[StoredRun]) -> Figure | None:
    """Cost against CVaR of shortfall along each plan's lambda sweep, with its strategies as points."""
    data: list[dict[str, Any]] = []
    evidence = []
    for position, (run, label) in enumerate(zip(runs, labels(runs), strict=True)):
        style = run_style(position)
        strategies = run.results.get("strategies")
        if strategies is not None and not strategies.empty:
            cost = column(strategies, "strategies", "cost_usd_million", "cost")
            risk = column(strategies, "strategies", "cvar_shortfall_t", "cvar_shortfall_t")
            if cost and risk and "name" in strategies.columns:
                rows = strategies.dropna(subset=[cost, risk])
                data.append({"type": "scatter", "mode": "markers+text", "name": f"{label}: strategies",
                             "x": [float(v) for v in rows[risk]], "y": [float(v) for v in rows[cost]],
                             "text": [str(v) for v in rows["name"]], "textposition": "top center",
                             "marker": {"size": 10, "symbol": "diamond", "color": style["color"]}})
                evidence.append(run_evidence(run, "strategies", strategies))
        frontier = run.results.get("frontier")
        if frontier is not None and not frontier.empty:
            cost = column(frontier, "frontier", "cost_usd_million", "cost")
            risk = column(frontier, "frontier", "cvar_shortfall_t", "cvar_shortfall_t")
            if cost and risk:
                ordered = frontier.dropna(subset=[cost, risk]).sort_values(risk)
                data.append({"type": "scatter", "mode": "lines+markers", "name": f"{label}: frontier",
                             "x": [float(v) for v in ordered[risk]], "y": [float(v) for v in ordered[cost]],
                             "text": [f"lambda {number(value)}" for value in ordered["lambda"]]
                             if "lambda" in ordered.columns else None,
                             "line": {"color": style["color"], "dash": style["dash"]}})
                evidence.append(run_evidence(run, "frontier", frontier))
    if not data:
        return None
    return Figure(
        "plan-frontier",
        "Cost against risk: the frontier and the strategies",
        data,
        {
            "xaxis": {"title": {"text": "CVaR of shortfall over the plan's horizon (t)"}, "tickformat": ",~g"},
            "yaxis": {"title": {"text": "expected cost (USD million)"}, "tickformat": ",~g"},
            "height": 440,
        },
        "Each line point is the best plan for one risk aversion (lambda); diamonds are the planner's strategies "
        "on the same draws. Left is safer, lower is cheaper. Shortfall in t magnet for magnet sectors.",
        tuple(evidence),
    )


def portfolio_figure(run: StoredRun) -> Figure | None:
    """Material commitments with a yearly volume (t/yr), one bar each; stockpiles (t) are in the table."""
    chosen, _ = decisions(run)
    if chosen.empty or "volume" not in chosen.columns:
        return None
    rows = chosen[(chosen.get("unit", "t/yr") == "t/yr") & pd.to_numeric(chosen["volume"], errors="coerce").notna()]
    if rows.empty:
        return None
    traces = [
        {"type": "bar", "name": str(kind), "x": list(group["name"].astype(str)),
         "y": [float(value) for value in group["volume"]],
         "hovertemplate": f"%{{x}}: %{{y:,.0f}} t/yr ({kind})<extra></extra>"}
        for kind, group in rows.groupby("kind", sort=False)
    ]
    stocks = chosen[chosen.get("unit", "") == "t"]
    return Figure(
        f"plan-portfolio-{run.run_id}",
        f"Chosen commitments: {run.name} (t/yr)",
        traces,
        {"yaxis": {"title": {"text": "volume (t/yr)"}, "tickformat": ",~g"},
         "xaxis": {"automargin": True}, "height": 440},
        "Plants and contracts the plan commits to, in t per year of capacity or contracted supply."
        + (f" Stockpiles (t, not per year) are in the decisions table: {', '.join(stocks['name'].astype(str))}."
           if not stocks.empty else ""),
        (run_evidence(run, "options", run.results["options"]),),
    )


def sourcing_figure(run: StoredRun) -> Figure | None:
    """Each source's expected share at each stage under the plan, in the plan's last period."""
    frame = run.results.get("sourcing_shares")
    if frame is None or frame.empty or not {"stage", "partner", "expected_share"} <= set(frame.columns):
        return None
    when = ""
    if "period" in frame.columns:
        last = max(frame["period"], key=lambda value: str(value))
        frame = frame[frame["period"] == last]
        when = f" in {last}"
    worst = "max_share" in frame.columns
    data = []
    for partner, rows in frame.groupby("partner"):
        partner = str(partner)
        trace: dict[str, Any] = {"type": "bar", "name": str(partner), "x": list(rows["stage"]),
                                 "y": [round(float(v) * 100, 2) for v in rows["expected_share"]]}
        if worst:
            trace["customdata"] = [round(float(v) * 100, 1) for v in rows["max_share"]]
            trace["hovertemplate"] = (f"{partner} %{{x}}: %{{y:.1f}}% expected, %{{customdata:.1f}}% in the "
                                      "worst draw<extra></extra>")
        data.append(trace)
    return Figure(
        f"plan-sourcing-{run.run_id}",
        f"Sourcing shares per stage{when}: {run.name}",
        data,
        {"barmode": "stack", "yaxis": {"title": {"text": "% of the stage's supply"}, "range": [0, 100]},
         "height": 380},
        f"Each source's expected share of the importer's supply at each stage under the plan{when}; each "
        "country keeps its colour in every chart" + ("; hover for the largest share in any draw." if worst else "."),
        (run_evidence(run, "sourcing_shares", run.results["sourcing_shares"]),),
    )


def readable(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Columns named in words, with their units: cvar_shortfall_t -> 'CVaR of shortfall' in t."""
    names, units = {}, {}
    for name in map(str, frame.columns):
        unit = ""
        words = name
        if name.endswith("_usd_million") or name == "cost":
            words, unit = name.removesuffix("_usd_million"), "USD million"
        elif name.endswith("_t"):
            words, unit = name.removesuffix("_t"), "t"
        words = words.replace("cvar_", "CVaR of ").replace("_", " ")
        names[name] = words
        if unit:
            units[words] = unit
    return frame.rename(columns=names), units


def plan_tables(run: StoredRun) -> tuple[list[Table], list[str]]:
    chosen, notes = decisions(run)
    result: list[Table] = []
    if not chosen.empty:
        result.append(Table(
            f"plan-options-{run.run_id}", f"Decisions: {run.name}", chosen,
            f"What the plan commits to, from {number(MATERIAL_T_PER_YEAR)} t/yr or USD "
            f"{number(MATERIAL_USD_MILLION)} million up; volume in the unit column (t/yr of capacity or supply, "
            "t for a stockpile); start and online are years.",
            (run_evidence(run, "options", run.results["options"]),),
            units={"outlay (USD million)": "", "start": "year", "online": "year"},
        ))
    strategies = run.results.get("strategies")
    if strategies is not None and not strategies.empty:
        shown, units = readable(strategies)
        result.append(Table(
            f"plan-strategies-{run.run_id}", f"Strategies compared: {run.name}", shown,
            "Cost and shortfall of each strategy on the same draws, over the plan's horizon (shortfall in t "
            "magnet for magnet sectors).",
            (run_evidence(run, "strategies", strategies),),
            units=units,
        ))
    costs = run.results.get("costs")
    if costs is not None and not costs.empty:
        result.append(Table(
            f"plan-costs-{run.run_id}", f"Expected cost by part: {run.name} (USD million)", costs, "",
            (run_evidence(run, "costs", costs),), folded=True,
        ))
    explanation = run.results.get("explanation")
    if explanation is not None and not explanation.empty and "text" in explanation.columns:
        notes = [*map(str, explanation["text"]), *notes]
    return result, notes


def runs_table(runs: Sequence[StoredRun]) -> Table:
    rows = []
    for run, label in zip(runs, labels(runs), strict=True):
        plain = {key: without_paths(value) for key, value in run.summary.items()
                 if isinstance(value, str | int | float | bool) and not str(key).endswith(("_source", "folder"))}
        rows.append({"run": run.run_id, "plan": label, "created": run.created_at[:16],
                     "dataset": run.dataset_version[:12], **plain})
    return Table("plan-runs", "Stored plan runs", pd.DataFrame(rows))


def plan_section(runs: Sequence[StoredRun]) -> Section | None:
    if not runs:
        return None
    figures: list[Figure] = []
    frontier = frontier_figure(runs)
    if frontier is not None:
        figures.append(frontier)
    all_tables: list[Table] = []
    notes: list[str] = []
    for run in runs:
        figures += [figure for figure in (portfolio_figure(run), sourcing_figure(run)) if figure is not None]
        found, said = plan_tables(run)
        all_tables += found
        notes += [f"{run.name}: {sentence}" for sentence in said]
    all_tables.append(runs_table(runs))
    return Section(
        "plan",
        "Diversification plan",
        "Which partners, plants and stockpiles buy the most security per rupee without a new over-reliance.",
        figures=tuple(figures),
        tables=tuple(all_tables),
        notes=tuple(notes),
    )
