"""`raremap data ...`: validate, load, show and import the dataset."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape

from raremap.cli import app
from raremap.cli.output import Format, console, print_frame
from raremap.data import baci, store
from raremap.data.dataset import load
from raremap.data.schema import table_schemas
from raremap.errors import RaremapError, shortened
from raremap.suggestions import did_you_mean

data_app = typer.Typer(help="Validate, load, show and import the dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DirectoryArgument = typer.Argument(
    None, help="Folder of table CSVs that replace the bundled ones (any subset). Default: the bundled data."
)


@data_app.command("validate")
def validate(directory: Path | None = DirectoryArgument) -> None:
    """Check the dataset; list every problem at once and exit non-zero if there is any."""
    dataset = load(directory)
    rows = sum(len(frame) for frame in dataset.tables.values())
    console.print(
        f"[green]valid[/green]: {len(dataset.tables)} tables, {rows:,} rows, version {dataset.version[:12]} "
        f"({escape(dataset.origin)})"
    )


@data_app.command("load")
def load_command(
    directory: Path | None = DirectoryArgument,
    db: Path = typer.Option(store.DEFAULT_PATH, "--db", help="DuckDB store file."),
) -> None:
    """Check the dataset and put it into the DuckDB store, versioned by content hash."""
    dataset = load(directory)
    version, new = store.save_dataset(dataset, db)
    state = "loaded" if new else "already in the store"
    console.print(f"dataset {version} {state}: {db}")


@data_app.command("show")
def show(
    table: str = typer.Argument(..., help="Table name, e.g. production."),
    country: str | None = typer.Option(None, "--country", help="Only rows that involve this ISO3 code."),
    output_format: Format = typer.Option(Format.table, "--format", help="table, csv or json."),
    directory: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """Print one table (optionally only the rows of one country)."""
    if table not in table_schemas():
        raise RaremapError(f"unknown table {shortened(table)!r}; {did_you_mean(table, list(table_schemas()), 'table')}")
    dataset = load(directory)
    frame = dataset[table]
    if country is not None:
        country_columns = [
            column.name
            for column in table_schemas()[table].columns
            if any(alternative == "ref:countries.country" for alternative in column.allowed)
            or (table == "countries" and column.name == "country")
        ]
        if not country_columns:
            raise RaremapError(f"table {table} has no country column; drop --country")
        code = known_country(country, dataset["countries"]["country"])
        frame = frame[frame[country_columns].isin([code]).any(axis=1)]
    print_frame(frame, output_format, title=table)


def known_country(country: str, codes: pd.Series) -> str:
    """The ISO3 code (any case) of a country in the dataset; one clear error for one that is not."""
    code = country.strip().upper()
    known = set(codes.astype(str))
    if code not in known:
        raise RaremapError(f"--country {shortened(country)!r}: unknown country; {did_you_mean(country, known, 'country')}")
    return code


@data_app.command("sources")
def sources(
    summary: bool = typer.Option(
        False, "--summary", help="Count reported, derived and estimated rows per table, with the age (as_of) of its data."
    ),
    output_format: Format = typer.Option(Format.table, "--format", help="table, csv or json."),
    directory: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
) -> None:
    """List the sources with how many rows cite each (or, with --summary, row quality per table)."""
    dataset = load(directory)
    if summary:
        print_frame(dataset.quality_summary(), output_format, title="rows by quality and age of the data (as_of)")
    else:
        print_frame(dataset.source_counts(), output_format, title="sources")


@data_app.command("import-baci")
def import_baci(
    file: Path = typer.Argument(..., help="BACI CSV file (columns t, i, j, k, v, q)."),
    countries: Path | None = typer.Option(
        None, "--countries", help="BACI country-code CSV. Default: country_codes*.csv beside FILE."
    ),
    out: Path = typer.Option(
        Path("baci-import"), "--out", help="Folder to write trade.csv and sources.csv into."
    ),
) -> None:
    """Turn a CEPII BACI file into a trade table (rare-earth HS codes only) usable as a data override."""
    if countries is None:
        candidates = sorted(file.parent.glob("country_codes*.csv")) if file.parent.is_dir() else []
        if not candidates:
            raise RaremapError(
                f"no country_codes*.csv beside {file}; pass the BACI country-code file with --countries"
            )
        countries = candidates[0]
    trade, source = baci.read_baci(file, countries, accessed=date.today().isoformat())
    directory = baci.write_import(trade, source, out)
    years = f"{trade['year'].min()}-{trade['year'].max()}"
    console.print(f"wrote {len(trade):,} trade rows ({years}) to {directory / 'trade.csv'}")
    console.print(f"check them with: raremap data validate {directory}")
