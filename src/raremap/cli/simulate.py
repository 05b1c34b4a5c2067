"""`raremap simulate` and `raremap scenarios`: run a scenario, list the built-in ones.

The summary says what the numbers mean and their caveats, gives the importer's shortfall per year
with its unit and horizon, compares the scenario with its base (`base:` in its file) and says why
with the binding constraints; `--json` gives the same with each column's unit from the result
contract (results.csv).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.markup import escape

from raremap.cli import app, error_console
from raremap.cli.output import console, print_json, rich_table
from raremap.data import store
from raremap.data.dataset import Dataset, load
from raremap.errors import RaremapError
from raremap.files import output_directory, write_csv_atomic, write_text_atomic
from raremap.formatting import clean, number, quantity
from raremap.report import explain
from raremap.results import columns, unit
from raremap.scenario.loading import builtin_names, load_scenario
from raremap.simulate.run import Result, Simulation

JSON_TABLES = ("shortfall", "prices", "binding")
"""Result tables the JSON summary carries in full (the rest: --out writes every table as CSV)."""


@app.command("simulate")
def simulate_command(
    scenario: str = typer.Argument(..., help="A scenario YAML file or a built-in name (see `raremap scenarios`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON, with the unit of every column."),
    out: Path | None = typer.Option(None, "--out", help="Folder to write every result table as CSV."),
    export_mps: Path | None = typer.Option(None, "--export-mps", help="Write the LP in MPS format to this file."),
    db: Path | None = typer.Option(None, "--db", help="Save the run to this DuckDB store."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
    compare: bool = typer.Option(
        True, "--compare/--no-compare",
        help="Also solve the scenario's base (its `base:`) and say what the scenario changes, and why not.",
    ),
) -> None:
    """Solve the supply-chain equilibrium of a scenario; report shortfall, why, prices and mass balance."""
    if db is not None:
        store.check_writable(db)
    dataset = load(data)
    simulation = Simulation(load_scenario(scenario, dataset), dataset=dataset).validate().build()
    if export_mps is not None:
        if simulation.model is None:
            raise RaremapError("the model was not built; nothing to export")
        simulation.model.to_file(export_mps, io_api="mps")
    result = simulation.solve().collect()
    base = _base_result(result, dataset, announce=not as_json) if compare else None
    if out is not None:
        output_directory(out)
        for name, frame in result.tables.items():
            write_csv_atomic(out / f"{name}.csv", frame)
        write_text_atomic(out / "summary.json", json.dumps(clean(summary_json(result, base)), indent=2))
    if db is not None:
        run_id = result.save(db)
        if not as_json:
            console.print(f"saved run {run_id} to {db}", markup=False)
    if as_json:
        print_json(summary_json(result, base))
        return
    print_summary(result, base)


def _base_result(result: Result, dataset: Dataset, announce: bool) -> Result | None:
    """The scenario's base solved on the same data, or None when it has none."""
    base = result.scenario.base
    if not base or base == result.scenario.name:
        return None
    if announce:
        error_console.print(f"solving its base, {base}, to compare (--no-compare skips this)", markup=False)
    return Simulation(load_scenario(base, dataset), dataset=dataset).run()


def table_units(table: str) -> dict[str, str]:
    """Each declared column of a simulation result table with its unit (from results.csv)."""
    return {column: unit("simulation", table, column) for column in columns("simulation", table)}


def summary_json(result: Result, base: Result | None = None) -> dict[str, Any]:
    """What `simulate --json` prints: the run's summary, the importer's view, and every unit."""
    importer = result.scenario.importer
    by_year = explain.shortfall_by_year(result.tables["shortfall"], importer)
    payload: dict[str, Any] = {
        **result.to_json(),
        "importer": importer,
        "horizon": explain.horizon(result.tables["shortfall"]),
        "importer_shortfall_by_year": by_year.to_dict(orient="records"),
        "binding": result.tables["binding"].to_dict(orient="records"),
        "caveats": explain.caveats(result.tables),
        "units": {
            **{table: table_units(table) for table in JSON_TABLES},
            "importer_shortfall_by_year": {
                "unit": "", "period": "calendar year (quarters summed)", "demand_t": "unit column per year",
                "tonnes": "unit column per year", "share": "fraction",
            },
            "mass_balance_max_residual": "t", "build_seconds": "s", "solve_seconds": "s",
        },
    }
    if base is not None:
        effect = _effect(result, base)
        payload["compared_with"] = {"scenario": base.scenario.name, "changed": effect.changed,
                                    "largest_change_t": effect.largest_change_t, "explanation": effect.text}
    return payload


