"""A scorecard in the style of the EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5).

The Act sets 2030 benchmarks for the Union: domestic extraction of at least 10 %, processing of at
least 40 % and recycling of at least 25 % of annual consumption of each strategic raw material,
and no single third country supplying more than 65 % of consumption at any stage of processing.
Here the importer takes the Union's place. Its annual consumption is its apparent consumption of
separated products (the first stage the economy uses), or of concentrate where it has no
separation figures; shares are capped at 1 (output above consumption covers all of it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.criticality import end_of_life_rate
from raremap.metrics.inputs import STAGES, MetricInputs, resolve
from raremap.metrics.stages import UNATTRIBUTED, importer_position, tonnes

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


def reference_consumption(
    inputs: MetricInputs, importer: str, element: str, year: int
) -> tuple[float, str, str | None]:
    """Annual consumption the shares are measured against, the stage it is taken at, and why it is missing."""
    reasons = []
    for stage in REFERENCE_STAGES:
        position = importer_position(inputs, importer, stage, element, year)
        if position.consumption_t is not None:
            return position.consumption_t, stage, None
        reasons.append(f"{stage}: {position.reason('consumption')}")
    return float("nan"), "none", "no apparent consumption to measure against (" + "; ".join(reasons) + ")"


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
    basis = f"share of apparent consumption at {reference_stage} ({tonnes(consumption)})" if missing is None else ""
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
