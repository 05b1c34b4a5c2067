"""`raremap demo`: the main job on the bundled dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from raremap.cli import app
from raremap.cli.output import console, plain, rich_table
from raremap.data.dataset import load
from raremap.files import output_directory, write_text_atomic
from raremap.overview import describe_overview, stage_overview


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the files the demo writes."),
    importer: str = typer.Option("IND", "--importer", help="ISO3 code of the importing country."),
) -> None:
    """Validate the bundled data, print the world and importer overview per stage, write files under out/."""
    dataset = load()
    console.print(f"[green]dataset valid[/green]: version {dataset.version[:12]}")
    console.print(rich_table(dataset.quality_summary(), title="rows by quality"))
    overview = stage_overview(dataset, importer=importer)
    console.print(rich_table(describe_overview(overview, importer), title=f"world and {importer} by stage"))
    directory = output_directory(out)
    write_text_atomic(directory / "overview.csv", overview.to_csv(index=False, lineterminator="\n"))
    summary = {
        "dataset_version": dataset.version,
        "importer": importer,
        "overview": overview.to_dict("records"),
    }
    write_text_atomic(directory / "overview.json", json.dumps(plain(summary), indent=2))
    console.print(f"wrote {directory / 'overview.csv'} and {directory / 'overview.json'}")
