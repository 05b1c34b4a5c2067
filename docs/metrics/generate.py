"""Write docs/metrics/*.md: the rules, each metric's formula, meaning, source and worked examples.

Every number in the pages is computed here on the bundled dataset (and, for the forward examples,
on the baseline scenario's projection), never typed by hand:
    python docs/metrics/generate.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import raremap
from raremap import metrics
from raremap.metrics.inputs import data_years, metric_inputs, series_order
from raremap.metrics.stages import chosen_series, stage_output, stage_trade
from raremap.vocabulary import STAGES

HERE = Path(__file__).parent
IMPORTER = "IND"
FORWARD_YEAR = 2030
HIDDEN = ("method", "note", "notes", "reasons", "reason")

Example = Callable[[raremap.Dataset], pd.DataFrame]

PAGES: dict[str, tuple[str, str, str, str, list[tuple[str, Example]]]] = {
    "concentration": (
        "Production concentration",
        """HHI = sum_i s_i^2, with s_i = output of country i / world output of the stage (fractions).
Top-1 and top-3 shares, and the number of producers above 5 %, are read from the same shares.
World output is defined once for every view (rules.md): the chosen series' world row where it is
at least the sum of the countries listed, the rest shown as `unattributed` and left out of the HHI
(many small producers add almost nothing to it); otherwise the sum of the countries listed.""",
        """How much one decision in one capital can move a stage. An HHI above 0.25 is a highly
