"""A scorecard in the style of the EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5).

The Act sets 2030 benchmarks for the Union: domestic extraction of at least 10 %, processing of at
least 40 % and recycling of at least 25 % of annual consumption of each strategic raw material,
and no single third country supplying more than 65 % of consumption at any stage of processing.
Here the importer takes the Union's place. Its annual consumption is the rare-earth content of what
its economy uses: apparent consumption of separated products (of concentrate where separation is
not known) plus the content of its net imports of metal and magnets (`reference_consumption`);
shares are capped at 1 (output above consumption covers all of it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.criticality import end_of_life_rate
from raremap.metrics.inputs import STAGES, TOTAL, MetricInputs, resolve
from raremap.metrics.stages import UNATTRIBUTED, importer_position, members, recipe_shares, tonnes

BENCHMARKS = {  # check: (parameter in parameters.csv, default from the Act, comparison)
    "extraction": ("crma_extraction_benchmark", 0.10, ">="),
    "processing": ("crma_processing_benchmark", 0.40, ">="),
    "recycling": ("crma_recycling_benchmark", 0.25, ">="),
    "single_country": ("crma_single_country_max", 0.65, "<="),
}
REFERENCE_STAGES = ("separation", "mining")


def benchmark(inputs: MetricInputs, check: str) -> tuple[float, str]:
    """The target of a check (parameters.csv first, the Act's figure otherwise) and its comparison."""
    parameter, default, comparison = BENCHMARKS[check]
    return float(inputs.parameters.get(parameter, default)), comparison


def passes(value: float, target: float, comparison: str) -> bool | None:
    """Whether a value meets its target; None when the value is unknown."""
    if pd.isna(value):
        return None
    return bool(value >= target) if comparison == ">=" else bool(value <= target)


def content_factor(inputs: MetricInputs, stage: str, element: str) -> float:
    """t REO of the element (REO: of all rare earths) per t of a stage's product as trade counts it.

    Mining and separation: 1 (their trade is in REO, or element content). Metal: t oxide per t metal
    (conversions.csv), for REO weighted by the reference NdFeB recipe's rare earths. Magnets: for
    REO the oxide equivalent of the rare earths in one tonne of the reference NdFeB recipe; for an
    element its trade is already t element in magnets, times t oxide per t metal.
    """
    if stage in ("mining", "separation"):
        return 1.0
    factors = inputs.oxide_factors
    if element == TOTAL:
        recipe = recipe_shares(inputs, "NdFeB")
        earths = recipe[recipe.index.isin(inputs.element_codes)]
        content = float(sum(float(share) * float(factors.get(str(earth), 1.0)) for earth, share in earths.items()))
        if stage == "magnet":
            return content
        return content / float(earths.sum()) if float(earths.sum()) > 0 else 1.0
    parts = list(members(element))
    weights = recipe_shares(inputs, "NdFeB").reindex(parts).fillna(0.0)
    if float(weights.sum()) <= 0:
        weights = pd.Series(1.0, index=parts)
    return float(sum(float(weights[part]) * float(factors.get(part, 1.0)) for part in parts) / float(weights.sum()))


def _first_stage_consumption(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> tuple[float | None, str]:
    """Apparent consumption at a stage (0 where output + imports - exports is 0), or None and why not."""
    position = importer_position(inputs, importer, stage, element, year)
    if position.consumption_t is not None:
        return position.consumption_t, ""
    known = position.production_t is not None and position.imports_complete and position.exports_t is not None
    if known and "imports" not in position.reasons:
        value = float(position.production_t or 0.0) + position.recorded_imports_t - float(position.exports_t or 0.0)
        if abs(value) <= 1e-6:
            return 0.0, ""
    return None, str(position.reason("consumption"))


def _net_imports(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> tuple[float | None, str]:
    """Recorded imports less exports of a stage's product (t as traded), or None and why not."""
    position = importer_position(inputs, importer, stage, element, year)
    why = position.reason("imports", "supplier_shares", "exports")
    if why is not None:
        return None, why
    return position.recorded_imports_t - float(position.exports_t or 0.0), ""


def reference_consumption(
    inputs: MetricInputs, importer: str, element: str, year: int
) -> tuple[float, str, str | None]:
    """Annual consumption the shares are measured against (t REO), how it was made, and why it is missing.

    The rare-earth content of what the importer's economy uses: its apparent consumption at the first
    stage (separation, else mining where separation is not known) plus the content of its net imports
    of every later stage's product (metal, magnets), so an importer of magnets is measured against
    the rare earths in them and not only against the oxide it buys.
    """
    reasons = []
    for first in REFERENCE_STAGES:
        consumption, why = _first_stage_consumption(inputs, importer, first, element, year)
        if consumption is None:
            reasons.append(f"{first}: {why}")
            continue
        parts = [f"{first} apparent consumption {tonnes(consumption)}"]
        total = consumption
        missing = None
        for later in STAGES[STAGES.index(first) + 1 :]:
            net, why = _net_imports(inputs, importer, later, element, year)
            if net is None:
                missing = f"{later}: {why}"
                break
            content = net * content_factor(inputs, later, element)
            total += content
            if abs(net) > 1e-9:
                parts.append(f"{later} net imports {tonnes(net)} ({tonnes(content)} REO)")
        if missing is not None:
            reasons.append(missing)
            break
        if total <= 1e-9:
            return float("nan"), "none", f"{importer} has no rare-earth consumption in {year} ({'; '.join(parts)})"
        return total, f"{' + '.join(parts)} = {tonnes(total)} REO", None
    return float("nan"), "none", "no rare-earth consumption to measure against (" + "; ".join(reasons) + ")"


def capped_share(numerator: float, denominator: float) -> float:
    """numerator / denominator capped to [0, 1]; NaN when the denominator is not positive."""
    if pd.isna(denominator) or denominator <= 0 or pd.isna(numerator):
        return float("nan")
    return float(min(1.0, max(0.0, numerator / denominator)))


def _check(inputs: MetricInputs, check: str, stage: str, value: float, note: str) -> dict[str, Any]:
    target, comparison = benchmark(inputs, check)
    name = f"{check}_{stage}" if check == "single_country" else check
    return {
        "check": name,
        "stage": stage,
        "value": value,
        "target": target,
        "comparison": comparison,
        "pass": passes(value, target, comparison),
        "note": note,
    }


def crma_scorecard(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
    recycling_input_rate: float | None = None,
) -> pd.DataFrame:
    """The four CRMA benchmarks for the importer; the single-country check once per stage.

    Columns: importer, element, year, check, stage, value, target, comparison, pass, note (how the
    value was made, or why it is missing). `recycling_input_rate` defaults to the end-of-life
    recycling input rate in parameters.csv (an EU figure, used for want of the importer's own).
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    consumption, reference_stage, missing = reference_consumption(inputs, importer, element, year)
    basis = f"share of rare-earth consumption ({reference_stage})" if missing is None else ""
    rows = []
    for check, production_stage in (("extraction", "mining"), ("processing", "separation")):
        position = importer_position(inputs, importer, production_stage, element, year)
        output = position.production_t
        if output is None:
            value, note = float("nan"), str(position.reason("production"))
        elif missing is not None:
            value, note = float("nan"), missing
        else:
            value = capped_share(output, consumption)
            note = f"{production_stage} output {tonnes(output)}, {basis}" + (
                f"; {position.notes[0]}" if position.notes else ""
            )
        rows.append(_check(inputs, check, production_stage, value, note))
    recycling = end_of_life_rate(inputs, recycling_input_rate)
    rows.append(
        _check(
            inputs,
            "recycling",
            "recycling",
            recycling,
            "given"
            if recycling_input_rate is not None
            else "end-of-life recycling input rate, parameters.csv",
        )
    )
    for each_stage in stages if stage is not None else STAGES:
        position = importer_position(inputs, importer, each_stage, element, year)
        why = position.reason("supplier_shares", "consumption")
        if why is not None:
            rows.append(_check(inputs, "single_country", each_stage, float("nan"), why))
            continue
        assert position.consumption_t is not None
        named = position.imports.drop(UNATTRIBUTED, errors="ignore")
        largest = float(named.iloc[0]) if not named.empty else 0.0
        supplier = str(named.index[0]) if not named.empty else "none"
        rows.append(
            _check(
                inputs,
                "single_country",
                each_stage,
                capped_share(largest, position.consumption_t),
                f"largest supplier {supplier}: {tonnes(largest)} of {tonnes(position.consumption_t)} consumed",
            )
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "year", year)
    frame.insert(0, "element", element)
    frame.insert(0, "importer", importer)
    return frame
