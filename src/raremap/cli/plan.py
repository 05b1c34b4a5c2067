"""`raremap plan`: solve a diversification plan (a YAML file or the built-in `default`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from raremap.cli import app
from raremap.cli.output import console, print_json, rich_table
from raremap.data import store
from raremap.data.dataset import load
from raremap.files import output_directory, write_csv_atomic

if TYPE_CHECKING:
    from raremap.plan.planner import PlanRun


@app.command("plan")
def plan(
    reference: str = typer.Argument(..., help="A plan YAML file or a built-in name (default)."),
    scenarios: int | None = typer.Option(None, "--scenarios", help="Draws to plan on (default: the plan's)."),
    out_of_sample: int | None = typer.Option(None, "--out-of-sample",
                                             help="Fresh draws the chosen plan is checked on in the simulator."),
    frontier: int = typer.Option(4, "--frontier", help="Points on the cost-risk frontier (lambda 0, 0.25, 1, 4, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the result tables (CSV)."),
    db: Path | None = typer.Option(None, "--db", help="DuckDB store file to record the run in."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """Choose partners, plants and stockpiles that minimise expected cost plus lambda x CVaR of the loss."""
    # The planner (scipy, the risk sampler) is imported only when a plan runs: other commands start faster.
    from raremap.plan.loading import load_plan
    from raremap.plan.planner import run_plan

    if db is not None:
        store.check_writable(db)
    dataset = load(data) if data is not None else load()

    def progress(fraction: float, message: str) -> None:
        if not as_json:
            console.print(f"[dim]{fraction:4.0%} {message}[/dim]")

    run = run_plan(dataset, load_plan(reference, dataset), scenarios=scenarios, frontier_points=frontier,
                   out_of_sample=out_of_sample, progress=progress)
    tables = run.tables()
    if out is not None:
        output_directory(out)
        for name, table in tables.items():
            write_csv_atomic(out / f"{name}.csv", table)
    run_id = run.save(db) if db is not None else None
    if as_json:
        print_json({**run.to_json(), **({"run_id": run_id} if run_id else {})})
    else:
        _print_run(run, run_id)


def _print_run(run: PlanRun, run_id: str | None) -> None:
    payload = run.to_json()
    tables = run.tables()
    console.print(f"plan {run.plan.name} on {payload['scenarios']} draws: objective "
                  f"{payload['objective']['objective_usd_million']:,.0f} USD million; expected shortfall "
                  f"{payload['expected_shortfall_t']:,.0f} t, CVaR{payload['alpha']:.0%} {payload['cvar_shortfall_t']:,.0f} t "
                  f"over {run.plan.horizon.start}-{run.plan.horizon.end}")
    for name in ("options", "strategies", "frontier", "out_of_sample"):
        if not tables[name].empty:
            console.print(rich_table(tables[name], title=name))
    console.print("why:")
    for sentence in payload["explanation"]:
        console.print(f"- {sentence}")
    if run_id:
        console.print(f"stored as {run_id}")