concentrated market in the US merger guidelines' terms; 1 is a monopoly.""",
        "Herfindahl (1950), Hirschman (1945); US DOJ/FTC Merger Guidelines 2023, "
        "https://www.justice.gov/atr/2023-merger-guidelines",
        [
            ("REO, latest year with data", lambda dataset: metrics.production_concentration(dataset, importer=IMPORTER)),
            ("Nd, latest year with data", lambda dataset: metrics.production_concentration(dataset, element="Nd")),
            (
                f"REO, {FORWARD_YEAR}, baseline projection",
                lambda dataset: metrics.production_concentration(dataset, year=FORWARD_YEAR),
            ),
        ],
    ),
    "sourcing": (
        "Import reliance, supplier shares, supplier HHI and share outside own blocs",
        """apparent consumption C = production + imports - exports (null, with the reason, when negative)
import reliance = clip((imports - exports) / C, 0, 1); 1 where the importer's output is 0
supplier share_i = imports from i / imports;  supplier HHI = sum_i share_i^2 (named suppliers)
share outside own blocs = sum of shares of suppliers sharing no bloc (blocs.csv) with the importer
Supplier figures, C and N-1 need the importer's imports fully recorded (rules.md, trade rule).""",
        """How much of what the importer uses it must buy, from how few, and how much from countries
outside its partnerships. Trade is in tonnes of product as traded, production in tonnes REO, so
reliance at separation mixes compound and oxide tonnes.""",
        "EC (2017) Methodology for establishing the EU list of critical raw materials, "
        "https://doi.org/10.2873/769526 (import reliance definition); CEPII BACI for trade",
        [("IND, REO, latest year with data", lambda dataset: metrics.sourcing(dataset, importer=IMPORTER))],
    ),
    "coverage": (
        "N-1 coverage: output-based and demand-based (IEA)",
        """coverage = clip((sum of sources - largest source) / demand, 0, 1)
Output-based (today's N-1, data and projections):
  world: sources are producers, demand is world output, so coverage = 1 - top-1 share;
  importer: sources are its own output and each supplier's imports, demand its apparent
  consumption; its own output never stops, the largest foreign supplier does.
Demand-based, as the IEA asks it (projections only: --year 2030, --scenario NAME):
  the share of future demand the remaining suppliers could cover if the largest were lost;
  demand = projected consumption + demand the projection leaves unserved (its shortfall,
  carried up the chain by the scenario's magnet recipe and conversions.csv).
  world: (world output - largest producer) / world demand;
  importer: (own output + imports - largest foreign supplier) / (consumption + its unserved demand).
Where the projection serves all demand the two readings agree; where it does not, the
demand-based one is lower.""",
        """The grid planner's N-1 rule for supply chains: if the largest source stops tomorrow, what
share of demand can the others still meet without any redirection of trade. The demand-based
reading is the IEA's question for 2030 and 2035: it counts the demand supply already fails to meet.""",
        "ENTSO-E / NERC N-1 security criterion, adapted, https://www.entsoe.eu/network_codes/sys-ops/; "
        "IEA (2025) Global Critical Minerals Outlook 2025, https://www.iea.org/reports/global-critical-minerals-outlook-2025 "
        "(supply-disruption analysis: share of demand met without the largest supplier)",
        [
            ("IND, REO, latest year with data (output-based only)", lambda dataset: metrics.n1_coverage(dataset, importer=IMPORTER)),
            (
                f"IND, REO, {FORWARD_YEAR}, baseline projection: both readings side by side",
                lambda dataset: metrics.n1_coverage(dataset, importer=IMPORTER, year=FORWARD_YEAR),
            ),
        ],
    ),
    "geopolrisk": (
        "GeoPolRisk",
        """GeoPolRisk(A) = HHI x sum_i(g_i x f_A,i) / (F_A + p_A)
HHI over the producers listed (shares of their sum, as the published method computes it, not of a
world total that includes unlisted output); g_i = (2.5 - WGI political stability_i) / 5, clipped to
[0, 1]; f_A,i imports from i; F_A total imports; p_A domestic production. Per stage, and a
`raw_material` row in geopolrisk-py's reading for rare earths: mine HHI, imports of compounds and
metal (HS 2846, 280530), domestic mine output. Exporters without a WGI score, and imports of
unknown origin, count as 0.5.""",
        """A probability-like score (0 to 1) of supply disruption from geopolitics, for comparing
materials and importers; it is the product of world concentration and the governance-weighted
import share. Written from the published formula; geopolrisk-py's GPL code was not used.""",
        "Santillán-Saldivar et al. (2022, Int J Life Cycle Assess) and Koyamparambath et al. (geopolrisk-py), "
        "https://geopolrisk.org/how-to-use/, https://pypi.org/project/geopolrisk-py/",
        [
            ("IND, REO, latest year with data", lambda dataset: metrics.geopolrisk(dataset, importer=IMPORTER)),
            ("IND, Dy, latest year with data", lambda dataset: metrics.geopolrisk(dataset, importer=IMPORTER, element="Dy")),
        ],
    ),
    "criticality": (
        "EU 2017 supply risk, economic importance and criticality verdict",
        """SR = [HHI_WGI,global x IR/2 + HHI_WGI,sourcing x (1 - IR/2)] x (1 - EOL_RIR) x SI_SR
HHI_WGI = sum_i s_i^2 x WGI_i with WGI_i = 10 x (2.5 - political stability_i) / 5 (0 best, 10 worst)
EI = sum_s A_s x Q_s x SI_EI   (A_s end-use share, Q_s sector value added scaled 0..10)
Q_s = 10 x value added of the industry sector s belongs to / value added of the country's largest
manufacturing industry (table sector_value_added; --sector-value-added overrides it).
critical when SR >= 1 and EI >= 2.8; SR is taken at the bottleneck (higher of mining and
separation); a stage whose SR cannot be computed is named, and the verdict is 'unknown' unless
the computed stage already decides it.
Sourcing counts the importer's own output with its own governance score, as the EC counts EU
output with the EU's. Deviations: political stability only (EC: mean of six WGI indicators);
export-restriction factor t = 1; SI_SR = SI_EI = 1 (no substitute) unless given; EOL_RIR from
parameters.csv (an EU figure).""",
        """Whether the material matters to the importer's economy and whether its supply is risky,
on the EC's scale, with the importer in the EU's place.""",
        "European Commission (2017) Methodology for establishing the EU list of critical raw materials, "
        "https://doi.org/10.2873/769526; Blengini et al. (2017) https://doi.org/10.2760/73303",
        [
            ("IND, REO, supply risk by stage", lambda dataset: metrics.supply_risk(dataset, importer=IMPORTER)),
            ("IND, REO, economic importance by sector", lambda dataset: metrics.economic_importance(dataset, importer=IMPORTER)),
            ("IND, REO, verdict", lambda dataset: metrics.criticality(dataset, importer=IMPORTER)),
        ],
    ),
    "scorecard": (
        "CRMA-style scorecard",
        """extraction = min(1, domestic mine output / C) >= 10 %
processing = min(1, domestic separation output / C) >= 40 %
recycling = end-of-life recycling input rate >= 25 %
single country (each stage) = min(1, largest supplier's imports / apparent consumption) <= 65 %
C = apparent consumption of separated products (of concentrate where that is unknown).
Targets are read from parameters.csv (crma_*), else the Act's figures. A value the data cannot
give is n/a and its note says why; it never passes or fails.""",
        """How far the importer is from the benchmarks the EU set itself for 2030. The recycling value
is the EU end-of-life rate, used for want of the importer's own.""",
        "Regulation (EU) 2024/1252 (Critical Raw Materials Act), Art. 5, "
        "https://eur-lex.europa.eu/eli/reg/2024/1252/oj",
        [("IND, REO, latest year with data", lambda dataset: metrics.crma_scorecard(dataset, importer=IMPORTER))],
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
        [("IND, REO, separation, latest year with data", lambda dataset: metrics.leverage(dataset, importer=IMPORTER, stage="separation").head(12))],
    ),
}

