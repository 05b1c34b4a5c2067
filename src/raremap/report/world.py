"""Where each stage of the value chain sits: world maps of production shares and a Sankey of flows.

The maps answer "who makes this stage"; the Sankey answers "whose output reaches whom", with the
importer's own flows drawn in a strong colour so a reader sees its dependence at a glance.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.metrics.inputs import MetricInputs, as_inputs
from raremap.metrics.stages import UNATTRIBUTED, stage_output, stage_trade
from raremap.overview import STAGE_PRODUCTS, STAGES, TOTAL, latest_common_year
from raremap.report.figure import Evidence, Figure, Section, evidence_from_rows

WORLD = "WLD"
IMPORTER_COLOUR = "rgba(200, 30, 45, 0.75)"
OTHER_COLOUR = "rgba(140, 150, 165, 0.35)"
STAGE_AFTER = {"mining": "separation", "separation": "metal", "metal": "magnet", "magnet": "use"}
SANKEY_COLUMNS = (*STAGES, "use")
COUNTRIES_PER_STAGE = 6
OTHER = "other"


def _inputs(dataset: Dataset) -> MetricInputs:
    return as_inputs(dataset)


def production_rows(dataset: Dataset, stage: str, year: int) -> pd.DataFrame:
    """The production rows a stage's shares are made from: the chosen series (and any country filled
    from another series), the stage's product, the year; world rows included (they set the total)."""
    output = stage_output(_inputs(dataset), stage, TOTAL, year)
    production = dataset["production"]
    rows = production[
        (production["stage"] == stage)
        & (production["year"] == year)
        & (production["element"].isin(("NdFeB", "SmCo") if stage == "magnet" else (STAGE_PRODUCTS[stage],)))
    ]
    filled = dict(output.filled)
    used = (rows["series"] == output.series) | rows.apply(
        lambda row: filled.get(str(row["country"])) == row["series"], axis=1
    ).astype(bool)
    return rows[used]


def production_shares(dataset: Dataset, stage: str, year: int) -> pd.DataFrame:
    """Each producing country's output and share of the world at one stage: country, value_t, share.

    The same shares as `raremap metrics` (one world total; docs/metrics/rules.md): output of
    producers not listed appears as 'unattributed'.
    """
    output = stage_output(_inputs(dataset), stage, TOTAL, year)
    shares = output.shares()
    return pd.DataFrame(
        {
            "country": shares.index.astype(str),
            "value_t": (shares * output.world_t).to_numpy() if not shares.empty else [],
            "share": shares.to_numpy(),
        }
    )


def country_names(dataset: Dataset) -> dict[str, str]:
    countries = dataset["countries"]
    return dict(zip(countries["country"], countries["name"], strict=True))


def share_map(dataset: Dataset, stage: str, year: int, importer: str) -> Figure:
    """A world choropleth of one stage's production shares, with the importer outlined."""
    all_shares = production_shares(dataset, stage, year)
    shares = all_shares[all_shares["country"] != UNATTRIBUTED]
    names = country_names(dataset)
    outline = [3 if country == importer else 0.5 for country in shares["country"]]
    trace: dict[str, Any] = {
        "type": "choropleth",
        "locationmode": "ISO-3",
        "locations": list(shares["country"]),
        "z": [round(share * 100, 2) for share in shares["share"]],
        "text": [
            f"{names.get(country, country)}: {value:,.0f} t"
            for country, value in zip(shares["country"], shares["value_t"], strict=True)
        ],
        "hovertemplate": "%{text}<br>%{z:.1f}% of world<extra></extra>",
        "colorscale": "YlOrRd",
        "reversescale": True,
        "zmin": 0,
        "zmax": 100,
        "marker": {"line": {"color": "#1f2937", "width": outline}},
        "colorbar": {"title": {"text": "% of world"}},
    }
    layout = {
        "geo": {
            "projection": {"type": "natural earth", "rotation": {"lon": 0}},
            "center": {"lon": 0, "lat": 10},
            "lonaxis": {"range": [-180, 180]},
            "lataxis": {"range": [-60, 85]},
            "showframe": False,
            "showcoastlines": True,
            "showland": True,
            "landcolor": "#f1f5f9",
            "showcountries": True,
            "countrycolor": "#cbd5e1",
            "resolution": 110,
            "scope": "world",
        },
        "height": 420,
    }
    product = STAGE_PRODUCTS[stage]
    rows = production_rows(dataset, stage, year)
    output = stage_output(_inputs(dataset), stage, TOTAL, year)
    leader = shares.iloc[0] if not shares.empty else None
    rest = all_shares[all_shares["country"] == UNATTRIBUTED]["share"].sum()
    caption = f"Share of world {stage} output ({product}, t) in {year}; {importer} is outlined." + (
        f" Leader: {leader['country']} with {leader['share']:.0%}." if leader is not None else ""
    ) + (f" Producers not listed: {rest:.0%}." if rest > 0 else "") + f" Data: {output.method()}."
    evidence = evidence_from_rows(
        "production", f"stage={stage}, element={product}, year={year}; {output.method()}", rows
    )
    return Figure(
        f"map-{stage}",
        f"{stage.capitalize()}: share of world output, {year}",
        [trace],
        layout,
        caption,
        (evidence,),
    )


def stage_trade_rows(dataset: Dataset, stage: str, year: int) -> pd.DataFrame:
    """The trade rows of one stage's products in `year` (the rows the metrics read)."""
    trade = dataset["trade"]
    products = ("NdFeB", "SmCo") if stage == "magnet" else None
    rows = trade[(trade["stage"] == stage) & (trade["year"] == year)]
    if products is not None:
        rows = rows[rows["element"].isin(products)]
    return rows[~rows["element"].isin(("NdPr", "HREE"))]


