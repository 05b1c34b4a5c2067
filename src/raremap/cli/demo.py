"""`raremap demo`: the main job on the bundled dataset, end to end.

Validate the data, show where the world and the importer stand at each stage, run the built-in
scenarios that matter most to the importer, store the runs, and write the offline report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer

from raremap import metrics
from raremap.cli import app
from raremap.cli.output import console, plain, rich_table
from raremap.data.dataset import Dataset, load
from raremap.files import output_directory, write_csv_atomic, write_text_atomic
from raremap.overview import describe_overview, stage_overview

DEMO_SCENARIOS = ("baseline", "china-2025-controls", "india-magnet-scheme")


def _metrics_table(dataset: Dataset, importer: str) -> pd.DataFrame:
    summary = metrics.summary(dataset, importer=importer)
    rows = []
    for stage, values in summary["stages"].items():
        top = values["top1"] or {}
        rows.append(
            {
                "stage": stage,
                "world HHI": values["hhi"],
                "largest producer": f"{top.get('country')} {top.get('share', 0):.0%}" if top else "",
                f"{importer} N-1 coverage": values["n1_coverage"],
                f"{importer} import reliance": values["import_reliance"],
            }
        )
    return pd.DataFrame(rows)


def _run_scenarios(dataset: Dataset, importer: str, store_path: Path) -> pd.DataFrame:
    """Simulate the demo scenarios, store each run, and tabulate the importer's shortfall."""
    from raremap.simulate import simulate

    rows = []
    for name in DEMO_SCENARIOS:
        result = simulate(dataset, name)
        run_id = result.save(store_path)
        shortfall = result.shortfall
        mine = shortfall[shortfall["country"] == importer].groupby("period")["tonnes"].sum()
        # The base year, the year the 2025 shocks start, 2030 and the horizon's end.
        shown = sorted({*result.periods[:2], *({2030} & set(result.periods)), result.periods[-1]})
        rows.append(
            {
                "scenario": name,
                "run": run_id,
                **{str(period): float(mine.get(period, 0.0)) for period in shown},
                # The importer's shortfall follows the world's: a shortage is shared between buyers.
                "world kt": float(shortfall["tonnes"].sum()) / 1000.0,
                "welfare USD bn": result.welfare_usd / 1e9,
            }
        )
    return pd.DataFrame(rows)


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the files the demo writes."),
    importer: str = typer.Option("IND", "--importer", help="ISO3 code of the importing country."),
) -> None:
    """Validate the bundled data, show the importer's position, run key scenarios, write the report."""
    from raremap.report import write_report

    importer = importer.strip().upper()  # country codes are read in any case, everywhere
    dataset = load()
    console.print(f"[green]dataset valid[/green]: version {dataset.version[:12]}")
    console.print(rich_table(dataset.quality_summary(), title="rows by quality"))
    overview = stage_overview(dataset, importer=importer)
    console.print(rich_table(describe_overview(overview, importer), title=f"world and {importer} by stage"))
    console.print(
        rich_table(_metrics_table(dataset, importer), title=f"concentration and {importer}'s dependence")
    )

    directory = output_directory(out)
    store_path = directory / "raremap.duckdb"
    scenarios = _run_scenarios(dataset, importer, store_path)
    console.print(
        rich_table(
            scenarios.drop(columns="run"),
            title=f"{importer} shortfall by year (t) and the world's over the horizon (kt), all sectors and products",
            whole=("scenario",),
        )
    )

    write_csv_atomic(directory / "overview.csv", overview)
    summary = {
        "dataset_version": dataset.version,
        "importer": importer,
        "overview": overview.to_dict("records"),
        "scenarios": scenarios.to_dict("records"),
    }
    write_text_atomic(directory / "overview.json", json.dumps(plain(summary), indent=2))
    report = write_report(dataset, directory / "report.html", importer=importer, db=store_path)
    console.print(f"wrote {directory / 'overview.csv'}, {directory / 'overview.json'}, {report}")
    console.print(f"runs stored in {store_path}; open {report} in a browser (works offline)")
