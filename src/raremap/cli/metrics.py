"""`raremap metrics`: where an importer stands, stage by stage, as tables or one JSON object.

A year the data hold is read from the tables; a later year (or any year with --scenario) from the
scenario engine's projection, baseline by default. Missing values print as 'n/a [k]' with the
reason as footnote k, never as a number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from raremap.cli import app
from raremap.cli.output import console, print_json, rich_table
from raremap.data.dataset import load
from raremap.data.schema import vocabularies
from raremap.errors import RaremapError


def _number(value: object, digits: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    return format(float(value), digits)  # type: ignore[arg-type]


def _print_tables(frames: dict[str, pd.DataFrame]) -> None:
    from raremap import metrics
    from raremap.metrics.geopolrisk import RAW_MATERIAL

    context = frames["context"].iloc[0]
    importer, element, year = context["importer"], context["element"], int(context["year"])
    console.print(
        f"[bold]{importer}[/bold], element {element}, year {year}: {context['basis']} ({context['origin']}); "
        "shares are fractions of 1, tonnes per year in each stage's unit",
        markup=True,
    )
    table = metrics.stage_table(frames)
    console.print(rich_table(table, title="world concentration and importer sourcing by stage"))
    notes = metrics.stage_footnotes(frames)
    for number, note in enumerate(notes, start=1):
        console.print(f"  [{number}] {note}", markup=False)
    verdict = frames["criticality"].iloc[0]
    raw = frames["geopolrisk"].set_index("stage").loc[RAW_MATERIAL]
    geopolrisk = _number(raw["geopolrisk"], ".4g")
    if geopolrisk == "n/a":
        geopolrisk += f" ({raw['reasons'].get('geopolrisk')})"
    risk = _number(verdict["supply_risk"])
    risk += (
        f" (bottleneck {verdict['bottleneck_stage']}, threshold 1)"
        if risk != "n/a"
        else f" ({verdict['reasons'].get('supply_risk')})"
    )
    importance = _number(verdict["economic_importance"])
    importance += (
        " (threshold 2.8)" if importance != "n/a" else f" ({verdict['reasons'].get('economic_importance')})"
    )
    console.print(
        f"GeoPolRisk (mine HHI x governance-weighted imports of compounds and metal): {geopolrisk}", markup=False
    )
    console.print(f"EU 2017 supply risk: {risk}", markup=False)
    for key, reason in verdict["reasons"].items():
        if key.startswith("supply_risk_") and risk[:3] != "n/a":
            console.print(f"  {key.removeprefix('supply_risk_')} not computed: {reason}", markup=False)
    console.print(f"EU 2017 economic importance: {importance}", markup=False)
    if isinstance(verdict.get("economic_importance_note"), str):
        console.print(f"  {verdict['economic_importance_note']}", markup=False)
    console.print(f"EU 2017 verdict: [bold]{verdict['verdict']}[/bold]")
    if "verdict" in verdict["reasons"]:
        console.print(f"  {verdict['reasons']['verdict']}", markup=False)
    crma = frames["crma"][["check", "value", "target", "comparison", "pass", "note"]].copy()
    crma["value"] = crma["value"].map(lambda value: _number(value))
    crma["pass"] = crma["pass"].map(lambda value: "n/a" if value is None else value)
    console.print(rich_table(crma, title="CRMA-style scorecard (value n/a: the note says why)"))
    console.print("data:")
    for stage, method in frames["concentration"][["stage", "method"]].itertuples(index=False):
        console.print(f"  {stage}: {method}", markup=False)
    for stage, notes_of_stage in frames["sourcing"][["stage", "notes"]].itertuples(index=False):
        for note in notes_of_stage:
            console.print(f"  {stage}: {note}", markup=False)
    console.print(f"  economic importance: {frames['economic_importance']['method'].iloc[0]}", markup=False)


def parse_sector_values(text: str) -> dict[str, float]:
    """'ev=8,wind=6' -> {'ev': 8.0, 'wind': 6.0}, with an error naming the bad pair."""
    values: dict[str, float] = {}
    sectors = set(vocabularies()["sector"])
    for pair in filter(None, (part.strip() for part in text.split(","))):
        sector, _, number = pair.partition("=")
        if sector.strip() not in sectors:
            raise RaremapError(
                f"--sector-value-added: unknown sector {sector.strip()!r}; sectors are {', '.join(sorted(sectors))}"
            )
        try:
            values[sector.strip()] = float(number)
        except ValueError:
            raise RaremapError(
                f"--sector-value-added: {pair!r} has no number; write sector=value, e.g. ev=8"
            ) from None
    return values


@app.command("metrics")
def metrics_command(
    importer: str = typer.Option("IND", "--importer", help="ISO3 code of the importing country."),
    year: int | None = typer.Option(
        None,
        "--year",
        help="Year. Default: the latest with production and trade. A year beyond the data (e.g. 2030, "
        "2035) is read from the scenario's projection.",
    ),
    element: str = typer.Option(
        "REO", "--element", help="REO (total), an element (Dy, Nd, ...) or a group (NdPr)."
    ),
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help="Read the year from this scenario's projection (built-in name or YAML). Default for years "
        "beyond the data: baseline.",
    ),
    series: str | None = typer.Option(
        None,
        "--series",
        help="Production series: NAME to prefer it at every stage, or stage=NAME,... to force it per stage "
        "(e.g. mining=wmd). Default: main, then the others, per stage and year.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    directory: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
    sector_value_added: str | None = typer.Option(
        None,
        "--sector-value-added",
        help="Value added of the importer's sectors scaled 0-10 (EC 2017), e.g. ev=8,wind=6,electronics=4. "
        "Default: the sector_value_added table.",
    ),
) -> None:
    """Concentration, sourcing, N-1 coverage, GeoPolRisk, EU criticality and a CRMA scorecard per stage."""
    from raremap import metrics  # imported here: every other command would pay for it at start-up

    options = (
        {} if sector_value_added is None else {"sector_value_added": parse_sector_values(sector_value_added)}
    )
    frames = metrics.collect(
        load(directory),
        importer=importer.upper(),
        year=year,
        element=element,
        scenario=scenario,
        series=series,
        **options,
    )
    if as_json:
        print_json(metrics.summary_of(frames))
    else:
        _print_tables(frames)
