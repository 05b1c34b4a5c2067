"""Why the chosen portfolio is what it is, in words: its parts of the objective against the other strategies,
what each decision contributes, the limits that bind, and what the frontier shows.

Every sentence is built from the run's own numbers (no text is fixed in advance beyond the wording).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from raremap.model.periods import label
from raremap.plan import assumptions
from raremap.plan.results import decision_rows, decisions_text, sourcing_table

if TYPE_CHECKING:
    from raremap.plan.planner import Outcome, PlanRun

SHADOW = 1e-6
"""USD million per unit below which a shadow price counts as zero."""
FLAT = 0.005
"""Frontier points whose objective parts differ by less than this share are the same plan."""


def _money(value: float) -> str:
    return f"{value:,.0f} USD million" if abs(value) >= 10 else f"{value:,.1f} USD million"


def _tonnes(value: float) -> str:
    return f"{value:,.0f} t"


def binding_rows(run: PlanRun) -> list[dict[str, Any]]:
    """First-stage limits with a nonzero shadow price: what one more unit of each would be worth."""
    duals, rows = run.chosen.duals, []
    budget = duals.get("Budget")
    if budget is not None and abs(float(budget)) > SHADOW:
        rows.append({"constraint": "Budget", "about": "", "period": "", "shadow_usd_million": -float(budget),
                     "per": "USD million of budget",
                     "description": f"the budget of {_money(run.plan.budget_usd_million)} is spent in full; one more USD "
                                    f"million would lower the objective by {-float(budget):,.2f} USD million"})
    limits = {"Build-maximum": ("unit", "t/yr", 1000.0), "Contract-maximum": ("option", "t/yr", 1000.0),
              "Stock-maximum": ("stockpile", "t", 1000.0), "Thorium-limit": ("unit", "t ThO2/yr", 1.0)}
    for name, (dimension, unit, scale) in limits.items():
        dual = duals.get(name)
        if dual is None:
            continue
        for key, value in zip(dual[dimension].values, dual.values, strict=True):
            if np.isfinite(value) and abs(value) > SHADOW:
                worth = -float(value) * scale
                what = f"{scale:,.0f} {unit}" if scale != 1.0 else f"one {unit}"
                rows.append({"constraint": name, "about": str(key), "period": "", "shadow_usd_million": worth,
                             "per": what, "description": f"{key} is at its limit; {what} more would lower the objective "
                                                         f"by {worth:,.2f} USD million"})
    for name, dimension in (("Partner-cap", "option"), ("Bloc-cap", "bloc")):
        dual = duals.get(name)
        if dual is None:
            continue
        frame = dual.to_series().dropna()
        for key, value in frame.items():
            if abs(value) <= SHADOW:
                continue
            where = dict(zip(dual.dims, key if isinstance(key, tuple) else (key,), strict=True))
            about = str(where[dimension]) + (f" ({where['stage']})" if "stage" in where else "")
            worth = -float(value) * 1000.0
            rows.append({"constraint": name, "about": about, "period": label(float(where["period"]), 1.0),
                         "shadow_usd_million": worth, "per": "1,000 t/yr more contracted",
                         "description": f"the {name.lower().replace('-', ' ')} holds {about} in "
                                        f"{label(float(where['period']), 1.0)}; 1,000 t/yr more would lower the "
                                        f"objective by {worth:,.2f} USD million"})
    return sorted(rows, key=lambda row: -abs(row["shadow_usd_million"]))


def _portfolio_text(run: PlanRun) -> list[dict[str, Any]]:
    rows = decision_rows(run.context, run.chosen.portfolio)
    listed = [row for row in rows if row["material"]]
    small = [row for row in rows if not row["material"]]
    if not listed:
        text = "The plan commits to nothing: no option pays for itself on these draws."
    else:
        parts = []
        for row in listed:
            if row["kind"] == "technology partnership":
                parts.append(f"sign {row['name']} with {row['partner']}")
                continue
            where = f" from {row['partner']}" if row["partner"] else ""
            volume = f"{row['volume_t']:,.0f} {row['unit']}"
            timing = "bought now" if row["kind"] == "stockpile" else f"committed {row['start']}, in service {row['online']}"
            parts.append(f"{row['name']}{where}: {volume} ({timing})")
        text = ("The plan commits to " + "; ".join(parts) + f". Capital: {_money(run.chosen.outlay)} of a "
                f"{_money(run.plan.budget_usd_million)} budget.")
    if small:
        text += (f" {len(small)} smaller decision(s) (together {_money(sum(row['outlay_usd_million'] for row in small))}) are "
                 f"not listed: a decision is listed from {assumptions.MATERIAL_USD_MILLION:g} USD million of capital or "
                 f"{assumptions.MATERIAL_SHARE_OF_NEED:.0%} of the importer's need at its stage.")
    return [{"topic": "portfolio", "text": text}]


def _objective_text(run: PlanRun) -> list[dict[str, Any]]:
    chosen = run.chosen
    parts = chosen.parts()
    horizon = f"{run.plan.horizon.start}-{run.plan.horizon.end}"
    text = (f"Objective {_money(parts['objective_usd_million'])} = commitments {_money(parts['commitments_usd_million'])}"
            f" + expected cost of supply over {horizon} {_money(parts['supply_cost_usd_million'])}"
            f" + expected value lost to shortfall {_money(parts['lost_value_usd_million'])}"
            f" + the year after the horizon (the run-out the market looks ahead to) {_money(parts['run_out_year_usd_million'])}"
            f" + lambda {chosen.risk_weight:g} x CVaR{chosen.alpha:.0%} of the loss {_money(chosen.cvar_loss)}.")
    return [{"topic": "objective", "text": text}]


def _against(run: PlanRun) -> list[dict[str, Any]]:
    by_name = {outcome.name: outcome for outcome in run.strategies}
    status_quo = by_name.get("status quo")
    chosen = run.chosen
    rows = []
    if status_quo is not None:
        before, after = status_quo.parts(), chosen.parts()
        rows.append({"topic": "against the status quo", "text": (
            f"Against the status quo the plan lowers the objective by "
            f"{_money(before['objective_usd_million'] - after['objective_usd_million'])}: supply cost "
            f"{_signed(after['supply_cost_usd_million'] - before['supply_cost_usd_million'])}, lost value "
            f"{_signed(after['lost_value_usd_million'] - before['lost_value_usd_million'])}, risk term "
            f"{_signed(after['risk_term_usd_million'] - before['risk_term_usd_million'])}, run-out year "
            f"{_signed(after['run_out_year_usd_million'] - before['run_out_year_usd_million'])}, for commitments of "
            f"{_money(after['commitments_usd_million'])}. Expected shortfall {_tonnes(status_quo.expected_shortfall_t)} -> "
            f"{_tonnes(chosen.expected_shortfall_t)}; CVaR{chosen.alpha:.0%} of shortfall "
            f"{_tonnes(status_quo.cvar_shortfall_t)} -> {_tonnes(chosen.cvar_shortfall_t)} over the horizon.")})
    others = [outcome for outcome in run.strategies if outcome.name not in ("status quo", "multi-vector (the plan)")]
    if others:
        text = "; ".join(f"{outcome.name}: objective {_money(outcome.objective)}, expected shortfall "
                         f"{_tonnes(outcome.expected_shortfall_t)}" for outcome in others)
        rows.append({"topic": "strategies", "text": (
            f"{text}; the plan: {_money(chosen.objective)}, {_tonnes(chosen.expected_shortfall_t)}. The plan can never "
            "do worse than domestic only on the objective: caps limit only new contracts, so every domestic-only "
            "portfolio is open to it.")})
    return rows


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}{_money(abs(value))}"


def _offtake_text(run: PlanRun) -> list[dict[str, Any]]:
    """Why no offtake is taken, when none is: what a contract can and cannot buy in this market."""
    offered = run.context.options.offtakes
    if not offered or float(run.chosen.portfolio.contract.sum()) > SHADOW:
        return []
    side = run.context.views.side
    sticky = side.route_movable.sel(stage="magnet").where(side.route_sticky.sel(stage="magnet")).dropna("element", how="all")
    pace = ""
    if sticky.size:
        first = side.periods[0]
        elapsed = first + float(side.years.sel(period=first)) - run.context.chain.periods[0]
        pace = (f"; on magnets, where its sourcing is sticky, contracted tonnes count against the same "
                f"{float(sticky.sel(period=first).max()) / elapsed:.2%} of its imports a year that the market lets it move "
                "to new suppliers")
    return [{"topic": "offtakes", "text": (
        f"None of the {len(offered)} offtakes offered is taken. In this market {run.plan.importer} can buy any partner's "
        "goods at that partner's market price without a contract; a contract only moves goods to it ahead of buyers "
        "who value them more (up to the breach cost, the good's base-year price), which at world prices costs more "
        f"than it gains{pace}.")}]


def _complements_text(run: PlanRun) -> list[dict[str, Any]]:
    """Decisions that only work together: removing either raises the expected shortfall by about the same."""
    rows = []
    items = [item for item in run.contributions if item["expected_shortfall_change_t"] > 100]
    for first, second in itertools.combinations(items, 2):
        a, b = first["expected_shortfall_change_t"], second["expected_shortfall_change_t"]
        if abs(a - b) <= 0.02 * max(a, b):
            rows.append({"topic": "complements", "text": (
                f"{first['option']} and {second['option']} work together: without either, the expected shortfall rises by "
                f"about {_tonnes((a + b) / 2)}, so neither pays without the other.")})
    return rows


def _contribution_text(run: PlanRun) -> list[dict[str, Any]]:
    rows = []
    for item in run.contributions:
        change = item["objective_change_usd_million"]
        verb = "rises" if change >= 0 else "falls"
        rows.append({"topic": f"contribution of {item['option']}", "text": (
            f"Without {item['option']} (everything else held) the objective {verb} by {_money(abs(change))}, "
            f"expected shortfall changes by {item['expected_shortfall_change_t']:+,.0f} t and CVaR of shortfall by "
            f"{item['cvar_shortfall_change_t']:+,.0f} t; it costs {_money(item['outlay_saved_usd_million'])} of capital.")})
    return rows


def _binding_text(run: PlanRun) -> list[dict[str, Any]]:
    rows = binding_rows(run)
    if not rows:
        return [{"topic": "limits", "text": "No budget, cap, maximum or thorium limit binds: every decision is "
                                            "chosen for its own worth."}]
    return [{"topic": f"limit: {row['constraint']}", "text": row["description"][:1].upper() + row["description"][1:] + "."}
            for row in rows[:6]]


def _is_flat(outcomes: list[Outcome]) -> bool:
    if len(outcomes) < 2:
        return False
    reference = outcomes[0]
    scale = max(abs(reference.commitments) + abs(reference.expected_loss), 1.0)
    return all(abs(item.commitments - reference.commitments) <= FLAT * scale
               and abs(item.cvar_loss - reference.cvar_loss) <= FLAT * max(abs(reference.cvar_loss), 1.0)
               for item in outcomes[1:])


def _at_limit(outcome: Outcome) -> list[str]:
    """The decisions held at their maxima in a solve (nonzero shadow price)."""
    names = []
    for name, dimension in (("Build-maximum", "unit"), ("Contract-maximum", "option"), ("Stock-maximum", "stockpile")):
        dual = outcome.duals.get(name)
        if dual is not None:
            names += [str(key) for key, value in zip(dual[dimension].values, dual.values, strict=True)
                      if np.isfinite(value) and abs(value) > SHADOW]
    return names


def _why_no_more(outcome: Outcome) -> str:
    """Why more risk aversion buys nothing more at this solve."""
    budget = outcome.duals.get("Budget")
    if budget is not None and abs(float(budget)) > SHADOW:
        return "the budget is spent in full, so a larger weight on the tail cannot buy more"
    limited = _at_limit(outcome)
    if limited and not outcome.portfolio.is_empty():
        return ("the options worth buying are at their maxima (" + ", ".join(limited) + "), and the ones left pay "
                "neither in expectation nor in the tail draws")
    if outcome.portfolio.is_empty():
        return "no option pays for itself even in the worst draws: their capital and reservation costs exceed what they save there"
    return "the options chosen already lower the tail as far as the options can"


def _frontier_text(run: PlanRun) -> list[dict[str, Any]]:
    outcomes = sorted(run.frontier, key=lambda item: item.risk_weight)
    if len(outcomes) < 2:
        return []
    low, high = outcomes[0], outcomes[-1]
    if _is_flat(outcomes):
        return [{"topic": "frontier", "text": (
            f"The frontier is flat: lambda {low.risk_weight:g} to {high.risk_weight:g} give the same plan (commitments "
            f"{_money(low.commitments)}, CVaR of the loss {_money(low.cvar_loss)}). Why: {_why_no_more(low)}.")}]
    text = (f"Raising lambda from {low.risk_weight:g} to {high.risk_weight:g} raises commitments from "
            f"{_money(low.commitments)} to {_money(high.commitments)} and the expected cost (commitments + expected loss) "
            f"from {_money(low.commitments + low.expected_loss)} to {_money(high.commitments + high.expected_loss)}, and "
            f"lowers the CVaR{low.alpha:.0%} of the loss from {_money(low.cvar_loss)} to {_money(high.cvar_loss)} "
            f"(CVaR of shortfall {_tonnes(low.cvar_shortfall_t)} -> {_tonnes(high.cvar_shortfall_t)}). At lambda "
            f"{low.risk_weight:g}: {decisions_text(run.context, low.portfolio)}; at lambda {high.risk_weight:g}: "
            f"{decisions_text(run.context, high.portfolio)}.")
    settled = next((index for index in range(1, len(outcomes) - 1) if _is_flat(outcomes[index:])), None)
    if settled is not None:
        text += (f" From lambda {outcomes[settled].risk_weight:g} on the plan no longer changes: "
                 f"{_why_no_more(outcomes[settled])}.")
    return [{"topic": "frontier", "text": text}]


def _sourcing_text(run: PlanRun) -> list[dict[str, Any]]:
    last = str(run.plan.horizon.end)
    table = sourcing_table(run.chosen)
    rows = []
    status_quo = next((outcome for outcome in run.strategies if outcome.name == "status quo"), None)
    for stage in ("magnet", "metal"):
        own = table[(table["stage"] == stage) & (table["period"] == last)]
        if own.empty:
            continue
        top = own.sort_values("expected_share", ascending=False).iloc[0]
        text = (f"In {last} the plan's largest source of {stage} supply is {top['partner']} with an expected "
                f"{top['expected_share']:.0%} (at most {top['max_share']:.0%} in any draw)")
        if status_quo is not None:
            before = sourcing_table(status_quo)
            before = before[(before["stage"] == stage) & (before["period"] == last) & (before["partner"] == top["partner"])]
            if not before.empty:
                text += f"; in the status quo {top['partner']} has {float(before['expected_share'].iloc[0]):.0%}"
        rows.append({"topic": f"sourcing: {stage}", "text": text + "."})
    if run.plan.keep_at_home:
        rows.append({"topic": "keep at home", "text": (
            f"The plan keeps {run.plan.importer}'s own {' and '.join(run.plan.keep_at_home)} output at home (an export "
            f"ban from {run.plan.horizon.start}); without it, in a world-wide shortage its plants sell to whoever "
            "pays most abroad.")})
    return rows


def _out_of_sample_text(run: PlanRun) -> list[dict[str, Any]]:
    rows = run.out_of_sample
    if not rows:
        return []
    simulated = np.mean([row["plan_shortfall_t"] for row in rows])
    status_quo = np.mean([row["status_quo_shortfall_t"] for row in rows])
    predicted = np.mean([row["plan_shortfall_reduced_t"] for row in rows])
    largest = max(abs(row["difference_t"]) for row in rows)
    return [{"topic": "out of sample", "text": (
        f"On {len(rows)} fresh draws, in the simulator itself, the plan leaves an expected shortfall of "
        f"{_tonnes(simulated)} against {_tonnes(status_quo)} in the status quo; the planner's reduced second stage "
        f"predicted {_tonnes(predicted)} (largest difference in one draw {_tonnes(largest)}).")}]


def explanation(run: PlanRun) -> list[dict[str, Any]]:
    """Every sentence of the explanation, topic by topic."""
    return [*_portfolio_text(run), *_objective_text(run), *_against(run), *_contribution_text(run),
            *_complements_text(run), *_offtake_text(run), *_binding_text(run), *_frontier_text(run),
            *_sourcing_text(run), *_out_of_sample_text(run)]
