"""The metric tables, the CRMA-style scorecard and the importer's suppliers per stage.

Metrics come from `raremap.metrics.collect`; the report only arranges them. The evidence of each
table is the production and trade rows of the year the metrics used, because every metric is a
function of those rows (plus governance scores and parameters, named in the method notes).
"""

from __future__ import annotations

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.metrics import stage_table
from raremap.overview import STAGES, TRADED_PRODUCTS
from raremap.report.figure import Evidence, Figure, Section, Table, evidence_from_rows

SUPPLIER_COLOURS = ("#b91c1c", "#1d4ed8", "#047857", "#b45309", "#6d28d9", "#0e7490", "#be185d", "#4d7c0f")


def metric_evidence(dataset: Dataset, importer: str, year: int) -> tuple[Evidence, ...]:
    """The production rows of the year and the importer's trade rows the metrics are computed from."""
    production = dataset["production"]
    trade = dataset["trade"]
    produced = production[(production["year"] == year) & (production["series"] == "main")]
    stage_products = [product for stage in STAGES for product in TRADED_PRODUCTS[stage]]
    traded = trade[
        (trade["year"] == year)
        & ((trade["importer"] == importer) | (trade["exporter"] == importer))
        & trade["element"].isin(stage_products)
    ]
    governance = dataset["governance"]
    return (
        evidence_from_rows("production", f"series=main, year={year}", produced),
        evidence_from_rows("trade", f"importer or exporter={importer}, year={year}", traded),
        evidence_from_rows("governance", "all rows (supply-risk and GeoPolRisk weights)", governance),
    )


def supplier_figure(frames: dict[str, pd.DataFrame], importer: str, evidence: tuple[Evidence, ...]) -> Figure:
    """Stacked bars of the importer's suppliers' shares at each stage (sourcing shares)."""
    shares = frames["supplier_shares"]
    suppliers = list(shares.groupby("supplier")["imports_t"].sum().sort_values(ascending=False).index)
    data = []
    for position, supplier in enumerate(suppliers[: len(SUPPLIER_COLOURS)]):
        rows = shares[shares["supplier"] == supplier]
        data.append(
            {
                "type": "bar",
                "name": supplier,
                "x": list(rows["stage"]),
                "y": [round(value * 100, 2) for value in rows["share"]],
                "marker": {"color": SUPPLIER_COLOURS[position]},
                "hovertemplate": f"{supplier}: %{{y:.1f}}% of {importer}'s imports<extra></extra>",
            }
        )
    rest = shares[~shares["supplier"].isin(suppliers[: len(SUPPLIER_COLOURS)])]
    if not rest.empty:
        other = rest.groupby("stage", as_index=False)["share"].sum()
        data.append(
            {
                "type": "bar",
                "name": "other",
                "x": list(other["stage"]),
                "y": [round(value * 100, 2) for value in other["share"]],
                "marker": {"color": "#94a3b8"},
            }
        )
    layout = {
        "barmode": "stack",
        "yaxis": {"title": {"text": f"% of {importer}'s imports"}, "range": [0, 100]},
        "xaxis": {"categoryorder": "array", "categoryarray": list(STAGES)},
        "height": 380,
    }
    year = int(shares["year"].iloc[0]) if not shares.empty else None
    caption = f"Who supplies {importer}'s imports at each stage in {year} (trade table, tonnes)."
    return Figure("suppliers", f"{importer}'s suppliers by stage", data, layout, caption, evidence)


def metrics_section(dataset: Dataset, importer: str) -> Section:
    """Concentration, sourcing, coverage, criticality and the CRMA-style scorecard for the importer."""
    from raremap import metrics

    frames = metrics.collect(dataset, importer=importer)
    year = int(frames["criticality"]["year"].iloc[0])
    evidence = metric_evidence(dataset, importer, year)
    verdict = frames["criticality"].iloc[0]
    crma = frames["crma"][["check", "stage", "value", "target", "comparison", "pass", "note"]]
    methods = frames["concentration"][["stage", "method"]]
    tables = (
        Table(
            "metrics-by-stage",
            f"{importer} by stage, {year}",
            stage_table(frames),
            "Shares are fractions of 1. See docs/metrics for each formula.",
            evidence,
        ),
        Table(
            "crma-scorecard",
            "CRMA-style scorecard",
            crma,
            "Benchmarks of the EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5), with "
            f"{importer} in the Union's place.",
            evidence,
        ),
        Table("metric-methods", "How each stage's figures were made", methods, "", evidence),
    )
    introduction = (
        f"How concentrated each stage is, how much {importer} relies on imports and on whom, and whether "
        f"it meets CRMA-style benchmarks. EU 2017 criticality: supply risk {verdict['supply_risk']:.3g} "
        f"(bottleneck {verdict['bottleneck_stage']}), economic importance {verdict['economic_importance']:.3g}: "
        f"{verdict['verdict']}."
    )
    return Section(
        "metrics",
        "Dependence and criticality",
        introduction,
        figures=(supplier_figure(frames, importer, evidence),),
        tables=tables,
    )
