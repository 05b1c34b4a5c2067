"""What every metric reads: tidy production and trade frames plus the tables that qualify them.

Metrics never read a Dataset directly. They read a `MetricInputs`, built from the dataset's tables
(`inputs_from_dataset`, the world as reported) or from a scenario's projection
(`inputs_from_result`, through the one adapter `projection_frames`). That is what lets the same
metric describe the world as reported, in 2030 on the baseline, or after a shock or a plan.
`metric_inputs` picks between them from the year and scenario asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol, cast

import pandas as pd

from raremap.data.dataset import Dataset, load
from raremap.data.reading import closest
from raremap.data.schema import vocabularies
from raremap.errors import NotCoveredError, RaremapError
from raremap.vocabulary import STAGES, WORLD

TOTAL = "REO"
MAGNET_PRODUCTS = ("NdFeB", "SmCo")
STAGE_TOTAL_ELEMENTS = (TOTAL, *MAGNET_PRODUCTS)
ELEMENT_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "NdPr": ("Nd", "Pr"),
        "HREE": ("Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y"),
    }
)
REFERENCE_RECIPES: Mapping[str, str] = MappingProxyType({"NdFeB": "NdFeB sintered generic", "SmCo": "Sm2Co17"})
"""The recipe that turns magnet tonnes into element content, per magnet product (recipes.csv)."""
MAIN_SERIES = "main"
PROJECTION_SERIES = "projection"
UNKNOWN_ORIGIN = WORLD
"""An exporter code meaning 'origin not given by the source' in trade rows."""
UNNAMED_PARTNERS = ("ROW",)
"""Exporter codes the data use for partners the source does not name (vocabulary partner_aggregate):
read as UNKNOWN_ORIGIN, never as a country."""
DEFAULT_SCENARIO = "baseline"
DEFAULT_DEMAND_PATH = "stated-policies"
PRODUCTION_COLUMNS = ["country", "stage", "element", "year", "value_t", "series", "quality", "source_id"]
TRADE_COLUMNS = ["exporter", "importer", "stage", "element", "year", "value_t"]
UNMET_COLUMNS = ["country", "stage", "element", "year", "value_t"]
GOVERNANCE_INDICATOR = "political_stability"
DEMAND_UNIT = "t REO"
MAGNET_UNIT = "t magnet"
SECTOR_VALUE_ADDED_COLUMNS = [
    "country",
    "sector",
    "year",
    "industry",
    "value_added",
    "reference_industry",
    "reference_value_added",
    "currency",
    "source_id",
    "quality",
]


class SimulationResult(Protocol):
    """Anything with the scenario engine's tidy `flows` and `production` frames."""

    @property
    def flows(self) -> pd.DataFrame: ...

    @property
    def production(self) -> pd.DataFrame: ...


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})


@dataclass(frozen=True)
class MetricInputs:
    """The tidy frames a metric needs, with `year` as the time column everywhere.

    production: country, stage, element, year, value_t, series, quality, source_id (WLD rows are
        world totals; every series is kept, the series rule picks one per stage and year).
    trade: exporter, importer, stage, element, year, value_t (no flows from a country to itself;
        exporter WLD = origin not given by the source).
    governance: country, year, value (WGI political stability, about -2.5 to 2.5).
    blocs: bloc, country.
    element_shares: country, element, share of the country's mine output (REO).
    demand: country, sector, element, year, value_t, unit (the historical path, or a projection's
        demand; unit t REO, or t magnet where element names a magnet product; t REO if absent).
    magnet_shares: product (NdFeB, SmCo), element, share of magnet mass (reference recipes).
    sector_value_added: country, sector, year, industry, value_added, reference_industry,
        reference_value_added, currency, source_id, quality.
    unmet: country, stage, element, year, value_t: demand a projection leaves unserved (projections only).
    surplus: country, stage, element, year, value_t: output a projection finds no buyer for (projections only).
    calibration: country, stage, element, year, value_t: supply beyond the data a projection adds
        (included in production; projections only).
    oxide_factors: element -> t oxide per t metal (conversions.csv); 1 where absent.
    series_order / series_by_stage: the preference the series rule follows (--series).
    basis: "data" (the tables as reported) or "projection" (a scenario's result).
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
    magnet_shares: pd.DataFrame = field(default_factory=lambda: _empty(["product", "element", "share"]))
    sector_value_added: pd.DataFrame = field(default_factory=lambda: _empty(SECTOR_VALUE_ADDED_COLUMNS))
    unmet: pd.DataFrame = field(default_factory=lambda: _empty(UNMET_COLUMNS))
    surplus: pd.DataFrame = field(default_factory=lambda: _empty(UNMET_COLUMNS))
    calibration: pd.DataFrame = field(default_factory=lambda: _empty(UNMET_COLUMNS))
    oxide_factors: Mapping[str, float] = field(default_factory=dict)
    series_order: tuple[str, ...] = (MAIN_SERIES,)
    series_by_stage: Mapping[str, str] = field(default_factory=dict)
    basis: str = "data"
    scenario: str | None = None
    projected_years: tuple[int, ...] = ()
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def element_codes(self) -> tuple[str, ...]:
        """The single rare-earth elements (no totals, groups or magnet products)."""
        return tuple(
            element
            for element in valid_elements()
            if element not in STAGE_TOTAL_ELEMENTS and element not in ELEMENT_GROUPS
        )

    def describe_basis(self) -> str:
        if self.basis == "projection":
            return f"projection of scenario {self.scenario}"
        return "data as reported"


def series_order(inputs: MetricInputs) -> tuple[str, ...]:
    """Every production series in the order the series rule tries them."""
    present = sorted(set(inputs.production["series"]))
    preferred = [series for series in inputs.series_order if series in present]
    return (*preferred, *(series for series in present if series not in preferred))


def _with_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename a simulation's `period` to `year` so both kinds of frame read the same way."""
    if "year" not in frame.columns and "period" in frame.columns:
        frame = frame.rename(columns={"period": "year"})
    return frame


