"""What a plan run reports: its tables (declared in ``raremap/results.csv``, engine ``plan``), the
explanation of why the chosen portfolio wins, the JSON summary, and saving to the store.

Decisions are listed in units a person reads (t/yr, t, USD million, years) when they are material:
at least MATERIAL_USD_MILLION of capital, or at least MATERIAL_SHARE_OF_NEED of the importer's need
at their stage in the horizon's first year (``raremap.plan.assumptions``). Smaller ones are counted
in the explanation, not listed.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from raremap.model.periods import label, start_date
from raremap.plan import assumptions
from raremap.plan.model import Restrictions
from raremap.plan.portfolio import Portfolio, simulate_portfolio
from raremap.plan.scenarios import at_demand_level
from raremap.results import check_tables
from raremap.vocabulary import STAGE_UNITS

if TYPE_CHECKING:
    from raremap.plan.planner import Context, MarketViews, Outcome, PlanRun

SMALL = 1e-6
ENGINE = "plan"
MATERIAL_SUPPLY_T = 1.0
"""A source is listed in the sourcing table from 1 t a year expected."""


def _periods(frame: pd.DataFrame) -> pd.DataFrame:
    """A `period` column of year starts as the result contract has it: label, start date, length in years."""
    if "period" not in frame.columns:
        return frame
    position = list(frame.columns).index("period")
    starts = frame["period"].astype(float)
    labelled = frame.drop(columns="period")
    labelled.insert(position, "period_years", 1.0)
    labelled.insert(position, "period_start", [start_date(start).isoformat() for start in starts])
    labelled.insert(position, "period", [label(start, 1.0) for start in starts])
    return labelled


def material(context: Context, stage: str, volume: float, outlay: float) -> bool:
    """Whether a decision is worth listing: enough capital, or enough of the importer's need at its stage."""
    from raremap.plan.planner import first_year_need

    need = first_year_need(context, stage)
    return outlay >= assumptions.MATERIAL_USD_MILLION or (need > 0 and volume >= assumptions.MATERIAL_SHARE_OF_NEED * need)


def decision_rows(context: Context, portfolio: Portfolio) -> list[dict[str, Any]]:
    """Every decision with a volume, in readable units, with whether it is material."""
    options, rows = context.options, []
    for build in options.builds:
        signed = build.signed(portfolio.signed)
        volumes = portfolio.of(build.name)
        if volumes.ndim == 0:
            continue
        for start, volume in zip(volumes["start"].values, volumes.values, strict=True):
            if volume <= SMALL:
                continue
            outlay = float(volume) * signed.capex_usd_per_tpa / 1e6
            rows.append({"name": build.name, "kind": "domestic plant", "partner": "", "stage": build.spec.stage,
                         "goods": STAGE_UNITS[build.spec.stage].removeprefix("t "), "start": int(start),
                         "online": int(start) + signed.lead_time_years, "volume_t": float(volume), "unit": "t/yr",
                         "outlay_usd_million": outlay, "material": material(context, build.spec.stage, volume, outlay)})
    for item in options.offtakes:
        volumes = portfolio.of(item.name)
        if volumes.ndim == 0:
            continue
        goods = ", ".join(f"{good} {share:.0%}" for good, share in item.mix.to_series().items() if share > 0)
        for start, volume in zip(volumes["start"].values, volumes.values, strict=True):
            if volume <= SMALL:
                continue
            outlay = float(volume) * item.capex_usd_per_tpa / 1e6
            rows.append({"name": item.name, "kind": item.spec.kind.replace("_", " "), "partner": item.spec.partner,
                         "stage": item.spec.stage, "goods": goods, "start": int(start),
                         "online": int(start) + item.spec.lead_time_years, "volume_t": float(volume), "unit": "t/yr",
                         "outlay_usd_million": outlay, "material": material(context, item.spec.stage, volume, outlay)})
    for stock in options.stockpiles:
        size = float(portfolio.of(stock.name))
        if size <= SMALL:
            continue
        goods = ", ".join(f"{good} {share:.0%}" for good, share in stock.mix.to_series().items() if share > 0)
        outlay = size * stock.price_usd_per_kg / 1e3
        start = context.plan.horizon.start
        rows.append({"name": stock.name, "kind": "stockpile", "partner": "", "stage": stock.spec.stage, "goods": goods,
                     "start": start, "online": start, "volume_t": size, "unit": "t", "outlay_usd_million": outlay,
                     "material": material(context, stock.spec.stage, size, outlay)})
    for partnership in options.technology:
        if partnership.name in portfolio.signed:
            rows.append({"name": partnership.name, "kind": "technology partnership", "partner": partnership.partner,
                         "stage": "", "goods": ", ".join(partnership.targets), "start": context.plan.horizon.start,
                         "online": context.plan.horizon.start, "volume_t": float("nan"), "unit": "",
                         "outlay_usd_million": partnership.cost_usd / 1e6, "material": True})
    return rows


