"""The per-stage picture of the world and of one importer that `raremap demo` prints first.

Every figure comes from the metrics' one definition of a stage's output, world total and the
importer's position (`raremap.metrics.stages`), so the overview, the maps, the report and
`raremap metrics` give the same shares.
"""

from __future__ import annotations

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.metrics.inputs import MetricInputs, as_inputs, check_arguments
from raremap.metrics.stages import UNATTRIBUTED, importer_position, stage_output
from raremap.vocabulary import STAGE_TOTAL, STAGES

STAGE_PRODUCTS = dict(STAGE_TOTAL)
# Trade rows counted as the stage's product: compounds of any element, but at the magnet stage only
# rare-earth magnets (the REO rows there include ferrite magnets; see trade.csv methods).
TRADED_PRODUCTS = {
    "mining": ("REO",),
    "separation": ("REO", "Ce", "La", "Nd", "Pr", "Dy", "Tb", "Y"),
    "metal": ("REO",),
    "magnet": ("NdFeB", "SmCo"),
}
TOTAL = "REO"


def latest_common_year(dataset: Dataset | MetricInputs) -> int:
    """The latest year in which the series rule finds output at every stage (in some series)."""
    inputs = dataset if isinstance(dataset, MetricInputs) else as_inputs(dataset)
    producing = inputs.production[inputs.production["country"] != "WLD"]
    years_per_stage = [set(producing.loc[producing["stage"] == stage, "year"].astype(int)) for stage in STAGES]
    common = set.intersection(*years_per_stage) if all(years_per_stage) else set()
    if not common:
        raise RaremapError("the production table has no year with data at every stage; add production rows")
    return max(common)


def stage_overview(dataset: Dataset, importer: str = "IND", year: int | None = None) -> pd.DataFrame:
    """World output, the leading producer and the importer's position at each stage.

    Columns: stage, product, unit, year, series, world_t, top_country, top_share,
    importer_production_t, importer_share, importer_imports_t (recorded), largest_supplier,
    largest_supplier_share, trade_year, note (why a figure is missing). Shares are of the world
    total as the metrics define it (docs/metrics/rules.md).
    """
    if importer not in set(dataset["countries"]["country"]):
        raise RaremapError(f"unknown importer {importer!r}; use an ISO3 code from countries.csv (e.g. IND)")
    inputs = as_inputs(dataset)
    year = year or latest_common_year(inputs)
    check_arguments(inputs, importer, year, None, TOTAL)
    rows = []
    for stage in STAGES:
        output = stage_output(inputs, stage, TOTAL, year)
        position = importer_position(inputs, importer, stage, TOTAL, year)
        shares = output.shares()
        named = shares.drop(UNATTRIBUTED, errors="ignore")
        imports = position.imports
        complete = position.imports_complete
        supplier = imports.drop(UNATTRIBUTED, errors="ignore")
        notes = [reason for key, reason in position.reasons.items() if key in ("production", "supplier_shares")]
        production = position.production_t
        rows.append(
            {
                "stage": stage,
                "product": STAGE_PRODUCTS[stage],
                "unit": output.unit,
                "year": year,
                "series": output.series,
                "world_t": output.world_t if output.available else None,
                "top_country": str(named.index[0]) if not named.empty else None,
                "top_share": float(named.iloc[0]) if not named.empty else None,
                "importer_production_t": production,
                "importer_share": production / output.world_t
                if production is not None and output.available and output.world_t > 0
                else None,
                "importer_imports_t": position.recorded_imports_t if "imports" not in position.reasons else None,
                "largest_supplier": str(supplier.index[0]) if complete and not supplier.empty else None,
                "largest_supplier_share": float(supplier.iloc[0] / imports.sum())
                if complete and not supplier.empty
                else None,
                "trade_year": year if "imports" not in position.reasons else None,
                "note": "; ".join([*notes, *position.notes]) or None,
            }
        )
    return pd.DataFrame(rows)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def _tonnes(value: object) -> str:
    return f"{float(value):,.0f} t" if _present(value) else "n/a"  # type: ignore[arg-type]


def _share(value: object) -> str:
    return f"{float(value):.1%}" if _present(value) else "n/a"  # type: ignore[arg-type]


def describe_overview(overview: pd.DataFrame, importer: str) -> pd.DataFrame:
    """The overview as short labelled text columns, for a terminal or a brief; 'n/a' names its reason in `note`."""
    rows = []
    for row in overview.to_dict("records"):
        supplier = row["largest_supplier"]
        supplier_text = f"{supplier} {_share(row['largest_supplier_share'])}" if _present(supplier) else "n/a"
        imports = _tonnes(row["importer_imports_t"])
        if _present(row["importer_imports_t"]) and not _present(supplier):
            imports += " recorded"
        output = _tonnes(row["importer_production_t"])
        if _present(row["importer_share"]):
            output += f" ({_share(row['importer_share'])})"
        rows.append(
            {
                "stage": row["stage"],
                f"world {row['year']}": f"{_tonnes(row['world_t'])} ({row['unit'].removeprefix('t ')})",
                "leader": f"{row['top_country']} {_share(row['top_share'])}" if _present(row["top_country"]) else "n/a",
                f"{importer} output": output,
                f"{importer} imports": imports,
                "largest supplier": supplier_text,
                "note": row["note"] or "",
            }
        )
    return pd.DataFrame(rows)
