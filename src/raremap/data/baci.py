"""Import CEPII BACI bilateral trade files into raremap's trade table.

BACI files have columns t (year), i (exporter), j (importer), k (HS6 product), v (value, thousand
USD) and q (quantity, tonnes), with numeric country codes explained by its country-code file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd

from raremap.errors import RaremapError, shortened
from raremap.files import csv_text
from raremap.reading_guard import BACI_LIMITS, check_utf8_stream, refuse_size

BACI_COLUMNS = ("t", "i", "j", "k", "v", "q")
COUNTRY_CODE_COLUMNS = ("country_code", "country_iso3")
SOURCE_ID = "cepii_baci"
SOURCE_ROW = {
    "source_id": SOURCE_ID,
    "title": "BACI: International Trade Database at the Product-Level",
    "publisher": "CEPII (Gaulier and Zignago 2010)",
    "url": "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
    "year": 2024,
    "accessed": "",
    "licence": "Etalab Open Licence 2.0",
}


@dataclass(frozen=True)
class TradeProduct:
    """How one HS6 code maps onto raremap's value chain."""

    hs_code: str
    stage: str
    element: str
    description: str


HS_PRODUCTS = {
    "280530": TradeProduct("280530", "metal", "REO", "rare-earth metals, scandium and yttrium"),
    "284610": TradeProduct("284610", "separation", "Ce", "cerium compounds"),
    "284690": TradeProduct("284690", "separation", "REO", "other rare-earth compounds"),
    "850511": TradeProduct("850511", "magnet", "NdFeB", "permanent magnets of metal"),
}


CHUNK_ROWS = 1_000_000
"""Rows read at a time: a BACI year (about ten million rows, 400 MB) is never held whole in memory."""


def _read_csv(path: Path, what: str, required: tuple[str, ...], products: bool = False) -> pd.DataFrame:
    """A BACI CSV through the guarded reader (size, UTF-8 with the bad byte's position), read in chunks.

    With `products`, only rows of the rare-earth HS codes are kept from each chunk.
    """
    if not path.exists():
        raise RaremapError(f"{what} {path} does not exist; give the path of the CSV file")
    if not path.is_file():
        raise RaremapError(f"{what} {path} is not a file; give the path of the CSV file")
    refuse_size(f"{what} {path}", path.stat().st_size, BACI_LIMITS, what)
    with path.open("rb") as stream:
        check_utf8_stream(stream, f"{what} {path}")
    kept = []
    try:
        with pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8", chunksize=CHUNK_ROWS
        ) as chunks:
            for chunk in chunks:
                chunk.columns = [column.strip() for column in chunk.columns]
                _check_columns(chunk, path, what, required)
                if products:
                    chunk = chunk[chunk["k"].str.strip().str.zfill(6).isin(HS_PRODUCTS)]
                kept.append(chunk)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise RaremapError(
            f"{what} {path} is not a readable CSV ({shortened(str(error), 200)}); give a BACI CSV file"
        ) from None
    return pd.concat(kept, ignore_index=True)


def _check_columns(frame: pd.DataFrame, path: Path, what: str, required: tuple[str, ...]) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        found = shortened(", ".join(frame.columns), 200)
        raise RaremapError(
            f"{what} {path} lacks columns {', '.join(missing)} (it has {found}); "
            f"a BACI file has columns {', '.join(required)}"
        )


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = frame[column].str.strip()
    numbers = pd.to_numeric(text.replace({"NA": "", "NaN": ""}), errors="coerce")
    bad = (text != "") & (text != "NA") & numbers.isna()
    if bad.any():
        line = int(cast(int, bad.idxmax())) + 2  # the header is line 1, the first row line 2
        raise RaremapError(
            f"{path.name} line {line} column {column}: {text[bad].iloc[0]!r} is not a number; fix the file"
        )
    return numbers


def read_baci(
    path: str | Path, country_codes_path: str | Path, accessed: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a BACI file and its country codes; return raremap's trade rows and the source row."""
    path, country_codes_path = Path(path), Path(country_codes_path)
    trade = _read_csv(path, "BACI file", BACI_COLUMNS, products=True)
    codes = _read_csv(country_codes_path, "BACI country-code file", COUNTRY_CODE_COLUMNS)
    iso3 = dict(zip(codes["country_code"].str.strip(), codes["country_iso3"].str.strip(), strict=True))
    trade["k"] = trade["k"].str.strip().str.zfill(6)
    trade = trade[trade["k"].isin(HS_PRODUCTS)].copy()
    if trade.empty:
        raise RaremapError(
            f"{path.name} holds no rows for HS codes {', '.join(HS_PRODUCTS)}; nothing to import"
        )
    for column in ("i", "j"):
        unknown = sorted(set(trade[column].str.strip()) - set(iso3))
        if unknown:
            raise RaremapError(
                f"{path.name} column {column}: country codes {', '.join(unknown[:10])} are not in "
                f"{country_codes_path.name}; give the country-code file of the same BACI release"
            )
    value = _numbers(trade, "v", path)
    quantity = _numbers(trade, "q", path)
    year = _numbers(trade, "t", path)
    rows = pd.DataFrame(
        {
            "exporter": trade["i"].str.strip().map(iso3),
            "importer": trade["j"].str.strip().map(iso3),
            "stage": trade["k"].map(lambda code: HS_PRODUCTS[code].stage),
            "element": trade["k"].map(lambda code: HS_PRODUCTS[code].element),
            "year": year.astype("Int64"),
            "value_t": quantity,
            "value_usd": value * 1000.0,
            "hs_code": trade["k"],
            "scope": "compounds",
            "as_of": year.astype("Int64").astype(str) + "-12",  # a year's flows are true as of its end
            "source_id": SOURCE_ID,
            "quality": "reported",
            "method": None,
        }
    )
    rows = rows[rows["value_t"].notna()].sort_values(
        ["exporter", "importer", "stage", "element", "year", "hs_code"]
    )
    source = pd.DataFrame([{**SOURCE_ROW, "accessed": accessed}])
    return rows.reset_index(drop=True), source


def write_import(trade: pd.DataFrame, source: pd.DataFrame, directory: str | Path) -> Path:
    """Write trade.csv and sources.csv into `directory` (a dataset override folder); return the folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bundled_sources = pd.read_csv(
        Path(__file__).parent / "tables" / "sources.csv", dtype=str, keep_default_na=False
    )
    sources = pd.concat([bundled_sources[bundled_sources["source_id"] != SOURCE_ID], source.astype(str)])
    staging_trade = directory / ".trade.csv.partial"
    staging_sources = directory / ".sources.csv.partial"
    staging_trade.write_text(csv_text(trade), encoding="utf-8")
    staging_sources.write_text(csv_text(sources.sort_values("source_id")), encoding="utf-8")
    staging_trade.replace(directory / "trade.csv")
    staging_sources.replace(directory / "sources.csv")
    return directory