def standard_production(frame: pd.DataFrame, series: str = MAIN_SERIES, quality: str = "reported") -> pd.DataFrame:
    """Production rows with the columns metrics use, typed; series, quality and source filled if absent."""
    frame = _with_year(frame).copy()
    missing = [column for column in ["country", "stage", "element", "year", "value_t"] if column not in frame.columns]
    if missing:
        raise RaremapError(
            f"production frame lacks columns {', '.join(missing)}; it needs {PRODUCTION_COLUMNS[:5]}"
        )
    defaults = {"series": series, "quality": quality, "source_id": ""}
    for column, default in defaults.items():
        if column not in frame.columns:
            frame[column] = default
    result = frame[PRODUCTION_COLUMNS].copy()
    result["year"] = result["year"].astype("int64")
    result["value_t"] = result["value_t"].astype("float64")
    return result.reset_index(drop=True)


def standard_trade(frame: pd.DataFrame) -> pd.DataFrame:
    """Trade rows with the six columns metrics use; a country's flow to itself is not trade.

    Exporter ROW (partners the source does not name) becomes UNKNOWN_ORIGIN.
    """
    frame = _with_year(frame)
    missing = [column for column in TRADE_COLUMNS if column not in frame.columns]
    if missing:
        raise RaremapError(f"trade frame lacks columns {', '.join(missing)}; it needs {TRADE_COLUMNS}")
    result = frame.loc[frame["exporter"] != frame["importer"], TRADE_COLUMNS].copy()
    result["exporter"] = result["exporter"].where(~result["exporter"].isin(UNNAMED_PARTNERS), UNKNOWN_ORIGIN)
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


def reference_magnet_shares(recipes: pd.DataFrame) -> pd.DataFrame:
    """Element mass shares of each magnet product's reference recipe: product, element, share."""
    frames = []
    for product, recipe in REFERENCE_RECIPES.items():
        rows = recipes[recipes["magnet_type"] == recipe]
        frames.append(pd.DataFrame({"product": product, "element": rows["element"], "share": rows["share"]}))
    return pd.concat(frames, ignore_index=True).astype({"share": "float64"})


def _table(dataset: Dataset, name: str, columns: list[str]) -> pd.DataFrame:
    return dataset[name] if name in dataset.tables else _empty(columns)


def inputs_from_dataset(dataset: Dataset, series: str | None = None) -> MetricInputs:
    """Metric inputs from a checked dataset; `series` overrides the series rule (see `parse_series`)."""
    production = dataset["production"]
    governance = dataset["governance"]
    governance = governance.loc[governance["indicator"] == GOVERNANCE_INDICATOR, ["country", "year", "value"]]
    demand = dataset["demand"]
    if "unit" not in demand.columns:
        demand = demand.assign(unit=DEMAND_UNIT)
    demand = demand.loc[demand["path"] == "historical", ["country", "sector", "element", "year", "value_t", "unit"]]
    parameters = dataset["parameters"]
    value_added = _table(dataset, "sector_value_added", SECTOR_VALUE_ADDED_COLUMNS)
    inputs = MetricInputs(
        production=standard_production(production),
        trade=standard_trade(dataset["trade"]),
        governance=governance.reset_index(drop=True),
        blocs=dataset["blocs"][["bloc", "country"]],
        element_shares=derive_element_shares(dataset["country_deposits"], dataset["ore_composition"]),
        demand=demand.reset_index(drop=True),
        parameters=MappingProxyType(
            dict(zip(parameters["parameter"], parameters["value"].astype(float), strict=True))
        ),
        countries=tuple(sorted(dataset["countries"]["country"])),
        origin=f"dataset {dataset.version[:12]} ({dataset.origin})",
        magnet_shares=reference_magnet_shares(dataset["recipes"]),
        sector_value_added=value_added[SECTOR_VALUE_ADDED_COLUMNS].reset_index(drop=True),
        oxide_factors=MappingProxyType(oxide_factors(dataset)),
    )
    return with_series(inputs, series) if series else inputs


