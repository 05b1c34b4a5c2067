"""What every metric reads: tidy production and trade frames plus the tables that qualify them.

Metrics never read a Dataset directly. They read a `MetricInputs`, which can be built from the
bundled dataset (`inputs_from_dataset`) or from a simulation result whose `production` and `flows`
frames use `period` instead of `year` (`inputs_from_result`). That is what lets the same metric
describe the world as reported and the world after a shock or a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import pandas as pd

from raremap.data.dataset import Dataset, load
from raremap.data.reading import closest
from raremap.data.schema import vocabularies
from raremap.errors import RaremapError
from raremap.vocabulary import STAGES, WORLD

TOTAL = "REO"
STAGE_TOTAL_ELEMENTS = ("REO", "NdFeB", "SmCo")
ELEMENT_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "NdPr": ("Nd", "Pr"),
        "HREE": ("Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y"),
    }
)
PRODUCTION_COLUMNS = ["country", "stage", "element", "year", "value_t"]
TRADE_COLUMNS = ["exporter", "importer", "stage", "element", "year", "value_t"]
GOVERNANCE_INDICATOR = "political_stability"


class SimulationResult(Protocol):
    """Anything with the scenario engine's tidy `flows` and `production` frames."""

    @property
    def flows(self) -> pd.DataFrame: ...

    @property
    def production(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class MetricInputs:
    """The tidy frames a metric needs, with `year` as the time column everywhere.

    production: country, stage, element, year, value_t (may hold WLD rows for world totals).
    trade: exporter, importer, stage, element, year, value_t (no flows from a country to itself).
    governance: country, year, value (WGI political stability, about -2.5 to 2.5).
    blocs: bloc, country.
    element_shares: country, element, share of the country's mine output (REO).
    demand: country, sector, element, year, value_t (historical path only).
    """

    production: pd.DataFrame
    trade: pd.DataFrame
    governance: pd.DataFrame
    blocs: pd.DataFrame
    element_shares: pd.DataFrame
    demand: pd.DataFrame
    parameters: Mapping[str, float]
    countries: tuple[str, ...]
    origin: str


def _with_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename a simulation's `period` to `year` so both kinds of frame read the same way."""
    if "year" not in frame.columns and "period" in frame.columns:
        frame = frame.rename(columns={"period": "year"})
    return frame


def standard_production(frame: pd.DataFrame) -> pd.DataFrame:
    """Production rows with the five columns metrics use, typed, zero-or-more tonnes."""
    frame = _with_year(frame)
    missing = [column for column in PRODUCTION_COLUMNS if column not in frame.columns]
    if missing:
        raise RaremapError(
            f"production frame lacks columns {', '.join(missing)}; it needs {PRODUCTION_COLUMNS}"
        )
    result = frame[PRODUCTION_COLUMNS].copy()
    result["year"] = result["year"].astype("int64")
    result["value_t"] = result["value_t"].astype("float64")
    return result


def standard_trade(frame: pd.DataFrame) -> pd.DataFrame:
    """Trade rows with the six columns metrics use; a country's flow to itself is not trade."""
    frame = _with_year(frame)
    missing = [column for column in TRADE_COLUMNS if column not in frame.columns]
    if missing:
        raise RaremapError(f"trade frame lacks columns {', '.join(missing)}; it needs {TRADE_COLUMNS}")
    result = frame.loc[frame["exporter"] != frame["importer"], TRADE_COLUMNS].copy()
    result["year"] = result["year"].astype("int64")
    result["value_t"] = result["value_t"].astype("float64")
    return result.reset_index(drop=True)


def derive_element_shares(country_deposits: pd.DataFrame, ore_composition: pd.DataFrame) -> pd.DataFrame:
    """Each country's element shares of mine output: its deposit-type mix times each type's composition."""
    merged = country_deposits[["country", "deposit_type", "share"]].merge(
        ore_composition[["deposit_type", "element", "share"]],
        on="deposit_type",
        suffixes=("_deposit", "_element"),
    )
    merged["share"] = merged["share_deposit"] * merged["share_element"]
    return merged.groupby(["country", "element"])["share"].sum().reset_index()


def inputs_from_dataset(dataset: Dataset, series: str = "main") -> MetricInputs:
    """Metric inputs from a checked dataset, using one production series (`main` by default)."""
    production = dataset["production"]
    available_series = sorted(set(production["series"]))
    if series not in available_series:
        raise RaremapError(f"unknown production series {series!r}; series are {', '.join(available_series)}")
    governance = dataset["governance"]
    governance = governance.loc[governance["indicator"] == GOVERNANCE_INDICATOR, ["country", "year", "value"]]
    demand = dataset["demand"]
    demand = demand.loc[demand["path"] == "historical", ["country", "sector", "element", "year", "value_t"]]
    parameters = dataset["parameters"]
    return MetricInputs(
        production=standard_production(production[production["series"] == series]),
        trade=standard_trade(dataset["trade"]),
        governance=governance.reset_index(drop=True),
        blocs=dataset["blocs"][["bloc", "country"]],
        element_shares=derive_element_shares(dataset["country_deposits"], dataset["ore_composition"]),
        demand=demand.reset_index(drop=True),
        parameters=MappingProxyType(
            dict(zip(parameters["parameter"], parameters["value"].astype(float), strict=True))
        ),
        countries=tuple(sorted(dataset["countries"]["country"])),
        origin=f"dataset {dataset.version[:12]} ({dataset.origin}), production series {series}",
    )


def inputs_from_result(result: SimulationResult, dataset: Dataset | None = None) -> MetricInputs:
    """Metric inputs from a simulation result's flows and production; the rest from the dataset."""
    base = inputs_from_dataset(dataset if dataset is not None else load())
    return MetricInputs(
        production=standard_production(result.production),
        trade=standard_trade(result.flows),
        governance=base.governance,
        blocs=base.blocs,
        element_shares=base.element_shares,
        demand=base.demand,
        parameters=base.parameters,
        countries=base.countries,
        origin="simulation result (flows and production); governance, blocs and parameters from "
        + base.origin,
    )


def as_inputs(source: Any = None) -> MetricInputs:
    """Accept what a person has at hand: nothing (the bundled data), a Dataset, a result or inputs."""
    if source is None:
        return inputs_from_dataset(load())
    if isinstance(source, MetricInputs):
        return source
    if isinstance(source, Dataset):
        return inputs_from_dataset(source)
    if hasattr(source, "flows") and hasattr(source, "production"):
        return inputs_from_result(source)
    raise RaremapError(
        f"metrics take a Dataset, a simulation result (with .flows and .production) or MetricInputs, "
        f"not {type(source).__name__}"
    )


def valid_elements() -> tuple[str, ...]:
    """Elements and groups a metric can be asked about: the schema's element vocabulary."""
    return tuple(vocabularies()["element"])


def available_years(inputs: MetricInputs) -> tuple[int, ...]:
    """Years with any production or trade figure."""
    years = set(inputs.production["year"]) | set(inputs.trade["year"])
    return tuple(sorted(int(year) for year in years))


def default_year(inputs: MetricInputs) -> int:
    """The latest year with both country production and trade data, so no figure mixes years."""
    producing = inputs.production[inputs.production["country"] != WORLD]
    common = set(producing["year"]) & set(inputs.trade["year"])
    if not common:
        raise RaremapError("no year has both production and trade data; add rows to production or trade")
    return int(max(common))


def _unknown(kind: str, value: object, valid: tuple[str, ...] | list[str]) -> RaremapError:
    suggestion = closest(str(value), [str(item) for item in valid])
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    return RaremapError(
        f"unknown {kind} {value!r}{hint}; valid values are {', '.join(str(item) for item in valid)}"
    )


def check_arguments(inputs: MetricInputs, importer: str, year: int, stage: str | None, element: str) -> None:
    """Raise one RaremapError naming the bad argument and listing the values that would work."""
    if importer not in inputs.countries:
        raise _unknown("importer", importer, inputs.countries)
    if stage is not None and stage not in STAGES:
        raise _unknown("stage", stage, STAGES)
    if element not in valid_elements():
        raise _unknown("element", element, valid_elements())
    years = available_years(inputs)
    if year not in years:
        raise _unknown("year", year, [str(item) for item in years])


def resolve(
    source: Any, importer: str, year: int | None, stage: str | None, element: str
) -> tuple[MetricInputs, int, tuple[str, ...]]:
    """The inputs, the year (default: latest with production and trade) and the stages to report."""
    inputs = as_inputs(source)
    chosen_year = default_year(inputs) if year is None else int(year)
    check_arguments(inputs, importer, chosen_year, stage, element)
    return inputs, chosen_year, STAGES if stage is None else (stage,)


def _members(element: str) -> tuple[str, ...]:
    return ELEMENT_GROUPS.get(element, (element,))


def _element_rows(frame: pd.DataFrame, element: str) -> pd.DataFrame:
    """Rows of one element; for a group with no rows of its own, the rows of its members."""
    if element == TOTAL:
        return frame[frame["element"].isin(STAGE_TOTAL_ELEMENTS)]
    exact = frame[frame["element"] == element]
    if not exact.empty or element not in ELEMENT_GROUPS:
        return exact
    return frame[frame["element"].isin(ELEMENT_GROUPS[element])]


def mine_share(inputs: MetricInputs, element: str) -> pd.Series:
    """Share of each mining country's REO output that is `element` (a group sums its members)."""
    shares = inputs.element_shares[inputs.element_shares["element"].isin(_members(element))]
    return shares.groupby("country")["share"].sum()


def is_derived_at(stage: str, element: str) -> bool:
    """An element's mine output is not reported; it is derived from ore composition."""
    return stage == "mining" and element != TOTAL


def production_by_country(inputs: MetricInputs, stage: str, element: str, year: int) -> pd.Series:
    """Output (t) by producing country, world aggregate rows excluded."""
    rows = inputs.production[
        (inputs.production["stage"] == stage)
        & (inputs.production["year"] == year)
        & (inputs.production["country"] != WORLD)
    ]
    if is_derived_at(stage, element):
        totals = _element_rows(rows, TOTAL).groupby("country")["value_t"].sum()
        return (totals * mine_share(inputs, element)).dropna().rename("value_t")
    return _element_rows(rows, element).groupby("country")["value_t"].sum()


def world_production(inputs: MetricInputs, stage: str, element: str, year: int) -> float:
    """World output: the reported world row when it exceeds the country sum, else the country sum.

    The excess of a reported world total over the listed countries is output of unlisted producers.
    For derived element output at mining the world row has no composition, so the country sum is used.
    """
    country_sum = float(production_by_country(inputs, stage, element, year).sum())
    if is_derived_at(stage, element):
        return country_sum
    rows = inputs.production[
        (inputs.production["stage"] == stage)
        & (inputs.production["year"] == year)
        & (inputs.production["country"] == WORLD)
    ]
    return max(country_sum, float(_element_rows(rows, element)["value_t"].sum()))


def trade_flows(inputs: MetricInputs, stage: str, element: str, year: int) -> pd.DataFrame:
    """Flows (exporter, importer, value_t) of one stage, element and year.

    Totals add every row that is not a group (each HS heading is a separate product). Element flows
    at mining are the concentrate's REO times the exporter's mine share of the element.
    """
    rows = inputs.trade[(inputs.trade["stage"] == stage) & (inputs.trade["year"] == year)]
    if element == TOTAL:
        rows = rows[~rows["element"].isin(tuple(ELEMENT_GROUPS))]
    elif is_derived_at(stage, element):
        rows = rows[~rows["element"].isin(tuple(ELEMENT_GROUPS))]
        shares = mine_share(inputs, element)
        rows = rows.assign(value_t=rows["value_t"] * rows["exporter"].map(shares)).dropna(subset=["value_t"])
    else:
        rows = _element_rows(rows, element)
    return rows.groupby(["exporter", "importer"])["value_t"].sum().reset_index()


def has_production_data(inputs: MetricInputs, stage: str, element: str, year: int) -> bool:
    """Whether any country has an output figure for this stage, element and year (zero counts)."""
    return not production_by_country(inputs, stage, element, year).empty


def has_trade_data(inputs: MetricInputs, stage: str, element: str, year: int) -> bool:
    """Whether any flow of this stage, element and year is recorded, between any two countries."""
    return not trade_flows(inputs, stage, element, year).empty


def provenance(inputs: MetricInputs, stage: str, element: str) -> str:
    """One line saying where a stage's figures come from, for the `method` column and the CLI."""
    if is_derived_at(stage, element):
        how = f"{element} mine output = REO output x {element} share from country_deposits x ore_composition"
    elif element == TOTAL:
        how = "stage totals (REO, or NdFeB/SmCo magnets)"
    else:
        how = f"rows reported for {element}"
    return f"{inputs.origin}; {how}"


def per_stage(
    inputs: MetricInputs,
    importer: str,
    stages: Iterable[str],
    element: str,
    year: int,
    compute: Callable[[MetricInputs, str, str, str, int], Mapping[str, Any]],
) -> pd.DataFrame:
    """One row per stage: importer, stage, element, year, what `compute` returns, and the data used."""
    rows = [
        {
            "importer": importer,
            "stage": stage,
            "element": element,
            "year": year,
            **compute(inputs, importer, stage, element, year),
            "method": provenance(inputs, stage, element),
        }
        for stage in stages
    ]
    return pd.DataFrame(rows)
