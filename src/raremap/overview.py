"""The per-stage picture of the world and of one importer that `raremap demo` prints first."""

from __future__ import annotations

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.metrics.inputs import as_inputs, production_by_country, world_production
from raremap.vocabulary import STAGES

STAGE_PRODUCTS = {"mining": "REO", "separation": "REO", "metal": "REO", "magnet": "NdFeB"}
# Trade rows counted as the stage's product: compounds of any element, but at the magnet stage only
# rare-earth magnets (the REO rows there include ferrite magnets; see trade.csv methods).
TRADED_PRODUCTS = {
    "mining": ("REO",),
    "separation": ("REO", "Ce", "La", "Nd", "Pr", "Dy", "Tb", "Y"),
    "metal": ("REO",),
    "magnet": ("NdFeB", "SmCo"),
}


def latest_common_year(dataset: Dataset) -> int:
    """The latest year with main-series production reported at every stage."""
    production = dataset["production"]
    main = production[(production["series"] == "main") & (production["country"] != "WLD")]
    years_per_stage = [set(main.loc[main["stage"] == stage, "year"].dropna().astype(int)) for stage in STAGES]
    common = set.intersection(*years_per_stage) if all(years_per_stage) else set()
    if not common:
        raise RaremapError("the production table has no year with data at every stage; add production rows")
    return max(common)


def stage_overview(dataset: Dataset, importer: str = "IND", year: int | None = None) -> pd.DataFrame:
    """World output, the leading producer and the importer's position at each stage.

    Columns: stage, product, world_t, top_country, top_share, importer_production_t,
    importer_share, importer_imports_t, largest_supplier, largest_supplier_share, trade_year.
    """
    countries = set(dataset["countries"]["country"])
    if importer not in countries:
        raise RaremapError(f"unknown importer {importer!r}; use an ISO3 code from countries.csv (e.g. IND)")
    year = year or latest_common_year(dataset)
    inputs = as_inputs(dataset)
    trade = dataset["trade"]
    rows = []
    for stage in STAGES:
        product = STAGE_PRODUCTS[stage]
        output = production_by_country(inputs, stage, product, year)
        # The same world total as the metrics: the reported world row where it exceeds the listed countries.
        world = world_production(inputs, stage, product, year)
        top = output.idxmax() if world > 0 else None
        traded_products = TRADED_PRODUCTS[stage]
        stage_trade = trade[
            (trade["stage"] == stage)
            & (trade["importer"] == importer)
            & trade["element"].isin(traded_products)
        ]
        trade_year = int(stage_trade["year"].max()) if not stage_trade.empty else None
        imports = stage_trade[stage_trade["year"] == trade_year].groupby("exporter")["value_t"].sum()
        total_imports = float(imports.sum())
        rows.append(
            {
                "stage": stage,
                "product": product,
                "year": year,
                "world_t": world,
                "top_country": top,
                "top_share": float(output.max() / world) if world > 0 else None,
                "importer_production_t": float(output.get(importer, 0.0)),
                "importer_share": float(output.get(importer, 0.0) / world) if world > 0 else None,
                "importer_imports_t": total_imports if trade_year is not None else None,
                "largest_supplier": imports.idxmax() if total_imports > 0 else None,
                "largest_supplier_share": float(imports.max() / total_imports) if total_imports > 0 else None,
                "trade_year": trade_year,
            }
        )
    return pd.DataFrame(rows)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def _tonnes(value: object) -> str:
    return f"{float(value):,.0f} t" if _present(value) else "no data"  # type: ignore[arg-type]


def _share(value: object) -> str:
    return f"{float(value):.1%}" if _present(value) else ""  # type: ignore[arg-type]


def describe_overview(overview: pd.DataFrame, importer: str) -> pd.DataFrame:
    """The overview as short labelled text columns, for a terminal or a brief."""
    rows = []
    for row in overview.to_dict("records"):
        supplier = row["largest_supplier"]
        supplier_text = f"{supplier} {_share(row['largest_supplier_share'])}" if _present(supplier) else ""
        imports = _tonnes(row["importer_imports_t"])
        if _present(row["trade_year"]):
            imports += f" ({int(row['trade_year'])})"
        rows.append(
            {
                "stage": row["stage"],
                f"world {row['year']}": _tonnes(row["world_t"]),
                "leader": f"{row['top_country']} {_share(row['top_share'])}",
                f"{importer} output": f"{_tonnes(row['importer_production_t'])} ({_share(row['importer_share'])})",
                f"{importer} imports": imports,
                "largest supplier": supplier_text,
            }
        )
    return pd.DataFrame(rows)