def oxide_factors(dataset: Dataset) -> dict[str, float]:
    """t oxide per t metal by element (conversions.csv, metal -> oxide)."""
    conversions = dataset["conversions"]
    rows = conversions[(conversions["from_form"] == "metal") & (conversions["to_form"] == "oxide")]
    return {str(element): float(factor) for element, factor in zip(rows["element"], rows["factor"], strict=True)}


def parse_series(text: str, known: Iterable[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """'wmd' -> prefer wmd at every stage; 'mining=wmd,separation=lynas_fy' -> force per stage.

    Raises a RaremapError naming the unknown series or stage and listing the valid ones.
    """
    available = sorted(set(known))
    order: list[str] = []
    by_stage: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        stage, equals, name = part.partition("=")
        if not equals:
            name, stage = stage, ""
        name, stage = name.strip(), stage.strip()
        if stage and stage not in STAGES:
            raise _unknown("stage in --series", stage, STAGES, "write --series stage=SERIES, e.g. mining=wmd")
        if name not in available:
            raise _unknown(
                "production series", name, available, "pick a series from production.csv, e.g. --series main"
            )
        if stage:
            by_stage[stage] = name
        else:
            order.append(name)
    return tuple(order), by_stage


def with_series(inputs: MetricInputs, series: str) -> MetricInputs:
    """The inputs with the series rule overridden by a --series text."""
    if inputs.basis == "projection":
        raise RaremapError(
            "--series chooses among the data's production series; a projection has one (the scenario's): "
            "leave --series out, or ask for a year with data"
        )
    order, by_stage = parse_series(series, set(inputs.production["series"]))
    return replace(
        inputs,
        series_order=(*order, *(name for name in inputs.series_order if name not in order)),
        series_by_stage={**inputs.series_by_stage, **by_stage},
        cache={},
    )


# --------------------------------------------------------------------------- projections


@dataclass(frozen=True)
class ProjectionFrames:
    """A projection in the metrics' terms: annual production, trade and unmet demand by calendar year."""

    production: pd.DataFrame  # PRODUCTION_COLUMNS, series 'projection', with REO totals
    trade: pd.DataFrame  # TRADE_COLUMNS, element rows (a stage's total is the sum of its rows)
    unmet: pd.DataFrame  # UNMET_COLUMNS, per stage, in each stage's unit, with REO totals
    surplus: pd.DataFrame  # UNMET_COLUMNS: output without a buyer, with REO totals (empty if not reported)
    years: tuple[int, ...]  # calendar years the periods cover entirely
    calibration: pd.DataFrame  # UNMET_COLUMNS: calibration supply included in production (products at magnet)
    demand: pd.DataFrame  # country, sector, element, year, value_t, unit: the projection's demand (end-use shares)


def _year_fraction(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    stamp = pd.Timestamp(str(value))
    start = pd.Timestamp(year=stamp.year, month=1, day=1)
    length = (pd.Timestamp(year=stamp.year + 1, month=1, day=1) - start).days
    return stamp.year + (stamp - start).days / length


def _periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's period as a start (fractional year) and a length in years."""
    if "period_start" in frame.columns and "period_years" in frame.columns:
        start = frame["period_start"].map(_year_fraction)
        length = frame["period_years"].astype(float)
    else:
        labels = frame["period"].astype(str)
        if not labels.str.fullmatch(r"\d{4}").all():
            raise RaremapError(
                "a result with periods other than years needs period_start and period_years columns "
                f"(periods {', '.join(sorted(set(labels))[:4])})"
            )
        start = labels.astype(int).astype(float)
        length = pd.Series(1.0, index=frame.index)
    return pd.DataFrame({"start": start, "length": length}, index=frame.index)


def annual(frame: pd.DataFrame, keys: list[str], value: str = "value_t") -> tuple[pd.DataFrame, set[int]]:
    """Per-period tonnes as calendar-year tonnes: a period's tonnes spread evenly over its length.

    Returns the frame with `year` instead of `period` and the years its periods cover entirely.
    """
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "year", value]), set()
    periods = _periods(frame)
    parts = []
    coverage: dict[int, float] = {}
    seen: set[tuple[float, float]] = set()
    for key, rows in frame.groupby([periods["start"], periods["length"]], sort=True):
        start, length = (float(part) for part in cast(tuple[float, float], key))
        for year in range(math.floor(start), math.ceil(start + length - 1e-9)):
            overlap = min(year + 1.0, start + length) - max(float(year), start)
            if overlap <= 1e-9:
                continue
            if (start, length) not in seen:
                coverage[year] = coverage.get(year, 0.0) + overlap
            parts.append(rows[keys].assign(year=year, **{value: rows[value].astype(float) * overlap / length}))
        seen.add((start, length))
    combined = pd.concat(parts, ignore_index=True)
    grouped = combined.groupby([*keys, "year"])[value].sum().reset_index()
    return grouped, {year for year, covered in coverage.items() if covered >= 1.0 - 1e-6}


def _with_totals(frame: pd.DataFrame, keys: list[str], elements: Iterable[str]) -> pd.DataFrame:
    """Add REO rows (sum of the single elements) per key at the stages whose total is REO."""
    single = frame[frame["element"].isin(list(elements)) & (frame["stage"] != "magnet")]
    totals = single.groupby(keys)["value_t"].sum().reset_index().assign(element=TOTAL)
    return pd.concat([frame[frame["element"] != TOTAL], totals[frame.columns]], ignore_index=True)


def _table_of(result: Any, name: str) -> pd.DataFrame | None:
    tables = getattr(result, "tables", None)
    if isinstance(tables, Mapping) and name in tables:
        return pd.DataFrame(tables[name])
    try:
        value = getattr(result, name)
    except AttributeError:
        return None
    return value if isinstance(value, pd.DataFrame) else None


def magnet_products(dataset: Dataset) -> dict[str, str]:
    """Magnet type (a recipe, e.g. 'NdFeB GBD EV-grade (Dy+Tb)') -> magnet product (NdFeB or SmCo).

    magnet_grades names the product of each grade it lists; other recipes are classed by their
    elements (Sm and Co: SmCo; Nd and Fe: NdFeB). The products map to themselves.
    """
    mapping = {product: product for product in MAGNET_PRODUCTS}
    if "magnet_grades" in dataset.tables:
        grades = dataset["magnet_grades"]
        mapping.update(zip(grades["magnet_type"].astype(str), grades["product"].astype(str), strict=True))
    for magnet_type, rows in dataset["recipes"].groupby("magnet_type"):
        elements = set(rows["element"])
        product = "SmCo" if {"Sm", "Co"} <= elements else "NdFeB" if {"Nd", "Fe"} <= elements else None
        if product is not None:
            mapping.setdefault(str(magnet_type), product)
    return mapping


def _recipe_table(dataset: Dataset, earths: Iterable[str]) -> dict[str, dict[str, float]]:
    """Rare-earth mass shares of every recipe: magnet type -> element -> t per t magnet."""
    recipes = dataset["recipes"]
    recipes = recipes[recipes["element"].isin(list(earths))]
    table: dict[str, dict[str, float]] = {}
    for magnet_type, element, share in zip(recipes["magnet_type"], recipes["element"], recipes["share"], strict=True):
        table.setdefault(str(magnet_type), {})[str(element)] = float(share)
    for product, recipe in REFERENCE_RECIPES.items():  # a product named as such: its reference recipe
        table.setdefault(product, table.get(recipe, {}))
    return table


def _as_products(
    frame: pd.DataFrame, keys: list[str], products: Mapping[str, str], recipes: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """Magnet-stage rows by magnet type as rows by product (t magnet) plus rows of their rare-earth
    content by each type's own recipe (t element in magnets); other stages unchanged."""
    magnets = frame[frame["stage"] == "magnet"]
    if magnets.empty:
        return frame
    unknown = sorted(set(magnets["element"]) - set(products))
    if unknown:
        raise RaremapError(
            f"the result's magnet types {', '.join(unknown)} have no product: add them to magnet_grades or recipes"
        )
    by_product = magnets.assign(element=magnets["element"].map(products))
    content = [
        magnets.assign(element=earth, value_t=magnets["value_t"] * magnets["element"].map(
            lambda magnet_type, earth=earth: recipes.get(str(magnet_type), {}).get(earth, 0.0)
        ))
        for earth in sorted({earth for recipe in recipes.values() for earth in recipe})
    ]
    combined = pd.concat([frame[frame["stage"] != "magnet"], by_product, *content], ignore_index=True)
    combined = combined[combined["value_t"] != 0]
    return combined.groupby([*keys, "year"], sort=False)["value_t"].sum().reset_index()


def projection_frames(result: SimulationResult, dataset: Dataset) -> ProjectionFrames:
    """THE adapter from the scenario engine's result tables (results.csv) to the metrics' frames.

    Reads `production` (country, stage, element, period, value_t: element content, t REO at mining
    and separation and t metal at metal; magnet types in t magnet at magnet), `flows` (stage,
    exporter, importer, element, period, value_t, the same goods), `calibration` (country,
    element, period, value_t: supply beyond the data, an oxide at separation or a magnet type),
    `shortfall` (country, sector, period, unit, tonnes: t magnet for magnet sectors, t REO for oxide
    applications), `shortfall_content` (country, element, period, tonnes: t REO) and `surplus`
    (country, element, period, value_t: separated oxide nobody bought). Periods are labels with
    `period_start` and `period_years` (or plain years): tonnes per period become tonnes per
    calendar year. Magnet types are summed to their product (NdFeB, SmCo) and also given as their
    rare-earth content by their own recipes; REO output is the sum of the elements (trade totals
    are sums of rows, as for the data); calibration supply is output of its country, and so is the
    oxide its end-of-life recycling recovers (`recycling`: country, element, period, reo_t). Unserved
    demand per stage: its rare-earth content at mining and separation (shortfall_content); the
    metal in unserved magnets at metal and the magnets themselves at magnet (shortfall x the
    sector's magnet types); surplus oxide is output without a buyer at separation and mining.
    Change only this function when the result tables change.
    """
    elements = [element for element in valid_elements() if element not in STAGE_TOTAL_ELEMENTS]
    elements = [element for element in elements if element not in ELEMENT_GROUPS]
    products = magnet_products(dataset)
    recipes = _recipe_table(dataset, elements)
    production, covered = annual(pd.DataFrame(result.production), ["country", "stage", "element"])
    production = _as_products(production, ["country", "stage", "element"], products, recipes)
    flows, _ = annual(pd.DataFrame(result.flows), ["stage", "exporter", "importer", "element"])
    flows = _as_products(flows, ["stage", "exporter", "importer", "element"], products, recipes)
    calibration = _empty(UNMET_COLUMNS)
    calibration_table = _table_of(result, "calibration")
    if calibration_table is not None and not calibration_table.empty:
        supply, _ = annual(calibration_table, ["country", "element"])
        supply["stage"] = supply["element"].map(lambda element: "magnet" if element in products else "separation")
        supply = _as_products(supply[UNMET_COLUMNS], ["country", "stage", "element"], products, recipes)
        calibration = supply[UNMET_COLUMNS]
        production = pd.concat([production, calibration[production.columns]], ignore_index=True)
        production = production.groupby(["country", "stage", "element", "year"])["value_t"].sum().reset_index()
    recycling_table = _table_of(result, "recycling")
    if recycling_table is not None and not recycling_table.empty:
        oxide = recycling_table.drop(columns="value_t").rename(columns={"reo_t": "value_t"})
        recycled, _ = annual(oxide, ["country", "element"])
        production = pd.concat([production, recycled.assign(stage="separation")[production.columns]], ignore_index=True)
        production = production.groupby(["country", "stage", "element", "year"])["value_t"].sum().reset_index()
    production = _with_totals(production, ["country", "stage", "year"], elements)
    # Trade keeps its element rows only: a stage's trade total is the sum of its rows, as in the data.
    unmet = _unmet(result, dataset, elements, products, recipes)
    surplus = _empty(UNMET_COLUMNS)
    surplus_table = _table_of(result, "surplus")
    if surplus_table is not None and not surplus_table.empty:
        keys = ["country", "stage", "element"] if "stage" in surplus_table.columns else ["country", "element"]
        oxide, _ = annual(surplus_table, keys)
        if "stage" not in oxide.columns:  # separated oxide: output without a buyer at separation and mining
            oxide = pd.concat([oxide.assign(stage="separation"), oxide.assign(stage="mining")], ignore_index=True)
        surplus = _with_totals(oxide[UNMET_COLUMNS], ["country", "stage", "year"], elements)
    return ProjectionFrames(
        standard_production(production, series=PROJECTION_SERIES, quality="projected"),
        standard_trade(flows),
        unmet,
        surplus,
        tuple(sorted(covered)),
        calibration,
        _demand(result),
    )


def _demand(result: Any) -> pd.DataFrame:
    """The projection's demand per country x sector and year (t magnet as NdFeB, t REO as REO), with
    world rows (WLD) as the sum over buyers, from the shortfall table's demand_t."""
    columns = ["country", "sector", "element", "year", "value_t", "unit"]
    shortfall = _table_of(result, "shortfall")
    if shortfall is None or shortfall.empty or not {"demand_t", "unit"} <= set(shortfall.columns):
        return _empty(columns)
    yearly, _ = annual(shortfall, ["country", "sector", "unit"], value="demand_t")
    yearly = yearly.rename(columns={"demand_t": "value_t"})
    yearly["element"] = yearly["unit"].map(lambda unit: "NdFeB" if unit == MAGNET_UNIT else TOTAL)
    world = yearly.groupby(["sector", "element", "year", "unit"], as_index=False)["value_t"].sum().assign(country=WORLD)
    return pd.concat([yearly[columns], world[columns]], ignore_index=True)


def _magnet_mix(dataset: Dataset, country: str, sector: str, year: int, path: str) -> dict[str, float]:
    """The magnet types one country x sector buys, as shares of its t magnet.

    Products: the sector's magnet demand rows (the scenario's path, else any path, the year nearest
    `year`), the country's, else the world's; all NdFeB without rows. Grades within a product:
    magnet_grades, the country's, else the world's; else the product's reference recipe.
    """
    demand = dataset["demand"]
    demand = demand[(demand["sector"] == sector) & demand["element"].isin(MAGNET_PRODUCTS)]
    if "unit" in demand.columns:
        demand = demand[demand["unit"] == MAGNET_UNIT]
    split = pd.Series({"NdFeB": 1.0})
    for who in (country, WORLD):
        rows = demand[demand["country"] == who]
        on_path = rows[rows["path"] == path]
        rows = on_path if not on_path.empty else rows
        if rows.empty:
            continue
        nearest = rows.loc[(rows["year"] - year).abs() == (rows["year"] - year).abs().min()]
        totals = nearest.groupby("element")["value_t"].sum()
        if float(totals.sum()) > 0:
            split = totals / float(totals.sum())
            break
    grades = dataset["magnet_grades"] if "magnet_grades" in dataset.tables else _empty(["country", "sector", "product", "magnet_type", "share"])
    mix: dict[str, float] = {}
    for product, share in split.items():
        rows = grades[(grades["sector"] == sector) & (grades["product"] == product)]
        own = rows[rows["country"] == country]
        rows = own if not own.empty else rows[rows["country"] == WORLD]
        if rows.empty:
            mix[REFERENCE_RECIPES[str(product)]] = mix.get(REFERENCE_RECIPES[str(product)], 0.0) + float(share)
            continue
        weights = rows.groupby("magnet_type")["share"].sum()
        for magnet_type, grade_share in (weights / float(weights.sum())).items():
            mix[str(magnet_type)] = mix.get(str(magnet_type), 0.0) + float(share) * float(grade_share)
    return mix


def _unmet(
    result: Any,
    dataset: Dataset,
    elements: list[str],
    products: Mapping[str, str],
    recipes: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """Unserved demand of a projection per stage and element (t in the stage's unit), with REO totals."""
    frames = []
    content = _table_of(result, "shortfall_content")
    if content is not None and not content.empty:
        yearly, _ = annual(content.rename(columns={"tonnes": "value_t"}), ["country", "element"])
        yearly = yearly[yearly["element"].isin(elements)]
        frames += [yearly.assign(stage="separation"), yearly.assign(stage="mining")]
    shortfall = _table_of(result, "shortfall")
    if shortfall is not None and not shortfall.empty:
        magnets = shortfall[shortfall["unit"] == MAGNET_UNIT] if "unit" in shortfall.columns else shortfall.iloc[0:0]
        yearly, _ = annual(magnets.rename(columns={"tonnes": "value_t"}), ["country", "sector"])
        scenario = getattr(result, "scenario", None)
        path = str(getattr(getattr(scenario, "demand", None), "path", "") or DEFAULT_DEMAND_PATH)
        rows = []
        for country, sector, year, tonnes in zip(
            yearly["country"].astype(str), yearly["sector"].astype(str), yearly["year"].astype(int),
            yearly["value_t"].astype(float), strict=True,
        ):
            if tonnes <= 0:
                continue
            for magnet_type, share in _magnet_mix(dataset, country, sector, year, path).items():
                magnets_t = tonnes * share
                rows.append((country, "magnet", products.get(magnet_type, "NdFeB"), year, magnets_t))
                rows += [
                    (country, "metal", earth, year, magnets_t * earth_share)
                    for earth, earth_share in recipes.get(magnet_type, {}).items()
                ]
        frames.append(pd.DataFrame(rows, columns=["country", "stage", "element", "year", "value_t"]))
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return _empty(UNMET_COLUMNS)
    frame = pd.concat([frame[UNMET_COLUMNS] for frame in frames], ignore_index=True)
    frame = frame.groupby(UNMET_COLUMNS[:4])["value_t"].sum().reset_index()
    return _with_totals(frame, ["country", "stage", "year"], elements)


def inputs_from_result(
    result: SimulationResult, dataset: Dataset | None = None, scenario: str | None = None
) -> MetricInputs:
    """Metric inputs from a simulation result's projection; governance, blocs and the rest from the dataset."""
    dataset = dataset if dataset is not None else load()
    base = inputs_from_dataset(dataset)
    frames = projection_frames(result, dataset)
    name = scenario or str(getattr(getattr(result, "scenario", None), "name", "") or "a simulation result")
    return replace(
        base,
        production=frames.production,
        trade=frames.trade,
        unmet=frames.unmet,
        surplus=frames.surplus,
        calibration=frames.calibration,
        demand=frames.demand if not frames.demand.empty else base.demand,
        origin=f"projection of scenario {name} on {base.origin}",
        series_order=(PROJECTION_SERIES,),
        basis="projection",
        scenario=name,
        projected_years=frames.years,
        cache={},
    )


_PROJECTIONS: dict[tuple[str, str], Any] = {}
_BASES: dict[tuple[str, str, str | None], MetricInputs] = {}


def projection_result(dataset: Dataset, scenario: str) -> Any:
    """The scenario's simulation on the dataset, run once per dataset version and scenario."""
    from raremap.simulate import simulate

    key = (dataset.version, scenario)
    if key not in _PROJECTIONS:
        if len(_PROJECTIONS) > 8:
            _PROJECTIONS.clear()
        _PROJECTIONS[key] = simulate(dataset, scenario)
    return _PROJECTIONS[key]


def scenario_years(dataset: Dataset, scenario: str) -> tuple[int, ...]:
    """The calendar years a scenario's periods cover (without solving it)."""
    from raremap.scenario.loading import load_scenario

    spec = load_scenario(scenario, dataset)
    return tuple(int(year) for year in spec.periods.years())


def year_ranges(years: Iterable[int]) -> str:
    """Years as runs: (2009, 2010, 2018, 2019, 2020) -> '2009-2010, 2018-2020'."""
    runs: list[list[int]] = []
    for year in sorted(set(int(item) for item in years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


def data_years(inputs: MetricInputs) -> tuple[int, ...]:
    """Years with any country's production figure in any series, or any trade."""
    producing = inputs.production[inputs.production["country"] != WORLD]
    years = set(producing["year"]) | set(inputs.trade["year"])
    return tuple(sorted(int(year) for year in years))


def metric_inputs(
    dataset: Dataset | None = None,
    *,
    year: int | None = None,
    scenario: str | None = None,
    series: str | None = None,
) -> MetricInputs:
    """The data as reported, or a scenario's projection where a scenario or a year beyond the data is asked.

    A year with data and no scenario reads the tables; a scenario (or a year the data do not hold)
    reads the scenario's projection (baseline by default). A year neither holds is refused.
    """
    dataset = dataset if dataset is not None else load()
    key = (dataset.version, dataset.origin, series)
    if key not in _BASES:
        if len(_BASES) > 8:
            _BASES.clear()
        _BASES[key] = inputs_from_dataset(dataset, series)
    base = _BASES[key]
    if scenario is None and (year is None or year in data_years(base)):
        return base
    name = scenario or DEFAULT_SCENARIO
    if year is not None:
        horizon = scenario_years(dataset, name)
        if year not in horizon:
            years = data_years(base)
            raise RaremapError(
                f"year {year} is outside the data ({year_ranges(years)}) and the projection of scenario "
                f"{name} ({year_ranges(horizon)}); fix: ask for a year in one of them, e.g. --year {years[-1]} "
                f"or --year {horizon[-1]}"
            )
    if series:
        raise RaremapError(
            "--series chooses among the data's production series; a projection has one (the scenario's): "
            "leave --series out, or ask for a year with data"
        )
    key = (dataset.version, dataset.origin, f"projection:{name}")
    if key not in _BASES:
        _BASES[key] = inputs_from_result(projection_result(dataset, name), dataset, name)
    return _BASES[key]


def as_inputs(
    source: Any = None, *, year: int | None = None, scenario: str | None = None, series: str | None = None
) -> MetricInputs:
    """Accept what a person has at hand: nothing (the bundled data), a Dataset, a result or inputs.

    For a dataset (or nothing), `year`, `scenario` and `series` choose between the data and a
    projection as `metric_inputs` does.
    """
    if source is None or isinstance(source, Dataset):
        return metric_inputs(source, year=year, scenario=scenario, series=series)
    if scenario is not None:
        raise RaremapError("scenario= needs a Dataset (or nothing) as the source: the result already is a projection")
    if isinstance(source, MetricInputs):
        return with_series(source, series) if series else source
    if hasattr(source, "flows") and hasattr(source, "production"):
        inputs = inputs_from_result(source)
        return with_series(inputs, series) if series else inputs
    raise RaremapError(
        f"metrics take a Dataset, a simulation result (with .flows and .production) or MetricInputs, "
        f"not {type(source).__name__}"
    )


# --------------------------------------------------------------------------- arguments


def valid_elements() -> tuple[str, ...]:
    """Elements and groups a metric can be asked about: the schema's element vocabulary."""
    return tuple(vocabularies()["element"])


def available_years(inputs: MetricInputs) -> tuple[int, ...]:
    """Years the inputs hold: data years, or the years a projection covers."""
    if inputs.basis == "projection":
        return inputs.projected_years or data_years(inputs)
    return data_years(inputs)


def default_year(inputs: MetricInputs) -> int:
    """The latest year with both country production and trade data, so no figure mixes years.

    For a projection: the last year its periods cover.
    """
    if inputs.basis == "projection" and inputs.projected_years:
        return int(inputs.projected_years[-1])
    producing = inputs.production[inputs.production["country"] != WORLD]
    common = set(producing["year"]) & set(inputs.trade["year"])
    if not common:
        raise RaremapError("no year has both production and trade data; add rows to production or trade")
    return int(max(common))


def _unknown(kind: str, value: object, valid: Iterable[object], fix: str = "") -> RaremapError:
    listed = [str(item) for item in valid]
    suggestion = closest(str(value), listed)
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    shown = ", ".join(listed) if len(listed) <= 30 else ", ".join(listed[:30]) + f" and {len(listed) - 30} more"
    return RaremapError(f"unknown {kind} {value!r}{hint}; valid values are {shown}" + (f"; fix: {fix}" if fix else ""))


def covered_importers(inputs: MetricInputs) -> tuple[str, ...]:
    """Countries with any trade, output or demand figure: the importers metrics can say something about."""
    key = "covered_importers"
    if key not in inputs.cache:
        countries = (
            set(inputs.trade["exporter"])
            | set(inputs.trade["importer"])
            | set(inputs.production["country"])
            | set(inputs.demand["country"])
        ) - {WORLD}
        inputs.cache[key] = tuple(sorted(countries))
    result: tuple[str, ...] = inputs.cache[key]
    return result


def covered_elements(inputs: MetricInputs) -> tuple[str, ...]:
    """Totals, groups and the elements with an ore share, a recipe share or rows of their own."""
    key = "covered_elements"
    if key not in inputs.cache:
        present = (
            set(inputs.element_shares["element"])
            | set(inputs.magnet_shares["element"])
            | set(inputs.production["element"])
            | set(inputs.trade["element"])
        )
        inputs.cache[key] = tuple(
            element
            for element in valid_elements()
            if element in present or element in ELEMENT_GROUPS or element in STAGE_TOTAL_ELEMENTS
        )
    result: tuple[str, ...] = inputs.cache[key]
    return result


def check_arguments(inputs: MetricInputs, importer: str, year: int, stage: str | None, element: str) -> None:
    """Raise one RaremapError naming the bad argument, the values that would work and the fix."""
    if importer not in inputs.countries:
        raise _unknown("importer", importer, inputs.countries, "use an ISO3 code from countries.csv, e.g. IND")
    if importer not in covered_importers(inputs):
        covered = covered_importers(inputs)
        raise NotCoveredError(
            f"the data hold no trade, output or demand figure for importer {importer!r}; "
            f"importers covered: {', '.join(covered[:25])}{' ...' if len(covered) > 25 else ''}; "
            "fix: pick one of them, or add trade rows for it (--data)"
        )
    if stage is not None and stage not in STAGES:
        raise _unknown("stage", stage, STAGES)
    if element not in valid_elements():
        raise _unknown("element", element, valid_elements(), "use REO, an element such as Dy, or a group such as NdPr")
    if element not in covered_elements(inputs):
        raise NotCoveredError(
            f"the data hold no figure for element {element!r}: no ore composition share, magnet recipe share or "
            f"row of its own; fix: pick one of the elements covered: {', '.join(covered_elements(inputs))}"
        )
    years = available_years(inputs)
    if year not in years:
        where = f"the projection of scenario {inputs.scenario}" if inputs.basis == "projection" else "the data"
        raise _unknown(
            f"year for {where}", year, years, "ask for a year with data, or a projection year such as 2030"
        )


def resolve(
    source: Any,
    importer: str,
    year: int | None,
    stage: str | None,
    element: str,
    scenario: str | None = None,
    series: str | None = None,
) -> tuple[MetricInputs, int, tuple[str, ...]]:
    """The inputs, the year (default: latest with production and trade) and the stages to report."""
    inputs = as_inputs(source, year=year, scenario=scenario, series=series)
    chosen_year = default_year(inputs) if year is None else int(year)
    check_arguments(inputs, importer, chosen_year, stage, element)
    return inputs, chosen_year, STAGES if stage is None else (stage,)


def per_stage(
    inputs: MetricInputs,
    importer: str,
    stages: Iterable[str],
    element: str,
    year: int,
    compute: Callable[[MetricInputs, str, str, str, int], Mapping[str, Any]],
) -> pd.DataFrame:
    """One row per stage: importer, stage, element, year, what `compute` returns (with its unit and reasons)."""
    rows = [
        {
            "importer": importer,
            "stage": stage,
            "element": element,
            "year": year,
            **compute(inputs, importer, stage, element, year),
        }
        for stage in stages
    ]
    return pd.DataFrame(rows)
