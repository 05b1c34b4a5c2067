"""EU-style criticality: supply risk, economic importance and the verdict, for any importer.

European Commission (2017), Methodology for establishing the EU list of critical raw materials
(Guidelines, doi:10.2873/769526; background report Blengini et al. 2017, doi:10.2760/73303):

    SR = [HHI_WGI,global x IR/2 + HHI_WGI,sourcing x (1 - IR/2)] x (1 - EOL_RIR) x SI_SR
    HHI_WGI = sum_i s_i^2 x WGI_i    (s_i shares as fractions, WGI_i rescaled 0 = best .. 10 = worst)
    EI = sum_s A_s x Q_s x SI_EI     (A_s end-use share of sector s, Q_s its value added scaled 0..10)

A material is critical when SR >= 1 and EI >= 2.8. SR is assessed at extraction and at
processing and the higher value (the bottleneck) counts. Here the importer takes the EU's place.
Q_s comes from the `sector_value_added` table by default: the value added of the industry the
sector maps to, over that of the country's largest manufacturing industry, times 10.
Deviations, stated so the numbers are read rightly: only WGI political stability is used (the EC
averages all six WGI indicators); the export-restriction factor t is 1; substitution indices
default to 1 (no substitute) unless given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from raremap.errors import RaremapError
from raremap.metrics.concentration import shares
from raremap.metrics.geopolrisk import governance_risk, political_stability
from raremap.metrics.inputs import MetricInputs, resolve
from raremap.metrics.sourcing import reliance_of
from raremap.metrics.stages import UNATTRIBUTED, importer_position, stage_output

SUPPLY_RISK_THRESHOLD = 1.0
ECONOMIC_IMPORTANCE_THRESHOLD = 2.8
BOTTLENECK_STAGES = ("mining", "separation")
NEUTRAL_SCALED_WGI = 5.0
DEFAULT_END_OF_LIFE_RECYCLING_INPUT_RATE = 0.01
RISK_OPTIONS = ("end_of_life_recycling_input_rate", "substitution_index_supply_risk")
IMPORTANCE_OPTIONS = ("sector_value_added", "substitution_index_economic_importance")
END_OF_LIFE_PARAMETER = "eol_recycling_input_rate_ree"
SCALE = 10.0


def scaled_governance(political_stability_values: pd.Series) -> pd.Series:
    """WGI political stability rescaled to the EC's 0 (best) .. 10 (worst)."""
    return governance_risk(political_stability_values) * 10.0


def governance_weighted_hhi(supplies: pd.Series, scaled_wgi: pd.Series, total: float | None = None) -> float:
    """sum_i s_i^2 x WGI_i; shares of `total` (default: the supplies' sum); unscored suppliers count as 5.

    Passing a world total larger than the listed producers leaves the unlisted rest out, as many
    producers too small to matter.
    """
    supplies = supplies[supplies > 0].astype(float)
    denominator = float(supplies.sum()) if total is None else total
    if supplies.empty or denominator <= 0:
        return float("nan")
    weights = supplies.index.to_series().map(scaled_wgi).fillna(NEUTRAL_SCALED_WGI).to_numpy()
    return float((((supplies.to_numpy() / denominator) ** 2) * weights).sum())


def supply_risk_score(
    global_hhi_wgi: float,
    sourcing_hhi_wgi: float,
    reliance: float,
    end_of_life_recycling_input_rate: float,
    substitution_index: float,
) -> float:
    """The EC 2017 supply-risk formula; NaN when any part is missing."""
    risk = global_hhi_wgi * reliance / 2 + sourcing_hhi_wgi * (1 - reliance / 2)
    return float(risk * (1 - end_of_life_recycling_input_rate) * substitution_index)


def economic_importance_score(
    sector_shares: pd.Series, sector_value_added: Mapping[str, float], substitution_index: float
) -> float:
    """sum_s A_s x Q_s x SI_EI; sectors without a value-added figure count as 0."""
    if sector_shares.empty:
        return float("nan")
    value_added = sector_shares.index.to_series().map(dict(sector_value_added)).fillna(0.0)
    return float((sector_shares * value_added).sum() * substitution_index)


