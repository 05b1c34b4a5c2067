"""`raremap report`: the offline HTML report (and, optionally, PNG figures for briefs)."""

from __future__ import annotations

from pathlib import Path

import typer

from raremap.cli import app
from raremap.cli.output import console
from raremap.data.dataset import load
from raremap.data.store import DEFAULT_PATH
from raremap.errors import RaremapError


@app.command("report")
def report(
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    run: list[str] = typer.Option(
        [],
        "--run",
        help="Stored run id (or unique prefix) to include; repeatable. Default: every run in the store.",
    ),
    db: Path | None = typer.Option(
        None, "--db", help=f"DuckDB store holding the runs. Default: {DEFAULT_PATH} if it exists."
    ),
    importer: str = typer.Option("IND", "--importer", help="ISO3 code of the importing country."),
    figures: Path | None = typer.Option(
        None, "--figures", help="Also write static PNG figures into this folder."
    ),
    directory: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """Write one self-contained HTML report that opens offline: maps, value chain, metrics, stored runs, sources."""
    from raremap.report.build import load_runs, write_report
    from raremap.report.static import write_static_figures

    if db is not None and not db.exists():
        raise RaremapError(f"store {db} does not exist; give the --db the runs were saved to, or leave --db out")
    dataset = load(directory)
    runs = load_runs(db if db is not None else (DEFAULT_PATH if DEFAULT_PATH.exists() else None), run)
    path = write_report(dataset, out, runs, importer=importer.upper())
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(runs)} stored runs)")
    if figures is not None:
        written = write_static_figures(dataset, figures, runs, importer=importer.upper())
        console.print(f"wrote {len(written)} PNG figures to {figures}")