def options_table(context: Context, portfolio: Portfolio) -> pd.DataFrame:
    rows = [row for row in decision_rows(context, portfolio) if row["material"]]
    columns = ["name", "kind", "partner", "stage", "goods", "start", "online", "volume_t", "unit", "outlay_usd_million"]
    return pd.DataFrame([{key: row[key] for key in columns} for row in rows], columns=columns)


def _fixed(portfolio: Portfolio, without: str | None = None) -> dict[str, xr.DataArray]:
    """The portfolio's values to hold, with one option (by name) set to nothing."""
    values = {name: array.copy() for name, array in portfolio.values().items()}
    if without is not None:
        for array in values.values():
            for dimension in ("unit", "option", "stockpile"):
                if dimension in array.dims and without in array[dimension].values:
                    array.loc[{dimension: without}] = 0.0
    return values


def contributions(context: Context, chosen: Outcome) -> list[dict[str, Any]]:
    """What each material decision is worth: the plan re-operated without it (everything else held)."""
    from raremap.plan.planner import solve_outcome

    names = list(dict.fromkeys(row["name"] for row in decision_rows(context, chosen.portfolio)
                               if row["material"] and row["kind"] != "technology partnership"))
    rows = []
    for name in names:
        restrictions = Restrictions(fixed=_fixed(chosen.portfolio, without=name), signed=chosen.portfolio.signed,
                                    budget=False, caps=False, risk_weight=chosen.risk_weight)
        without = solve_outcome(context, restrictions, f"without {name}")
        rows.append({
            "option": name,
            "objective_change_usd_million": without.objective - chosen.objective,
            "outlay_saved_usd_million": chosen.outlay - without.outlay,
            "expected_shortfall_change_t": without.expected_shortfall_t - chosen.expected_shortfall_t,
            "cvar_shortfall_change_t": without.cvar_shortfall_t - chosen.cvar_shortfall_t,
        })
    return rows


def out_of_sample(context: Context, chosen: Outcome, fresh: MarketViews) -> list[dict[str, Any]]:
    """The chosen portfolio on fresh draws: in the simulator itself, and in the planner's reduced second stage."""
    from raremap.plan.planner import solve_outcome

    restrictions = Restrictions(fixed=_fixed(chosen.portfolio), signed=chosen.portfolio.signed, budget=False,
                                caps=False, risk_weight=chosen.risk_weight)
    reduced = solve_outcome(context, restrictions, "out of sample", views=fresh)
    importer, horizon = context.plan.importer, context.plan.horizon
    reported = [label(period, 1.0) for period in fresh.side.reported]
    rows = []
    levels: dict[float, Any] = {}
    for index, draw in enumerate(fresh.draws):
        level = levels.setdefault(draw.demand_level, at_demand_level(context.chain, draw.demand_level, horizon.start))
        result = simulate_portfolio(level, draw.scenario, chosen.portfolio, context.options, draw, horizon.start)
        shortfall = result.shortfall
        simulated = float(shortfall[(shortfall["country"] == importer) & shortfall["period"].isin(reported)]["tonnes"].sum())
        status_quo = float(fresh.boundary.shortfall.sel(scenario=draw.name, period=fresh.side.reported).sum())
        predicted = float(reduced.scenario_shortfall_t[index])
        rows.append({"scenario": draw.name, "description": draw.describe(), "status_quo_shortfall_t": status_quo,
                     "plan_shortfall_t": simulated, "plan_shortfall_reduced_t": predicted,
                     "difference_t": predicted - simulated})
    return rows