def criticality_verdict(supply_risk: float, economic_importance: float) -> str:
    """'critical' when both thresholds are met, 'not critical' when either is missed, else 'unknown'."""
    if not pd.isna(supply_risk) and not pd.isna(economic_importance):
        critical = supply_risk >= SUPPLY_RISK_THRESHOLD and economic_importance >= ECONOMIC_IMPORTANCE_THRESHOLD
        return "critical" if critical else "not critical"
    if not pd.isna(supply_risk) and supply_risk < SUPPLY_RISK_THRESHOLD:
        return "not critical"
    if not pd.isna(economic_importance) and economic_importance < ECONOMIC_IMPORTANCE_THRESHOLD:
        return "not critical"
    return "unknown"


def end_of_life_rate(inputs: MetricInputs, given: float | None) -> float:
    """The EOL-RIR: as given, else parameters.csv, else the EC's 'below 1 %' for rare earths."""
    if given is not None:
        return given
    return float(inputs.parameters.get(END_OF_LIFE_PARAMETER, DEFAULT_END_OF_LIFE_RECYCLING_INPUT_RATE))


def stage_supply_risk(
    inputs: MetricInputs,
    importer: str,
    stage: str,
    element: str,
    year: int,
    recycling_rate: float,
    substitution_index: float,
) -> dict[str, Any]:
    """Supply risk and its parts for one stage, with the reason for any part that is missing."""
    wgi = scaled_governance(political_stability(inputs.governance, year))
    output = stage_output(inputs, stage, element, year)
    position = importer_position(inputs, importer, stage, element, year)
    reasons: dict[str, str] = {}
    global_hhi = float("nan")
    if output.available and not output.by_country[output.by_country > 0].empty:
        global_hhi = governance_weighted_hhi(output.by_country, wgi, total=output.world_t)
    else:
        reasons["hhi_wgi_global"] = output.empty_reason()
    sourcing_hhi = float("nan")
    why = position.reason("supplier_shares", "production")
    if why is not None:
        reasons["hhi_wgi_sourcing"] = why
    else:
        supplies = position.imports.drop(UNATTRIBUTED, errors="ignore")
        if position.production_t:
            supplies = pd.concat([supplies, pd.Series({importer: position.production_t})])
        total = float(position.imports.sum()) + float(position.production_t or 0.0)
        sourcing_hhi = governance_weighted_hhi(supplies.groupby(level=0).sum(), wgi, total=total or None)
        if pd.isna(sourcing_hhi):
            reasons["hhi_wgi_sourcing"] = f"{importer} has no {stage} supply (output or imports) in {year}"
    reliance, reliance_reason, _ = reliance_of(position)
    if reliance_reason is not None:
        reasons["import_reliance"] = reliance_reason
    risk = supply_risk_score(global_hhi, sourcing_hhi, reliance, recycling_rate, substitution_index)
    if reasons:
        risk = float("nan")
        reasons["supply_risk"] = next(iter(reasons.values()))
    return {
        "unit": "EC 2017 score (critical from 1)",
        "hhi_wgi_global": global_hhi,
        "hhi_wgi_sourcing": sourcing_hhi,
        "import_reliance": reliance,
        "eol_rir": recycling_rate,
        "substitution_index_supply_risk": substitution_index,
        "supply_risk": risk,
        "reasons": reasons,
        "method": f"{inputs.origin}; {output.method()}",
    }


