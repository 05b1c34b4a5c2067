"""`raremap simulate` and `raremap scenarios`: run a scenario, list the built-in ones."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from raremap.cli import app
from raremap.cli.output import console, plain, print_frame, print_json
from raremap.data import store
from raremap.data.dataset import load
from raremap.errors import RaremapError
from raremap.files import output_directory, write_csv_atomic
from raremap.scenario.loading import builtin_names, load_scenario
from raremap.simulate.run import Simulation


@app.command("simulate")
def simulate_command(
    scenario: str = typer.Argument(..., help="A scenario YAML file or a built-in name (see `raremap scenarios`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Folder to write every result table as CSV."),
    export_mps: Path | None = typer.Option(None, "--export-mps", help="Write the LP in MPS format to this file."),
    db: Path | None = typer.Option(None, "--db", help="Save the run to this DuckDB store."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """Solve the supply-chain equilibrium of a scenario; report shortfall, prices and mass balance."""
    if db is not None:
        store.check_writable(db)
    dataset = load(data)
    simulation = Simulation(load_scenario(scenario, dataset), dataset=dataset).validate().build()
    if export_mps is not None:
        if simulation.model is None:
            raise RaremapError("the model was not built; nothing to export")
        simulation.model.to_file(export_mps, io_api="mps")
    result = simulation.solve().collect()
    if out is not None:
        output_directory(out)
        for name, frame in result.tables.items():
            write_csv_atomic(out / f"{name}.csv", frame)
        (out / "summary.json").write_text(json.dumps(plain(result.to_json()), indent=2))
    if db is not None:
        run_id = result.save(db)
        if not as_json:
            console.print(f"saved run {run_id} to {db}")
    if as_json:
        print_json(result.to_json())
        return
    _print_summary(result)


def _print_summary(result: object) -> None:
    from raremap.simulate.run import Result

    assert isinstance(result, Result)
    importer = result.scenario.importer
    shortfall = result.shortfall
    mine = shortfall[shortfall["country"] == importer]
    console.print(
        f"scenario [bold]{escape(result.scenario.name)}[/bold]: {len(result.periods)} periods, "
        f"{result.model_size.get('variables', 0):,} variables, {result.model_size.get('constraints', 0):,} constraints, "
        f"build {result.build_seconds:.2f} s, solve {result.solve_seconds:.2f} s, "
        f"mass balance residual {result.mass_balance_max_residual:.2e} t"
    )
    by_period = mine.groupby("period")["tonnes"].sum().reset_index()
    print_frame(by_period, title=f"shortfall of {importer} (t per period, all sectors)")


@app.command("scenarios")
def scenarios_command() -> None:
    """List the built-in scenarios with their descriptions."""
    for name in builtin_names():
        scenario = load_scenario(name)
        console.print(f"[bold]{escape(name)}[/bold]: {escape(' '.join(scenario.description.split()))}")