def strategy_row(outcome: Outcome) -> dict[str, Any]:
    parts = outcome.parts()
    return {
        "name": outcome.name,
        "outlay_usd_million": outcome.outlay,
        "commitments_usd_million": parts["commitments_usd_million"],
        "supply_cost_usd_million": parts["supply_cost_usd_million"],
        "lost_value_usd_million": parts["lost_value_usd_million"],
        "cost_usd_million": outcome.commitments + outcome.expected_loss,
        "cvar_loss_usd_million": outcome.cvar_loss,
        "objective_usd_million": outcome.objective,
        "expected_shortfall_t": outcome.expected_shortfall_t,
        "cvar_shortfall_t": outcome.cvar_shortfall_t,
    }


def decisions_text(context: Context, portfolio: Portfolio) -> str:
    """The material decisions of a portfolio in one line (t/yr, t, years), e.g. for each frontier point."""
    totals: dict[str, tuple[float, str]] = {}
    for row in decision_rows(context, portfolio):
        if row["material"] and row["unit"]:
            volume, unit = totals.get(row["name"], (0.0, row["unit"]))
            totals[row["name"]] = (volume + row["volume_t"], unit)
    signed = sorted(portfolio.signed)
    parts = [f"{name} {volume:,.0f} {unit}" for name, (volume, unit) in totals.items()] + [f"{name} signed" for name in signed]
    return "; ".join(parts) or "nothing"


def frontier_rows(run: PlanRun) -> list[dict[str, Any]]:
    return [{"lambda": outcome.risk_weight, **{key: value for key, value in strategy_row(outcome).items() if key != "name"},
             "decisions": decisions_text(run.context, outcome.portfolio)} for outcome in run.frontier]


def sourcing_table(outcome: Outcome) -> pd.DataFrame:
    """Expected share of each source (partner, domestic, stockpile) in the importer's supply per stage and period."""
    supply = outcome.supply
    total = supply.sum("source")
    share = (supply / total.where(total > SMALL)).fillna(0.0)
    frame = xr.Dataset({
        "expected_t": (supply * outcome.weight).sum("scenario"),
        "expected_share": (share * outcome.weight).sum("scenario"),
        "max_share": share.max("scenario"),
    }).to_dataframe().reset_index().rename(columns={"source": "partner"})
    shown = frame["expected_t"] >= MATERIAL_SUPPLY_T
    frame = frame[shown][["stage", "partner", "period", "expected_t", "expected_share", "max_share"]]
    return _periods(frame.reset_index(drop=True))


def max_partner_share(outcome: Outcome) -> dict[str, float]:
    """Largest share of one foreign partner in the importer's supply per stage, over scenarios and the horizon."""
    table = sourcing_table(outcome)
    foreign = table[~table["partner"].isin(["domestic", "stockpile"])]
    return {str(stage): float(rows["max_share"].max()) for stage, rows in foreign.groupby("stage")}


def scenarios_table(run: PlanRun) -> pd.DataFrame:
    views, chosen = run.context.views, run.chosen
    status_quo = views.boundary.shortfall.sel(period=views.side.reported).sum(["sector", "period"])
    rows = [{"scenario": draw.name, "description": draw.describe(), "demand_level": draw.demand_level,
             "status_quo_shortfall_t": float(status_quo.sel(scenario=draw.name)),
             "plan_shortfall_t": float(chosen.scenario_shortfall_t[index]), "loss_usd_million": float(chosen.loss[index])}
            for index, draw in enumerate(views.draws)]
    return pd.DataFrame(rows, columns=["scenario", "description", "demand_level", "status_quo_shortfall_t",
                                       "plan_shortfall_t", "loss_usd_million"])


def constraints_table(run: PlanRun) -> pd.DataFrame:
    """First-stage limits that bind, with their shadow prices (what relaxing them by one unit is worth)."""
    from raremap.plan.explain import binding_rows

    return pd.DataFrame(binding_rows(run), columns=["constraint", "about", "period", "shadow_usd_million", "per",
                                                    "description"])