def _node_name(country: str, column: str, kept: set[str]) -> str:
    return f"{country if country in kept else OTHER} · {column}"


def _kept_countries(shares_by_stage: dict[str, pd.DataFrame], importer: str) -> set[str]:
    kept = {importer}
    for shares in shares_by_stage.values():
        kept.update(shares["country"].head(COUNTRIES_PER_STAGE))
    return kept


def value_chain_links(dataset: Dataset, year: int, importer: str) -> tuple[pd.DataFrame, list[Evidence]]:
    """Flows between stages: exports from a country's stage to the importer's next stage, plus the
    part of each country's output it keeps (output minus exports, never below zero).

    Columns: source, target, value_t, exporter, importer, kind ('trade' or 'domestic').
    """
    shares_by_stage = {stage: production_shares(dataset, stage, year) for stage in STAGES}
    kept = _kept_countries(shares_by_stage, importer)
    links: list[dict[str, Any]] = []
    evidence: list[Evidence] = []
    for stage in STAGES:
        following = STAGE_AFTER[stage]
        trade = stage_trade_rows(dataset, stage, year)
        flows = stage_trade(_inputs(dataset), stage, TOTAL, year).flows
        exports = flows.groupby("exporter")["value_t"].sum()
        for row in flows.itertuples(index=False):
            links.append(
                {
                    "source": _node_name(str(row.exporter), stage, kept),
                    "target": _node_name(str(row.importer), following, kept),
                    "value_t": row.value_t,
                    "exporter": row.exporter,
                    "importer": row.importer,
                    "kind": "trade",
                }
            )
        shares = shares_by_stage[stage]
        shares = shares[shares["country"] != UNATTRIBUTED]
        for country, value_t in zip(
            shares["country"].astype(str), shares["value_t"].astype(float), strict=True
        ):
            kept_t = max(value_t - float(exports.get(country, 0.0)), 0.0)
            links.append(
                {
                    "source": _node_name(country, stage, kept),
                    "target": _node_name(country, following, kept),
                    "value_t": kept_t,
                    "exporter": country,
                    "importer": country,
                    "kind": "domestic",
                }
            )
        evidence.append(evidence_from_rows("trade", f"stage={stage}, year={year}", trade))
        evidence.append(
            evidence_from_rows(
                "production",
                f"stage={stage}, element={STAGE_PRODUCTS[stage]}, year={year}; "
                f"{stage_output(_inputs(dataset), stage, TOTAL, year).method()}",
                production_rows(dataset, stage, year),
            )
        )
    frame = pd.DataFrame(links)
    frame = frame[frame["value_t"] > 0]
    grouped = frame.groupby(["source", "target", "kind"], as_index=False).agg(
        value_t=("value_t", "sum"), exporter=("exporter", "first"), importer=("importer", "first")
    )
    touches = grouped["source"].str.startswith(f"{importer} ") | grouped["target"].str.startswith(
        f"{importer} "
    )
    grouped["importer_flow"] = touches
    return grouped, evidence


def _node_position(name: str) -> float:
    column = name.split(" · ")[-1]
    return 0.01 + 0.98 * SANKEY_COLUMNS.index(column) / (len(SANKEY_COLUMNS) - 1)


def value_chain_sankey(dataset: Dataset, year: int, importer: str) -> Figure:
    """A Sankey from mining to use; the importer's flows in red, everyone else's in grey."""
    links, evidence = value_chain_links(dataset, year, importer)
    nodes = sorted(
        set(links["source"]) | set(links["target"]),
        key=lambda name: (_node_position(name), name.startswith(OTHER), name),
    )
    index = {name: position for position, name in enumerate(nodes)}
    trace = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {
            "label": nodes,
            "pad": 12,
            "thickness": 14,
            "color": [IMPORTER_COLOUR if name.startswith(f"{importer} ") else "#64748b" for name in nodes],
        },
        "link": {
            "source": [index[name] for name in links["source"]],
            "target": [index[name] for name in links["target"]],
            "value": [round(float(value), 3) for value in links["value_t"]],
            "color": [IMPORTER_COLOUR if flagged else OTHER_COLOUR for flagged in links["importer_flow"]],
            "customdata": list(links["kind"]),
            "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.1f} t (%{customdata})"
            "<extra></extra>",
        },
    }
    caption = (
        f"Tonnes leaving each stage in {year}: exports (trade table) go to the importer's next "
        f"stage; output a country does not export stays at home (producers not listed are left out). Units differ by stage "
        f"(REO content up to metal, NdFeB magnets after); the {COUNTRIES_PER_STAGE} largest producers per stage "
        f"and {importer} are named, the rest are '{OTHER}'. {importer}'s flows are red."
    )
    return Figure(
        "sankey-value-chain",
        f"The value chain, with {importer}'s flows",
        [trace],
        {"height": 620},
        caption,
        tuple(evidence),
    )


def world_section(dataset: Dataset, importer: str) -> Section:
    """Maps of each stage's producers and the value-chain Sankey."""
    year = latest_common_year(dataset)
    maps = tuple(share_map(dataset, stage, year, importer) for stage in STAGES)
    return Section(
        "world",
        "Where the value chain sits",
        f"Mining is spread over several countries; separation, metal and magnet making are far more "
        f"concentrated. These maps show each stage's producers in {year}, the latest year with data at "
        f"every stage, and the Sankey follows the tonnes from mine to use.",
        figures=(*maps, value_chain_sankey(dataset, year, importer)),
    )
