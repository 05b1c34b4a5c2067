"""`raremap plan`: solve a diversification plan (a YAML file or the built-in `default`)."""

from __future__ import annotations

from pathlib import Path

import typer

from raremap.cli import app
from raremap.cli.output import console, print_json, rich_table
from raremap.data import store
from raremap.data.dataset import load
from raremap.files import output_directory, write_csv_atomic
from raremap.plan.loading import load_plan
from raremap.plan.planner import PlanRun, run_plan


@app.command("plan")
def plan(
    reference: str = typer.Argument(..., help="A plan YAML file or a built-in name (default)."),
    scenarios: int | None = typer.Option(None, "--scenarios", help="Scenarios drawn (default: the plan's)."),
    frontier: int = typer.Option(5, "--frontier", help="Points on the cost-CVaR frontier (lambda sweep)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the result tables (CSV)."),
    db: Path | None = typer.Option(None, "--db", help="DuckDB store file to record the run in."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """Choose partners, plants and stockpiles that minimise expected cost plus lambda x CVaR of shortfall."""
    if db is not None:
        store.check_writable(db)
    dataset = load(data) if data is not None else load()
    run = run_plan(dataset, load_plan(reference, dataset), scenarios=scenarios, frontier_points=frontier)
    if out is not None:
        output_directory(out)
        for name, table in run.tables().items():
            write_csv_atomic(out / f"{name}.csv", table)
    run_id = run.save(db) if db is not None else None
    if as_json:
        print_json({**run.to_json(), **({"run_id": run_id} if run_id else {})})
    else:
        _print_run(run, run_id)


def _print_run(run: PlanRun, run_id: str | None) -> None:
    payload = run.to_json()
    tables = run.tables()
    console.print(f"plan {run.plan.name}: expected cost {payload['cost']:,.0f} USD million; shortfall expected "
                  f"{payload['expected_shortfall_t']:,.0f} t, CVaR {payload['cvar_shortfall_t']:,.0f} t "
                  f"(out of sample {payload['out_of_sample']['expected_shortfall_t']:,.0f} t / "
                  f"{payload['out_of_sample']['cvar_shortfall_t']:,.0f} t)")
    for name in ("options", "costs", "plant_economics", "strategies", "frontier"):
        console.print(rich_table(tables[name], title=name))
    console.print("largest partner share per stage (capped years): " + ", ".join(
        f"{stage} {share:.0%}" for stage, share in payload["max_partner_share"].items()))
    if run_id:
        console.print(f"stored as {run_id}")