def _effect(result: Result, base: Result) -> explain.LeverEffect:
    return explain.lever_effect(
        result.scenario.name, result.scenario.model_dump(mode="json"), result.tables,
        base.scenario.name, base.scenario.model_dump(mode="json"), base.tables,
    )


def shortfall_table(by_year: pd.DataFrame, unit_name: str, base: pd.DataFrame | None = None,
                    base_name: str = "") -> pd.DataFrame:
    """The importer's shortfall per year in one unit, with its base's for comparison, and the total."""
    rows = by_year[by_year["unit"] == unit_name]
    frame = pd.DataFrame(
        {
            "year": rows["period"].astype(str),
            "demand": rows["demand_t"].astype(float),
            "shortfall": rows["tonnes"].astype(float),
            "share of demand": rows["share"].astype(float),
        }
    )
    if base is not None:
        other = base[base["unit"] == unit_name].set_index("period")["tonnes"]
        frame[f"{base_name} shortfall"] = frame["year"].map(other).astype(float)
    total = {"year": "total", "demand": frame["demand"].sum(), "shortfall": frame["shortfall"].sum(),
             "share of demand": frame["shortfall"].sum() / frame["demand"].sum() if frame["demand"].sum() else 0.0}
    if base is not None:
        total[f"{base_name} shortfall"] = frame[f"{base_name} shortfall"].sum()
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def print_meaning(tables: dict[str, pd.DataFrame]) -> None:
    """What the numbers mean and the run's main caveats."""
    console.print(f"What the numbers mean: {explain.MEANING}", markup=False)
    console.print("Caveats:", markup=False)
    for note in explain.caveats(tables):
        console.print(f"  - {note}", markup=False)


def print_binding(binding: pd.DataFrame, importer: str, name: str) -> None:
    """The why: each binding constraint for the importer once, with the periods and the shadow price."""
    summary, more = explain.binding_summary(binding)
    if summary.empty:
        console.print(f"why: nothing binds for {importer} in {name} (the binding table is empty)", markup=False)
        return
    title = f"why, in {name}: what binds for {importer} (binding table; shadow prices in USD/kg)"
    console.print(rich_table(summary, title=title, keys=1))
    if more:
        console.print(f"  ... and {more} more constraints in the run's binding table (--json or --out)", markup=False)


def print_summary(result: Result, base: Result | None = None) -> None:
    scenario = result.scenario
    importer = scenario.importer
    shortfall = result.tables["shortfall"]
    horizon = explain.horizon(shortfall)
    console.print(
        f"scenario [bold]{escape(scenario.name)}[/bold]"
        + (f" (base: {escape(scenario.base)})" if scenario.base else "")
        + f", importer {escape(importer)}, {horizon} in {len(result.periods)} periods "
        f"({escape(', '.join(result.periods[:3]))}, ... {escape(result.periods[-1])})"
    )
    console.print(
        f"model: {number(result.model_size.get('variables', 0))} variables, "
        f"{number(result.model_size.get('constraints', 0))} constraints; build {number(result.build_seconds)} s, "
        f"solve {number(result.solve_seconds)} s; mass balance residual {quantity(result.mass_balance_max_residual, 't')}",
        markup=False,
    )
    print_meaning(result.tables)
    by_year = explain.shortfall_by_year(shortfall, importer)
    base_by_year = explain.shortfall_by_year(base.tables["shortfall"], importer) if base is not None else None
    base_name = base.scenario.name if base is not None else ""
    for unit_name in explain.units_present(by_year):
        table = shortfall_table(by_year, unit_name, base_by_year, base_name)
        console.print(rich_table(
            table, title=f"{importer} shortfall per year, {horizon} ({unit_name} per year; quarters summed)",
            units={"share of demand": "fraction"},
        ))
    if base is not None:
        console.print(_effect(result, base).text, markup=False)
    print_binding(result.tables["binding"], importer, scenario.name)


@app.command("scenarios")
def scenarios_command() -> None:
    """List the built-in scenarios with their descriptions."""
    for name in builtin_names():
        scenario = load_scenario(name)
        console.print(f"[bold]{escape(name)}[/bold]: {escape(' '.join(scenario.description.split()))}")
