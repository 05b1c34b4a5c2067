"""`raremap risk`: a Monte Carlo risk analysis of a risk file (or the built-in `default`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from raremap.cli import app, error_console
from raremap.cli.output import console, print_json, rich_table
from raremap.data import store

if TYPE_CHECKING:
    from raremap.risk.engine import RiskRun


@app.command("risk")
def risk(
    reference: str = typer.Argument(..., help="A risk YAML file or a built-in name (default)."),
    draws: int | None = typer.Option(None, "--draws", help="Number of draws (default: the risk file's)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the risk file's)."),
    workers: int = typer.Option(1, "--workers", help="Local worker processes."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Address of a Dask scheduler, tcp://HOST:PORT."),
    chunk_size: int | None = typer.Option(None, "--chunk-size", help="Draws per chunk file (default 250)."),
    out: Path = typer.Option(Path("risk-run"), "--out", help="Folder for the draw-level Parquet files."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out."),
    db: Path = typer.Option(store.DEFAULT_PATH, "--db", help="DuckDB store file the run is recorded in."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Draw correlated disruptions, solve the equilibrium per draw, and summarise the importer's shortfall."""
    # The engine (Dask, scipy) is imported only when a risk run starts: other commands start faster.
    from raremap.risk.engine import RunOptions, run_risk

    options = RunOptions(
        out=out,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        resume=resume,
        store_path=db,
        progress=not as_json,
        data_directory=data,
        report=lambda message: error_console.print(f"warning: {message}", style="yellow", markup=False),
    )
    run = run_risk(reference, options, draws=draws, seed=seed)
    if as_json:
        print_json(run.to_json())
    else:
        _print_run(run)


def _print_run(run: RiskRun) -> None:
    from raremap.risk.summary import EXCESS_KEYS

    console.print(
        f"{run.draws:,} draws (seed {run.risk.model.seed}), {run.computed_draws:,} computed now at "
        f"{run.draws_per_second:,.1f} draws/s; evaluations: "
        + ", ".join(f"{name} {count:,}" for name, count in run.evaluations.items())
    )
    horizon, importer = run.risk.horizon_label, run.risk.importer
    summary = run.summary.drop(columns=["country", "horizon", "horizon_years"])
    excess = [key for key in EXCESS_KEYS if key in summary.columns]
    for unit, rows in summary.groupby("unit", sort=False):
        rows = rows.drop(columns="unit")
        console.print(rich_table(rows.drop(columns=excess), title=f"shortfall of {importer} over {horizon} ({unit})"))
        console.print(rich_table(
            rows[["sector", *excess]],
            title=f"shortfall in excess of the undisrupted base at the draw's demand level, {horizon} ({unit})",
        ))
    for total, found in run.drivers.items():
        console.print(f"drivers of the worst 5 % of draws by excess shortfall of {total}: " + ", ".join(
            f"{row['uncertainty']} ({row['standardized_difference']:+.2f} sd)" for row in found["ranking"]
        ))
    console.print(f"draws: {run.out}  stored as {run.run_id}")
