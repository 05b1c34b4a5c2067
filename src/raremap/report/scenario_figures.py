"""Stored simulations compared: the importer's shortfall per year, by sector, prices, and why.

Every column is read by the result contract (results.csv): a run whose tables lack a declared
column (saved by an older raremap) is left out with a note saying so, never silently. Charts stay
readable with ten runs: one line per run on the totals (a colour, a dash and a marker each), and a
selector for the detail (shortfall by sector of one run; the price of one good in every run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from raremap.report import explain
from raremap.report.figure import Evidence, Figure, Section, Table, wrapped_title
from raremap.report.palette import run_style, sector_colour
from raremap.report.runs import StoredRun
from raremap.results import columns

NEEDED = ("shortfall", "prices", "binding", "calibration")
KEY_ELEMENTS = ("Nd", "Pr", "Dy", "Tb")
"""Oxides and metals whose prices the report follows, besides every magnet type."""
STAGE_ORDER = {"magnet": 0, "separation": 1, "metal": 2}
STAGE_WORD = {"separation": "oxide", "metal": "metal", "magnet": "magnet", "mining": "REO in concentrate"}
UNIT_WORDS = {explain.MAGNET_UNIT: "all magnet sectors", explain.OXIDE_UNIT: "all oxide applications"}


def run_evidence(run: StoredRun, result: str, frame: pd.DataFrame) -> Evidence:
    """A run's result as evidence: the run id names the stored rows; its dataset version names the data."""
    return Evidence(
        table=f"run {run.run_id}",
        rows=len(frame),
        selection=f"result {result} of {run.kind} run '{run.name}' on dataset {run.dataset_version[:12]}",
    )


def contract_problems(run: StoredRun, engine: str, tables: Sequence[str]) -> list[str]:
    """What a stored run lacks of the result contract, in words (empty when it has everything)."""
    problems = []
    for table in tables:
        frame = run.results.get(table)
        if frame is None:
            problems.append(f"no {table} table")
            continue
        if frame.empty and len(frame.columns) == 0:
            continue  # an empty table (no stocks, no substitution) is stored without columns
        missing = [column for column in columns(engine, table) if column not in frame.columns]
        if missing:
            problems.append(f"{table} lacks {', '.join(missing)}")
    return problems


def usable_runs(runs: Sequence[StoredRun], engine: str, tables: Sequence[str]) -> tuple[list[StoredRun], list[str]]:
    """The runs with every declared column of `tables`, and a note for each run left out."""
    usable, notes = [], []
    for run in runs:
        problems = contract_problems(run, engine, tables)
        if problems:
            notes.append(
                f"Run {run.run_id} ({run.name}) is left out: it was saved by an older raremap "
                f"({'; '.join(problems)}); run the scenario again to include it."
            )
        else:
            usable.append(run)
    return usable, notes


def labels(runs: Sequence[StoredRun]) -> list[str]:
    """A name per run: the scenario's, with the run id when a scenario was run more than once."""
    names = [run.name for run in runs]
    return [run.name if names.count(run.name) == 1 else f"{run.name} ({run.run_id[-8:]})" for run in runs]


def _by_year(run: StoredRun) -> pd.DataFrame:
    return explain.shortfall_by_year(run.results["shortfall"], run.importer)


def importers_of(runs: Sequence[StoredRun]) -> str:
    return ", ".join(sorted({run.importer for run in runs}))