def supply_risk(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
    end_of_life_recycling_input_rate: float | None = None,
    substitution_index_supply_risk: float = 1.0,
) -> pd.DataFrame:
    """EU 2017 supply risk per stage for the importer.

    Columns: importer, stage, element, year, unit, hhi_wgi_global, hhi_wgi_sourcing, import_reliance,
    eol_rir, substitution_index_supply_risk, supply_risk, reasons, method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    recycling_rate = end_of_life_rate(inputs, end_of_life_recycling_input_rate)
    rows = [
        {
            "importer": importer,
            "stage": each_stage,
            "element": element,
            "year": year,
            **stage_supply_risk(
                inputs, importer, each_stage, element, year, recycling_rate, substitution_index_supply_risk
            ),
        }
        for each_stage in stages
    ]
    return pd.DataFrame(rows)


def sector_shares(inputs: MetricInputs, importer: str, element: str, year: int) -> tuple[pd.Series, str]:
    """End-use shares A_s: the importer's historical demand, else the world's, latest year up to `year`."""
    for country in (importer, "WLD"):
        rows = inputs.demand[(inputs.demand["country"] == country) & (inputs.demand["year"] <= year)]
        for_element = rows[rows["element"] == element]
        rows = for_element if not for_element.empty else rows
        if rows.empty:
            continue
        latest = rows[rows["year"] == rows["year"].max()]
        by_sector = latest.groupby("sector")["value_t"].sum()
        elements = ", ".join(sorted(set(latest["element"])))
        return shares(
            by_sector
        ), f"end-use shares: demand of {country} in {int(latest['year'].max())} ({elements}), historical path"
    return pd.Series(dtype=float), "no historical demand rows"


def value_added_from_table(inputs: MetricInputs, importer: str, year: int) -> tuple[dict[str, float], str | None, str]:
    """Q_s from the sector_value_added table: 10 x the industry's value added / the largest manufacturing industry's.

    Each sector's latest row up to `year` (its earliest if all are later); both values of a row come
    from one source and year, so the ratio needs no currency conversion. Returns the scaled values,
    the reason if there are none, and where they come from.
    """
    table = inputs.sector_value_added
    rows = table[table["country"] == importer]
    if rows.empty:
        return {}, (
            f"no sector value added for {importer} in the data: add rows to sector_value_added, or give "
            "sector_value_added (CLI: --sector-value-added ev=8,wind=6,...) scaled 0-10 as in the EC 2017 method"
        ), ""
    scaled: dict[str, float] = {}
    used = []
    for sector, sector_rows in rows.groupby("sector", sort=True):
        years = sorted(int(item) for item in set(sector_rows["year"]))
        chosen = max((item for item in years if item <= year), default=years[0])
        row = sector_rows[sector_rows["year"] == chosen].iloc[0]
        if float(row["reference_value_added"]) > 0:
            scaled[str(sector)] = SCALE * float(row["value_added"]) / float(row["reference_value_added"])
            used.append(f"{sector} {chosen} {row['quality']} ({row['source_id']})")
    return scaled, None, (
        f"sector value added of {importer}, each over its largest manufacturing industry x 10: {'; '.join(used)}"
    )


def economic_importance(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
    sector_value_added: Mapping[str, float] | None = None,
    substitution_index_economic_importance: float = 1.0,
) -> pd.DataFrame:
    """EU 2017 economic importance for the importer (one row per sector; `stage` is checked but not used).

    Q_s comes from the sector_value_added table unless `sector_value_added` (scaled 0-10 per
    sector) is given. Columns: importer, element, year, sector, end_use_share, value_added_scaled,
    contribution, economic_importance, reason, method. economic_importance repeats the total.
    """
    inputs, year, _ = resolve(source, importer, year, stage, element, scenario, series)
    end_use, origin = sector_shares(inputs, importer, element, year)
    reason: str | None
    if sector_value_added is None:
        value_added, reason, quality = value_added_from_table(inputs, importer, year)
    else:
        value_added, reason, quality = dict(sector_value_added), None, "sector value added as given"
    if reason is None and end_use.empty:
        reason = f"no end-use shares: {origin}"
    if reason is None:
        lacking = sorted(sector for sector in end_use[end_use > 0].index if sector not in value_added)
        if lacking:
            reason = (
                f"no value added for {importer}'s sector{'s' if len(lacking) > 1 else ''} {', '.join(lacking)} "
                f"({quality}): add rows to sector_value_added"
            )
    total = (
        economic_importance_score(end_use, value_added, substitution_index_economic_importance)
        if reason is None
        else float("nan")
    )
    frame = pd.DataFrame({"sector": end_use.index.astype(str), "end_use_share": end_use.to_numpy()})
    frame["value_added_scaled"] = frame["sector"].map(value_added).astype("float64")
    frame["contribution"] = (
        frame["end_use_share"] * frame["value_added_scaled"] * substitution_index_economic_importance
    )
    frame.insert(0, "year", year)
    frame.insert(0, "element", element)
    frame.insert(0, "importer", importer)
    frame["economic_importance"] = total
    frame["reason"] = reason
    frame["method"] = f"{origin}; {quality}" if quality else origin
    return frame


def criticality(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
    **options: Any,
) -> pd.DataFrame:
    """The verdict: supply risk at the bottleneck stage against 1, economic importance against 2.8.

    Columns: importer, element, year, bottleneck_stage, supply_risk, economic_importance,
    supply_risk_threshold, economic_importance_threshold, verdict, reasons. The bottleneck is the
    stage (mining or separation) with the higher supply risk among those computed; a stage not
    computed is named in `reasons`. Options are passed to `supply_risk` and `economic_importance`
    (EOL-RIR, substitution indices, sector value added).
    """
    unknown = sorted(set(options) - set(RISK_OPTIONS) - set(IMPORTANCE_OPTIONS))
    if unknown:
        raise RaremapError(
            f"unknown option {', '.join(unknown)}; options are {', '.join(RISK_OPTIONS + IMPORTANCE_OPTIONS)}"
        )
    risk_options = {key: value for key, value in options.items() if key in RISK_OPTIONS}
    importance_options = {key: value for key, value in options.items() if key in IMPORTANCE_OPTIONS}
    inputs, year, _ = resolve(source, importer, year, stage, element, scenario, series)
    stages = BOTTLENECK_STAGES if stage is None else (stage,)
    risks = pd.concat(
        [
            supply_risk(inputs, importer=importer, year=year, stage=each_stage, element=element, **risk_options)
            for each_stage in stages
        ],
        ignore_index=True,
    )
    importance = economic_importance(inputs, importer=importer, year=year, element=element, **importance_options)
    reasons: dict[str, str] = {}
    scored = risks.dropna(subset=["supply_risk"])
    missing = risks[risks["supply_risk"].isna()]
    for missing_stage, stage_reasons in zip(missing["stage"], missing["reasons"], strict=True):
        reasons[f"supply_risk_{missing_stage}"] = str(dict(stage_reasons).get("supply_risk", "not computed"))
    bottleneck = scored.sort_values("supply_risk", ascending=False).iloc[0] if not scored.empty else None
    risk_value = float(bottleneck["supply_risk"]) if bottleneck is not None else float("nan")
    if bottleneck is None:
        reasons["supply_risk"] = "; ".join(reasons.values()) or "not computed"
    importance_value = float(importance["economic_importance"].iloc[0]) if not importance.empty else float("nan")
    if pd.isna(importance_value):
        reasons["economic_importance"] = (
            str(importance["reason"].iloc[0]) if not importance.empty else "no end-use shares for the importer"
        )
    # With a stage not computed the higher risk is known only if a computed stage already reaches 1.
    complete = len(scored) == len(risks)
    known_risk = risk_value if complete or risk_value >= SUPPLY_RISK_THRESHOLD else float("nan")
    return pd.DataFrame(
        [
            {
                "importer": importer,
                "element": element,
                "year": year,
                "bottleneck_stage": str(bottleneck["stage"]) if bottleneck is not None else None,
                "supply_risk": risk_value,
                "economic_importance": importance_value,
                "supply_risk_threshold": SUPPLY_RISK_THRESHOLD,
                "economic_importance_threshold": ECONOMIC_IMPORTANCE_THRESHOLD,
                "verdict": criticality_verdict(known_risk, importance_value),
                "reasons": reasons,
            }
        ]
    )
