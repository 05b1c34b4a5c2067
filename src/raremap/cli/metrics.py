"""`raremap metrics`: where an importer stands, stage by stage, as tables or one JSON object."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from raremap import metrics
from raremap.cli import app
from raremap.cli.output import console, print_json, rich_table
from raremap.data.dataset import load
from raremap.data.schema import vocabularies
from raremap.errors import RaremapError
from raremap.metrics.geopolrisk import RAW_MATERIAL


def _print_tables(frames: dict[str, pd.DataFrame], importer: str, element: str) -> None:
    year = int(frames["criticality"]["year"].iloc[0])
    console.print(
        f"[bold]{importer}[/bold], element {element}, year {year} (latest year with production and trade "
        "unless --year is given); shares are fractions of 1"
    )
    console.print(
        rich_table(metrics.stage_table(frames), title="world concentration and importer sourcing by stage")
    )
    verdict = frames["criticality"].iloc[0]
    raw_material = frames["geopolrisk"].set_index("stage")["geopolrisk"].get(RAW_MATERIAL, float("nan"))
    console.print(
        f"GeoPolRisk (mine HHI x governance-weighted imports of compounds and metal): {raw_material:.4g}\n"
        f"EU 2017 criticality: supply risk {verdict['supply_risk']:.3g} (bottleneck {verdict['bottleneck_stage']}, "
        f"threshold 1), economic importance {verdict['economic_importance']:.3g} (threshold 2.8): "
        f"[bold]{verdict['verdict']}[/bold]"
    )
    console.print(
        rich_table(
            frames["crma"][["check", "value", "target", "comparison", "pass", "note"]],
            title="CRMA-style scorecard",
        )
    )
    console.print("data:")
    for stage, method in frames["concentration"][["stage", "method"]].itertuples(index=False):
        console.print(f"  {stage}: {method}", markup=False)
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
        None, "--year", help="Year. Default: the latest with production and trade."
    ),
    element: str = typer.Option(
        "REO", "--element", help="REO (total), an element (Dy, Nd, ...) or a group (NdPr)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    directory: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
    sector_value_added: str | None = typer.Option(
        None,
        "--sector-value-added",
        help="Value added of the importer's sectors scaled 0-10 (EC 2017), e.g. ev=8,wind=6,electronics=4. "
        "Without it economic importance is not computed.",
    ),
) -> None:
    """Concentration, sourcing, N-1 coverage, GeoPolRisk, EU criticality and a CRMA scorecard per stage."""
    options = (
        {} if sector_value_added is None else {"sector_value_added": parse_sector_values(sector_value_added)}
    )
    frames = metrics.collect(
        load(directory), importer=importer.upper(), year=year, element=element, **options
    )
    if as_json:
        print_json(metrics.summary_of(frames))
    else:
        _print_tables(frames, importer.upper(), element)