def thorium_table(run: PlanRun) -> pd.DataFrame:
    per_reo = run.context.views.side.thorium_per_reo
    mined = (run.chosen.mined * run.chosen.weight).sum("scenario")
    frame = pd.DataFrame({"period": mined["period"].values, "reo_t": mined.values, "tho2_t": mined.values * per_reo})
    return _periods(frame)


def plan_tables(run: PlanRun) -> dict[str, pd.DataFrame]:
    """The run's tables, checked against results.csv."""
    from raremap.plan.explain import explanation

    parts = run.chosen.parts()
    tables = {
        "options": options_table(run.context, run.chosen.portfolio),
        "contributions": pd.DataFrame(run.contributions, columns=[
            "option", "objective_change_usd_million", "outlay_saved_usd_million", "expected_shortfall_change_t",
            "cvar_shortfall_change_t"]),
        "constraints": constraints_table(run),
        "costs": pd.DataFrame([{"part": key.removesuffix("_usd_million"), "usd_million": value} for key, value in parts.items()]),
        "strategies": pd.DataFrame([strategy_row(outcome) for outcome in run.strategies]),
        "frontier": pd.DataFrame(frontier_rows(run)),
        "technology": pd.DataFrame(run.signings, columns=["signed", "objective_usd_million"]),
        "sourcing_shares": sourcing_table(run.chosen),
        "scenarios": scenarios_table(run),
        "out_of_sample": pd.DataFrame(run.out_of_sample, columns=[
            "scenario", "description", "status_quo_shortfall_t", "plan_shortfall_t", "plan_shortfall_reduced_t",
            "difference_t"]),
        "thorium": thorium_table(run),
        "provenance": pd.DataFrame(run.context.options.provenance, columns=["item", "value", "source"]),
        "explanation": pd.DataFrame(explanation(run), columns=["topic", "text"]),
    }
    check_tables(ENGINE, tables)
    return tables


def _oos_summary(rows: list[dict[str, Any]], alpha: float) -> dict[str, Any]:
    from raremap.risk.summary import conditional_value_at_risk

    if not rows:
        return {}
    summary: dict[str, Any] = {"draws": len(rows)}
    for key in ("status_quo_shortfall_t", "plan_shortfall_t", "plan_shortfall_reduced_t"):
        values = np.array([row[key] for row in rows])
        summary[f"expected_{key}"] = float(values.mean())
        summary[f"cvar_{key}"] = conditional_value_at_risk(values, alpha)
    summary["largest_difference_t"] = float(max(abs(row["difference_t"]) for row in rows))
    return summary


def plan_summary(run: PlanRun) -> dict[str, Any]:
    """The `raremap plan --json` payload."""
    from raremap.plan.explain import explanation

    chosen = run.chosen
    table = options_table(run.context, chosen.portfolio)
    return {
        "options": table.to_dict(orient="records"),
        "cost": chosen.commitments + chosen.expected_loss,
        "objective": chosen.parts(),
        "expected_shortfall_t": chosen.expected_shortfall_t,
        "cvar_shortfall_t": chosen.cvar_shortfall_t,
        "alpha": chosen.alpha,
        "lambda": chosen.risk_weight,
        "out_of_sample": _oos_summary(run.out_of_sample, chosen.alpha),
        "max_partner_share": max_partner_share(chosen),
        "frontier": frontier_rows(run),
        "strategies": [strategy_row(outcome) for outcome in run.strategies],
        "explanation": [row["text"] for row in explanation(run)],
        "scenarios": len(run.context.views.draws),
        "seconds": run.seconds,
    }


def save_plan_run(run: PlanRun, path: str | Path) -> str:
    """Store the run in the DuckDB store with the dataset version it used; returns the run id."""
    from raremap.data import store

    run_id = f"plan-{run.plan.name}-{uuid.uuid4().hex[:12]}"
    summary = plan_summary(run)
    store.save_run(path, run_id=run_id, kind="plan", name=run.plan.name, dataset_version=run.dataset_version,
                   specification=run.plan.model_dump(mode="json", by_alias=True), summary=summary, results=run.tables())
    return run_id