def shortfall_lines(runs: Sequence[StoredRun], unit_name: str) -> Figure | None:
    """The importer's shortfall per year in one unit: one line per run, each with its own style."""
    data: list[dict[str, Any]] = []
    for position, (run, label) in enumerate(zip(runs, labels(runs), strict=True)):
        rows = _by_year(run)
        rows = rows[rows["unit"] == unit_name]
        if rows.empty:
            continue
        style = run_style(position)
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": list(rows["period"].astype(str)),
                "y": [round(float(value), 3) for value in rows["tonnes"]],
                "line": {"color": style["color"], "dash": style["dash"], "width": style["width"]},
                "marker": {"symbol": style["symbol"], "size": style["size"], "color": style["color"]},
                "hovertemplate": f"{label}<br>%{{x}}: %{{y:,.0f}} {unit_name}<extra></extra>",
            }
        )
    if not data:
        return None
    horizon = explain.horizon(runs[0].results["shortfall"])
    suffix = "" if unit_name == explain.MAGNET_UNIT else "-reo"
    return Figure(
        f"scenario-shortfall{suffix}",
        f"Shortfall of {importers_of(runs)} per year, {UNIT_WORDS.get(unit_name, unit_name)} ({unit_name})",
        data,
        {
            "xaxis": {"title": {"text": "year (quarters summed)"}, "type": "category"},
            "yaxis": {"title": {"text": f"shortfall ({unit_name} per year)"}, "rangemode": "tozero",
                      "tickformat": ",~g"},
            "height": 440,
        },
        f"Demand left unserved, summed over {UNIT_WORDS.get(unit_name, unit_name)} of the importer, "
        f"{horizon}; one line per run (colour, dash and marker).",
        tuple(run_evidence(run, "shortfall", run.results["shortfall"]) for run in runs),
    )