RULES = """# The rules every metric follows

One definition of a stage's output, its trade and an importer's position
(`raremap.metrics.stages`) serves the metrics, the overview table, the maps, the Sankey and the
report, so they give the same shares. A value the data cannot give is null (JSON) or `n/a [k]`
(CLI, report) with the reason by name; it is never printed as 0, 100 % or NaN.

## 1. Which production series (the series rule)

For each stage and year the series is the first, in the order `main`, then the others
alphabetically, that has country rows for that stage and year. `--series NAME` (Python:
`series="NAME"`) puts NAME first at every stage; `--series mining=wmd,separation=lynas_fy`
forces a series per stage (a stage the forced series does not cover has no output, with the
reason). The series used is in every JSON stage (`series`) and method note.

## 2. Countries missing from the chosen series (gap filling)

A country with no row in the chosen series for a stage and year is taken from another series
(in the same order) only where the chosen series' world row leaves at least that much output
unattributed: the filled figure then names part of the world total instead of adding to it.
A series without a world row fills nothing.

## 3. One world total

World output of a stage = the chosen series' world row where it is at least the sum of the
countries listed (the rest is `unattributed`: output of producers not listed), else that sum.
Shares are of this total; the HHI leaves the unattributed rest out. For an element the world total
is the world row times the element's world share (below) where that exceeds the countries'
element figures. GeoPolRisk alone computes its HHI over the listed producers' sum, as its
published method does.

## 4. Reported beats estimated

An *estimated* country total whose implied content of an element (total x the element's share)
exceeds that country's *reported* figure for the element by more than 2 times is set aside: the
country's total at that stage is unknown (named with both sources), not replaced by a guess. Its
reported element figure stays.

## 5. Elements

A country's output of an element is its row for the element; else its row for a group holding
the element, split by the element's share; else its stage total times the element's share:
mining, its ore composition (country_deposits x ore_composition); separation, the composition of
its feed (its own ore less recorded concentrate exports, plus recorded concentrate imports at
their ores' compositions; the world's mine composition where it has no feed); metal, the
element's share of the rare earths in the reference NdFeB recipe ({recipe}); magnet, the element's
mass share of that recipe (t of the element in magnets). Trade is derived the same way from the
exporter's share; elements traded under their own rows (Ce compounds) are kept out of the mixed
rows. Derived figures say so in the method note.

## 6. Trade complete or not

A stage's trade rows for a year are taken as complete for an importer when every producer with
more than 5 % of world output (other than the importer) has export rows that year, or when the
importer has a row whose origin is not given (exporter `WLD`: the source gives the importer's
total and only part of the origins). Otherwise supplier shares, supplier HHI, apparent
consumption, N-1 coverage, single-country shares, GeoPolRisk and supply risk of that stage are
null with the producers that are missing; import reliance is still 1 where the importer's output
is known to be 0.

## 7. The importer's own output

A country with no output row at a stage counts 0 where the world total is fully attributed;
where it is not, 0 is used and the note says so. Exports above output plus imports make apparent
consumption negative: it, and what needs it, is null with the figures named.

## 8. Years and projections

A year the data hold is read from the tables; a year beyond them (2030, 2035), or any year with
`--scenario NAME`, from the scenario engine's projection (baseline by default) through one
adapter (`raremap.metrics.inputs.projection_frames`): tonnes per period become tonnes per calendar
year, REO output is the sum of the elements, calibration supply (output beyond the data) counts as
its country's output, and unserved demand is carried up the chain for the demand-based N-1. A year
neither covers is refused with the years that work.

## 9. Units

Every JSON object names its year; each stage names its unit (`t REO`, `t oxide`, `t metal`,
`t magnet`, or element content such as `t Dy in magnets`); `units` documents every key.
"""


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table, numbers to four significant figures, n/a for missing values."""
    frame = frame.drop(columns=[column for column in HIDDEN if column in frame.columns])

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if pd.isna(value) else f"{value:.4g}"
        return "n/a" if value is None else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def reasons_of(frame: pd.DataFrame) -> list[str]:
    """The distinct reasons of the frame's missing values."""
    found: list[str] = []
    for column in ("reasons", "reason", "note"):
        if column not in frame.columns:
            continue
        for value in frame[column]:
            items = value.values() if isinstance(value, dict) else [value]
            for item in items:
                if isinstance(item, str) and item and item not in found and column != "note":
                    found.append(item)
    return found


