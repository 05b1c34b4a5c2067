"""`raremap demo`: the main job on the bundled dataset, end to end.

Validate the data, solve the scenarios that matter most to the importer, then say what the numbers
mean and their caveats, show where the world and the importer stand at each stage, the importer's
shortfall per year under each scenario (t magnet, horizon stated), what each scenario changes
against its base and why (the binding constraints), store the runs and write the offline report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from raremap.cli import app, error_console
from raremap.cli.output import console, rich_table
from raremap.cli.simulate import print_binding, print_meaning, table_units
from raremap.data.dataset import Dataset, load
from raremap.files import output_directory, write_csv_atomic, write_text_atomic
from raremap.formatting import clean, share
from raremap.report import explain

DEMO_SCENARIOS = ("baseline", "china-2025-controls", "china-halt-2030", "india-magnet-scheme-under-halt")
"""What China's controls do to India, and what India's own lever is worth when they return: the magnet
scheme is read against the 2030 halt, where India is short of magnets (in the baseline India is short only
of demand priced out at the import price, and the scheme moves only 2030, the year NdPr peaks)."""


def _metrics_table(dataset: Dataset, importer: str) -> pd.DataFrame:
    from raremap import metrics  # imported here: every other command would pay for it at start-up

    summary = metrics.summary(dataset, importer=importer)
    rows = []
    for stage, values in summary["stages"].items():
        top = values["top1"] or {}
        rows.append(
            {
                "stage": stage,
                "world HHI (0-1)": values["hhi"],
                "largest producer": f"{top.get('country')} {share(top.get('share', 0))}" if top else "",
                f"{importer} N-1 coverage": values["n1_coverage"],
                f"{importer} import reliance": values["import_reliance"],
            }
        )
    return pd.DataFrame(rows)


def _run_scenarios(dataset: Dataset, store_path: Path) -> list[tuple[str, Any]]:
    """Simulate the demo scenarios and store each run: (run id, result) in order."""
    from raremap.simulate import simulate

    runs = []
    for position, name in enumerate(DEMO_SCENARIOS, start=1):
        error_console.print(f"solving {name} ({position} of {len(DEMO_SCENARIOS)})", markup=False)
        result = simulate(dataset, name)
        runs.append((result.save(store_path), result))
    return runs


def shortfall_by_scenario(results: list[Any], importer: str, unit_name: str) -> pd.DataFrame:
    """Rows: calendar years and the horizon's total; columns: one per scenario (t of `unit_name`)."""
    columns = {}
    for result in results:
        by_year = explain.shortfall_by_year(result.tables["shortfall"], importer)
        rows = by_year[by_year["unit"] == unit_name].set_index("period")["tonnes"]
        columns[result.scenario.name] = rows
    frame = pd.DataFrame(columns)
    frame.loc["total"] = frame.sum()
    return frame.rename_axis("year").reset_index()


def _effects(results: list[Any]) -> dict[str, explain.LeverEffect]:
    """Each scenario whose base is among the results, against that base."""
    by_name = {result.scenario.name: result for result in results}
    effects = {}
    for result in results:
        base = by_name.get(result.scenario.base or "")
        if base is not None and base is not result:
            effects[result.scenario.name] = explain.lever_effect(
                result.scenario.name, result.scenario.model_dump(mode="json"), result.tables,
                base.scenario.name, base.scenario.model_dump(mode="json"), base.tables,
            )
    return effects


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the files the demo writes."),
    importer: str = typer.Option("IND", "--importer", help="ISO3 code of the importing country."),
) -> None:
    """Validate the bundled data, show the importer's position, run key scenarios, write the report."""
    from raremap.overview import describe_overview, stage_overview
    from raremap.report import write_report

    importer = importer.strip().upper()  # country codes are read in any case, everywhere
    dataset = load()
    directory = output_directory(out)
    store_path = directory / "raremap.duckdb"
    runs = _run_scenarios(dataset, store_path)
    results = [result for _, result in runs]
    horizon = explain.horizon(results[0].tables["shortfall"])

    quality = dataset.quality_summary()
    counts = {column: int(quality[column].sum()) for column in ("reported", "derived", "estimated")}
    console.print(
        f"[green]dataset valid[/green]: version {dataset.version[:12]}, {sum(counts.values()):,} rows: "
        + ", ".join(f"{count:,} {quality_name}" for quality_name, count in counts.items())
        + " (by table: raremap data sources --summary)"
    )
    print_meaning(results[0].tables)

    overview = stage_overview(dataset, importer=importer)
    console.print(rich_table(describe_overview(overview, importer), title=f"world and {importer} by stage"))
    console.print(rich_table(
        _metrics_table(dataset, importer), title=f"concentration and {importer}'s dependence",
        units={f"{importer} N-1 coverage": "fraction", f"{importer} import reliance": "fraction"},
    ))

    table = shortfall_by_scenario(results, importer, explain.MAGNET_UNIT)
    console.print(rich_table(
        table, title=f"{importer} shortfall per year, {horizon}, all magnet sectors (t magnet per year; "
        "quarters summed)",
    ))
    effects = _effects(results)
    for effect in effects.values():
        console.print(effect.text, markup=False)
    for result in results:
        if result.scenario.name in effects and not effects[result.scenario.name].changed:
            continue  # its why is the base's, printed with the sentence above
        print_binding(result.tables["binding"], importer, result.scenario.name)
    console.print(f"  {explain.SHADOW_NOTE}", markup=False)

    write_csv_atomic(directory / "overview.csv", overview)
    summary = {
        "dataset_version": dataset.version,
        "importer": importer,
        "horizon": horizon,
        "caveats": explain.caveats(results[0].tables),
        "overview": overview.to_dict("records"),
        "scenarios": [
            {
                "scenario": result.scenario.name,
                "run": run_id,
                "base": result.scenario.base,
                "shortfall_by_year": explain.shortfall_by_year(result.tables["shortfall"], importer)
                .to_dict("records"),
                **({"against_base": {"changed": effects[result.scenario.name].changed,
                                     "explanation": effects[result.scenario.name].text}}
                   if result.scenario.name in effects else {}),
                "binding": result.tables["binding"].to_dict("records"),
            }
            for run_id, result in runs
        ],
        "units": {
            "shortfall_by_year": {"period": "calendar year (quarters summed)", "unit": "",
                                  "demand_t": "unit column per year", "tonnes": "unit column per year",
                                  "share": "fraction"},
            "binding": table_units("binding"),
        },
    }
    write_text_atomic(directory / "overview.json", json.dumps(clean(summary), indent=2))
    report = write_report(dataset, directory / "report.html", importer=importer, db=store_path)
    console.print(f"wrote {directory / 'overview.csv'}, {directory / 'overview.json'}, {report}", markup=False)
    console.print(f"runs stored in {store_path}; open {report} in a browser (works offline)", markup=False)