def sector_selector(runs: Sequence[StoredRun]) -> Figure | None:
    """Shortfall by sector per year for one run at a time, chosen from a menu (t magnet)."""
    data: list[dict[str, Any]] = []
    owners: list[int] = []
    names = labels(runs)
    for position, run in enumerate(runs):
        shortfall = run.results["shortfall"]
        rows = shortfall[(shortfall["country"] == run.importer) & (shortfall["unit"] == explain.MAGNET_UNIT)]
        rows = rows.assign(year=explain.calendar_period(rows))
        order = list(dict.fromkeys(rows.sort_values("period_start")["year"]))
        table = rows.groupby(["sector", "year"])["tonnes"].sum().unstack("year").reindex(columns=order).fillna(0.0)
        for sector, values in table.iterrows():
            data.append(
                {
                    "type": "bar",
                    "name": str(sector),
                    "x": order,
                    "y": [round(float(value), 3) for value in values],
                    "marker": {"color": sector_colour(str(sector))},
                    "visible": position == 0,
                    "legendgroup": str(sector),
                    "hovertemplate": f"{sector} %{{x}}: %{{y:,.0f}} t magnet<extra></extra>",
                }
            )
            owners.append(position)
    if not data:
        return None
    buttons = [
        {
            "label": name,
            "method": "update",
            "args": [{"visible": [owner == position for owner in owners]},
                     {"title.text": wrapped_title(f"Shortfall by sector: {name} (t magnet per year)")}],
        }
        for position, name in enumerate(names)
    ]
    layout: dict[str, Any] = {
        "barmode": "stack",
        "xaxis": {"title": {"text": "year (quarters summed)"}, "type": "category"},
        "yaxis": {"title": {"text": "shortfall (t magnet per year)"}, "rangemode": "tozero",
                  "tickformat": ",~g"},
        "height": 460,
        "margin": {"t": 100},
    }
    if len(runs) > 1:
        layout["updatemenus"] = [{"buttons": buttons, "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                                  "direction": "down", "showactive": True}]
    return Figure(
        "scenario-sectors",
        f"Shortfall by sector: {names[0]} (t magnet per year)",
        data,
        layout,
        "Which magnet buyers go short, per year; choose the run in the menu. Sectors keep their colour "
        "in every run.",
        tuple(run_evidence(run, "shortfall", run.results["shortfall"]) for run in runs),
    )


def _goods(prices: pd.DataFrame) -> list[tuple[str, str]]:
    """(stage, element) pairs worth following: every magnet type, and Nd, Pr, Dy, Tb as oxide and metal."""
    pairs = prices[["stage", "element"]].drop_duplicates()
    chosen = pairs[(pairs["stage"] == "magnet")
                   | (pairs["stage"].isin(("separation", "metal")) & pairs["element"].isin(KEY_ELEMENTS))]
    ordered = sorted(
        (str(stage), str(element)) for stage, element in chosen.itertuples(index=False)
    )
    return sorted(ordered, key=lambda pair: (STAGE_ORDER.get(pair[0], 9), pair[1]))


def price_selector(runs: Sequence[StoredRun]) -> Figure | None:
    """The price of one good in the importer's market, one line per run; the good chosen in a menu."""
    importer_prices = {
        position: run.results["prices"][run.results["prices"]["country"] == run.importer]
        for position, run in enumerate(runs)
    }
    goods: list[tuple[str, str]] = []
    for frame in importer_prices.values():
        goods += [pair for pair in _goods(frame) if pair not in goods]
    goods = sorted(goods, key=lambda pair: (STAGE_ORDER.get(pair[0], 9), pair[1]))
    if not goods:
        return None
    names = labels(runs)
    data: list[dict[str, Any]] = []
    owners: list[int] = []
    for good_index, (stage, element) in enumerate(goods):
        for position, frame in importer_prices.items():
            rows = frame[(frame["stage"] == stage) & (frame["element"] == element)].sort_values("period_start")
            if rows.empty:
                continue
            style = run_style(position)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": names[position],
                    "x": list(rows["period"].astype(str)),
                    "y": [round(float(value), 3) for value in rows["usd_per_kg"]],
                    "line": {"color": style["color"], "dash": style["dash"], "width": style["width"]},
                    "marker": {"symbol": style["symbol"], "size": style["size"], "color": style["color"]},
                    "visible": good_index == 0,
                    "hovertemplate": f"{names[position]}<br>%{{x}}: %{{y:,.1f}} USD/kg<extra></extra>",
                }
            )
            owners.append(good_index)
    good_names = [f"{element} ({STAGE_WORD.get(stage, stage)})" for stage, element in goods]
    buttons = [
        {
            "label": name,
            "method": "update",
            "args": [{"visible": [owner == index for owner in owners]},
                     {"title.text": wrapped_title(f"Price in {importers_of(runs)}: {name} (USD/kg)")}],
        }
        for index, name in enumerate(good_names)
    ]
    return Figure(
        "scenario-prices",
        f"Price in {importers_of(runs)}: {good_names[0]} (USD/kg)",
        data,
        {
            "xaxis": {"title": {"text": "period"}, "type": "category"},
            "yaxis": {"title": {"text": "price (USD/kg)"}, "rangemode": "tozero", "tickformat": ",~g"},
            "height": 460,
            "margin": {"t": 100},
            "updatemenus": [{"buttons": buttons, "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                             "direction": "down", "showactive": True}],
        },
        "The market's price of a good in the importer's country, per period (quarters where the run has "
        "them), one line per run; choose the good in the menu. A price is the dual of the good's balance: "
        "a co-product in surplus sells at its finishing cost (its 2024 price, or 0 if it has none); where the "
        "importer receives almost nothing (a licence halt) it is "
        "the top buyer's value, an upper bound.",
        tuple(run_evidence(run, "prices", run.results["prices"]) for run in runs),
    )


def shortfall_table(runs: Sequence[StoredRun], unit_name: str) -> Table | None:
    """Rows: years and the horizon's total; columns: one per run (t of `unit_name` per year)."""
    columns_by_run = {}
    for run, label in zip(runs, labels(runs), strict=True):
        rows = _by_year(run)
        columns_by_run[label] = rows[rows["unit"] == unit_name].set_index("period")["tonnes"]
    frame = pd.DataFrame(columns_by_run)
    if frame.empty:
        return None
    frame.loc["total"] = frame.sum()
    frame = frame.rename_axis("year").reset_index()
    horizon = explain.horizon(runs[0].results["shortfall"])
    return Table(
        "scenario-shortfall-table" + ("" if unit_name == explain.MAGNET_UNIT else "-reo"),
        f"Shortfall of {importers_of(runs)} per year, {UNIT_WORDS.get(unit_name, unit_name)} "
        f"({unit_name} per year; total over {horizon})",
        frame,
        f"The numbers behind the chart: {unit_name} per calendar year (quarters summed), and their sum over "
        f"{horizon}.",
        tuple(run_evidence(run, "shortfall", run.results["shortfall"]) for run in runs),
    )


def effects(runs: Sequence[StoredRun]) -> list[str]:
    """Each run whose base (`base:` in its scenario) is also stored: what it changes, and why not."""
    latest = {run.name: run for run in runs}
    sentences = []
    for run in runs:
        base = latest.get(str(run.specification.get("base") or ""))
        if base is None or base is run:
            continue
        effect = explain.lever_effect(run.name, run.specification, run.results,
                                      base.name, base.specification, base.results)
        sentences.append(effect.text)
    return sentences


def binding_tables(runs: Sequence[StoredRun]) -> list[Table]:
    """Per run: what binds for the importer (the binding table, each constraint once); folded after the first."""
    tables = []
    for position, (run, label) in enumerate(zip(runs, labels(runs), strict=True)):
        summary, more = explain.binding_summary(run.results["binding"])
        caption = explain.SHADOW_NOTE + (
            f" {more} more constraints are in the run's binding table." if more else ""
        )
        tables.append(
            Table(
                f"scenario-binding-{run.run_id}",
                f"Why, in {label}: what binds for {run.importer}",
                summary,
                caption,
                (run_evidence(run, "binding", run.results["binding"]),),
                folded=position > 0,
            )
        )
    return tables


def calibration_table(run: StoredRun) -> Table:
    frame = explain.calibration_summary(run.results["calibration"])
    return Table(
        "scenario-calibration",
        "Calibration supply (undocumented supply at observed prices)",
        frame,
        "Added by the model in China so the base year clears at observed prices, then offered in every "
        "period at that price (docs/simulation.md, Calibration supply). Good: element (t oxide) or magnet "
        "type (t magnet).",
        (run_evidence(run, "calibration", run.results["calibration"]),),
        units={"share of world use": "fraction"},
    )


def summary_table(runs: Sequence[StoredRun]) -> Table:
    """One row per run: what it is, when and on which data, its horizon and the model's checks."""
    rows = []
    for run, label in zip(runs, labels(runs), strict=True):
        summary = run.summary
        rows.append(
            {
                "run": run.run_id,
                "scenario": label,
                "base": run.specification.get("base") or "",
                "importer": run.importer,
                "horizon": explain.horizon(run.results["shortfall"]),
                "created": run.created_at[:16],
                "dataset": run.dataset_version[:12],
                "mass balance residual (t)": summary.get("mass_balance_max_residual"),
                "variables": summary.get("variables"),
                "solve (s)": summary.get("solve_seconds"),
            }
        )
    return Table(
        "simulation-runs",
        "Stored simulation runs",
        pd.DataFrame(rows),
        "Mass balance residual: the largest imbalance of any country, stage, good and period after the solve.",
        tuple(Evidence(f"run {run.run_id}", f"summary of {run.kind} run '{run.name}'", 1) for run in runs),
    )


def scenario_section(runs: Sequence[StoredRun]) -> Section | None:
    """Stored simulations compared, with the caveats, what each changes against its base, and why."""
    if not runs:
        return None
    usable, notes = usable_runs(runs, "simulation", NEEDED)
    if not usable:
        return Section("scenarios", "Scenario comparison", "No stored simulation can be drawn.", notes=tuple(notes))
    units = list(dict.fromkeys(unit for run in usable for unit in explain.units_present(_by_year(run))))
    figures = [figure for unit in units if (figure := shortfall_lines(usable, unit)) is not None]
    figures += [figure for figure in (sector_selector(usable), price_selector(usable)) if figure is not None]
    tables = [table for unit in units if (table := shortfall_table(usable, unit)) is not None]
    tables += [*binding_tables(usable), calibration_table(usable[0]), summary_table(usable)]
    horizon = explain.horizon(usable[0].results["shortfall"])
    return Section(
        "scenarios",
        "Scenario comparison",
        f"What each stored scenario does to {importers_of(usable)}'s factories over {horizon}: demand left "
        f"unserved per year, by sector, the prices the market clears at, and why (the binding constraints); "
        f"{len(usable)} run{'s' if len(usable) != 1 else ''}.",
        figures=tuple(figures),
        tables=tuple(tables),
        notes=tuple(notes),
        caveats=tuple(explain.caveats(usable[0].results)),
        findings=tuple(effects(usable)),
    )
