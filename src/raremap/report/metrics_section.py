"""The metric tables, the CRMA-style scorecard and the importer's suppliers per stage.

Metrics come from `raremap.metrics.collect`; the report only arranges them. The evidence of each
table is the production and trade rows of the year the metrics used, because every metric is a
function of those rows (plus governance scores, sector value added and parameters, named in the
method notes). A value the data cannot give reads 'n/a [k]', k the note that says why.
"""

from __future__ import annotations

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.metrics import stage_footnotes, stage_table
from raremap.metrics.geopolrisk import RAW_MATERIAL
from raremap.overview import STAGES
from raremap.report.figure import Evidence, Figure, Section, Table, evidence_from_rows

SUPPLIER_COLOURS = ("#b91c1c", "#1d4ed8", "#047857", "#b45309", "#6d28d9", "#0e7490", "#be185d", "#4d7c0f")


def metric_evidence(dataset: Dataset, importer: str, year: int) -> tuple[Evidence, ...]:
    """The production rows of the year and the importer's trade rows the metrics are computed from."""
    production = dataset["production"]
    trade = dataset["trade"]
    produced = production[production["year"] == year]
    traded = trade[(trade["year"] == year) & ((trade["importer"] == importer) | (trade["exporter"] == importer))]
    evidence = [
        evidence_from_rows("production", f"year={year}, every series (the series rule picks per stage)", produced),
        evidence_from_rows("trade", f"importer or exporter={importer}, year={year}", traded),
        evidence_from_rows("governance", "all rows (supply-risk and GeoPolRisk weights)", dataset["governance"]),
    ]
    if "sector_value_added" in dataset.tables:
        value_added = dataset["sector_value_added"]
        evidence.append(
            evidence_from_rows(
                "sector_value_added", f"country={importer} (economic importance)",
                value_added[value_added["country"] == importer],
            )
        )
    return tuple(evidence)


def supplier_figure(frames: dict[str, pd.DataFrame], importer: str, evidence: tuple[Evidence, ...]) -> Figure:
    """Stacked bars of the importer's suppliers' shares at each stage whose imports are fully recorded."""
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
    year = int(frames["context"]["year"].iloc[0])
    sourced = frames["sourcing"]
    reasons = {str(stage): dict(value) for stage, value in zip(sourced["stage"], sourced["reasons"], strict=True)}
    missing = [
        f"{stage}: {reasons[stage]['supplier_hhi']}"
        for stage in STAGES
        if stage in reasons and "supplier_hhi" in reasons[stage]
    ]
    caption = f"Who supplies {importer}'s imports at each stage in {year} (trade table, tonnes)." + (
        " Not shown: " + "; ".join(missing) + "." if missing else ""
    )
    return Figure("suppliers", f"{importer}'s suppliers by stage", data, layout, caption, evidence)


def _value_or_reason(value: object, reason: str | None, digits: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return f"n/a ({reason})" if reason else "n/a"
    return format(float(value), digits)  # type: ignore[arg-type]


def metrics_section(dataset: Dataset, importer: str) -> Section:
    """Concentration, sourcing, coverage, criticality and the CRMA-style scorecard for the importer."""
    from raremap import metrics

    frames = metrics.collect(dataset, importer=importer)
    year = int(frames["context"]["year"].iloc[0])
    evidence = metric_evidence(dataset, importer, year)
    verdict = frames["criticality"].iloc[0]
    crma = frames["crma"][["check", "stage", "value", "target", "comparison", "pass", "note"]].copy()
    crma["value"] = crma["value"].map(lambda value: "n/a" if pd.isna(value) else value).astype(object)
    crma["pass"] = crma["pass"].map(lambda value: "n/a" if value is None else value).astype(object)
    methods = frames["concentration"][["stage", "method"]]
    notes = stage_footnotes(frames)
    footnotes = " ".join(f"[{number}] {note}." for number, note in enumerate(notes, start=1))
    tables = (
        Table(
            "metrics-by-stage",
            f"{importer} by stage, {year}",
            stage_table(frames),
            "Shares are fractions of 1, tonnes per year in each stage's unit. See docs/metrics for each "
            "formula and docs/metrics/rules.md for the series, world-total and trade rules. " + footnotes,
            evidence,
        ),
        Table(
            "crma-scorecard",
            "CRMA-style scorecard",
            crma,
            "Benchmarks of the EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5), with "
            f"{importer} in the Union's place; where the value is n/a the note says why.",
            evidence,
        ),
        Table("metric-methods", "How each stage's figures were made", methods, "", evidence),
    )
    geopolitical = frames["geopolrisk"].set_index("stage").loc[RAW_MATERIAL]
    risk = _value_or_reason(verdict["supply_risk"], verdict["reasons"].get("supply_risk"))
    if verdict["bottleneck_stage"]:
        risk += f" (bottleneck {verdict['bottleneck_stage']})"
    introduction = (
        f"How concentrated each stage is, how much {importer} relies on imports and on whom, and whether "
        f"it meets CRMA-style benchmarks. GeoPolRisk "
        f"{_value_or_reason(geopolitical['geopolrisk'], geopolitical['reasons'].get('geopolrisk'), '.4g')}. "
        f"EU 2017 criticality: supply risk {risk}, economic importance "
        f"{_value_or_reason(verdict['economic_importance'], verdict['reasons'].get('economic_importance'))}: "
        f"{verdict['verdict']}."
    )
    return Section(
        "metrics",
        "Dependence and criticality",
        introduction,
        figures=(supplier_figure(frames, importer, evidence),),
        tables=tables,
    )