def example_block(title: str, frame: pd.DataFrame) -> str:
    notes = reasons_of(frame)
    method = frame["method"].dropna().iloc[0] if "method" in frame.columns and frame["method"].notna().any() else ""
    text = f"### {title}\n\n{markdown_table(frame)}\n"
    if notes:
        text += "\nn/a, and why:\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    if method:
        text += f"\nData: {method}\n"
    return text


def page(dataset: raremap.Dataset, name: str) -> str:
    title, formula, meaning, source, examples = PAGES[name]
    blocks = "\n".join(example_block(caption, example(dataset)) for caption, example in examples)
    return (
        f"# {title}\n\n## Formula\n\n```\n{formula}\n```\n\n## Meaning\n\n{meaning}\n\n## Source\n\n{source}\n\n"
        f"## Worked examples on the bundled data\n\n"
        f"Generated by `python docs/metrics/generate.py` (dataset {dataset.version[:12]}); rules in "
        f"[rules.md](rules.md).\n\n{blocks}"
    )


def series_table(dataset: raremap.Dataset) -> pd.DataFrame:
    """Which series each stage uses in each year, what was filled and what was set aside."""
    inputs = metric_inputs(dataset)
    rows: list[dict[str, Any]] = []
    for year in data_years(inputs):
        for stage in STAGES:
            series, _ = chosen_series(inputs, stage, year)
            if series is None:
                continue
            output = stage_output(inputs, stage, "REO", year)
            rows.append(
                {
                    "year": year,
                    "stage": stage,
                    "series": series,
                    "world_t": output.world_t,
                    "unattributed_t": output.unattributed_t,
                    "filled from other series": ", ".join(f"{c} ({s})" for c, s in output.filled) or "",
                    "set aside": ", ".join(country for country, _ in output.set_aside) or "",
                }
            )
    return pd.DataFrame(rows)


def trade_table(dataset: raremap.Dataset, year: int) -> pd.DataFrame:
    """Per stage: exporters recorded and producers above 5 % without export rows."""
    inputs = metric_inputs(dataset)
    rows = []
    for stage in STAGES:
        trade = stage_trade(inputs, stage, "REO", year)
        rows.append(
            {
                "stage": stage,
                "exporters recorded": len(trade.exporters()),
                "producers above 5 % with no export row": ", ".join(
                    f"{country} ({share:.0%})" for country, share in trade.missing_exporters.items()
                )
                or ("none" if trade.available else str(trade.reason)),
            }
        )
    return pd.DataFrame(rows)


def rules_page(dataset: raremap.Dataset) -> str:
    inputs = metric_inputs(dataset)
    year = metrics.default_year(inputs)
    order = ", ".join(series_order(inputs))
    return (
        RULES.format(recipe=raremap.metrics.inputs.REFERENCE_RECIPES["NdFeB"])
        + f"\n## On the bundled data (dataset {dataset.version[:12]})\n\nSeries order: {order}.\n\n"
        + "### Series, world totals, gap filling and set-asides by year\n\n"
        + markdown_table(series_table(dataset))
        + f"\n\n### Trade completeness in {year}\n\n"
        + markdown_table(trade_table(dataset, year))
        + "\n"
    )


def main() -> None:
    dataset = raremap.load()
    (HERE / "rules.md").write_text(rules_page(dataset), encoding="utf-8")
    for name in PAGES:
        (HERE / f"{name}.md").write_text(page(dataset, name), encoding="utf-8")
    today = metrics.summary(dataset, importer=IMPORTER)
    forward = metrics.summary(dataset, importer=IMPORTER, year=FORWARD_YEAR)

    def value(summary: dict[str, Any], key: str, digits: str) -> str:
        number = summary[key]
        return format(number, digits) if number is not None else f"n/a ({summary['reasons'].get(key, '')})"

    index = ["# Metrics", "", "One page per metric; `raremap metrics --json` gathers them.", ""]
    index += ["- [The rules: series, world totals, elements, trade, projections](rules.md)"]
    index += [f"- [{PAGES[name][0]}]({name}.md)" for name in PAGES]
    for summary in (today, forward):
        index += [
            "",
            f"{IMPORTER}, {summary['year']} ({summary['basis']}): GeoPolRisk {value(summary, 'geopolrisk', '.4g')}; "
            f"EU supply risk {value(summary, 'eu_supply_risk', '.3g')}; economic importance "
            f"{value(summary, 'eu_economic_importance', '.3g')}; verdict {summary['eu_verdict']}.",
        ]
    index.append("")
    (HERE / "index.md").write_text("\n".join(index), encoding="utf-8")


if __name__ == "__main__":
    main()
